"""Limits a law states in calendar days (日), not working days (工作日): their deadline alone.

行政许可法 §82 makes only the Administrative Licensing Law's own periods working days; a limit another
law states in plain 日 (环评法 §22, 排污许可管理条例 §12) counts by 民法典 §201 and §203. The rules
(stops, extension, provisional years) are `legalclock.clock.Clock` with ``counted="days"``; this is
its deadline on its own, for `daiban calendar add --calendar-days`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from legalclock.clock import Clock, Deadline, Suspension
from legalclock.errors import LegalClockError
from legalclock.official import OfficialCalendar
from legalclock.workingtime import OfficeHours


def add_calendar_days(
    calendar: OfficialCalendar,
    hours: OfficeHours,
    start: datetime,
    days: int,
    suspensions: Sequence[Suspension] = (),
) -> Deadline:
    """The deadline of a limit of `days` calendar days for a matter accepted at `start`.

    Args:
        calendar: The official calendar (only its rest days at the end of the period matter).
        hours: Office hours: the period ends at their close (民法典 §203 ¶2), and the zone's
            `after_hours_acceptance` rule gives the day of acceptance.
        start: Aware acceptance instant.
        days: Calendar days, a whole number >= 1 (a law states them as N日).
        suspensions: The clock's stops in order, as in `Clock.suspensions`; an open last stop
            makes the deadline unknown (`Deadline.paused`).

    Returns:
        The close of office hours of the last day, moved past rest days (民法典 §201, §203).

    Raises:
        LegalClockError: If `days` is not a whole number >= 1, `start` is naive, the stops are
            out of order or before `start`, or the result falls outside the supported years.
    """
    if isinstance(days, bool) or not float(days).is_integer() or days < 1:
        raise LegalClockError(f"days must be a whole number of calendar days >= 1, got {days!r}")
    clock = Clock(accepted_at=start, limit_days=int(days), suspensions=tuple(suspensions), counted="days")
    return clock.deadline(calendar, hours)
