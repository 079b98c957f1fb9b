"""Office hours by season: many northern offices keep summer and winter hours (夏季/冬季作息时间).

A ``SeasonalHours`` schedule names the day of the year each season starts (``"MM-DD"``) and its
office hours; the season in force on a day is the one that started last on or before it (the
last of the year before, in early January). Pure, like the rest of the legal clock.

Limits count working *days* (民法典 §201-§203: a period ends at the close of its last day), so the
day a limit ends does not depend on the hours; the hours decide which session an acceptance falls
in (the half-day rule) and when the last day closes. ``seasonal_deadline`` therefore counts with
the hours of the acceptance day and closes on the hours of the last day: accepted in winter, a
limit that ends in summer ends at the summer close.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field, field_validator, model_validator

from legalclock.clock import Clock, Deadline
from legalclock.common import CST, FrozenModel, check_days
from legalclock.errors import LegalClockError
from legalclock.official import OfficialCalendar
from legalclock.workingtime import OfficeHours


class Season(FrozenModel):
    """A season's office hours, from ``starts`` (month and day, ``"MM-DD"``) until the next season."""

    starts: str = Field(pattern=r"^\d{2}-\d{2}$")
    hours: OfficeHours

    @field_validator("starts")
    @classmethod
    def _real_day(cls, value: str) -> str:
        try:
            date.fromisoformat(f"2024-{value}")  # a leap year: 02-29 is a day of the year
        except ValueError:
            raise LegalClockError(f"starts: {value!r} is not a month and day (MM-DD)") from None
        return value

    @property
    def key(self) -> tuple[int, int]:
        month, day = self.starts.split("-")
        return int(month), int(day)


class SeasonalHours(FrozenModel):
    """Office hours by season, e.g. summer hours from ``05-01`` and winter hours from ``10-01``."""

    seasons: list[Season] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> SeasonalHours:
        starts = [s.starts for s in self.seasons]
        if len(set(starts)) != len(starts):
            raise LegalClockError(f"seasons: two seasons start on the same day ({sorted(starts)})")
        return self

    def on(self, day: date) -> OfficeHours:
        """The office hours in force on ``day``."""
        ordered = sorted(self.seasons, key=lambda s: s.key)
        started = [s for s in ordered if s.key <= (day.month, day.day)]
        return (started[-1] if started else ordered[-1]).hours


def seasonal_deadline(clock: Clock, calendar: OfficialCalendar, seasons: SeasonalHours) -> Deadline:
    """When ``clock``'s limit runs out under seasonal office hours (see the module docstring).

    Counted with the hours of the acceptance day (Beijing time); a deadline at a session's close
    moves to the same session's close in the hours of its own day. Stops count whole working days
    (README: how deadlines are counted), so they move a deadline alike in every season.
    """
    accepted = clock.accepted_at.astimezone(CST).date()
    hours = seasons.on(accepted)
    found = clock.deadline(calendar, hours)
    if found.at is None:
        return found
    local = found.at.astimezone(CST)
    own = seasons.on(local.date())
    if local.time() == hours.afternoon_end:
        at = datetime.combine(local.date(), own.afternoon_end, CST)
    elif local.time() == hours.morning_end:
        at = datetime.combine(local.date(), own.morning_end, CST)
    else:  # on the spot (0 days): the acceptance instant itself
        return found
    return found.model_copy(update={"at": at})


def add_working_days_by_season(
    calendar: OfficialCalendar, seasons: SeasonalHours, start: datetime, days: float
) -> Deadline:
    """``legalclock.add_working_days`` under seasonal office hours (``seasonal_deadline``)."""
    check_days(days, "days")
    return seasonal_deadline(Clock(accepted_at=start, limit_days=days), calendar, seasons)
