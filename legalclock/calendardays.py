"""Limits a law states in calendar days (日), not working days (工作日).

行政许可法 §82 makes the Administrative Licensing Law's own periods working days. A limit another
law states in plain 日 (环评法 §22: 六十日 and 三十日; 排污许可管理条例 §12) is counted by the civil
rules for periods in days:

* 民法典 §201: the day of the event (acceptance) is not counted; counting starts the next day.
* 民法典 §203 ¶1: when the last day is a statutory rest day, the period ends on the day after the
  rest ends: the first working day of the official calendar after it (a 调休 make-up Saturday is
  such a day).
* 民法典 §203 ¶2: the last day ends at 24:00, or where there are business hours at their close:
  an agency's limit ends at the close of office hours of its last day.
* Stops (行政许可法 §45 and the equivalent rule of the matter's law) are not counted: stopped on
  day S and resumed on day R, the calendar days in (S, R] are added to the period (the same
  whole-day rule as `legalclock.clock` applies to working days). A stop moves the period only
  if it began before its end; one begun on the last day, or on the rest days §203 moved the
  end over, leaves no day to count, so the period ends on the day of resumption (R, moved
  past rest days).

Only the move of §203 ¶1 reads the official calendar, so a calendar-day deadline is provisional
only when its last days fall in a year without a State Council notice.

The counting is `Clock` with ``counted="days"`` (budgets and warnings included); this is its
deadline alone, for the `daiban calendar add --calendar-days` command.
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
