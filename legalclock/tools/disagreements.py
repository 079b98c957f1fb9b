"""Every known disagreement between daiban's calendar and its two oracles, with its source.

The one place that lists them: the data generator applies `OFFICIAL` on top of the
`chinese_calendar` package, and the property tests that compare the shipped data and the
provisional computation with `chinese-calendar` and `holidays` skip exactly these days.
No third-party import here: the tests and the generator both read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One day on which an oracle differs from the published notice or from the law."""

    day: date
    working: bool  # what daiban says (the notice, or the law for a provisional year)
    name: str  # the name daiban files it under ("" when it is not filed)
    oracles: tuple[str, ...]  # the oracle packages that say otherwise
    source: str


# Official years: the State Council's notice against the oracles.
OFFICIAL: tuple[Disagreement, ...] = (
    Disagreement(
        day=date(2005, 12, 31),
        working=True,
        name="元旦调休 New Year's Day make-up",
        oracles=("chinese-calendar",),
        source=(
            "国务院办公厅关于2006年部分节假日安排的通知 (国办发明电〔2005〕35号): 元旦 1月1日至3日"
            "放假，2005年12月31日（星期六）上班; chinese-calendar 1.11.0 has it as a rest day"
        ),
    ),
)

# Provisional years: the law (放假办法 §6, with the State Council's practice for two festivals on
# one day, see legalclock.statutory) against `holidays`, which gives no make-up rest day when
# 中秋 falls on a weekday of 国庆 (years 2027-2099).
PROVISIONAL: tuple[Disagreement, ...] = tuple(
    Disagreement(
        day=day,
        working=False,
        name="国庆节补假 make-up rest day, 放假办法 §6 (provisional)",
        oracles=("holidays",),
        source=(
            f"中秋 on a weekday of 国庆 in {day.year}; the notices for 2009 (国办发明电〔2008〕35号) and "
            "2020 (国办发明电〔2019〕16号) gave 4 statutory weekday rest days for 国庆节、中秋节"
        ),
    )
    for day in (date(2028, 10, 5), date(2031, 10, 6), date(2058, 10, 4), date(2077, 10, 6), date(2085, 10, 4))
)
