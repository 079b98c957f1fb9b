"""Generate `legalclock/data/official.json` from the `chinese_calendar` package.

chinese_calendar is a development dependency only: run time reads the generated file. The days
on which it differs from the published notices are corrected from
`legalclock.tools.disagreements.OFFICIAL`, the one list of them.

    python -m legalclock.tools.generate_calendar_data           # rewrite the data file
    python -m legalclock.tools.generate_calendar_data --check   # exit 1 if it is stale
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from chinese_calendar import constants  # dev-only dependency

from legalclock.official import OfficialCalendar, YearCalendar, dump_calendar_file
from legalclock.tools import write_or_check
from legalclock.tools.disagreements import OFFICIAL

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "official.json"


def build_from_chinese_calendar() -> OfficialCalendar:
    """Build the official calendar from chinese_calendar's constants and the corrections."""

    def named(english: str) -> str:
        return f"{constants.Holiday(english).chinese} {english}"

    def make_up(english: str) -> str:
        return f"{constants.Holiday(english).chinese}调休 {english} make-up"

    holidays: dict[int, dict[date, str]] = {}
    workdays: dict[int, dict[date, str]] = {}
    for day, english in constants.holidays.items():
        holidays.setdefault(day.year, {})[day] = named(english)
    for day, english in constants.workdays.items():
        workdays.setdefault(day.year, {})[day] = make_up(english)
    for fix in OFFICIAL:
        holidays.setdefault(fix.day.year, {}).pop(fix.day, None)
        workdays.setdefault(fix.day.year, {}).pop(fix.day, None)
        if fix.working and fix.day.weekday() >= 5:
            workdays[fix.day.year][fix.day] = fix.name
        elif not fix.working:
            holidays[fix.day.year][fix.day] = fix.name
    years = {
        year: YearCalendar(holidays=holidays.get(year, {}), workdays=workdays.get(year, {}))
        for year in sorted(holidays.keys() | workdays.keys())
    }
    return OfficialCalendar.from_years(years)


def main(argv: list[str]) -> int:
    """Write (or with --check, verify) the packaged data file."""
    return write_or_check(DATA_FILE, dump_calendar_file(build_from_chinese_calendar()), argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
