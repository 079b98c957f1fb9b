"""The packaged official calendar, its versioning, slicing and merging."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import holidays as holidays_pkg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legalclock import (
    NoticeRefused,
    OfficialCalendar,
    YearCalendar,
    content_version,
    dump_calendar_file,
    fixed_holidays,
    merge_calendar_file,
    parse_calendar_file,
)
from legalclock.tools.disagreements import OFFICIAL, Disagreement
from legalclock.tools.generate_calendar_data import build_from_chinese_calendar


def test_ships_every_year_with_an_official_notice(cal: OfficialCalendar) -> None:
    assert sorted(cal.years) == list(range(2004, 2027))
    assert cal.version == content_version(cal.years)
    assert cal.version.startswith("cn-")
    assert len(cal.version) == 15


def test_packaged_data_matches_the_generator(cal: OfficialCalendar) -> None:
    assert build_from_chinese_calendar() == cal


def test_every_day_matches_the_oracle(cal: OfficialCalendar) -> None:
    known = {d.day for d in OFFICIAL if "chinese-calendar" in d.oracles}
    day = date(2004, 1, 1)
    while day.year <= 2026:
        if day not in known:
            assert cal.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


CN_HOLIDAYS = holidays_pkg.country_holidays("CN", years=range(2004, 2027))


@settings(max_examples=400, deadline=None)
@given(day=st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31)))
def test_every_day_matches_the_second_oracle(cal: OfficialCalendar, day: date) -> None:
    """The `holidays` package, independent of chinese-calendar, agrees but for the listed days."""
    known = {d.day for d in OFFICIAL if "holidays" in d.oracles}
    if day not in known:
        assert cal.is_working_day(day) == CN_HOLIDAYS.is_working_day(day)


@pytest.mark.parametrize("fix", OFFICIAL, ids=lambda d: d.day.isoformat())
def test_each_listed_disagreement_is_real(cal: OfficialCalendar, fix: Disagreement) -> None:
    assert cal.is_working_day(fix.day) == fix.working
    assert ("chinese-calendar" in fix.oracles) == (chinese_calendar.is_workday(fix.day) != fix.working)
    assert ("holidays" in fix.oracles) == (CN_HOLIDAYS.is_working_day(fix.day) != fix.working)
    assert fix.source


def test_2005_12_31_was_a_working_day(cal: OfficialCalendar) -> None:
    # 国办发明电〔2005〕35号: 元旦 1-3 Jan 2006, Saturday 31 Dec 2005 worked.
    assert cal.is_working_day(date(2005, 12, 31))
    assert cal.years[2005].workdays[date(2005, 12, 31)] == "元旦调休 New Year's Day make-up"


def test_2026_notice(cal: OfficialCalendar) -> None:
    year = cal.years[2026]
    assert year.workdays[date(2026, 9, 20)] == "国庆节调休 National Day make-up"
    assert year.holidays[date(2026, 1, 1)] == "元旦 New Year's Day"
    assert cal.is_working_day(date(2026, 9, 20))  # Sunday
    assert cal.is_working_day(date(2026, 10, 10))  # Saturday
    assert not any(cal.is_working_day(date(2026, 10, d)) for d in range(1, 8))
    assert not any(cal.is_working_day(date(2026, 2, d)) for d in range(15, 24))
    assert cal.is_working_day(date(2026, 2, 14))
    assert cal.is_working_day(date(2026, 2, 28))


def test_provisional_years_count_the_statutory_holidays(cal: OfficialCalendar) -> None:
    assert not cal.is_official(2027)
    assert not cal.is_official(2003)
    assert sorted(fixed_holidays(2027)) == [
        date(2027, 1, 1),
        date(2027, 5, 1),
        date(2027, 5, 2),
        date(2027, 10, 1),
        date(2027, 10, 2),
        date(2027, 10, 3),
    ]
    assert len(fixed_holidays(2003)) == 7  # 1999 rules: May Day and National Day 3 days
    assert len(fixed_holidays(2010)) == 5
    assert not cal.is_working_day(date(2027, 1, 1))  # Friday
    # Spring Festival 2027: 除夕 Fri 5 Feb to 初三 Mon 8 Feb, Sat and Sun made up on 9 and 10 Feb
    # (it was a working day when provisional years knew only the fixed-date holidays).
    assert not any(cal.is_working_day(date(2027, 2, d)) for d in range(5, 11))
    assert cal.is_working_day(date(2027, 2, 11))
    assert cal.year_view(2027).workdays == {}  # the 调休 working days are unknown


def test_json_round_trip(cal: OfficialCalendar) -> None:
    again = OfficialCalendar.model_validate_json(cal.model_dump_json())
    assert again == cal
    assert again.version == cal.version
    assert parse_calendar_file(dump_calendar_file(cal)) == cal


def test_slice_keeps_version_and_years(cal: OfficialCalendar) -> None:
    part = cal.slice(2025, 2026)
    assert part.version == cal.version
    assert sorted(part.years) == [2025, 2026]
    assert len(part.model_dump_json()) < len(cal.model_dump_json()) / 5
    assert part.is_working_day(date(2026, 10, 10))
    assert not part.is_official(2024)


def test_merge_and_with_year_give_new_versions(cal: OfficialCalendar) -> None:
    year = YearCalendar(holidays={date(2027, 1, 1): "元旦 New Year's Day"})
    added = cal.with_year(2027, year)
    assert added.version != cal.version
    assert added.is_official(2027)
    assert 2027 not in cal.years  # the original is unchanged
    assert cal.merge(cal.slice(2026, 2026)).version == cal.version  # nothing changed
    assert cal.changed_years(added) == [2027]
    assert added.changed_years(cal) == []


def test_merge_calendar_file_reports_changed_years(cal: OfficialCalendar) -> None:
    text = json.dumps(
        {
            "years": {
                "2026": {"holidays": {"2026-01-01": "元旦 New Year's Day"}},
                "2027": {"holidays": {"2027-01-01": "元旦 New Year's Day"}},
            }
        }
    )
    with pytest.raises(NoticeRefused, match="2027-02-05"):  # drops 2027's statutory days
        merge_calendar_file(cal, text)
    merged, changed = merge_calendar_file(cal, text, allow_removals=True)
    assert changed == [2027]  # 2026's 1 Jan is already so: nothing changes there
    assert merged.years[2026] == cal.years[2026]  # merged day by day, never replaced
    same, none = merge_calendar_file(
        cal, dump_calendar_file(cal.slice(2026, 2026)).replace(f'"version": "{cal.version}",', "")
    )
    assert none == []
    assert same.version == cal.version


def test_import_needs_no_dev_dependency_and_does_no_io() -> None:
    code = (
        "import sys, legalclock, legalclock.cli\n"
        "assert 'chinese_calendar' not in sys.modules\n"
        "assert legalclock.default_calendar.cache_info().currsize == 0\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


@pytest.mark.parametrize("year", [1999, 2200])
def test_unsupported_years_are_rejected(cal: OfficialCalendar, year: int) -> None:
    with pytest.raises(ValueError, match="supported range"):
        cal.year_view(year)


def test_copies_do_not_keep_a_stale_index(cal: OfficialCalendar) -> None:
    assert not cal.is_working_day(date(2026, 10, 1))
    emptied = cal.model_copy(update={"years": {}})
    # No notice: Oct 1-3 and the §6 make-up day for Saturday 3 Oct (Monday 5 Oct).
    assert emptied.is_working_day(date(2026, 10, 6))
    assert not emptied.is_working_day(date(2026, 10, 5))
    assert not emptied.is_working_day(date(2026, 10, 1))
