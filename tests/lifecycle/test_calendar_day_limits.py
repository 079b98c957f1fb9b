"""A statutory limit the matter's own law states in days (日): counted by 民法典 §201-§203 in the lifecycle.

环境影响评价法 §22 gives the EIA report 60 days from its receipt (六十日). Received Monday 2 March 2026,
the 60th day is Friday 1 May, inside Labour Day (1-5 May), so the limit ends on Wednesday 6 May
17:30 (民法典 §203: the day after the rest); the working-day reading ended on 28 May. The zone's
promise stays in working days; the figures judge the days used in working days against the
working days the 60 days spanned.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from catalog.load import default_catalog
from catalog.models import Catalog
from legalclock import CST, count_working_days
from schemas.stages import Stage
from tests import support as sp
from tests.lifecycle.test_acceptance import at_land, at_land_reporting, received
from tests.lifecycle.test_migration import earlier_catalog, migration, on_registry
from workflows.lifecycle import ProjectMachine, Rejected

T0 = sp.T0  # Monday 2 March 2026, 09:00
REPORT = "eia-report"
DUE = datetime(2026, 5, 6, 17, 30, tzinfo=CST)


def accepted_report() -> tuple[ProjectMachine, str]:
    m = at_land_reporting()
    received(m, REPORT, T0)
    m.execute("decide", sp.decision(REPORT, "accept"), T0 + timedelta(days=1))
    return m, sp.matter_clock(m, REPORT)


def test_the_report_is_due_on_the_day_after_labour_day_and_breached_after_it() -> None:
    m, clock = accepted_report()
    assert m.state.clocks[clock].clock.counted == "days"
    assert sp.statutory_deadline_of(m, clock) == DUE
    view = m.clock_view(m.state.clocks[clock], T0)
    assert (view.limit_days, view.limit_counted) == (60, "days")
    sp.drain(m)
    m.fire_alarms(DUE - timedelta(minutes=1))

    def breaches() -> list[dict[str, object]]:
        found = sp.events_of(m, "DeadlineBreached")
        return [e.payload for e in found if e.payload["clock_id"] == clock]

    assert breaches() == []
    m.fire_alarms(DUE)
    [breach] = breaches()
    assert breach["deadline"] == DUE.isoformat() and breach["limit"] == "statutory"


def test_a_late_decision_is_judged_against_the_working_days_the_days_spanned() -> None:
    m, _ = accepted_report()
    decided = datetime(2026, 5, 8, 10, tzinfo=CST)  # two days after the limit (日), weeks before 28 May
    sp.drain(m)
    m.execute("decide", sp.decision(REPORT, "approve"), decided)
    [approved] = sp.events_of(m, "MatterApproved")
    spanned = count_working_days(m.ctx.calendar, m.zone.office_hours, T0, DUE)
    assert approved.payload["statutory_days"] == 60
    assert approved.payload["statutory_working_days"] == spanned
    assert approved.payload["working_days_used"] > spanned  # late against the law (日)
    assert approved.payload["working_days_used"] < 60  # on time on the working-day reading


def test_an_extension_of_a_limit_in_days_is_whole_days() -> None:
    """The key-management pollutant permit's 30 days become 45 with an on-site check (排污许可管理条例
    §12): the regulation's own 15 days (日), so whole days, counted like its limit."""
    key = "pollutant-permit-key"
    reg = sp.registration(zone="tunliu").model_copy(update={"pollutant_permit": "key"})
    m = sp.machine("tunliu", stage=Stage(sp.context("tunliu").specs[key].stage), reg=reg)
    clock = sp.matter_clock(m, key)
    accepted = m.state.clocks[clock].clock.accepted_at
    with pytest.raises(Rejected, match=rf"^days: the limit of {key} is in calendar days \(日"):
        m.check("extend_limit", sp.extend_limit(key, 1.5))
    a = sp.ack(m, "extend_limit", sp.extend_limit(key, 15), accepted + timedelta(days=2))
    assert a.message == f"limit of {key} extended by 15 days"
    assert sp.statutory_deadline_of(m, clock) == sp.legal_deadline(m, accepted, 45, "days")


def test_a_project_under_a_catalog_in_working_days_moves_to_days_by_migration() -> None:
    """Projects registered under an earlier catalog keep working days until an operator migrates them;
    the migration records the deadline that moves (earlier: the law's reading)."""
    m = at_land_reporting()
    registry = on_registry(m)
    data = default_catalog().model_dump()
    data["matters"] = [
        {**x, "statutory_days_counted": "working_days"} if x["code"] == REPORT else x for x in data["matters"]
    ]
    before = registry.add_catalog(Catalog.model_validate(data))
    shipped = m.state.versions.catalog
    sp.ack(m, "migrate_content", migration(catalog_version=before), T0)
    received(m, REPORT, T0)
    m.execute("decide", sp.decision(REPORT, "accept"), T0 + timedelta(days=1))
    clock = sp.matter_clock(m, REPORT)
    in_working_days = sp.statutory_deadline_of(m, clock)
    assert in_working_days == sp.legal_deadline(m, T0, 60) == datetime(2026, 5, 28, 17, 30, tzinfo=CST)
    sp.drain(m)
    sp.ack(m, "migrate_content", migration(catalog_version=shipped), T0 + timedelta(days=2))
    assert sp.statutory_deadline_of(m, clock) == DUE
    (event,) = sp.events_of(m, "ContentMigrated")
    (move,) = [x for x in event.payload["moves"] if x["clock_id"] == clock]
    assert (move["deadline_was"], move["deadline"]) == (in_working_days.isoformat(), DUE.isoformat())


def test_the_promise_on_a_limit_in_days_stays_in_working_days() -> None:
    m = at_land()
    received(m, "eia", T0)
    m.execute("decide", sp.decision("eia", "accept"), T0 + timedelta(days=1))
    clock = sp.matter_clock(m, "eia")
    tc = m.state.clocks[clock]
    promise = m.promise_clock(tc)
    assert tc.clock.counted == "days" and promise is not None and promise.counted == "working_days"
    assert sp.deadline_of(m, clock) == sp.legal_deadline(m, T0 + timedelta(days=1), sp.EIA_PROMISE)


def test_the_readme_extension_example() -> None:
    """README "Extensions": the land pre-review accepted Monday 2 Mar 2026 09:00, 20 working days
    (行政许可法 §42) and a promise of 3: promise 5 Mar, statutory 30 Mar; extended by 10 working days
    on 10 Mar: Tuesday 14 Apr 17:30 (Qingming's Monday 6 Apr not counted), the promise unmoved.
    EIA's 30 days (日, 环境影响评价法 §22, which states no extension) are not extended."""
    m = sp.at_approval_land()
    clock = sp.matter_clock(m, sp.LAND_PRE)
    assert sp.deadline_of(m, clock) == datetime(2026, 3, 5, 17, 30, tzinfo=CST)
    assert sp.statutory_deadline_of(m, clock) == datetime(2026, 3, 30, 17, 30, tzinfo=CST)
    m.execute("extend_limit", sp.extend_limit(sp.LAND_PRE, 10), datetime(2026, 3, 10, 10, tzinfo=CST))
    assert sp.statutory_deadline_of(m, clock) == datetime(2026, 4, 14, 17, 30, tzinfo=CST)
    assert sp.deadline_of(m, clock) == datetime(2026, 3, 5, 17, 30, tzinfo=CST)
    assert sp.statutory_deadline_of(m, "matter:eia:1") == datetime(2026, 4, 1, 17, 30, tzinfo=CST)
    with pytest.raises(Rejected, match=r"^matter_code: the limit of eia is set by its own law or regulation, which"):
        m.check("extend_limit", sp.extend_limit("eia", 10), datetime(2026, 3, 10, 10, tzinfo=CST))


def test_an_extension_taken_under_an_earlier_catalog_stays_after_migration() -> None:
    """A project registered under a catalog that still gave EIA §42's ten (before shanxi-industrial-2026.9)
    took them lawfully then; moved to the shipped catalog, which gives none, it keeps the extension and
    its deadline, and may not take another."""
    m = sp.at_approval_land()
    registry = on_registry(m)
    shipped = m.state.versions.catalog
    earlier = earlier_catalog(registry, "eia", drop=("extension_max_days",))  # as 2026.8 had it
    assert registry.catalog(earlier).matter("eia").extension_max_days == 10  # the default: §42's ten
    sp.ack(m, "migrate_content", migration(catalog_version=earlier), T0)
    clock = "matter:eia:1"
    sp.ack(m, "extend_limit", sp.extend_limit("eia", 10), datetime(2026, 3, 10, 10, tzinfo=CST))
    extended = sp.statutory_deadline_of(m, clock)
    assert extended == datetime(2026, 4, 13, 17, 30, tzinfo=CST)  # 40 days: Saturday 11 Apr, so Monday
    sp.ack(m, "migrate_content", migration(catalog_version=shipped), datetime(2026, 3, 11, 10, tzinfo=CST))
    assert m.state.clocks[clock].clock.extension is not None
    assert sp.statutory_deadline_of(m, clock) == extended
    with pytest.raises(Rejected, match=r"^matter_code: the limit of eia is set by its own law or regulation"):
        m.check("extend_limit", sp.extend_limit("eia", 5), datetime(2026, 3, 12, 10, tzinfo=CST))
