"""Loading notices: day by day, previous December filed under its year, removals refused."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legalclock import (
    CalendarDataError,
    NoticeRefused,
    OfficialCalendar,
    YearCalendar,
    diff_calendar_file,
    merge_calendar_file,
    provisional_holidays,
)


def notice(year: int, holidays: dict[str, str], workdays: dict[str, str] | None = None) -> str:
    return json.dumps({"years": {str(year): {"holidays": holidays, "workdays": workdays or {}}}})


def test_the_2008_notice_files_its_december_days_under_2007(cal: OfficialCalendar) -> None:
    # 国办发明电〔2007〕40号: 元旦 30 Dec 2007 - 1 Jan 2008, Saturday 29 Dec 2007 worked.
    without = cal.with_year(
        2007,
        YearCalendar(
            holidays={d: n for d, n in cal.years[2007].holidays.items() if d.month < 12},
            workdays={d: n for d, n in cal.years[2007].workdays.items() if d.month < 12},
        ),
    )
    text = notice(
        2008,
        {"2007-12-30": "元旦", "2007-12-31": "元旦", "2008-01-01": "元旦"},
        {"2007-12-29": "元旦调休"},
    )
    merged, changed = merge_calendar_file(without, text)
    assert changed == [2007, 2008]
    assert merged.years[2007].holidays[date(2007, 12, 31)] == "元旦"
    assert merged.years[2007].workdays[date(2007, 12, 29)] == "元旦调休"
    # The rest of 2007 is untouched: 2007 keeps its ~30 holidays, it is not replaced by 3 days.
    assert len(merged.years[2007].holidays) == len(without.years[2007].holidays) + 2
    assert merged.is_working_day(date(2007, 12, 29))
    assert not merged.is_working_day(date(2007, 12, 31))
    diff = diff_calendar_file(without, text)
    assert diff.as_json()["2007"] == {
        "2007-12-29": "ordinary day -> workday 元旦调休",
        "2007-12-30": "ordinary day -> holiday 元旦",
        "2007-12-31": "ordinary day -> holiday 元旦",
    }


@pytest.mark.parametrize(
    ("year", "day", "working"),
    [(2012, "2011-12-31", True), (2023, "2022-12-31", False)],
)
def test_other_notices_naming_the_previous_december(cal: OfficialCalendar, year: int, day: str, working: bool) -> None:
    kind = "workdays" if working else "holidays"
    text = json.dumps({"years": {str(year): {kind: {day: "元旦"}}}})
    merged, _ = merge_calendar_file(cal, text)
    assert merged.is_working_day(date.fromisoformat(day)) == working
    assert merged.years[year - 1].holidays.keys() >= cal.years[year - 1].holidays.keys()


def test_a_previous_december_of_a_provisional_year_is_refused(cal: OfficialCalendar) -> None:
    text = notice(2004, {"2003-12-31": "x", "2004-01-01": "元旦"})
    with pytest.raises(CalendarDataError, match="2003 has no official data"):
        merge_calendar_file(cal, text)


def test_a_notice_that_would_remove_holidays_is_refused_with_the_list(cal: OfficialCalendar) -> None:
    text = notice(2026, {}, {"2026-10-03": "wrong", "2026-10-04": "wrong"})
    with pytest.raises(NoticeRefused) as refused:
        merge_calendar_file(cal, text)
    assert [c.day for c in refused.value.removed] == [date(2026, 10, 3), date(2026, 10, 4)]
    assert "2026-10-03 (国庆节 National Day -> workday wrong)" in str(refused.value)
    merged, _ = merge_calendar_file(cal, text, allow_removals=True)  # a deliberate correction
    assert merged.is_working_day(date(2026, 10, 3))


def test_a_full_notice_for_a_provisional_year_is_accepted(cal: OfficialCalendar) -> None:
    holidays = {d.isoformat(): "x" for d in provisional_holidays(2027)}
    merged, changed = merge_calendar_file(cal, notice(2027, holidays, {"2027-02-20": "调休"}))
    assert changed == [2027]
    assert merged.is_official(2027)
    assert merged.is_working_day(date(2027, 2, 20))


days_of_2026 = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31))


@settings(max_examples=150, deadline=None)
@given(
    named=st.dictionaries(days_of_2026, st.sampled_from(["holiday", "workday"]), max_size=12),
)
def test_merging_never_changes_a_day_the_notice_does_not_name(cal: OfficialCalendar, named: dict[date, str]) -> None:
    holidays = {d.isoformat(): "h" for d, k in named.items() if k == "holiday"}
    workdays = {d.isoformat(): "w" for d, k in named.items() if k == "workday" and d.weekday() >= 5}
    text = notice(2026, holidays, workdays)
    merged, _ = merge_calendar_file(cal, text, allow_removals=True)
    mentioned = {date.fromisoformat(d) for d in (*holidays, *workdays)}
    before, after = cal.years[2026], merged.years[2026]
    for day, name in before.holidays.items():
        if day not in mentioned:
            assert after.holidays[day] == name
    for day, name in before.workdays.items():
        if day not in mentioned:
            assert after.workdays[day] == name
    diff = diff_calendar_file(cal, text)
    assert {c.day for y in diff.years for c in y.changes} <= mentioned
    removed = {c.day for c in diff.removed_holidays}
    assert removed == {d for d in before.holidays if d in mentioned and merged.is_working_day(d)}
