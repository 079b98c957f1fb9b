"""Working-day arithmetic against the chinese_calendar oracle (2004-2026)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from legalclock import (
    CST,
    LegalClockError,
    OfficeHours,
    OfficialCalendar,
    add_working_days,
    add_working_minutes,
    count_working_days,
    working_minutes_between,
)
from legalclock.tools.disagreements import OFFICIAL
from tests.legalclock.helpers import cst

FAST = settings(max_examples=300, deadline=None)
SESSIONS = ((time(9), time(12)), (time(13, 30), time(17, 30)))

instants = st.datetimes(min_value=datetime(2004, 1, 1), max_value=datetime(2026, 10, 31, 23, 59)).map(
    lambda t: t.replace(tzinfo=CST)
)


# chinese-calendar, corrected by the one list of its known disagreements with the notices.
CORRECTED = {d.day: d.working for d in OFFICIAL if "chinese-calendar" in d.oracles}


def oracle_is_workday(day: date) -> bool:
    return bool(CORRECTED.get(day, chinese_calendar.is_workday(day)))


def oracle_working_days_after(day: date, n: int) -> date:
    """The nth oracle working day after `day` (n = 0: `day` itself)."""
    while n > 0:
        day += timedelta(days=1)
        n -= oracle_is_workday(day)
    return day


def oracle_days_after(day: date, n: int) -> date:
    """The last day of a period of n calendar days after `day` (民法典 §201, §203): the nth day,
    moved to the next oracle working day if it is a rest day."""
    day += timedelta(days=n)
    while not oracle_is_workday(day):
        day += timedelta(days=1)
    return day


def oracle_minutes(start: datetime, end: datetime) -> float:
    total = 0.0
    day = start.date()
    while day <= end.date():
        if oracle_is_workday(day):
            for opens, closes in SESSIONS:
                lo = max(start, datetime.combine(day, opens, CST))
                hi = min(end, datetime.combine(day, closes, CST))
                total += max(0.0, (hi - lo).total_seconds() / 60)
        day += timedelta(days=1)
    return total


@FAST
@given(start=instants, n=st.integers(min_value=1, max_value=60))
def test_whole_days_match_the_oracle(cal: OfficialCalendar, hours: OfficeHours, start: datetime, n: int) -> None:
    deadline = add_working_days(cal, hours, start, n)
    assert deadline.at is not None
    assume(deadline.at.year <= 2026)
    assert deadline.at.date() == oracle_working_days_after(start.date(), n)
    assert deadline.at.time() == time(17, 30)
    assert not deadline.provisional
    assert not deadline.paused
    assert count_working_days(cal, hours, start, deadline.at) == n


@FAST
@given(start=instants, k=st.integers(min_value=0, max_value=30))
def test_half_days_follow_the_session_rule(cal: OfficialCalendar, hours: OfficeHours, start: datetime, k: int) -> None:
    at = add_working_days(cal, hours, start, k + 0.5).at
    assert at is not None
    assume(at.year <= 2026)
    morning = oracle_is_workday(start.date()) and start.time() < time(12)
    if morning and k == 0:  # 0.5 accepted in a morning: that day's close
        expected = datetime.combine(start.date(), time(17, 30), CST)
    else:  # otherwise the morning after the k whole days
        expected = datetime.combine(oracle_working_days_after(start.date(), k + 1), time(12), CST)
    assert at == expected
    # deadlines strictly increase with the limit, and count inverts them
    whole = add_working_days(cal, hours, start, k).at
    longer = add_working_days(cal, hours, start, k + 1).at
    assert whole is not None
    assert longer is not None
    assert whole < at < longer
    assert count_working_days(cal, hours, start, at) == k + 0.5


@FAST
@given(start=instants, halves=st.integers(min_value=0, max_value=120))
def test_count_inverts_add_for_every_limit(
    cal: OfficialCalendar, hours: OfficeHours, start: datetime, halves: int
) -> None:
    n = halves / 2
    at = add_working_days(cal, hours, start, n).at
    assert at is not None
    assert count_working_days(cal, hours, start, at) == n
    assert at.time() in {time(12), time(17, 30)} or n == 0  # always at the close of a session
    if n:
        assert count_working_days(cal, hours, start, at - timedelta(microseconds=1)) < n


@settings(max_examples=150, deadline=None)
@given(a=instants, span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)))
def test_minutes_between_match_the_oracle(
    cal: OfficialCalendar, hours: OfficeHours, a: datetime, span: timedelta
) -> None:
    b = a + span
    assert working_minutes_between(cal, hours, a, b) == pytest.approx(oracle_minutes(a, b))


@FAST
@given(start=instants, minutes=st.integers(min_value=0, max_value=40 * 420))
def test_adding_minutes_inverts_measuring(
    cal: OfficialCalendar, hours: OfficeHours, start: datetime, minutes: int
) -> None:
    end = add_working_minutes(cal, hours, start, minutes)
    assume(end.year <= 2026)
    assert end >= start
    assert working_minutes_between(cal, hours, start, end) == minutes


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        ("2026-09-30T10:00", 1, "2026-10-08T17:30"),  # over National Day
        ("2026-09-19T10:00", 1, "2026-09-20T17:30"),  # make-up Sunday
        ("2026-10-09T10:00", 1, "2026-10-10T17:30"),  # make-up Saturday
        ("2026-02-13T10:00", 1, "2026-02-14T17:30"),  # make-up Saturday before Spring Festival
        ("2026-02-13T10:00", 2, "2026-02-24T17:30"),  # over Spring Festival 15-23 Feb
        ("2026-02-15T10:00", 1, "2026-02-24T17:30"),  # accepted on a holiday
        ("2026-09-28T20:00", 5, "2026-10-10T17:30"),  # after hours: the day is still not counted
        ("2026-03-02T10:00", 20, "2026-03-30T17:30"),
        ("2026-03-02T10:00", 0, "2026-03-02T10:00"),  # zero: on the spot (行政许可法 §34)
        ("2026-03-02T19:00", 0, "2026-03-02T19:00"),
        # half days across lunch and holidays
        ("2026-03-02T11:59", 0.5, "2026-03-02T17:30"),
        ("2026-03-02T08:00", 0.5, "2026-03-02T17:30"),  # before opening: like the morning
        ("2026-03-02T12:00", 0.5, "2026-03-03T12:00"),  # lunch: like the afternoon
        ("2026-03-02T12:45", 0.5, "2026-03-03T12:00"),
        ("2026-03-02T17:45", 0.5, "2026-03-03T12:00"),
        ("2026-03-07T10:00", 0.5, "2026-03-09T12:00"),  # Saturday
        ("2026-09-30T14:00", 0.5, "2026-10-08T12:00"),  # across National Day
        ("2026-09-30T14:00", 1.5, "2026-10-09T12:00"),
        ("2026-09-30T10:00", 0.5, "2026-09-30T17:30"),
        ("2026-09-30T10:00", 1.5, "2026-10-09T12:00"),  # was 10-08 17:30, shared with 1 day
        ("2026-02-13T11:00", 0.5, "2026-02-13T17:30"),  # issue 11: count gives 0.5 back
    ],
)
def test_examples(cal: OfficialCalendar, hours: OfficeHours, start: str, days: float, expected: str) -> None:
    assert add_working_days(cal, hours, cst(start), days).at == cst(expected)


def test_any_zone_in_cst_out(cal: OfficialCalendar, hours: OfficeHours) -> None:
    utc = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
    at = add_working_days(cal, hours, utc, 1).at
    assert at == cst("2026-03-03T17:30")
    assert at is not None
    assert at.utcoffset() == timedelta(hours=8)


def test_minutes_across_lunch(cal: OfficialCalendar, hours: OfficeHours) -> None:
    lunch = working_minutes_between(cal, hours, cst("2026-03-02T11:00"), cst("2026-03-02T14:30"))
    assert lunch == 120
    assert add_working_minutes(cal, hours, cst("2026-03-02T11:00"), 60) == cst("2026-03-02T12:00")
    assert add_working_minutes(cal, hours, cst("2026-03-02T11:00"), 61) == cst("2026-03-02T13:31")
    assert hours.day_minutes == 420


def test_count_is_in_completed_half_days(cal: OfficialCalendar, hours: OfficeHours) -> None:
    start = cst("2026-03-02T10:00")  # a morning: its afternoon is the first half
    assert count_working_days(cal, hours, start, cst("2026-03-02T17:29")) == 0
    assert count_working_days(cal, hours, start, cst("2026-03-02T17:30")) == 0.5
    assert count_working_days(cal, hours, start, cst("2026-03-03T12:00")) == 0.5
    assert count_working_days(cal, hours, start, cst("2026-03-03T17:30")) == 1
    assert count_working_days(cal, hours, start, cst("2026-03-04T12:00")) == 1.5
    later = cst("2026-03-02T14:00")  # an afternoon: the next morning is
    assert count_working_days(cal, hours, later, cst("2026-03-02T17:30")) == 0
    assert count_working_days(cal, hours, later, cst("2026-03-03T12:00")) == 0.5
    # issue 11's regression: add 2026-02-13T11:00 0.5 gives 17:30, and count agrees
    friday = cst("2026-02-13T11:00")
    assert count_working_days(cal, hours, friday, cst("2026-02-13T17:30")) == 0.5


def test_custom_office_hours(cal: OfficialCalendar) -> None:
    summer = OfficeHours(afternoon_start=time(15), afternoon_end=time(18))
    assert summer.day_minutes == 360
    at = add_working_days(cal, summer, cst("2026-07-01T10:00"), 1).at
    assert at == cst("2026-07-02T18:00")


def test_naive_and_reversed_inputs_are_rejected(cal: OfficialCalendar, hours: OfficeHours) -> None:
    with pytest.raises(LegalClockError, match="start must be timezone-aware"):
        working_minutes_between(cal, hours, datetime(2026, 3, 2), cst("2026-03-03T00:00"))
    with pytest.raises(LegalClockError, match="accepted_at must be timezone-aware"):
        add_working_days(cal, hours, datetime(2026, 3, 2, 10), 5)
    with pytest.raises(LegalClockError, match="is before start"):
        working_minutes_between(cal, hours, cst("2026-03-03T00:00"), cst("2026-03-02T00:00"))
    with pytest.raises(LegalClockError, match="is before start"):
        count_working_days(cal, hours, cst("2026-03-03T00:00"), cst("2026-03-02T00:00"))
    with pytest.raises(LegalClockError, match="minutes must be >= 0"):
        add_working_minutes(cal, hours, cst("2026-03-03T00:00"), -1)
    with pytest.raises(LegalClockError, match="outside the supported years"):
        add_working_days(cal, hours, cst("1999-12-31T10:00"), 1)
