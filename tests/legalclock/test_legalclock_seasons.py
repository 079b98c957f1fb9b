"""Office hours by season: summer and winter hours move a deadline's close and the half-day rule."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from legalclock import (
    CST,
    Clock,
    LegalClockError,
    OfficeHours,
    OfficialCalendar,
    Season,
    SeasonalHours,
    Suspension,
    add_working_days,
    add_working_days_by_season,
    seasonal_deadline,
)

WINTER = OfficeHours()  # 09:00-12:00, 13:30-17:30
SUMMER = OfficeHours(
    morning_start=time(8, 0), morning_end=time(11, 30), afternoon_start=time(14, 30), afternoon_end=time(18, 0)
)
SEASONS = SeasonalHours(seasons=[Season(starts="06-01", hours=SUMMER), Season(starts="10-08", hours=WINTER)])


def at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=CST)


def test_the_season_in_force_is_the_last_started_wrapping_over_new_year() -> None:
    assert SEASONS.on(date(2026, 6, 1)) == SUMMER and SEASONS.on(date(2026, 10, 7)) == SUMMER
    assert SEASONS.on(date(2026, 10, 8)) == WINTER and SEASONS.on(date(2027, 1, 5)) == WINTER
    assert SEASONS.on(date(2026, 5, 31)) == WINTER


def test_a_limit_that_ends_in_summer_closes_at_the_summer_close(cal: OfficialCalendar) -> None:
    # Accepted Thursday 28 May 2026 (winter hours): 3 working days are 29 May, 1 and 2 June.
    start = at("2026-05-28", "10:00")
    assert add_working_days(cal, WINTER, start, 3).at == at("2026-06-02", "17:30")
    assert add_working_days_by_season(cal, SEASONS, start, 3).at == at("2026-06-02", "18:00")
    # Half a day from a Friday afternoon: the next working morning, which closes at 11:30 in summer.
    assert add_working_days_by_season(cal, SEASONS, at("2026-05-29", "14:00"), 0.5).at == at("2026-06-01", "11:30")
    # Accepted at 11:45 in summer the morning has closed: half a day ends the next morning, where
    # winter hours would still count it a morning acceptance (that day's 17:30).
    assert add_working_days(cal, WINTER, at("2026-06-01", "11:45"), 0.5).at == at("2026-06-01", "17:30")
    assert add_working_days_by_season(cal, SEASONS, at("2026-06-01", "11:45"), 0.5).at == at("2026-06-02", "11:30")
    # On the spot stays the acceptance instant.
    assert add_working_days_by_season(cal, SEASONS, start, 0).at == start


def test_a_stop_moves_a_seasonal_deadline_by_whole_working_days(cal: OfficialCalendar) -> None:
    # Stopped Friday 29 May, resumed Tuesday 2 June: 1 and 2 June are not counted.
    clock = Clock(
        accepted_at=at("2026-05-28", "10:00"),
        limit_days=3,
        suspensions=[Suspension(kind="correction", start=at("2026-05-29", "10:00"), end=at("2026-06-02", "10:00"))],
    )
    assert seasonal_deadline(clock, cal, SEASONS).at == at("2026-06-04", "18:00")


def test_a_season_that_is_no_day_of_the_year_is_refused() -> None:
    with pytest.raises(LegalClockError, match=r"starts: '02-30' is not a month and day"):
        Season(starts="02-30", hours=WINTER)
    with pytest.raises(LegalClockError, match="two seasons start on the same day"):
        SeasonalHours(seasons=[Season(starts="06-01", hours=SUMMER), Season(starts="06-01", hours=WINTER)])
