"""Malformed calendars, office hours and ledgers give one clear LegalClockError."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest

from legalclock import (
    CST,
    CalendarDataError,
    LegalClockError,
    OfficeHours,
    OfficialCalendar,
    Suspension,
    SuspensionKind,
    YearCalendar,
    load_calendar_file,
    parse_calendar_file,
)


def years(**per_year: Any) -> str:
    return json.dumps({"years": {k.lstrip("y"): v for k, v in per_year.items()}})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON: Expecting property name"),
        ("[]", "must be an object"),
        ('{"holidays": {}}', "must be an object"),
        ('{"years": {}, "extra": 1}', "only those keys"),
        ('{"years": []}', "years must be an object"),
        ('{"years": {"20x6": {}}}', "unknown year key '20x6'"),
        ('{"years": {"1899": {}}}', "year 1899 is outside the supported range"),
        (
            years(y2026={"holidays": {"2026-02-30": "x"}}),
            r"years\.2026\.holidays\.2026-02-30: Input should be a valid date",
        ),
        (
            years(y2026={"holidays": {"2026-01-01": 5}}),
            r"years\.2026\.holidays\.2026-01-01: Input should be a valid string",
        ),
        (years(y2026={"holiday": {}}), r"years\.2026\.holiday: Extra inputs are not permitted"),
        (
            years(y2026={"holidays": {"2025-12-31": "x"}}),
            r"years\.2026\.holidays: 2025-12-31 is filed under the wrong year 2026",
        ),
        (
            years(y2026={"holidays": {"2026-10-10": "x"}, "workdays": {"2026-10-10": "y"}}),
            "years.2026: 2026-10-10 is both a holiday and a make-up working day",
        ),
        (years(y2026={"workdays": {"2026-10-12": "y"}}), "workdays: 2026-10-12 is a Monday"),
        ('{"years": {"2026": {}, "2026": {}}}', "repeats the key '2026'"),
        ('{"version": "v1", "years": {"2026": {}}}', "version 'v1' does not match the file"),
    ],
)
def test_bad_calendar_files(text: str, message: str) -> None:
    with pytest.raises(CalendarDataError, match=message) as caught:
        parse_calendar_file(text)
    assert "\n" not in str(caught.value)


def test_bad_calendar_models() -> None:
    with pytest.raises(CalendarDataError, match="is both a holiday"):
        YearCalendar(holidays={date(2026, 1, 1): "a"}, workdays={date(2026, 1, 1): "b"})
    with pytest.raises(CalendarDataError, match="version: String should have at least 1"):
        OfficialCalendar(version="", years={})
    with pytest.raises(CalendarDataError, match="filed under the wrong year"):
        OfficialCalendar(version="v", years={2027: YearCalendar(holidays={date(2026, 1, 1): "a"})})
    with pytest.raises(CalendarDataError, match="to_year 2025 is before from_year 2026"):
        OfficialCalendar(version="v", years={}).slice(2026, 2025)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CalendarDataError, match="cannot read calendar file"):
        load_calendar_file(tmp_path / "missing.json")
    good = tmp_path / "ok.json"
    good.write_text('{"years": {"2027": {}}}', encoding="utf-8")
    assert load_calendar_file(good).is_official(2027)


def test_bad_office_hours() -> None:
    with pytest.raises(LegalClockError, match="morning_start < morning_end"):
        OfficeHours(morning_start=time(12), morning_end=time(9))
    with pytest.raises(LegalClockError, match="afternoon_end must be a naive time on a whole"):
        OfficeHours(afternoon_end=time(17, 30, 15))
    with pytest.raises(LegalClockError, match="lunch: Extra inputs are not permitted"):
        OfficeHours(lunch=1)  # type: ignore[call-arg]


def test_suspension_end_before_start() -> None:
    with pytest.raises(LegalClockError, match=r"suspension end .* is before its start"):
        Suspension(
            kind=SuspensionKind.HEARING,
            start=datetime(2026, 3, 3, tzinfo=CST),
            end=datetime(2026, 3, 2, tzinfo=CST),
        )
    with pytest.raises(LegalClockError, match="kind: Input should be 'correction'"):
        Suspension(kind="lunch", start=datetime(2026, 3, 3, tzinfo=CST))
