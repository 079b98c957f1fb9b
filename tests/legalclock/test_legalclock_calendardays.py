"""Limits in calendar days (日): 民法典 §201 and §203, with stops, against a day-by-day oracle."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legalclock import (
    CST,
    Clock,
    LegalClockError,
    OfficeHours,
    OfficialCalendar,
    Suspension,
    SuspensionKind,
    add_calendar_days,
    add_working_days,
)
from tests.legalclock.helpers import cst

CORRECTION = SuspensionKind.CORRECTION
CLOSE = time(17, 30)


def close_of(day: str) -> datetime:
    return cst(f"{day}T17:30")


def stop(start: str, end: str | None) -> Suspension:
    return Suspension(kind=CORRECTION, start=cst(start), end=cst(end) if end else None)


def test_a_period_counts_from_the_day_after_acceptance(cal: OfficialCalendar, hours: OfficeHours) -> None:
    # 民法典 §201: accepted Mon 2 Nov 2026 (any hour), day 1 is 3 Nov, day 30 is Wed 2 Dec.
    for hour in ("08:00", "10:00", "17:00", "22:00"):
        deadline = add_calendar_days(cal, hours, cst(f"2026-11-02T{hour}"), 30)
        assert deadline.at == close_of("2026-12-02")
        assert not deadline.provisional and not deadline.paused
    # The working-day reading of the same 30 days ends twelve days later.
    assert add_working_days(cal, hours, cst("2026-11-02T10:00"), 30).at == close_of("2026-12-14")


def test_a_last_day_on_a_rest_day_moves_to_the_day_after_the_rest(cal: OfficialCalendar, hours: OfficeHours) -> None:
    # 民法典 §203 ¶1. Day 5 after Mon 28 Sep 2026 is Sat 3 Oct, in National Day (1-7 Oct): 8 Oct.
    assert add_calendar_days(cal, hours, cst("2026-09-28T10:00"), 5).at == close_of("2026-10-08")
    # A weekend: day 5 after Mon 16 Nov is Sat 21 Nov, so Mon 23 Nov.
    assert add_calendar_days(cal, hours, cst("2026-11-16T10:00"), 5).at == close_of("2026-11-23")
    # New Year 2026 is 1-3 Jan and Sun 4 Jan a make-up working day (调休): the rest ends on the 3rd.
    assert add_calendar_days(cal, hours, cst("2026-01-01T10:00"), 1).at == close_of("2026-01-04")
    # A last day that is a make-up working day is not moved: day 10 after 10 Feb is Sat 14 Feb 2026.
    assert add_calendar_days(cal, hours, cst("2026-02-04T10:00"), 10).at == close_of("2026-02-14")


def test_stops_add_the_calendar_days_after_their_day(cal: OfficialCalendar, hours: OfficeHours) -> None:
    accepted = cst("2026-11-02T10:00")
    # Stopped Fri 6 Nov, resumed Mon 9 Nov: 7, 8 and 9 Nov are not counted, so 5 Dec (a Saturday),
    # moved to Mon 7 Dec. The working-day rule would skip one day (9 Nov) only.
    moved = add_calendar_days(cal, hours, accepted, 30, [stop("2026-11-06T15:00", "2026-11-09T09:30")])
    assert moved.at == close_of("2026-12-07")
    # A same-day stop moves nothing; two stops add up.
    assert add_calendar_days(cal, hours, accepted, 30, [stop("2026-11-04T09:00", "2026-11-04T16:00")]).at == (
        close_of("2026-12-02")
    )
    both = [stop("2026-11-04T09:00", "2026-11-05T09:00"), stop("2026-11-10T09:00", "2026-11-12T09:00")]
    assert add_calendar_days(cal, hours, accepted, 30, both).at == close_of("2026-12-07")  # 5 Dec + moved
    # A stop after the period ended (an overdue matter) moves nothing.
    late = [stop("2026-12-03T09:00", "2026-12-10T09:00")]
    assert add_calendar_days(cal, hours, accepted, 30, late).at == close_of("2026-12-02")
    # An open stop makes the deadline unknown.
    paused = add_calendar_days(cal, hours, accepted, 30, [stop("2026-11-20T09:00", None)])
    assert paused.paused and paused.at is None


def test_provisional_only_when_the_last_days_fall_in_an_unnoticed_year(
    cal: OfficialCalendar, hours: OfficeHours
) -> None:
    assert 2027 not in cal.years
    # A 2026 period ending in 2026 is official however long it is.
    assert not add_calendar_days(cal, hours, cst("2026-01-05T10:00"), 300).provisional
    # Ending in 2027, the move over rest days rests on the statutory holidays only.
    assert add_calendar_days(cal, hours, cst("2026-12-20T10:00"), 30).provisional


@pytest.mark.parametrize("days", [0, -3, 1.5, True])
def test_limits_are_whole_days(cal: OfficialCalendar, hours: OfficeHours, days: float) -> None:
    with pytest.raises(LegalClockError, match="whole number of calendar days"):
        add_calendar_days(cal, hours, cst("2026-11-02T10:00"), days)  # type: ignore[arg-type]


def test_a_stop_before_acceptance_is_refused(cal: OfficialCalendar, hours: OfficeHours) -> None:
    with pytest.raises(LegalClockError, match="before accepted_at"):
        add_calendar_days(cal, hours, cst("2026-11-02T10:00"), 30, [stop("2026-11-01T10:00", "2026-11-03T10:00")])


def test_next_working_day_acceptance(cal: OfficialCalendar) -> None:
    # Accepted Sat 7 Nov under the zone rule "next working day": the day of the event is Mon 9 Nov.
    hours = OfficeHours(after_hours_acceptance="next_working_day")
    assert add_calendar_days(cal, hours, cst("2026-11-07T10:00"), 10).at == close_of("2026-11-19")
    assert add_calendar_days(cal, OfficeHours(), cst("2026-11-07T10:00"), 10).at == close_of("2026-11-17")


# The oracle: the State Council notices' days as data, walked one day at a time.


def rest_day(cal: OfficialCalendar, day: date) -> bool:
    year = cal.year_view(day.year)
    return day in year.holidays or (day.weekday() >= 5 and day not in year.workdays)


def walked_deadline(cal: OfficialCalendar, accepted: date, n: int, ledger: list[Suspension]) -> datetime:
    """Walk the days after `accepted`, skipping each counted stop's days (S, R], until n are counted;
    move the last day past rest days. The next stop counts if it began before that end: walk
    again with it. One begun on or after the last counted day leaves nothing to count: the
    period then ends on its day of resumption R."""
    counted: list[tuple[date, date]] = []
    floor = accepted
    pending = list(ledger)
    while True:
        raw, left = accepted, n
        while left:
            raw += timedelta(days=1)
            left -= not any(start < raw <= resumed for start, resumed in counted)
        day = max(raw, floor)
        while rest_day(cal, day):
            day += timedelta(days=1)
        close = datetime.combine(day, CLOSE, CST)
        if not pending or pending[0].start >= close:
            return close
        stop = pending.pop(0)
        assert stop.end is not None
        counted.append((stop.start.date(), stop.end.date()))
        if stop.start.date() >= max(raw, floor):
            floor = stop.end.date()


ACCEPTED = st.datetimes(min_value=datetime(2004, 1, 1), max_value=datetime(2026, 6, 30))


def gaps(most_after: int, most_lasting: int, most: int) -> st.SearchStrategy[list[tuple[timedelta, timedelta]]]:
    """Up to ``most`` stops: each begun up to ``most_after`` days after the one before ended, lasting
    up to ``most_lasting`` days (any instant, so rest days and after-hours stops come up)."""
    after = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=most_after))
    lasting = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=most_lasting))
    return st.lists(st.tuples(after, lasting), max_size=most)


def ledger_of(start: datetime, stops: list[tuple[timedelta, timedelta]]) -> list[Suspension]:
    ledger, at = [], start
    for after, lasts in stops:
        ledger.append(Suspension(kind=CORRECTION, start=at + after, end=at + after + lasts))
        at += after + lasts
    return ledger


@settings(max_examples=300, deadline=None)
@given(accepted=ACCEPTED, n=st.integers(min_value=1, max_value=120), stops=gaps(50, 40, 3))
def test_against_a_day_by_day_walk(
    cal: OfficialCalendar,
    hours: OfficeHours,
    accepted: datetime,
    n: int,
    stops: list[tuple[timedelta, timedelta]],
) -> None:
    start = accepted.replace(tzinfo=CST)
    ledger = ledger_of(start, stops)
    assert add_calendar_days(cal, hours, start, n, ledger).at == walked_deadline(cal, start.date(), n, ledger)


# The clock itself in calendar days: budgets and warnings on the working-time axis.


def days_clock(limit: int = 30, accepted: str = "2026-11-02T10:00") -> Clock:
    return Clock(accepted_at=cst(accepted), limit_days=limit, counted="days")


def test_a_clock_in_days_reads_its_budget_in_working_days(cal: OfficialCalendar, hours: OfficeHours) -> None:
    clock = days_clock()
    at_deadline = clock.budget(cal, hours, close_of("2026-12-02"))
    # 3 Nov to 2 Dec holds 22 working days: the 30 calendar days' working time.
    assert (at_deadline.limit_days, at_deadline.used_days, at_deadline.left_days) == (22, 22, 0)
    assert not at_deadline.overdue and at_deadline.share_used == 1
    later = clock.budget(cal, hours, cst("2026-12-03T09:30"))
    assert later.overdue and later.left_days == -0.071429  # half an hour of a 7-hour working day
    assert clock.budget(cal, hours, close_of("2026-11-13")).used_days == 9


def test_a_clock_in_days_is_frozen_while_stopped(cal: OfficialCalendar, hours: OfficeHours) -> None:
    stopped = days_clock().stop(CORRECTION, cst("2026-11-06T15:00"))
    assert stopped.deadline(cal, hours).paused
    first = stopped.budget(cal, hours, cst("2026-11-10T10:00"))
    second = stopped.budget(cal, hours, cst("2026-11-20T10:00"))
    assert first.used_days == second.used_days == 4  # 3, 4, 5 Nov and 6 Nov: the day of a stop counts
    assert first.stopped and first.deadline.paused
    # As if resumed on 20 Nov: 14 days (7-20 Nov) more, 16 Dec, the same 22 working days less 1 used
    # ... the budget is the working time to that end less the stop.
    resumed = stopped.resume(cst("2026-11-20T10:00"))
    assert resumed.deadline(cal, hours).at == close_of("2026-12-16")
    assert resumed.budget(cal, hours, close_of("2026-12-16")).left_days == 0
    assert second.limit_days == resumed.budget(cal, hours, close_of("2026-12-16")).limit_days


def test_a_clock_in_days_warns_on_the_working_axis(cal: OfficialCalendar, hours: OfficeHours) -> None:
    clock = days_clock()
    assert clock.warning_at(cal, hours, share=1.0).at == close_of("2026-12-02")
    # 80% of 22 working days is 17.6: 0.6 of a 7 h day into the 18th working day after 2 Nov (26 Nov).
    assert clock.warning_at(cal, hours, share=0.8).at == cst("2026-11-26T14:42")
    assert clock.warning_at(cal, hours, share=None, days_before=2).at == close_of("2026-11-30")
    assert days_clock().stop(CORRECTION, cst("2026-11-06T15:00")).warning_at(cal, hours).paused


def test_the_extension_of_a_clock_in_days_counts_in_days(cal: OfficialCalendar, hours: OfficeHours) -> None:
    # 排污许可管理条例 §12: 30 days, 45 with an on-site check (the 15 more as the extension).
    extended = days_clock().extend(
        15, "head of the bureau", "on-site check", cst("2026-11-20T10:00"), calendar=cal, hours=hours
    )
    assert extended.deadline(cal, hours).at == add_calendar_days(cal, hours, cst("2026-11-02T10:00"), 45).at
    assert extended.deadline(cal, hours).at == close_of("2026-12-17")
    with pytest.raises(LegalClockError, match="whole number of days"):
        days_clock().extend(1.5, "head", "why", cst("2026-11-20T10:00"))
    with pytest.raises(LegalClockError, match="whole number of days >= 1"):
        Clock(accepted_at=cst("2026-11-02T10:00"), limit_days=0.5, counted="days")
    clock = days_clock()
    assert Clock.model_validate_json(clock.model_dump_json()) == clock


@settings(max_examples=200, deadline=None)
@given(
    accepted=ACCEPTED,
    n=st.integers(min_value=1, max_value=90),
    stops=gaps(40, 20, 2),
    probe=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=200)),
)
def test_a_clock_in_days_is_overdue_exactly_after_its_deadline(
    cal: OfficialCalendar,
    hours: OfficeHours,
    accepted: datetime,
    n: int,
    stops: list[tuple[timedelta, timedelta]],
    probe: timedelta,
) -> None:
    start = accepted.replace(tzinfo=CST)
    clock = Clock(accepted_at=start, limit_days=n, counted="days", suspensions=tuple(ledger_of(start, stops)))
    deadline = clock.deadline(cal, hours).at
    assert deadline is not None
    assert deadline == walked_deadline(cal, clock.accepted_at.date(), n, list(clock.suspensions))
    now = clock.accepted_at + probe
    budget = clock.budget(cal, hours, now)
    if budget.overdue:
        assert now > deadline
    if now.date() > deadline.date() and cal.is_working_day(now.date()) and now.time() > hours.morning_start:
        assert budget.overdue  # working time has run past the deadline's close
    if now <= deadline:
        assert budget.left_days >= 0
    assert clock.budget(cal, hours, deadline).left_days == 0
    # The whole budget is used by the deadline; earlier when the end is a stop's day of resumption
    # (a stop begun on the last day, or on the rest days the end was moved over, leaves none).
    full = clock.warning_at(cal, hours, share=1.0).at
    assert full is not None and full <= deadline
    assert clock.suspensions or full == deadline
    assert clock.budget(cal, hours, full).left_days == 0
