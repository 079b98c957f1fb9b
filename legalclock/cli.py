"""Command line for the official calendar: ``daiban calendar add|count|show|load``.

``add --calendar-days`` counts a limit a law states in calendar days (日) by 民法典 §201, §203;
everything else counts working days (行政许可法 §82).

START/END accept an ISO date or datetime; a datetime without an offset is China Standard
Time. A date START means acceptance at the opening of office hours that day; a date END
means the close of office hours that day. Errors print one line to stderr and exit with 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from legalclock.calendardays import add_calendar_days
from legalclock.clock import add_working_days
from legalclock.common import CST, check_days
from legalclock.errors import CalendarDataError, LegalClockError
from legalclock.notices import diff_calendar_file, merge_calendar_file
from legalclock.official import OfficialCalendar, default_calendar
from legalclock.workingtime import OfficeHours, count_working_days

app = typer.Typer(
    help="Official working-day calendar (holidays and 调休) and working-day deadlines.",
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
StartArg = Annotated[str, typer.Argument(metavar="START", help="Acceptance date or datetime.")]


def shipped_calendar() -> tuple[OfficialCalendar, str]:
    """The calendar shipped with the package, and where it came from."""
    return default_calendar(), "shipped with daiban"


# Where add, count and show take the calendar from: the shipped one here; daiban's CLI points it
# at the calendar in force in PostgreSQL (one calendar for every tool).
calendar_source: Callable[[], tuple[OfficialCalendar, str]] = shipped_calendar


@contextmanager
def _one_line_errors() -> Iterator[None]:
    try:
        yield
    except LegalClockError as exc:
        typer.echo(f"daiban: {exc}", err=True)
        raise typer.Exit(2) from exc


def _instant(text: str, field: str, at: time) -> datetime:
    """Parse START/END: a date (at the given office time) or a datetime (naive means CST)."""
    try:
        if not any(sep in text for sep in "T :"):
            return datetime.combine(date.fromisoformat(text), at, CST)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise LegalClockError(
            f"{field} must be an ISO date or datetime such as 2026-09-28 or 2026-09-28T10:00+08:00, got {text!r}"
        ) from None
    return moment.replace(tzinfo=CST) if moment.tzinfo is None else moment


def _accepted(start: str) -> tuple[OfficeHours, OfficialCalendar, str, datetime]:
    """Office hours, the calendar in force and its source, and the acceptance instant START."""
    hours, (calendar, source) = OfficeHours(), calendar_source()
    return hours, calendar, source, _instant(start, "START", hours.morning_start)


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise LegalClockError(f"N must be a number of working days, got {text!r}") from None
    return check_days(value, "N")


def _whole_days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise LegalClockError(f"N must be a whole number of calendar days, got {text!r}") from None
    if value < 1:
        raise LegalClockError(f"N must be a whole number of calendar days >= 1, got {text!r}")
    return value


def _emit(as_json: bool, payload: dict[str, Any], title: str) -> None:
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    table = Table(title=title, show_header=False)
    for key, value in payload.items():
        table.add_row(key, _cell(value))
    Console().print(table)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return "\n".join(f"{k}: {v}" for k, v in value.items()) if value else "-"
    return str(value)


@app.command("add")
def add(
    start: StartArg,
    n: Annotated[str, typer.Argument(metavar="N", help="Working days (multiple of 0.5), or calendar days.")],
    calendar_days: Annotated[
        bool,
        typer.Option(
            "--calendar-days",
            help="N is in calendar days (日), as a law other than the Administrative Licensing Law "
            "states them: 民法典 §201, §203 (a last day on a rest day moves to the next working day).",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Deadline of N working days (or calendar days) for a matter accepted at START."""
    with _one_line_errors():
        hours, calendar, source, accepted = _accepted(start)
        if calendar_days:
            days: float = _whole_days(n)
            deadline = add_calendar_days(calendar, hours, accepted, int(days))
        else:
            days = _days(n)
            deadline = add_working_days(calendar, hours, accepted, days)
        payload = {
            "start": accepted.isoformat(),
            "days": days,
            "counted_in": "calendar_days" if calendar_days else "working_days",
            "deadline": deadline.at.isoformat() if deadline.at else None,  # None: never, unstopped
            "provisional": deadline.provisional,
            "calendar_version": deadline.calendar_version,
            "calendar": source,
        }
        _emit(as_json, payload, "Deadline")


@app.command("count")
def count(
    start: StartArg,
    end: Annotated[str, typer.Argument(metavar="END", help="End date or datetime.")],
    as_json: JsonFlag = False,
) -> None:
    """Working days from acceptance at START to END (the acceptance day not counted)."""
    with _one_line_errors():
        hours, calendar, source, accepted = _accepted(start)
        until = _instant(end, "END", hours.afternoon_end)
        days = count_working_days(calendar, hours, accepted, until)
        payload = {
            "start": accepted.isoformat(),
            "end": until.isoformat(),
            "working_days": days,
            "provisional": calendar.day_index.provisional(accepted.date(), until.date()),
            "calendar_version": calendar.version,
            "calendar": source,
        }
        _emit(as_json, payload, "Working days")


@app.command("show")
def show(
    year: Annotated[int, typer.Argument(metavar="YEAR", help="Year, e.g. 2026.")],
    as_json: JsonFlag = False,
) -> None:
    """Holidays and make-up working days of YEAR, official or provisional."""
    with _one_line_errors():
        calendar, source = calendar_source()
        data = calendar.year_view(year)
        official = calendar.is_official(year)
        if as_json:
            payload = {
                "year": year,
                "official": official,
                "calendar_version": calendar.version,
                "calendar": source,
                "holidays": {d.isoformat(): n for d, n in sorted(data.holidays.items())},
                "workdays": {d.isoformat(): n for d, n in sorted(data.workdays.items())},
            }
            typer.echo(json.dumps(payload, ensure_ascii=False))
            return
        status = "official" if official else "provisional: statutory holidays and §6 make-up days"
        table = Table("Date", "Day", "Kind", "Name", title=f"{year} ({status}; calendar {source})")
        rows = [(d, "holiday", n) for d, n in data.holidays.items()]
        rows += [(d, "make-up working day", n) for d, n in data.workdays.items()]
        for day, kind, name in sorted(rows):
            table.add_row(day.isoformat(), f"{day:%a}", kind, name)
        Console().print(table)


@app.command("load")
def load(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Calendar JSON file, e.g. a new year's notice.")],
    as_json: JsonFlag = False,
) -> None:
    """Validate a notice, merge it day by day and show every day it changes, per year.

    Nothing is stored: persisting the merged calendar is the caller's job
    (see `legalclock.notices.merge_calendar_file`). A notice that would turn holidays into
    working days is refused with the list.
    """
    with _one_line_errors():
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise CalendarDataError(f"cannot read {file}: {exc.strerror}") from exc
        base = default_calendar()
        merged, changed = merge_calendar_file(base, text)
        changes = diff_calendar_file(base, text).as_json()
        payload = {
            "base_version": base.version,
            "version": merged.version,
            "changed_years": changed,
            "years": sorted(merged.years),
            # Per year, every day that changes: "holiday 春节 -> ordinary day" etc.
            "changes": changes
            if as_json
            else {f"{y} {d}": text for y, days in changes.items() for d, text in days.items()},
        }
        _emit(as_json, payload, "Merged calendar")
