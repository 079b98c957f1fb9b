"""Working time: office-hours minutes on the working days of an official calendar.

Every instant maps to a *position*: the working time (in microseconds, exact) elapsed from a
fixed origin. Positions only advance inside office-hours sessions of working days, so the
working time between two instants is the difference of their positions, and adding working
time is the inverse map. Deadlines, stopped clocks and budgets all use this one axis.

The inverse picks the *earliest* instant with a position, so adding time that ends exactly at
a session boundary gives the close of that session (17:30), never the next opening (09:00).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Literal

from pydantic import model_validator

from legalclock.common import CST, FrozenModel, to_local
from legalclock.errors import LegalClockError
from legalclock.official import MAX_YEAR, MIN_YEAR, DayIndex, OfficialCalendar

_US_PER_MINUTE = 60_000_000


def _us(moment: time) -> int:
    seconds = (moment.hour * 60 + moment.minute) * 60 + moment.second
    return seconds * 1_000_000 + moment.microsecond


class OfficeHours(FrozenModel):
    """A zone's office hours in China Standard Time: a morning and an afternoon session.

    A half working day is one session (sessions may differ in length); a working day is
    both sessions. Times are naive local wall-clock times on whole minutes.

    `after_hours_acceptance` is the zone's rule for an application accepted after the close of
    office hours or on a non-working day:

    * ``"same_day"`` (default): the day of acceptance is the day of the event and is not counted
      (民法典 §201); counting starts with the next working day, whatever the hour.
    * ``"next_working_day"``: such an application is deemed accepted at the opening of the next
      working day, which is then the day of the event and not counted either.
    """

    morning_start: time = time(9, 0)
    morning_end: time = time(12, 0)
    afternoon_start: time = time(13, 30)
    afternoon_end: time = time(17, 30)
    after_hours_acceptance: Literal["same_day", "next_working_day"] = "same_day"

    @model_validator(mode="after")
    def _ordered(self) -> OfficeHours:
        names = ("morning_start", "morning_end", "afternoon_start", "afternoon_end")
        values = [getattr(self, n) for n in names]
        for name, value in zip(names, values, strict=True):
            if value.tzinfo is not None or value.second or value.microsecond:
                raise LegalClockError(f"{name} must be a naive time on a whole minute, got {value}")
        if not values[0] < values[1] <= values[2] < values[3]:
            raise LegalClockError(
                "office hours must satisfy morning_start < morning_end <= afternoon_start "
                f"< afternoon_end, got {' '.join(v.strftime('%H:%M') for v in values)}"
            )
        return self

    # cached_property keeps the hot path off pydantic's attribute machinery.
    @cached_property
    def bounds(self) -> tuple[int, int, int, int]:
        """Morning start/end and afternoon start/end, in microseconds after midnight."""
        return (
            _us(self.morning_start),
            _us(self.morning_end),
            _us(self.afternoon_start),
            _us(self.afternoon_end),
        )

    @cached_property
    def morning_us(self) -> int:
        """Length of the morning session in microseconds."""
        return self.bounds[1] - self.bounds[0]

    @cached_property
    def afternoon_us(self) -> int:
        """Length of the afternoon session in microseconds."""
        return self.bounds[3] - self.bounds[2]

    @cached_property
    def day_us(self) -> int:
        """Length of a working day (both sessions) in microseconds."""
        am_start, am_end, pm_start, pm_end = self.bounds
        return am_end - am_start + pm_end - pm_start

    @property
    def day_minutes(self) -> int:
        """Length of a working day in minutes (420 with the defaults)."""
        return self.day_us // _US_PER_MINUTE


def ordinal_of(index: DayIndex, day: date) -> int:
    """The day's ordinal, checked against the supported range."""
    ordinal = day.toordinal()
    if not index.first <= ordinal <= index.last:
        raise LegalClockError(f"{day} is outside the supported years {MIN_YEAR}-{MAX_YEAR}")
    return ordinal


def day_end(index: DayIndex, hours: OfficeHours, ordinal: int) -> int:
    """Position at the close of office hours of a day.

    For a non-working day this is the close of the last working day before it.
    """
    return index.working_before(ordinal + 1) * hours.day_us


def position(index: DayIndex, hours: OfficeHours, moment: datetime, field: str) -> int:
    """Working time, in microseconds, from the origin to `moment`.

    Args:
        index: Day index of the calendar.
        hours: Office hours.
        moment: An aware instant.
        field: Name used in error messages.
    """
    local = to_local(moment, field)
    ordinal = ordinal_of(index, local.date())
    base = index.working_before(ordinal) * hours.day_us
    if not index.is_working(ordinal):
        return base
    am_start, am_end, pm_start, pm_end = hours.bounds
    now = _us(local.time())
    if now <= am_start:
        return base
    if now < am_end:
        return base + now - am_start
    if now <= pm_start:
        return base + am_end - am_start
    return base + am_end - am_start + min(now, pm_end) - pm_start


def instant(index: DayIndex, hours: OfficeHours, pos: int) -> datetime:
    """The earliest instant whose position is `pos` (inverse of `position`)."""
    count, offset = divmod(pos, hours.day_us)
    if offset == 0:
        # The close of the previous working day, not the opening of the next one.
        count, offset = count - 1, hours.day_us
    ordinal = index.nth_working(count)
    if not index.first <= ordinal <= index.last:
        raise LegalClockError(f"the result falls outside the supported years {MIN_YEAR}-{MAX_YEAR}")
    am_start, _, pm_start, _ = hours.bounds
    morning = hours.morning_us
    clock_us = am_start + offset if offset <= morning else pm_start + offset - morning
    midnight = datetime.fromordinal(ordinal).replace(tzinfo=CST)
    return midnight + timedelta(microseconds=clock_us)


def _ordered(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start, end = to_local(start, "start"), to_local(end, "end")
    if end < start:
        raise LegalClockError(f"end {end.isoformat()} is before start {start.isoformat()}")
    return start, end


def working_minutes_between(calendar: OfficialCalendar, hours: OfficeHours, start: datetime, end: datetime) -> float:
    """Office-hours minutes on working days between two instants.

    Args:
        calendar: The official calendar.
        hours: Office hours.
        start: Aware start instant.
        end: Aware end instant, not before `start`.

    Raises:
        LegalClockError: If an instant is naive, unsupported, or `end` is before `start`.
    """
    start, end = _ordered(start, end)
    index = calendar.day_index
    elapsed = position(index, hours, end, "end") - position(index, hours, start, "start")
    return elapsed / _US_PER_MINUTE


def add_working_minutes(calendar: OfficialCalendar, hours: OfficeHours, start: datetime, minutes: float) -> datetime:
    """The earliest instant `minutes` office-hours minutes after `start`.

    Args:
        calendar: The official calendar.
        hours: Office hours.
        start: Aware start instant.
        minutes: Working minutes to add, >= 0.

    Returns:
        An instant in China Standard Time, never before `start`.
    """
    if not minutes >= 0:
        raise LegalClockError(f"minutes must be >= 0, got {minutes}")
    index = calendar.day_index
    pos = position(index, hours, start, "start") + round(minutes * _US_PER_MINUTE)
    return max(instant(index, hours, pos), start.astimezone(CST))


def effective_acceptance(index: DayIndex, hours: OfficeHours, accepted: datetime) -> datetime:
    """The acceptance instant the counting uses, under the zone's `after_hours_acceptance` rule.

    With ``"next_working_day"``, an acceptance after the close of office hours or on a
    non-working day is deemed made at the opening of the next working day.
    """
    local = to_local(accepted, "accepted_at")
    if hours.after_hours_acceptance == "same_day":
        return local
    ordinal = ordinal_of(index, local.date())
    if index.is_working(ordinal) and local.time() < hours.afternoon_end:
        return local
    following = index.nth_working(index.working_before(ordinal + 1))
    if not index.first <= following <= index.last:
        raise LegalClockError(f"the result falls outside the supported years {MIN_YEAR}-{MAX_YEAR}")
    return datetime.combine(date.fromordinal(following), hours.morning_start, CST)


def accepted_in_morning(index: DayIndex, hours: OfficeHours, local: datetime) -> bool:
    """Whether an (effective) acceptance falls on a working day before its morning session closes."""
    return index.is_working(ordinal_of(index, local.date())) and local.time() < hours.morning_end


def plan_days(index: DayIndex, hours: OfficeHours, accepted: datetime, days: float) -> tuple[int, int]:
    """Where counting a limit of `days` working days starts, and its length, as positions.

    The counting rules (民法典 §201-§203 for periods in days; the zone's half-day rule):

    * 0 days: on the spot (行政许可法 §34: a decision made at once), the acceptance instant.
    * N whole days: the day of acceptance is not counted; the limit ends at the close of office
      hours of the Nth working day after it.
    * 0.5 day: accepted on a working day before the morning session closes (or before opening),
      the limit ends at that day's close; accepted later (lunch, afternoon, after hours, a
      non-working day), at the close of the next working morning (12:00 by default).
    * k + 0.5 days (k >= 1): the k whole days, then the next morning session: the limit ends at
      12:00 of the working day after the kth.

    So deadlines strictly increase with the limit and `count_working_days` inverts `add`.

    Returns:
        (origin, length): the limit runs out when `length` working microseconds have been
        counted from position `origin`.
    """
    local = effective_acceptance(index, hours, accepted)
    if days == 0:
        return position(index, hours, local, "accepted_at"), 0
    whole, half = divmod(round(days * 2), 2)
    close = day_end(index, hours, ordinal_of(index, local.date()))
    if half and not whole and accepted_in_morning(index, hours, local):
        return close - hours.afternoon_us, hours.afternoon_us
    return close, whole * hours.day_us + (hours.morning_us if half else 0)


def count_working_days(calendar: OfficialCalendar, hours: OfficeHours, start: datetime, end: datetime) -> float:
    """Working days from acceptance at `start` to `end`: the largest limit already run out.

    The inverse of `add_working_days` for every limit, halves included:
    ``count_working_days(s, add_working_days(s, n).at) == n``. By the rules of `plan_days`, a
    whole day counts once its afternoon session has closed; the half after k >= 1 whole days
    once the next morning session has; accepted in a morning, the first half is that day's
    afternoon.

    Args:
        calendar: The official calendar.
        hours: Office hours.
        start: Aware acceptance instant.
        end: Aware instant, not before `start`.
    """
    start, end = _ordered(start, end)
    index = calendar.day_index
    local = effective_acceptance(index, hours, start)
    close = day_end(index, hours, ordinal_of(index, local.date()))
    elapsed = position(index, hours, end, "end") - close
    if elapsed < 0:
        return 0.0
    days, rest = divmod(elapsed, hours.day_us)
    if days == 0 and accepted_in_morning(index, hours, local):
        return 0.5
    return days + (0.5 if rest >= hours.morning_us else 0.0)
