"""The legal clock as the lifecycle uses it: a narrow seam over ``legalclock``.

Pure. The calendar and the zone's office hours always arrive as arguments (data carried in the
workflow's state), never from a global. A zone with seasonal hours (``ZonePolicy.seasonal_hours``)
counts each clock with the hours of its acceptance day and closes it on those of its last day
(``legalclock.seasonal_deadline``); any other zone counts on its ``office_hours`` as before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from catalog.models import ZonePolicy
from legalclock import (
    CST,
    Clock,
    OfficeHours,
    OfficialCalendar,
    SeasonalHours,
    SuspensionKind,
    add_working_days_by_season,
    count_working_days,
    seasonal_deadline,
)
from legalclock.clock import Counted as ClockCounted
from legalclock.clock import Deadline

CalendarData = OfficialCalendar
LegalClock = Clock
DeadlineInfo = Deadline
Counted = ClockCounted


def start(now: datetime, limit_days: float, counted: ClockCounted = "working_days") -> Clock:
    """A clock accepted at ``now`` with a limit of ``limit_days`` working days (or calendar days,
    ``counted="days"``: a matter's own law states its limit in 日, 民法典 §201-§203)."""
    return Clock(accepted_at=now, limit_days=limit_days, counted=counted)


def hours_of(clock: Clock, zone: ZonePolicy) -> OfficeHours:
    """The office hours a clock counts with: the zone's on its acceptance day (its season's, where
    the zone keeps seasons; ``office_hours`` otherwise, so a zone without seasons counts as before)."""
    return zone.hours_on(clock.accepted_at.astimezone(CST).date())


# The clocks that count from an application (its acceptance window, and its limits from acceptance or
# receipt): the only ones the zone's after-hours acceptance rule applies to (period rule 2).
APPLICATION_SCOPES = frozenset({"matter", "acceptance"})


def from_the_event(zone: ZonePolicy) -> ZonePolicy:
    """``zone`` with every after-hours rule set to ``"same_day"``: how a period counts that starts at
    an event other than an application's acceptance (a decision, a notice, a rating, a stop).

    ``OfficeHours.after_hours_acceptance`` says when an application received after the close of
    office hours counts as accepted. Any other period counts from the day of its event, that day
    not counted, whatever the hour (民法典 §201): a notice served at 20:00 on a Monday starts a
    period whose first day is the Tuesday. Returns ``zone`` itself when nothing differs (every
    shipped zone), so the common case costs nothing.
    """
    seasons = zone.seasonal_hours.seasons if zone.seasonal_hours is not None else []
    if all(h.after_hours_acceptance == "same_day" for h in (zone.office_hours, *(s.hours for s in seasons))):
        return zone

    def same_day(hours: OfficeHours) -> OfficeHours:
        return hours.model_copy(update={"after_hours_acceptance": "same_day"})

    update: dict[str, object] = {"office_hours": same_day(zone.office_hours)}
    if zone.seasonal_hours is not None:
        update["seasonal_hours"] = zone.seasonal_hours.model_copy(
            update={"seasons": [s.model_copy(update={"hours": same_day(s.hours)}) for s in seasons]}
        )
    return zone.model_copy(update=update)


def deadline(clock: Clock, calendar: OfficialCalendar, zone: ZonePolicy) -> Deadline:
    """When the limit runs out; under seasonal hours at the close of its last day's season."""
    return deadline_by(clock, calendar, zone.office_hours, zone.seasonal_hours)


def deadline_by(
    clock: Clock, calendar: OfficialCalendar, office_hours: OfficeHours, seasons: SeasonalHours | None
) -> Deadline:
    """``deadline`` with the zone's hours given apart (a ``ClockLedger`` carries them, not the zone)."""
    if seasons is not None:
        return seasonal_deadline(clock, calendar, seasons)
    return clock.deadline(calendar, office_hours)


def used_days(clock: Clock, calendar: OfficialCalendar, zone: ZonePolicy, now: datetime) -> float:
    return clock.budget(calendar, hours_of(clock, zone), now).used_days


def limit_working_days(clock: Clock, calendar: OfficialCalendar, zone: ZonePolicy, now: datetime) -> float:
    """The working days ``clock``'s limit spans (its own for a limit in working days; for one in
    calendar days, from its start to its deadline less its stops, an open one as if resumed ``now``)."""
    return clock.budget(calendar, hours_of(clock, zone), now).limit_days


def left_days(clock: Clock, calendar: OfficialCalendar, zone: ZonePolicy, now: datetime) -> float:
    return clock.budget(calendar, hours_of(clock, zone), now).left_days


def warning_at(clock: Clock, calendar: OfficialCalendar, zone: ZonePolicy) -> datetime | None:
    """When to warn: at the zone's share of the budget or N days before, whichever is first.

    The days-before rule only applies to limits longer than it: a half-day promise warned two
    days ahead would be warned at acceptance.
    """
    esc = zone.escalation
    before = esc.warn_days_before if clock.total_days > esc.warn_days_before else None
    return clock.warning_at(calendar, hours_of(clock, zone), share=esc.warn_share, days_before=before).at


def days_between(start: datetime, end: datetime, calendar: OfficialCalendar, zone: ZonePolicy) -> float:
    """Working days from ``start`` to ``end``, the first day not counted (as a limit counts them)."""
    return count_working_days(calendar, zone.hours_on(start.astimezone(CST).date()), start, end)


def add_days(at: datetime, days: float, calendar: OfficialCalendar, zone: ZonePolicy) -> datetime:
    """``days`` working days after the instant ``at``."""
    result = deadline(Clock(accepted_at=at, limit_days=days), calendar, zone).at
    assert result is not None  # a fresh clock is never stopped
    return result


def stop(clock: Clock, kind: str, reason: str, now: datetime, expected_days: float | None = None) -> Clock:
    """Stop ``clock`` (行政许可法 §45); ``expected_days`` is the declared length told to the applicant."""
    return clock.stop(SuspensionKind(kind), now, reason, expected_days)


def resume(clock: Clock, calendar: OfficialCalendar, now: datetime) -> tuple[Clock, float]:
    """Resume a stopped clock; also return the working days the stop did not count.

    Stopped on day S and resumed on day R, the working days in (S, R] are not counted (the legal
    clock's rule, by the civil code's day counting: the day of the event is not counted), so a
    same-day stop moves nothing.
    """
    s_day = clock.suspensions[-1].start.astimezone(CST).date()
    r_day = now.astimezone(CST).date()
    index = calendar.day_index
    uncounted = index.working_before(r_day.toordinal() + 1) - index.working_before(s_day.toordinal() + 1)
    return clock.resume(now), float(max(uncounted, 0))


def extend(
    clock: Clock,
    days: float,
    approved_by: str,
    reason: str,
    now: datetime,
    calendar: OfficialCalendar,
    zone: ZonePolicy,
    max_days: float,
) -> Clock:
    """Extend the limit once, within it, by at most ``max_days`` (行政许可法 §42).

    Raises ``legalclock.ExtensionRefused`` (naming the rule) otherwise.
    """
    hours = hours_of(clock, zone)
    return clock.extend(days, approved_by, reason, now, calendar=calendar, hours=hours, max_days=max_days)


def stop_overrun_at(
    clock: Clock, calendar: OfficialCalendar, zone: ZonePolicy, *, by_stop_day: bool = False
) -> datetime | None:
    """When the open stop outlasts its declared length (None: not stopped, or no length declared).

    The declared length is a period of its own, from the stop. With ``by_stop_day`` (period rule 2)
    a zone's seasons count it with the hours of the stop's day and close it on those of its last
    day (``seasonal_deadline``); before, with the hours of the clock's acceptance day. A zone
    without seasons counts it alike either way.
    """
    if by_stop_day and zone.seasonal_hours is not None and clock.stopped:
        stop = clock.suspensions[-1]
        if stop.expected_days is None:
            return None
        return add_working_days_by_season(calendar, zone.seasonal_hours, stop.start, stop.expected_days).at
    due = clock.stop_overrun_at(calendar, hours_of(clock, zone))
    return None if due is None else due.at


def is_stopped(clock: Clock) -> bool:
    return clock.stopped


def is_extended(clock: Clock) -> bool:
    return clock.extension is not None


def limit_days(clock: Clock) -> float:
    return clock.total_days


def unit_of(clock: Clock) -> str:
    """How ``clock``'s limit counts, in words: ``working days``, or ``days`` (日, 民法典 §201-§203)."""
    return "working days" if clock.counted == "working_days" else "days"


def accepted_at(clock: Clock) -> datetime:
    return clock.accepted_at


def local_text(at: datetime) -> str:
    """An instant as an operator reads it: Beijing time, to the minute (``2027-01-04 17:30 CST``).

    Formatted by hand: ``strftime`` imports ``time`` at every call, which the workflow sandbox
    intercepts (about a tenth of a millisecond each, dozens per workflow task)."""
    t = at.astimezone(CST)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d} CST"


class ClockLedger(BaseModel):
    """An open clock with its whole legal ledger (stops, extension) and the zone's office hours.

    What a caller needs to recompute the deadline under another calendar (a notice's dry run):
    ``deadlines(calendar)`` counts both of the clock's deadlines as the lifecycle does.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    clock_id: str
    label: str
    clock: Clock
    # Which limit ``clock`` counts: the law's, or the zone's promise alone (a contract under
    # promise-only rule 2: ``LifecycleBase.limit_of``).
    limit: Literal["statutory", "promised"] = "statutory"
    # The hours of the acceptance day (a zone's seasons: ``seasonal_hours`` closes the last day).
    office_hours: OfficeHours
    # The zone's promise on the same ledger (``LifecycleBase.promise_clock``); None: no promise
    # shorter than the limit.
    promise: Clock | None = None
    seasonal_hours: SeasonalHours | None = None

    def deadlines(self, calendar: OfficialCalendar) -> tuple[datetime | None, datetime | None]:
        """(``clock``'s deadline, the promise's) under ``calendar``; None: stopped, or no promise
        shorter than the limit. ``clock``'s is the law's unless ``limit`` says it is the promise."""

        def at(clock: Clock) -> datetime | None:
            return deadline_by(clock, calendar, self.office_hours, self.seasonal_hours).at

        return at(self.clock), (at(self.promise) if self.promise is not None else None)


class ClockLedgers(BaseModel):
    """The answer of the ``clock_ledger`` query."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    clocks: list[ClockLedger]
