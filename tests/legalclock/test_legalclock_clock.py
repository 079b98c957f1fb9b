"""Clocks: stops, extensions, half days, provisional years, budgets and warnings."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legalclock import (
    CST,
    Budget,
    Clock,
    ClockStateError,
    Deadline,
    LegalClockError,
    OfficeHours,
    OfficialCalendar,
    SuspensionKind,
    YearCalendar,
    merge_calendar_file,
    provisional_holidays,
    working_minutes_between,
)
from tests.legalclock.helpers import cst, due

CORRECTION = SuspensionKind.CORRECTION


@pytest.fixture
def clock() -> Clock:
    """20 working days from Mon 21 Sep 2026 (Mid-Autumn 25-27 Sep, National Day 1-7 Oct)."""
    return Clock(accepted_at=cst("2026-09-21T10:00"), limit_days=20)


def test_plain_deadline(clock: Clock, cal: OfficialCalendar, hours: OfficeHours) -> None:
    deadline = clock.deadline(cal, hours)
    assert deadline == Deadline(
        at=cst("2026-10-26T17:30"), provisional=False, paused=False, calendar_version=cal.version
    )


def test_a_stop_over_national_day_moves_by_working_time_only(
    clock: Clock, cal: OfficialCalendar, hours: OfficeHours
) -> None:
    stopped = clock.stop(CORRECTION, cst("2026-09-29T10:00"), "missing land certificate")
    assert stopped.stopped
    paused = stopped.deadline(cal, hours)
    assert paused.paused
    assert paused.at is None
    resumed = stopped.resume(cst("2026-10-09T10:00"))
    # 29 Sep 10:00-17:30, 30 Sep, 8 Oct, 9 Oct 09:00-10:00: 3 working days, not 10 calendar days
    span = working_minutes_between(cal, hours, cst("2026-09-29T10:00"), cst("2026-10-09T10:00"))
    assert span == 3 * hours.day_minutes
    assert due(resumed, cal, hours) == cst("2026-10-29T17:30")
    assert resumed.suspensions[0].reason == "missing land certificate"


def test_open_stop_freezes_the_budget(clock: Clock, cal: OfficialCalendar, hours: OfficeHours) -> None:
    stopped = clock.stop(SuspensionKind.EXPERT_REVIEW, cst("2026-09-24T12:00"))
    # Stops count in whole days: the day of the stop (24 Sep) counts, the days after it do not.
    same_day = stopped.budget(cal, hours, cst("2026-09-24T17:00"))
    assert same_day.used_days == pytest.approx(2 + 6.5 / 7, abs=1e-6)
    early = stopped.budget(cal, hours, cst("2026-09-25T10:00"))
    late = stopped.budget(cal, hours, cst("2026-10-20T17:00"))
    assert early.used_days == late.used_days == 3
    assert late.stopped
    assert late.deadline.paused
    assert not late.overdue


def test_stops_before_counting_or_after_the_deadline_cost_nothing(
    clock: Clock, cal: OfficialCalendar, hours: OfficeHours
) -> None:
    same_day = clock.stop(CORRECTION, cst("2026-09-21T11:00")).resume(cst("2026-09-21T16:00"))
    assert due(same_day, cal, hours) == cst("2026-10-26T17:30")
    overdue = clock.stop(CORRECTION, cst("2026-10-27T10:00")).resume(cst("2026-10-30T10:00"))
    assert due(overdue, cal, hours) == cst("2026-10-26T17:30")
    assert overdue.stop(CORRECTION, cst("2026-11-02T10:00")).deadline(cal, hours).at is not None


def test_several_stops_add_up(clock: Clock, cal: OfficialCalendar, hours: OfficeHours) -> None:
    twice = (
        clock.stop(CORRECTION, cst("2026-09-22T09:00"))
        .resume(cst("2026-09-23T09:00"))
        .stop(SuspensionKind.PUBLIC_NOTICE, cst("2026-10-12T13:30"))
        .resume(cst("2026-10-13T13:30"))
    )
    assert due(twice, cal, hours) == cst("2026-10-28T17:30")


def test_stop_transitions_are_checked(clock: Clock) -> None:
    with pytest.raises(ClockStateError, match="not stopped"):
        clock.resume(cst("2026-09-22T10:00"))
    stopped = clock.stop(CORRECTION, cst("2026-09-22T10:00"))
    with pytest.raises(ClockStateError, match="already stopped"):
        stopped.stop(SuspensionKind.HEARING, cst("2026-09-23T10:00"))
    with pytest.raises(LegalClockError, match="before its start"):
        stopped.resume(cst("2026-09-22T09:00"))
    with pytest.raises(LegalClockError, match=r"suspensions\[0\] starts at .* before accepted_at"):
        clock.stop(CORRECTION, cst("2026-09-20T10:00"))
    resumed = stopped.resume(cst("2026-09-23T10:00"))
    with pytest.raises(LegalClockError, match="before the previous one ended"):
        resumed.stop(CORRECTION, cst("2026-09-23T09:00"))


def test_one_extension_only(clock: Clock, cal: OfficialCalendar, hours: OfficeHours) -> None:
    extended = clock.extend(10, approved_by="局长 Director Wang", reason="complex case", at=cst("2026-10-20T10:00"))
    assert extended.total_days == 30
    assert due(extended, cal, hours) == due(clock.model_copy(update={"limit_days": 30}), cal, hours)
    assert extended.extension is not None
    assert extended.extension.approved_by == "局长 Director Wang"
    with pytest.raises(ClockStateError, match=r"already extended once \(by 10 working days"):
        extended.extend(5, approved_by="x", reason="again", at=cst("2026-10-21T10:00"))
    half = clock.extend(0.5, approved_by="a", reason="r", at=cst("2026-10-20T10:00"))
    assert due(half, cal, hours) == cst("2026-10-27T12:00")
    with pytest.raises(LegalClockError, match=r"days must be > 0 and a multiple of 0\.5, got 0"):
        clock.extend(0, approved_by="a", reason="r", at=cst("2026-10-20T10:00"))
    with pytest.raises(LegalClockError, match="approved_by"):
        clock.extend(1, approved_by="", reason="r", at=cst("2026-10-20T10:00"))


def test_half_day_stop_across_lunch_and_a_holiday(cal: OfficialCalendar, hours: OfficeHours) -> None:
    half = Clock(accepted_at=cst("2026-09-30T14:00"), limit_days=0.5)
    assert due(half, cal, hours) == cst("2026-10-08T12:00")
    # Stopped 11:00-14:00 on 8 Oct: a same-day stop moves nothing (it moved to 15:00 when stops
    # counted in minutes).
    stopped = half.stop(CORRECTION, cst("2026-10-08T11:00")).resume(cst("2026-10-08T14:00"))
    assert due(stopped, cal, hours) == cst("2026-10-08T12:00")
    # Stopped on the morning of 8 Oct, resumed on the 9th: noon moves one working day.
    longer = half.stop(CORRECTION, cst("2026-10-08T11:00")).resume(cst("2026-10-09T09:30"))
    assert due(longer, cal, hours) == cst("2026-10-09T12:00")


def test_provisional_until_the_year_is_loaded(cal: OfficialCalendar, hours: OfficeHours) -> None:
    clock = Clock(accepted_at=cst("2026-12-20T10:00"), limit_days=20)
    guess = clock.deadline(cal, hours)
    assert guess.provisional
    assert guess.at == cst("2027-01-18T17:30")  # 1 Jan (a Friday) is the only statutory day
    law = provisional_holidays(2027)
    same = cal.with_year(2027, YearCalendar(holidays=law))
    confirmed = clock.deadline(same, hours)
    assert not confirmed.provisional
    assert confirmed.at == guess.at
    assert confirmed.calendar_version != guess.calendar_version
    holidays = {d.isoformat(): n for d, n in law.items()}
    holidays["2027-01-11"] = "a fictitious extra holiday for this test"
    notice = json.dumps({"years": {"2027": {"holidays": holidays}}})
    loaded, changed = merge_calendar_file(cal, notice)
    assert changed == [2027]
    moved = clock.deadline(loaded, hours)
    assert not moved.provisional
    assert moved.at == cst("2027-01-19T17:30")


def test_within_official_years_is_not_provisional(cal: OfficialCalendar, hours: OfficeHours) -> None:
    clock = Clock(accepted_at=cst("2026-12-20T10:00"), limit_days=5)
    assert not clock.deadline(cal, hours).provisional
    assert Clock(accepted_at=cst("2003-12-30T10:00"), limit_days=5).deadline(cal, hours).provisional
    # a slice too small for the count says so
    assert Clock(accepted_at=cst("2025-12-20T10:00"), limit_days=20).deadline(cal.slice(2026, 2026), hours).provisional


def test_budget_figures(cal: OfficialCalendar, hours: OfficeHours) -> None:
    clock = Clock(accepted_at=cst("2026-03-02T10:00"), limit_days=20)
    start = clock.budget(cal, hours, cst("2026-03-02T15:00"))
    assert (start.used_days, start.left_days, start.share_used) == (0, 20, 0)
    week = clock.budget(cal, hours, cst("2026-03-09T17:30"))
    assert (week.used_days, week.left_days, week.share_used, week.overdue) == (5, 15, 0.25, False)
    assert week.deadline.at == cst("2026-03-30T17:30")
    at_end = clock.budget(cal, hours, cst("2026-03-30T17:30"))
    assert (at_end.left_days, at_end.overdue) == (0, False)
    late = clock.budget(cal, hours, cst("2026-04-01T12:00"))
    assert late.left_days == pytest.approx(-1 - 3 / 7, abs=1e-6)
    assert late.overdue
    assert late.share_used > 1


def test_half_day_budget_reads_in_half_days(cal: OfficialCalendar, hours: OfficeHours) -> None:
    clock = Clock(accepted_at=cst("2026-03-02T10:00"), limit_days=0.5)
    at_end = clock.budget(cal, hours, cst("2026-03-02T17:30"))
    assert (at_end.used_days, at_end.left_days, at_end.share_used) == (0.5, 0, 1.0)
    assert not at_end.overdue


def test_warning_at_share_or_days_before(cal: OfficialCalendar, hours: OfficeHours) -> None:
    clock = Clock(accepted_at=cst("2026-03-02T10:00"), limit_days=20)

    def warn(**kw: float | None) -> datetime | None:
        return clock.warning_at(cal, hours, **kw).at

    assert warn() == cst("2026-03-24T17:30")  # 80%: close of the 16th working day
    assert warn(share=None, days_before=3) == cst("2026-03-25T17:30")  # close of the 17th
    assert warn(share=0.8, days_before=3) == cst("2026-03-24T17:30")  # whichever comes first
    assert warn(share=0.9, days_before=5) == cst("2026-03-23T17:30")
    assert warn(share=0.5) == cst("2026-03-16T17:30")
    assert warn(share=0.0) == cst("2026-03-02T17:30")
    stopped = clock.stop(CORRECTION, cst("2026-03-03T09:00")).resume(cst("2026-03-04T09:00"))
    assert stopped.warning_at(cal, hours).at == cst("2026-03-25T17:30")
    assert clock.stop(CORRECTION, cst("2026-03-03T09:00")).warning_at(cal, hours).paused
    with pytest.raises(LegalClockError, match="share must be between 0 and 1"):
        warn(share=1.5)
    with pytest.raises(LegalClockError, match="needs share or days_before"):
        warn(share=None)


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        (-1, r"limit_days must be >= 0 and a multiple of 0\.5, got -1"),
        (1.25, r"limit_days must be >= 0 and a multiple of 0\.5, got 1\.25"),
        (float("inf"), "limit_days must be >= 0"),
    ],
)
def test_bad_limits(limit: float, message: str) -> None:
    with pytest.raises(LegalClockError, match=message):
        Clock(accepted_at=cst("2026-03-02T10:00"), limit_days=limit)


def test_naive_acceptance_is_rejected() -> None:
    with pytest.raises(LegalClockError, match="accepted_at must be timezone-aware, got naive"):
        Clock(accepted_at=datetime(2026, 3, 2, 10), limit_days=1)


def test_models_round_trip_through_json(clock: Clock, cal: OfficialCalendar, hours: OfficeHours) -> None:
    full = (
        clock.stop(CORRECTION, cst("2026-09-22T10:00"), "补正")
        .resume(cst("2026-09-24T10:00"))
        .extend(10, approved_by="head", reason="complex", at=cst("2026-10-01T10:00"))
        .stop(SuspensionKind.TESTING, cst("2026-10-12T10:00"))
    )
    assert Clock.model_validate_json(full.model_dump_json()) == full
    budget = full.budget(cal, hours, cst("2026-10-20T10:00"))
    assert Budget.model_validate_json(budget.model_dump_json()) == budget
    assert OfficeHours.model_validate_json(hours.model_dump_json()) == hours
    with pytest.raises(Exception, match="frozen"):
        full.limit_days = 3  # type: ignore[misc]


def working_days_in(cal: OfficialCalendar, after: date, upto: date) -> int:
    """Working days in (after, upto]."""
    count, day = 0, after
    while day < upto:
        day += timedelta(days=1)
        count += cal.is_working_day(day)
    return count


@settings(max_examples=200, deadline=None)
@given(
    accepted=st.datetimes(min_value=datetime(2004, 1, 1), max_value=datetime(2026, 6, 30)),
    n=st.integers(min_value=1, max_value=80).map(lambda h: h / 2),
    stop_after=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
    stop_for=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
)
def test_a_stop_moves_the_deadline_by_the_working_days_after_its_day(
    cal: OfficialCalendar,
    hours: OfficeHours,
    accepted: datetime,
    n: float,
    stop_after: timedelta,
    stop_for: timedelta,
) -> None:
    clock = Clock(accepted_at=accepted.replace(tzinfo=CST), limit_days=n)
    begin, end = clock.accepted_at + stop_after, clock.accepted_at + stop_after + stop_for
    base = due(clock, cal, hours)
    stopped = clock.stop(CORRECTION, begin).resume(end)
    moved = due(stopped, cal, hours)
    if begin >= base:  # stopped when already overdue
        assert moved == base
    else:
        skipped = working_days_in(cal, max(begin.date(), clock.accepted_at.date()), end.date())
        assert moved == due(clock.model_copy(update={"limit_days": n + skipped}), cal, hours) or (
            # a half limit accepted in a morning: 0.5 + k days and 0.5 moved by k differ
            n == 0.5 and moved.time() == base.time()
        )
        assert moved.time() == base.time()  # still at the close of the same session
        assert working_days_in(cal, base.date(), moved.date()) == skipped
    budget = stopped.budget(cal, hours, moved)
    assert budget.left_days == 0
    assert not budget.overdue
