"""The legal clock: deadlines in working days of the official Chinese calendar.

Pure and deterministic (no I/O at call time, no clock reads, no mutable globals), so it can
run inside Temporal workflows. Calendars and office hours are passed in as data;
`default_calendar` and `load_calendar_file` read files and belong in activities or the CLI.
"""

from legalclock.clock import (
    Budget,
    Clock,
    Deadline,
    Extension,
    Suspension,
    SuspensionKind,
    add_working_days,
)
from legalclock.common import CST
from legalclock.errors import CalendarDataError, ClockStateError, LegalClockError
from legalclock.official import (
    MAX_YEAR,
    MIN_YEAR,
    OfficialCalendar,
    YearCalendar,
    content_version,
    default_calendar,
    dump_calendar_file,
    fixed_holidays,
    load_calendar_file,
    merge_calendar_file,
    parse_calendar_file,
)
from legalclock.workingtime import (
    OfficeHours,
    add_working_minutes,
    count_working_days,
    working_minutes_between,
)

__all__ = [
    "CST",
    "MAX_YEAR",
    "MIN_YEAR",
    "Budget",
    "CalendarDataError",
    "Clock",
    "ClockStateError",
    "Deadline",
    "Extension",
    "LegalClockError",
    "OfficeHours",
    "OfficialCalendar",
    "Suspension",
    "SuspensionKind",
    "YearCalendar",
    "add_working_days",
    "add_working_minutes",
    "content_version",
    "count_working_days",
    "default_calendar",
    "dump_calendar_file",
    "fixed_holidays",
    "load_calendar_file",
    "merge_calendar_file",
    "parse_calendar_file",
    "working_minutes_between",
]
