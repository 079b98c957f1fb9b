"""Loading a State Council holiday notice into the calendar in force: day by day, never wiping.

A notice (国务院办公厅关于XXXX年部分节假日安排的通知) is filed under its own year but may name
days of the previous December: the notice for 2008 (国办发明电〔2007〕40号) made Sat 2007-12-29 a
working day and Mon 2007-12-31 a holiday, the notice for 2012 made 2011-12-31 a working day and
the notice for 2023 made 2022-12-31 a holiday. Such days are filed under their own calendar year.

Rules (all pure; `merge_calendar_file` is what `daiban calendar load` calls):

* A notice's days are merged one by one: a day the notice names takes the notice's kind and name;
  a day it does not name keeps what it had. A notice never removes a day it does not mention.
* The previous December's days go into that year's official data. If that year has no official
  data, they are refused: one day cannot make a year official, and filing it alone would replace
  the year's statutory holidays (load that year's notice first).
* `diff_notice` lists, per year, every day whose kind or name changes, and the holidays a load
  would remove; for a year becoming official the comparison is with its provisional view.
* A load that would turn a holiday into a working day is refused with the list (`NoticeRefused`):
  an official holiday already loaded, or a statutory day of all citizens of a newly official year
  (全国年节及纪念日放假办法 §2: a notice arranges rest days around them, it cannot take one away).
  A correction that really removes a holiday is loaded with ``allow_removals=True``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import ValidationError

from legalclock.common import FrozenModel, as_legal_error
from legalclock.errors import CalendarDataError
from legalclock.official import OfficialCalendar, YearCalendar, read_calendar_json
from legalclock.statutory import statutory_days

DayKind = Literal["holiday", "workday", "ordinary"]


@dataclass(frozen=True, slots=True)
class Notice:
    """A parsed notice: its days by calendar year, and which came from the previous December."""

    calendar: OfficialCalendar
    # Day of the previous December -> year of the notice that named it.
    previous_december: Mapping[date, int] = field(default_factory=dict)


class DayChange(FrozenModel):
    """One day whose kind or name a notice changes."""

    day: date
    was: DayKind
    was_name: str
    now: DayKind
    now_name: str
    working_before: bool
    working_after: bool


class YearDiff(FrozenModel):
    """The changes a notice makes to one year."""

    year: int
    official_before: bool
    changes: tuple[DayChange, ...]


class CalendarDiff(FrozenModel):
    """What loading a notice would change (a dry run): per year, every day that changes."""

    base_version: str
    version: str
    years: tuple[YearDiff, ...]
    # Holidays the load would turn into working days (refused unless allowed).
    removed_holidays: tuple[DayChange, ...]

    @property
    def changed_years(self) -> list[int]:
        """Years with at least one changed day."""
        return [y.year for y in self.years if y.changes]

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready summary: per year, the changed days as ``was -> now``."""
        return {
            str(y.year): {
                c.day.isoformat(): f"{_describe(c.was, c.was_name)} -> {_describe(c.now, c.now_name)}"
                for c in y.changes
            }
            for y in self.years
            if y.changes
        }


class NoticeRefused(CalendarDataError):
    """A notice whose load would remove holidays; `removed` lists them."""

    def __init__(self, message: str, removed: tuple[DayChange, ...]) -> None:
        super().__init__(message)
        self.removed = removed


def _describe(kind: DayKind, name: str) -> str:
    return "ordinary day" if kind == "ordinary" else f"{kind} {name}"


def parse_notice_file(text: str) -> Notice:
    """Parse a notice file: like a calendar file, but a year may name days of the previous December.

    Args:
        text: ``{"years": {"2008": {"holidays": {"2007-12-31": "元旦", ...}, "workdays": {...}}}}``;
            a ``version`` key, if present, must match the content (as in a calendar file)
            unless the notice names days of the previous December.

    Raises:
        CalendarDataError: With a message naming the offending key or date.
    """
    raw = read_calendar_json(text)
    years = raw["years"]
    previous: dict[date, int] = {}
    if isinstance(years, dict):
        years = {k: dict(v) if isinstance(v, dict) else v for k, v in years.items()}
        for key in list(years):
            data = years[key]
            if not (isinstance(key, str) and key.isdigit() and isinstance(data, dict)):
                continue
            notice_year = int(key)
            for kind in ("holidays", "workdays"):
                days = data.get(kind)
                if not isinstance(days, dict):
                    continue
                kept = {}
                for text_day, name in days.items():
                    day = _date_or_none(text_day)
                    if day is not None and day.year == notice_year - 1 and day.month == 12:
                        previous[day] = notice_year
                        target = years.setdefault(str(day.year), {})
                        if not isinstance(target, dict):
                            continue
                        target = years[str(day.year)] = dict(target)
                        bucket = dict(target.get(kind) or {})
                        if text_day in bucket and bucket[text_day] != name:
                            raise CalendarDataError(
                                f"years.{key}.{kind}: {text_day} is also given for {day.year} with another name"
                            )
                        bucket[text_day] = name
                        target[kind] = bucket
                    else:
                        kept[text_day] = name
                data[kind] = kept
    try:
        calendar = OfficialCalendar.model_validate({"version": "file", "years": years})
    except ValidationError as exc:
        raise as_legal_error(exc, CalendarDataError) from exc
    calendar = OfficialCalendar.from_years(calendar.years)
    declared = raw.get("version")
    if declared is not None and not previous and declared != calendar.version:
        raise CalendarDataError(f"version {declared!r} does not match the file content ({calendar.version})")
    return Notice(calendar, previous)


def _date_or_none(text: object) -> date | None:
    if not isinstance(text, str):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _kind(data: YearCalendar, day: date) -> tuple[DayKind, str]:
    if day in data.holidays:
        return "holiday", data.holidays[day]
    if day in data.workdays:
        return "workday", data.workdays[day]
    return "ordinary", ""


def diff_notice(base: OfficialCalendar, notice: Notice) -> CalendarDiff:
    """Every day a notice changes, per year, and the holidays it would remove (pure).

    For a year without official data the comparison is with its provisional view (statutory
    holidays and §6 make-up rest days); removals there count only for statutory days.

    Args:
        base: The calendar in force.
        notice: The parsed notice.
    """
    merged = base.merge(notice.calendar)
    per_year: list[YearDiff] = []
    removed: list[DayChange] = []
    for year in sorted(notice.calendar.years):
        official = base.is_official(year)
        before, after = base.year_view(year), merged.year_view(year)
        days = set(before.holidays) | set(before.workdays) | set(after.holidays) | set(after.workdays)
        statutory = {d for d, _ in statutory_days(year)}
        changes: list[DayChange] = []
        for day in sorted(days):
            was, was_name = _kind(before, day)
            now, now_name = _kind(after, day)
            if (was, was_name) == (now, now_name):
                continue
            change = DayChange(
                day=day,
                was=was,
                was_name=was_name,
                now=now,
                now_name=now_name,
                working_before=base.is_working_day(day),
                working_after=merged.is_working_day(day),
            )
            changes.append(change)
            if was == "holiday" and change.working_after and (official or day in statutory):
                removed.append(change)
        per_year.append(YearDiff(year=year, official_before=official, changes=tuple(changes)))
    return CalendarDiff(
        base_version=base.version,
        version=merged.version,
        years=tuple(per_year),
        removed_holidays=tuple(removed),
    )


def merge_notice(base: OfficialCalendar, notice: Notice, *, allow_removals: bool = False) -> OfficialCalendar:
    """Merge a notice into the calendar in force, day by day (pure).

    Args:
        base: The calendar in force.
        notice: The parsed notice.
        allow_removals: Accept a notice that turns holidays into working days (a correction).

    Raises:
        CalendarDataError: If the notice names days of a previous December whose year has no
            official data.
        NoticeRefused: If the load would remove holidays and `allow_removals` is false.
    """
    orphans = sorted(
        d
        for d, year in notice.previous_december.items()
        if not base.is_official(d.year) and not _has_own_data(notice, d.year)
    )
    if orphans:
        year = orphans[0].year
        raise CalendarDataError(
            f"the notice for {year + 1} names {', '.join(map(str, orphans))} of December {year}, "
            f"but {year} has no official data (its holidays are provisional, computed by law); "
            f"load the notice for {year} first"
        )
    diff = diff_notice(base, notice)
    if diff.removed_holidays and not allow_removals:
        listed = ", ".join(f"{c.day} ({c.was_name} -> {_describe(c.now, c.now_name)})" for c in diff.removed_holidays)
        raise NoticeRefused(
            f"loading would turn {len(diff.removed_holidays)} holiday(s) into working days: "
            f"{listed}; a notice never removes a holiday silently (load a correction with "
            "allow_removals)",
            diff.removed_holidays,
        )
    return base.merge(notice.calendar)


def _has_own_data(notice: Notice, year: int) -> bool:
    data = notice.calendar.years.get(year)
    if data is None:
        return False
    own = (set(data.holidays) | set(data.workdays)) - set(notice.previous_december)
    return bool(own)


def merge_calendar_file(
    base: OfficialCalendar, text: str, *, allow_removals: bool = False
) -> tuple[OfficialCalendar, list[int]]:
    """Validate a notice file and merge it into `base`, day by day (pure).

    Args:
        base: The calendar in force.
        text: Content of a calendar or notice file, usually one newly published year.
        allow_removals: Accept a notice that turns holidays into working days (a correction).

    Returns:
        The merged calendar (new version if anything changed) and the years it changes.
    """
    notice = parse_notice_file(text)
    merged = merge_notice(base, notice, allow_removals=allow_removals)
    return merged, sorted(y for y in notice.calendar.years if base.years.get(y) != merged.years.get(y))


def diff_calendar_file(base: OfficialCalendar, text: str) -> CalendarDiff:
    """The dry run of `merge_calendar_file`: what loading the file would change (pure)."""
    return diff_notice(base, parse_notice_file(text))
