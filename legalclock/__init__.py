"""The legal clock: deadlines in working days of the official Chinese calendar.

Pure and deterministic (no I/O at call time, no clock reads, no mutable globals), so it can
run inside Temporal workflows. Calendars and office hours are passed in as data;
`default_calendar` and `load_calendar_file` read files and belong in activities or the CLI.
"""

from legalclock.calendardays import add_calendar_days
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
from legalclock.errors import (
    CalendarDataError,
    ClockStateError,
    ExtensionAfterDeadline,
    ExtensionRefused,
    ExtensionRepeated,
    ExtensionTooLong,
    LegalClockError,
)
from legalclock.notices import (
    CalendarDiff,
    DayChange,
    Notice,
    NoticeRefused,
    YearDiff,
    diff_calendar_file,
    diff_notice,
    merge_calendar_file,
    merge_notice,
    parse_notice_file,
)
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
    parse_calendar_file,
)
from legalclock.seasons import Season, SeasonalHours, add_working_days_by_season, seasonal_deadline
from legalclock.statutory import festival_dates, provisional_holidays, statutory_days
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
    "CalendarDiff",
    "Clock",
    "ClockStateError",
    "DayChange",
    "Deadline",
    "Extension",
    "ExtensionAfterDeadline",
    "ExtensionRefused",
    "ExtensionRepeated",
    "ExtensionTooLong",
    "LegalClockError",
    "Notice",
    "NoticeRefused",
    "OfficeHours",
    "OfficialCalendar",
    "Season",
    "SeasonalHours",
    "Suspension",
    "SuspensionKind",
    "YearCalendar",
    "YearDiff",
    "add_calendar_days",
    "add_working_days",
    "add_working_days_by_season",
    "add_working_minutes",
    "content_version",
    "count_working_days",
    "default_calendar",
    "diff_calendar_file",
    "diff_notice",
    "dump_calendar_file",
    "festival_dates",
    "fixed_holidays",
    "load_calendar_file",
    "merge_calendar_file",
    "merge_notice",
    "parse_calendar_file",
    "parse_notice_file",
    "provisional_holidays",
    "seasonal_deadline",
    "statutory_days",
    "working_minutes_between",
]
