"""Counting rules of issue 11: stops in whole days, lawful extensions, declared stop lengths."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legalclock import (
    CST,
    Clock,
    ClockStateError,
    ExtensionAfterDeadline,
    ExtensionRefused,
    ExtensionRepeated,
    ExtensionTooLong,
    OfficeHours,
    OfficialCalendar,
    SuspensionKind,
    add_working_days,
    count_working_days,
)
from tests.legalclock.helpers import cst, due

CORRECTION = SuspensionKind.CORRECTION
CLOSES = {time(12), time(17, 30)}


instants = st.datetimes(min_value=datetime(2004, 1, 1), max_value=datetime(2026, 6, 30)).map(
    lambda t: t.replace(tzinfo=CST)
)


def test_a_one_microsecond_stop_moves_nothing(cal: OfficialCalendar, hours: OfficeHours) -> None:
    # Issue 11: it moved a 17:30 deadline to 09:00:00.000001 the next working day.
    clock = Clock(accepted_at=cst("2026-03-02T10:00"), limit_days=5)
    at = cst("2026-03-04T10:00")
    stopped = clock.stop(CORRECTION, at).resume(at + timedelta(microseconds=1))
    assert due(stopped, cal, hours) == due(clock, cal, hours) == cst("2026-03-09T17:30")


def test_a_stop_on_the_last_day_moves_by_the_days_after_it(cal: OfficialCalendar, hours: OfficeHours) -> None:
    clock = Clock(accepted_at=cst("2026-03-02T10:00"), limit_days=5)  # due Mon 9 Mar 17:30
    stopped = clock.stop(CORRECTION, cst("2026-03-09T10:00")).resume(cst("2026-03-11T15:00"))
    assert due(stopped, cal, hours) == cst("2026-03-11T17:30")  # 10 and 11 Mar not counted
    assert stopped.budget(cal, hours, cst("2026-03-11T17:30")).left_days == 0
    late = clock.stop(CORRECTION, cst("2026-03-09T17:45")).resume(cst("2026-03-11T15:00"))
    assert due(late, cal, hours) == cst("2026-03-09T17:30")  # stopped after the deadline


@settings(max_examples=200, deadline=None)
@given(
    accepted=instants,
    halves=st.integers(min_value=1, max_value=60),
    stops=st.lists(
        st.tuples(
            st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
            st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10)),
        ),
        max_size=3,
    ),
)
def test_deadlines_stay_at_the_close_of_a_session_after_stops(
    cal: OfficialCalendar,
    hours: OfficeHours,
    accepted: datetime,
    halves: int,
    stops: list[tuple[timedelta, timedelta]],
) -> None:
    clock = Clock(accepted_at=accepted, limit_days=halves / 2)
    at = accepted
    for gap, length in stops:
        at += gap
        clock = clock.stop(CORRECTION, at, expected_days=1)
        at += length
        clock = clock.resume(at)
    deadline = due(clock, cal, hours)
    assert deadline.time() in CLOSES
    assert deadline >= due(Clock(accepted_at=accepted, limit_days=halves / 2), cal, hours)
    budget = clock.budget(cal, hours, deadline)
    assert budget.left_days == 0
    assert not budget.overdue


def test_extension_limits(cal: OfficialCalendar, hours: OfficeHours) -> None:
    clock = Clock(accepted_at=cst("2026-03-02T10:00"), limit_days=20)  # due 30 Mar 17:30

    def law(max_days: float = 10) -> dict[str, Any]:
        return {"calendar": cal, "hours": hours, "max_days": max_days}

    extended = clock.extend(10, "局长", "complex case", cst("2026-03-30T17:30"), **law())
    assert due(extended, cal, hours) == due(clock.model_copy(update={"limit_days": 30}), cal, hours)
    with pytest.raises(ExtensionAfterDeadline, match=r"行政许可法 §42") as late:
        clock.extend(10, "局长", "too late", cst("2026-03-31T09:01"), **law())
    for night in ("2026-03-30T23:00", "2026-03-31T08:59"):  # run out, though no office hour has passed since
        with pytest.raises(ExtensionAfterDeadline):
            clock.extend(10, "局长", "too late", cst(night), **law())
    assert late.value.rule == "行政许可法 §42"
    with pytest.raises(ExtensionTooLong, match="legal maximum of 10"):
        clock.extend(15, "局长", "too long", cst("2026-03-10T10:00"), **law())
    joint = clock.extend(15, "区长", "joint handling", cst("2026-03-10T10:00"), **law(15))
    assert joint.total_days == 35
    with pytest.raises(ExtensionRepeated, match="one extension"):
        extended.extend(1, "局长", "again", cst("2026-03-31T10:00"), **law())
    assert issubclass(ExtensionRefused, ClockStateError)


def test_an_extension_during_a_stop_is_within_the_limit(cal: OfficialCalendar, hours: OfficeHours) -> None:
    clock = Clock(accepted_at=cst("2026-03-02T10:00"), limit_days=20).stop(
        SuspensionKind.EXPERT_REVIEW, cst("2026-03-20T10:00"), expected_days=10
    )
    # Long after the unstopped deadline, but the limit is stopped, not run out.
    extended = clock.extend(10, "局长", "r", cst("2026-04-30T10:00"), calendar=cal, hours=hours)
    assert extended.extension is not None


@settings(max_examples=150, deadline=None)
@given(accepted=instants, n=st.integers(min_value=1, max_value=40), after=st.integers(0, 60 * 24 * 90))
def test_an_extension_is_refused_exactly_when_the_limit_has_run_out(
    cal: OfficialCalendar, hours: OfficeHours, accepted: datetime, n: int, after: int
) -> None:
    clock = Clock(accepted_at=accepted, limit_days=n)
    at = accepted + timedelta(minutes=after)
    deadline = due(clock, cal, hours)
    try:
        clock.extend(10, "局长", "r", at, calendar=cal, hours=hours, max_days=10)
    except ExtensionAfterDeadline:
        assert at > deadline
    else:  # also after the close of its last day, before the next working day opens
        assert at <= deadline


def test_a_stop_declares_its_length_and_overruns(cal: OfficialCalendar, hours: OfficeHours) -> None:
    clock = Clock(accepted_at=cst("2026-09-21T10:00"), limit_days=20)
    assert clock.stop_overrun_at(cal, hours) is None
    review = clock.stop(SuspensionKind.EXPERT_REVIEW, cst("2026-09-29T10:00"), "专家评审", 5)
    overrun = review.stop_overrun_at(cal, hours)
    assert overrun is not None
    # 5 working days after Tue 29 Sep: 30 Sep, 8, 9 Oct, Sat 10 Oct (worked), 12 Oct.
    assert overrun.at == cst("2026-10-12T17:30")
    assert not overrun.provisional
    # Resumed on its last declared day, the deadline moves by exactly the declared length.
    resumed = review.resume(cst("2026-10-12T16:00"))
    assert due(resumed, cal, hours) == add_working_days(cal, hours, cst("2026-09-21T10:00"), 25).at
    assert resumed.stop_overrun_at(cal, hours) is None
    assert resumed.suspensions[0].expected_days == 5
    with pytest.raises(ValueError, match="expected_days must be > 0"):
        clock.stop(SuspensionKind.HEARING, cst("2026-09-29T10:00"), expected_days=0)


@pytest.mark.parametrize("kind", ["appraisal", "tendering", "auction", "public_notice", "correction"])
def test_every_section_45_kind_can_stop(kind: str) -> None:
    clock = Clock(accepted_at=cst("2026-03-02T10:00"), limit_days=20)
    assert clock.stop(SuspensionKind(kind), cst("2026-03-03T10:00"), expected_days=3).stopped


@settings(max_examples=100, deadline=None)
@given(accepted=instants, stop_for=st.integers(min_value=1, max_value=30))
def test_overrun_is_the_close_of_the_declared_last_day(
    cal: OfficialCalendar, hours: OfficeHours, accepted: datetime, stop_for: int
) -> None:
    clock = Clock(accepted_at=accepted, limit_days=20).stop(CORRECTION, accepted, expected_days=stop_for)
    overrun = clock.stop_overrun_at(cal, hours)
    assert overrun is not None and overrun.at is not None
    assert overrun.at.time() == time(17, 30)
    assert count_working_days(cal, hours, accepted, overrun.at) == stop_for


def test_after_hours_acceptance_setting(cal: OfficialCalendar) -> None:
    same_day, deemed = OfficeHours(), OfficeHours(after_hours_acceptance="next_working_day")
    friday_night = cst("2026-03-06T20:00")
    # Default: Friday is the day of the event; Monday is day 1.
    assert add_working_days(cal, same_day, friday_night, 1).at == cst("2026-03-09T17:30")
    # Deemed accepted Monday 09:00: Monday is the day of the event; Tuesday is day 1.
    assert add_working_days(cal, deemed, friday_night, 1).at == cst("2026-03-10T17:30")
    assert add_working_days(cal, deemed, friday_night, 0.5).at == cst("2026-03-09T17:30")
    assert add_working_days(cal, deemed, cst("2026-03-07T10:00"), 1).at == cst("2026-03-10T17:30")
    # In office hours nothing changes.
    assert add_working_days(cal, deemed, cst("2026-03-06T16:00"), 1).at == cst("2026-03-09T17:30")
    end = add_working_days(cal, deemed, friday_night, 3).at
    assert end is not None
    assert count_working_days(cal, deemed, friday_night, end) == 3
