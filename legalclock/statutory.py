"""The statutory holidays of a year without a State Council notice (a *provisional* year).

Source: 全国年节及纪念日放假办法 (the national holiday rules), by the revision in force that year:

* 1999 revision (国务院令第270号), 2000-2007: 元旦 1 day (1 Jan), 春节 3 (正月初一至初三),
  劳动节 3 (1-3 May), 国庆节 3 (1-3 Oct).
* 2007 revision (国务院令第513号), 2008-2013: 元旦 1, 春节 3 (除夕、正月初一、初二), 清明节 1
  (农历清明当日), 劳动节 1 (1 May), 端午节 1 (农历端午当日), 中秋节 1 (农历中秋当日), 国庆节 3.
* 2013 revision (国务院令第644号), 2014-2024: as 2007, but 春节 3 = 正月初一至初三.
* 2024 revision (国务院令第795号), from 2025: 元旦 1, 春节 4 (除夕、正月初一至初三), 清明节 1,
  劳动节 2 (1-2 May), 端午节 1, 中秋节 1, 国庆节 3 (1-3 Oct).

Make-up rest days (补假), §6 of every revision: "全体公民放假的假日，如果适逢周六、周日，应当在
工作日补假" (a holiday of all citizens that falls on a Saturday or Sunday is made up on a working
day). The rules do not name the working day; this module takes, as the State Council's notices
always have, the first weekday after the festival that is not already a statutory day or a make-up
day (元旦 2022 on a Saturday: Monday 3 Jan off; 2023 on a Sunday: Monday 2 Jan off). Two statutory
days on one date (中秋 on 1-3 Oct: 2009, 2020, 2028, 2031) leave one of them without a rest day of
its own; it is made up the same way, as the notices for 2009 (国办发明电〔2008〕35号) and 2020
(国办发明电〔2019〕16号) did: 国庆节、中秋节 8 days, 4 of them statutory rest days on weekdays.

Lunar dates (除夕, 正月初一, 端午 = 五月初五, 中秋 = 八月十五) and the solar term 清明 come from the
`tyme4py` library (astronomical computation in China Standard Time), never by hand. The make-up
*working* days (调休) that notices add are a policy choice and unknowable in advance: a
provisional year has none.

Pure and deterministic: safe inside Temporal workflows. Results are cached per year.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

# Imported at module level so Temporal's sandbox sees every tyme4py module at workflow load.
from tyme4py.lunar import LunarDay
from tyme4py.solar import SolarTerm

# The kinds of statutory day, each named in Chinese and English as the shipped data names them.
NEW_YEAR = "元旦 New Year's Day"
SPRING_FESTIVAL = "春节 Spring Festival"
QINGMING = "清明节 Tomb-sweeping Day"
LABOUR_DAY = "劳动节 Labour Day"
DRAGON_BOAT = "端午节 Dragon Boat Festival"
MID_AUTUMN = "中秋节 Mid-autumn Festival"
NATIONAL_DAY = "国庆节 National Day"

PROVISIONAL = "(provisional)"
MAKE_UP = "补假 make-up rest day, 放假办法 §6"


@dataclass(frozen=True, slots=True)
class Revision:
    """One revision of 全国年节及纪念日放假办法: its decree, first year and festival days."""

    decree: str
    first_year: int
    new_year: int  # days from 1 Jan
    spring_festival: tuple[int, ...]  # offsets from 正月初一 (-1 is 除夕)
    qingming: bool
    labour_day: int  # days from 1 May
    dragon_boat: bool
    mid_autumn: bool
    national_day: int  # days from 1 Oct


REVISIONS: tuple[Revision, ...] = (
    Revision("国务院令第270号 (1999)", 2000, 1, (0, 1, 2), False, 3, False, False, 3),
    Revision("国务院令第513号 (2007)", 2008, 1, (-1, 0, 1), True, 1, True, True, 3),
    Revision("国务院令第644号 (2013)", 2014, 1, (0, 1, 2), True, 1, True, True, 3),
    Revision("国务院令第795号 (2024)", 2025, 1, (-1, 0, 1, 2), True, 2, True, True, 3),
)


def revision_in_force(year: int) -> Revision:
    """The revision of the holiday rules in force on 1 January of `year` (2000 on)."""
    return next(r for r in reversed(REVISIONS) if year >= r.first_year)


@dataclass(frozen=True, slots=True)
class Festivals:
    """The dates a year's lunar festivals and 清明 fall on (the library's answer)."""

    spring_festival: date  # 正月初一
    qingming: date
    dragon_boat: date  # 五月初五
    mid_autumn: date  # 八月十五


@lru_cache(maxsize=512)
def festival_dates(year: int) -> Festivals:
    """Gregorian dates of 正月初一, 清明, 端午 and 中秋 in `year`, computed by tyme4py.

    Args:
        year: A Gregorian year; lunar month 1 of the same-numbered lunar year starts in it.
    """
    def lunar(month: int, day: int) -> date:
        solar = LunarDay.from_ymd(year, month, day).get_solar_day()
        return date(solar.get_year(), solar.get_month(), solar.get_day())

    term = SolarTerm.from_name(year, "清明").get_julian_day().get_solar_day()
    return Festivals(
        spring_festival=lunar(1, 1),
        qingming=date(term.get_year(), term.get_month(), term.get_day()),
        dragon_boat=lunar(5, 5),
        mid_autumn=lunar(8, 15),
    )


def statutory_days(year: int) -> list[tuple[date, str]]:
    """The statutory holidays of all citizens in `year`, one entry per festival day.

    A date appears twice when two festivals meet on it (中秋 on 3 Oct 2028).

    Args:
        year: A year from 2000 on.

    Returns:
        (date, name) pairs in date order; weekend days are included (§6 makes them up).
    """
    rule = revision_in_force(year)
    fest = festival_dates(year)
    days: list[tuple[date, str]] = []
    days += [(date(year, 1, 1) + timedelta(i), NEW_YEAR) for i in range(rule.new_year)]
    days += [(fest.spring_festival + timedelta(i), SPRING_FESTIVAL) for i in rule.spring_festival]
    if rule.qingming:
        days.append((fest.qingming, QINGMING))
    days += [(date(year, 5, 1) + timedelta(i), LABOUR_DAY) for i in range(rule.labour_day)]
    if rule.dragon_boat:
        days.append((fest.dragon_boat, DRAGON_BOAT))
    if rule.mid_autumn:
        days.append((fest.mid_autumn, MID_AUTUMN))
    days += [(date(year, 10, 1) + timedelta(i), NATIONAL_DAY) for i in range(rule.national_day)]
    return sorted(days)


def _first_free_weekday(after: date, taken: Callable[[date], bool]) -> date:
    day = after + timedelta(1)
    while day.weekday() >= 5 or taken(day):
        day += timedelta(1)
    return day


@lru_cache(maxsize=512)
def _provisional_holidays(year: int) -> MappingProxyType[date, str]:
    days = statutory_days(year)
    names: dict[date, list[str]] = {}
    owed: list[tuple[date, str]] = []  # statutory days without a weekday of their own
    for day, name in days:
        if day.weekday() >= 5 or day in names:
            owed.append((day, name))
        names.setdefault(day, []).append(name)
    off = {day: f"{'; '.join(ns)} {PROVISIONAL}" for day, ns in names.items()}
    for day, name in owed:
        # Made up after the festival's own last day: 春节's weekend days after 初三, not on 初一.
        last = max(d for d, n in days if n == name and abs((d - day).days) < 7)
        made_up = _first_free_weekday(last, lambda d: d in off)
        off[made_up] = f"{name.split(' ')[0]}{MAKE_UP} {PROVISIONAL}"
    return MappingProxyType(dict(sorted(off.items())))


def provisional_holidays(year: int) -> dict[date, str]:
    """The rest days the law gives in a year without a notice: statutory days plus §6 make-ups.

    Args:
        year: A year from 2000 on.

    Returns:
        Date -> name, in date order. Statutory days on a weekend are listed too (a notice lists
        them); each one, and each second festival on a shared weekday, adds a make-up rest day on
        the first free weekday after its festival.
    """
    return dict(_provisional_holidays(year))
