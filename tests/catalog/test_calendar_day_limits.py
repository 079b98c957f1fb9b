"""Statutory limits a matter's own law states in days (日): the catalog's field and its checks.

环境影响评价法 §22 (三十日, 六十日) and 排污许可管理条例 §12 (二十日, 三十日, 四十五日) state days, not the
licensing law's working days (行政许可法 §82 counts its own periods), so they count by 民法典
§201-§203 (``MatterSpec.statutory_days_counted == "days"``).
"""

from __future__ import annotations

import bisect
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from catalog.load import default_catalog, default_zones
from catalog.models import Catalog, MatterSpec, check_zone, most_calendar_days
from catalog.validate import ContentInvalid, parse_catalog
from legalclock import default_calendar

CATALOG_FILE = Path(__file__).parents[2] / "catalog" / "data" / "catalog.json"


def test_the_shipped_limits_in_days() -> None:
    catalog = default_catalog()
    in_days = {m.code for m in catalog.matters if m.statutory_days_counted == "days"}
    assert in_days == {
        "eia",
        "eia-report",
        "pollutant-permit-simplified",
        "pollutant-permit-key",
        "construction-permit",
        "fire-acceptance",  # 住建部令第51号 §30: 十五日 (its §22 says 十五个工作日 for the design review)
    }
    for code in in_days:
        basis = catalog.matter(code).legal_basis or ""
        assert "日" in basis and "民法典 §201-§203" in basis
    # The construction permit's 七日 are 建筑法 §8 ¶2's (2019) and so take no zone promise in working
    # days from acceptance, which 7 days from the receipt could not hold around a holiday.
    assert catalog.matter("construction-permit").promised_days is None
    # A ministry's rule is no 法律、法规 (行政许可法 §42): the fire acceptance keeps §42's ten, in days.
    assert catalog.matter("fire-acceptance").extension_max_days == 10


def test_a_limit_its_own_law_sets_takes_that_laws_extension_or_none() -> None:
    """行政许可法 §42's ten working days extend its own twenty; where a law or administrative regulation
    sets the limit (法律、法规另有规定的，依照其规定) it decides the extension: 排污许可管理条例 §12's 15 days
    for an on-site check, 市场主体登记管理条例 §19's 3 working days, none where it states none."""
    catalog = default_catalog()
    none = {m.code for m in catalog.matters if m.statutory_days is not None and m.extension_max_days is None}
    assert none == {
        "eia",
        "eia-report",
        "water-abstraction-permit",
        "pollutant-permit-simplified",
        "construction-permit",  # 建筑法 §8 ¶2 (2019): 七日
    }
    for code in none:
        assert "no extension" in (catalog.matter(code).legal_basis or ""), code
    assert catalog.matter("pollutant-permit-key").extension_max_days == 15
    assert catalog.matter("enterprise-registration").extension_max_days == 3
    # Every other approval keeps §42's ten: its limit is §42's own or a ministry's rule (规章), which
    # is no 法律、法规 and cannot set §42 aside.
    rest = {m.code: m.extension_max_days for m in catalog.matters if m.statutory_days is not None}
    assert {d for c, d in rest.items() if c not in none | {"pollutant-permit-key", "enterprise-registration"}} == {10}


def test_a_loaded_limit_in_days_states_its_extension() -> None:
    """A catalog file whose limit in days leaves the extension to the default (§42's ten working days)
    is refused at load, naming the field; null (none) or the law's own days load."""
    raw = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    eia = next(m for m in raw["matters"] if m["code"] == "eia")
    assert eia["extension_max_days"] is None
    del eia["extension_max_days"]
    with pytest.raises(ContentInvalid) as refused:
        parse_catalog(json.dumps(raw), [])
    assert [(e.field, e.message[:37]) for e in refused.value.errors] == [
        ("matters.eia.extension_max_days", "a limit in days (日) is another law's:")
    ]
    eia["extension_max_days"] = 10
    assert parse_catalog(json.dumps(raw), []).matter("eia").extension_max_days == 10
    eia["extension_max_days"] = None
    assert parse_catalog(json.dumps(raw), []).matter("eia").extension_max_days is None


def test_most_calendar_days_bounds_every_span_of_the_shipped_calendar() -> None:
    """The bound the promise check rests on, against every day from 2004: w working days counted after
    any day end within ``most_calendar_days(w)`` calendar days (every w a limit can be); and for the
    short promises it decides, it is at most two days above what the calendar has seen."""
    calendar = default_calendar()
    first, last = date(2004, 1, 1), date(max(calendar.years), 12, 31)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    working = [d for d in days if calendar.is_working_day(d)]
    slack: dict[int, int] = {}
    for w in range(1, 251):
        longest = 0
        for day in days:
            k = bisect.bisect_right(working, day) + w - 1
            if k >= len(working):
                break
            longest = max(longest, (working[k] - day).days)
        assert longest <= most_calendar_days(w), w
        slack[w] = most_calendar_days(w) - longest
    assert max(slack[w] for w in range(1, 21)) <= 2


def spec(**changes: Any) -> MatterSpec:
    data = {**default_catalog().matter("pollutant-permit-key").model_dump(), **changes}
    return MatterSpec.model_validate(data)


def test_a_limit_in_days_is_whole_and_never_deemed_approved() -> None:
    with pytest.raises(ValueError, match=r"statutory_days: a limit in calendar days \(日\) is a whole number"):
        spec(statutory_days=30.5)
    with pytest.raises(ValueError, match=r"extension_max_days: a limit in calendar days"):
        spec(extension_max_days=14.5)
    with pytest.raises(ValueError, match=r"timeout_policy: deemed approval, an act that cannot be undone"):
        spec(timeout_policy="deemed_approval")
    with pytest.raises(ValueError, match="only a statutory limit counts in calendar days"):
        MatterSpec.model_validate(
            {**default_catalog().matter("eia-registration").model_dump(), "statutory_days_counted": "days"}
        )


def test_a_zone_may_not_deem_approval_on_a_limit_in_days() -> None:
    zone = default_zones()["yanhu"]
    deeming = zone.model_copy(update={"deemed_approval_matters": ["eia"]})
    with pytest.raises(ValueError, match=r"deemed_approval_matters: eia's statutory limit is in calendar days"):
        check_zone(default_catalog(), deeming)


def test_the_catalog_round_trips_with_the_field() -> None:
    catalog = default_catalog()
    again = Catalog.model_validate_json(catalog.model_dump_json())
    assert again.matter("eia").statutory_days_counted == "days"
    assert again == catalog
