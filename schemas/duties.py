"""The zone's periodic work, run by Temporal Schedules: names, inputs and results.

Three duties, each a ``ZoneDutyWorkflow`` run started by its schedule (``infra.schedules``,
created by ``daiban setup schedules``) and doing its work in the ``perform_zone_duty`` activity,
which writes to the notifications outbox (the relay delivers it to the zone's messaging gateway):

- ``overdue_digest`` (daily): per zone, one digest to each department and each agent with the
  clocks overdue on their side (``daiban overdue``), so nothing waits on a single warning;
- ``zone_report`` (weekly): the zone report (``daiban report zone``) to the zone's operators;
- ``calendar_reminder`` (yearly, in November): the State Council publishes the next year's
  holidays and 调休 make-up days around November; until it is loaded (``daiban calendar load``),
  that year's deadlines are provisional (全国年节及纪念日放假办法 §6: only the swaps are unknown).

Notification ids are business keys (duty, period, zone, recipient): a retried or re-triggered
run of the same period writes nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from schemas.base import Frozen

PERFORM_ZONE_DUTY = "perform_zone_duty"
DutyKind = Literal["overdue_digest", "zone_report", "calendar_reminder"]
# Who gets the zone-wide reports and reminders (the relay maps recipients to addresses).
OPERATORS = "zone-operators"


class ZoneDuty(Frozen):
    """Input of ``ZoneDutyWorkflow`` (a schedule's action): which duty."""

    kind: DutyKind


class DutyRun(Frozen):
    """Input of ``perform_zone_duty``: the duty and the instant it runs for (its period's key)."""

    kind: DutyKind
    at: datetime


class DutyResult(Frozen):
    """What a duty run did: notifications newly written to the outbox (0 on a repeat)."""

    kind: DutyKind
    period: str
    notifications: int
