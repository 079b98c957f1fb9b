"""The official Chinese working-day calendar as versioned, replaceable data.

A year is *official* when the calendar holds the State Council's notice for it: its public
holidays and its make-up working days (调休). Any other year in the supported range is
*provisional*: it has the statutory holidays of the rules in force that year, lunar festivals
included, and the §6 make-up rest days (see `legalclock.statutory`); only the 调休 working days
a notice would add are unknown, and none are assumed.

Notices merge day by day (`merge_notice`): loading one never removes a day it does not mention,
and a notice may name days of the previous December, which are filed under their own year.

Everything here is pure except `load_calendar_file` and `default_calendar`, which read files and
must be called outside workflows (activities, CLI). Workflows receive an `OfficialCalendar`
(usually a `slice`) as data.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from legalclock.common import FrozenModel, as_legal_error
from legalclock.errors import CalendarDataError
from legalclock.statutory import provisional_holidays

MIN_YEAR = 2000
MAX_YEAR = 2199

# Fixed-date statutory holidays (全国年节及纪念日放假办法) by the revision in force from a
# year on; used for provisional years only. Named by month.
_FIXED_RULES: tuple[tuple[int, tuple[str, ...]], ...] = (
    (2000, ("01-01", "05-01", "05-02", "05-03", "10-01", "10-02", "10-03")),  # 1999 revision
    (2008, ("01-01", "05-01", "10-01", "10-02", "10-03")),  # 2007: May Day one day
    (2025, ("01-01", "05-01", "05-02", "10-01", "10-02", "10-03")),  # 2024: Decree 795
)
_FIXED_NAMES = MappingProxyType({1: "元旦 New Year's Day", 5: "劳动节 Labour Day", 10: "国庆节 National Day"})
_YEAR_KEY = re.compile(r"\d{4}")


def fixed_holidays(year: int) -> dict[date, str]:
    """The fixed-date statutory holidays of a year (New Year, Labour Day, National Day).

    Kept for callers of earlier versions: provisional years now use the full statutory
    holidays of `legalclock.statutory.provisional_holidays`, of which these are a subset.

    Args:
        year: A year in the supported range.

    Returns:
        Date -> name, e.g. 2027: Jan 1, May 1-2, Oct 1-3. Days falling on a weekend are listed
        too, without their §6 make-up rest day.
    """
    days = next(rule for first, rule in reversed(_FIXED_RULES) if year >= first)
    found = (date.fromisoformat(f"{year}-{md}") for md in days)
    return {day: f"{_FIXED_NAMES[day.month]} (provisional)" for day in found}


class YearCalendar(FrozenModel):
    """One year of an official notice: holidays and make-up working days, with names."""

    error_type = CalendarDataError

    holidays: dict[date, str] = Field(default_factory=dict)
    workdays: dict[date, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> YearCalendar:
        both = sorted(self.holidays.keys() & self.workdays.keys())
        if both:
            raise CalendarDataError(f"{both[0]} is both a holiday and a make-up working day")
        # Every weekday already is a working day, so a make-up weekday is a typo.
        weekdays = sorted(d for d in self.workdays if d.weekday() < 5)
        if weekdays:
            day = weekdays[0]
            raise CalendarDataError(f"workdays: {day} is a {day:%A}; make-up working days fall on weekends")
        return self


@dataclass(frozen=True, slots=True)
class DayIndex:
    """Fast working-day arithmetic over date ordinals for one calendar.

    Working days before an ordinal = weekdays before it (closed form, ordinal 1 is a Monday)
    + the net adjustment of the exceptional days before it (bisect over a sorted list).
    """

    off: frozenset[int]  # weekday ordinals that are not worked
    on: frozenset[int]  # weekend ordinals that are worked
    marks: tuple[int, ...]  # sorted ordinals of off | on
    shift: tuple[int, ...]  # shift[i]: net adjustment of marks[:i]
    official: frozenset[int]  # years with official data
    first: int  # first supported ordinal
    last: int  # last supported ordinal

    def is_working(self, ordinal: int) -> bool:
        """Whether the day is a working day."""
        if (ordinal - 1) % 7 < 5:
            return ordinal not in self.off
        return ordinal in self.on

    def working_before(self, ordinal: int) -> int:
        """Number of working days from ordinal 1 up to, not including, `ordinal`."""
        weeks, rest = divmod(ordinal - 1, 7)
        return 5 * weeks + min(rest, 5) + self.shift[bisect_left(self.marks, ordinal)]

    def nth_working(self, count: int) -> int:
        """The ordinal of the working day preceded by exactly `count` working days."""
        weeks, rest = divmod(count, 5)
        ordinal = 1 + 7 * weeks + rest  # right if no day were exceptional
        # Each day adds at most one working day, so stepping by the shortfall never overshoots.
        while (seen := self.working_before(ordinal)) > count:
            ordinal -= seen - count
        while (seen := self.working_before(ordinal)) < count:
            ordinal += count - seen
        while not self.is_working(ordinal):
            ordinal += 1
        return ordinal

    def provisional(self, first: date, last: date) -> bool:
        """Whether any year from `first` to `last` lacks official data."""
        return any(y not in self.official for y in range(first.year, last.year + 1))


def _build_index(years: Mapping[int, YearCalendar]) -> DayIndex:
    off: set[int] = set()
    on: set[int] = set()
    for year in range(MIN_YEAR, MAX_YEAR + 1):
        known = years.get(year)
        holidays = known.holidays if known is not None else provisional_holidays(year)
        off.update(d.toordinal() for d in holidays if d.weekday() < 5)
        if known is not None:
            on.update(d.toordinal() for d in known.workdays)
    marks = tuple(sorted(off | on))
    shift = [0]
    for ordinal in marks:
        shift.append(shift[-1] + (1 if ordinal in on else -1))
    return DayIndex(
        off=frozenset(off),
        on=frozenset(on),
        marks=marks,
        shift=tuple(shift),
        official=frozenset(years),
        first=date(MIN_YEAR, 1, 1).toordinal(),
        last=date(MAX_YEAR, 12, 31).toordinal(),
    )


def _canonical(years: Mapping[int, YearCalendar]) -> dict[str, Any]:
    return {
        str(year): {
            "holidays": {d.isoformat(): n for d, n in sorted(data.holidays.items())},
            "workdays": {d.isoformat(): n for d, n in sorted(data.workdays.items())},
        }
        for year, data in sorted(years.items())
    }


def content_version(years: Mapping[int, YearCalendar]) -> str:
    """Deterministic version of calendar content: "cn-" + 12 hex digits of its SHA-256.

    Args:
        years: The per-year data.

    Returns:
        The version string; equal content always gives the same version.
    """
    text = json.dumps(_canonical(years), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "cn-" + hashlib.sha256(text.encode()).hexdigest()[:12]


# Content version -> index. Every running project carries its own copy of the calendar, but few
# distinct contents exist; sharing their immutable index saves ~100 KiB per cached workflow. The
# key is computed from the content, so a cached index is always the one the content would build:
# determinism does not depend on what is cached.
_INDEXES: dict[str, DayIndex] = {}
_MAX_INDEXES = 32


def _shared_index(years: Mapping[int, YearCalendar]) -> DayIndex:
    key = content_version(years)
    index = _INDEXES.get(key)
    if index is None:
        if len(_INDEXES) >= _MAX_INDEXES:
            _INDEXES.clear()
        index = _INDEXES[key] = _build_index(years)
    return index


class OfficialCalendar(FrozenModel):
    """Official holiday data for a set of years, identified by a version string.

    Years outside `years` are provisional. Instances are immutable; `merge`, `with_year` and
    `slice` return new calendars. The working-day index is built lazily, once per instance
    (a cached_property: pydantic ignores it in equality and serialisation).
    """

    error_type = CalendarDataError

    version: str = Field(min_length=1)
    years: dict[int, YearCalendar]

    @field_validator("years", mode="before")
    @classmethod
    def _year_keys(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise CalendarDataError(
                f"years must be an object of year -> {{holidays, workdays}}, got {type(value).__name__}"
            )
        keyed: dict[int, Any] = {}
        for key, data in value.items():
            if isinstance(key, str) and _YEAR_KEY.fullmatch(key):
                year = int(key)
            elif isinstance(key, int) and not isinstance(key, bool):
                year = key
            else:
                raise CalendarDataError(f"years: unknown year key {key!r}; expected a 4-digit year such as '2026'")
            if not MIN_YEAR <= year <= MAX_YEAR:
                raise CalendarDataError(f"years: year {year} is outside the supported range {MIN_YEAR}-{MAX_YEAR}")
            if year in keyed:
                raise CalendarDataError(f"years: year {year} is given twice")
            keyed[year] = data
        return keyed

    @model_validator(mode="after")
    def _dates_in_year(self) -> OfficialCalendar:
        for year, data in self.years.items():
            for kind, days in (("holidays", data.holidays), ("workdays", data.workdays)):
                for day in sorted(days):
                    if day.year != year:
                        raise CalendarDataError(f"years.{year}.{kind}: {day} is filed under the wrong year {year}")
        return self

    @classmethod
    def from_years(cls, years: Mapping[int, YearCalendar]) -> OfficialCalendar:
        """Build a calendar whose version is derived from its content.

        Args:
            years: Year -> official data.
        """
        return cls(version=content_version(years), years=dict(years))

    @cached_property
    def day_index(self) -> DayIndex:
        """The working-day index of this calendar (built on first use, shared by equal content)."""
        return _shared_index(self.years)

    def is_official(self, year: int) -> bool:
        """Whether the calendar holds the official notice for `year`."""
        return year in self.years

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a working day (provisionally, for years without official data)."""
        return self.day_index.is_working(day.toordinal())

    def year_view(self, year: int) -> YearCalendar:
        """The official data of `year`, or its provisional statutory holidays and §6 make-ups."""
        if year in self.years:
            return self.years[year]
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise CalendarDataError(f"year {year} is outside the supported range {MIN_YEAR}-{MAX_YEAR}")
        return YearCalendar(holidays=provisional_holidays(year))

    def slice(self, from_year: int, to_year: int) -> OfficialCalendar:
        """A smaller calendar with the same version, holding only years in the range.

        Workflows carry a slice covering the years they may count over; a count that leaves
        the slice is marked provisional, which shows the slice was too small.

        Args:
            from_year: First year kept.
            to_year: Last year kept (inclusive).
        """
        if to_year < from_year:
            raise CalendarDataError(f"slice: to_year {to_year} is before from_year {from_year}")
        kept = {y: d for y, d in self.years.items() if from_year <= y <= to_year}
        return OfficialCalendar(version=self.version, years=kept)

    def merge(self, other: OfficialCalendar) -> OfficialCalendar:
        """A new calendar with the days of `other` merged in day by day.

        A day `other` names takes its kind and name from `other`; no day is removed that
        `other` does not name. Use `with_year` to replace a year whole. The version is
        recomputed from the merged content.
        """
        years = dict(self.years)
        for year, data in other.years.items():
            years[year] = _merge_year(years.get(year), data)
        return OfficialCalendar.from_years(years)

    def with_year(self, year: int, data: YearCalendar) -> OfficialCalendar:
        """A new calendar with `year` set to `data` (e.g. a newly published notice)."""
        return OfficialCalendar.from_years({**self.years, year: data})

    def changed_years(self, other: OfficialCalendar) -> list[int]:
        """Years whose data merging `other` (day by day) would add or change."""
        merged = self.merge(other)
        return sorted(y for y in other.years if self.years.get(y) != merged.years[y])


def _merge_year(base: YearCalendar | None, notice: YearCalendar) -> YearCalendar:
    """`base` with every day of `notice` set to the notice's kind and name."""
    if base is None:
        return notice
    named = set(notice.holidays) | set(notice.workdays)
    holidays = {d: n for d, n in base.holidays.items() if d not in named} | notice.holidays
    workdays = {d: n for d, n in base.workdays.items() if d not in named} | notice.workdays
    return YearCalendar(holidays=dict(sorted(holidays.items())), workdays=dict(sorted(workdays.items())))


def read_calendar_json(text: str) -> dict[str, Any]:
    """The JSON object of a calendar or notice file: ``{"version"?: ..., "years": {...}}``.

    Raises:
        CalendarDataError: Not JSON, a duplicate key, or another shape (the message says which).
    """
    try:
        raw = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise CalendarDataError(f"calendar file is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict) or "years" not in raw or not raw.keys() <= {"version", "years"}:
        raise CalendarDataError('calendar file must be an object {"version": ..., "years": {...}} with only those keys')
    return raw


def parse_calendar_file(text: str) -> OfficialCalendar:
    """Parse and validate a calendar file (pure).

    The format is ``{"version": "cn-...", "years": {"2026": {"holidays": {"2026-01-01":
    "元旦 New Year's Day"}, "workdays": {"2026-01-04": "..."}}}}``. ``version`` is optional; when
    present it must equal the content version, so an edited file cannot pose as another.

    Args:
        text: The file content.

    Raises:
        CalendarDataError: With a message naming the offending key or date.
    """
    raw = read_calendar_json(text)
    try:
        calendar = OfficialCalendar.model_validate({"version": "file", "years": raw["years"]})
    except ValidationError as exc:
        raise as_legal_error(exc, CalendarDataError) from exc
    calendar = OfficialCalendar.from_years(calendar.years)
    declared = raw.get("version")
    if declared is not None and declared != calendar.version:
        raise CalendarDataError(f"version {declared!r} does not match the file content ({calendar.version})")
    return calendar


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of duplicate keys silently; in a calendar that hides a typo.
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise CalendarDataError(f"calendar file repeats the key {key!r}")
        seen[key] = value
    return seen


def dump_calendar_file(calendar: OfficialCalendar) -> str:
    """Serialise a calendar in the file format read by `parse_calendar_file`."""
    body = {"version": calendar.version, "years": _canonical(calendar.years)}
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


def load_calendar_file(path: str | Path) -> OfficialCalendar:
    """Read and parse a calendar file (I/O: call outside workflows).

    Args:
        path: Path of the JSON file.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CalendarDataError(f"cannot read calendar file {path}: {exc.strerror}") from exc
    return parse_calendar_file(text)


@lru_cache(maxsize=1)
def default_calendar() -> OfficialCalendar:
    """The calendar shipped with the package (I/O: call outside workflows; cached)."""
    text = files("legalclock").joinpath("data/official.json").read_text(encoding="utf-8")
    return parse_calendar_file(text)
