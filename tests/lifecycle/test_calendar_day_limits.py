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
from tests.lifecycle.test_modes import fit, registered_with
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


FIRE = "fire-acceptance"


def accepted_fire(accepted_at: datetime) -> tuple[ProjectMachine, str]:
    """A special construction project (特殊建设工程) whose fire acceptance was accepted at ``accepted_at``."""
    m = sp.machine("yanhu", acceptance_rule=2, stage=Stage.COMPLETION_ACCEPTANCE)
    received(m, FIRE, accepted_at - timedelta(hours=1))
    m.execute("decide", sp.decision(FIRE, "accept"), accepted_at)
    return m, sp.matter_clock(m, FIRE)


def test_the_fire_acceptance_counts_its_fifteen_days_over_national_day() -> None:
    """住建部令第51号 §30: 自受理消防验收申请之日起十五日内. Accepted Tuesday 22 Sep 2026, the 15th day
    is 7 Oct, inside National Day (1-7 Oct), so the limit ends Thursday 8 Oct 17:30 (民法典 §203); read
    as 15 working days it ran to 20 Oct. The catalog's promise of 3 working days ends Monday 28 Sep
    (Mid-Autumn Festival is 25-27 Sep)."""
    accepted = datetime(2026, 9, 22, 10, tzinfo=CST)
    m, clock = accepted_fire(accepted)
    assert m.state.clocks[clock].clock.counted == "days"
    assert sp.statutory_deadline_of(m, clock) == datetime(2026, 10, 8, 17, 30, tzinfo=CST)
    assert sp.legal_deadline(m, accepted, 15) == datetime(2026, 10, 20, 17, 30, tzinfo=CST)
    assert sp.deadline_of(m, clock) == datetime(2026, 9, 28, 17, 30, tzinfo=CST)


def test_a_last_day_on_a_make_up_working_day_is_not_moved() -> None:
    """Accepted Friday 24 Apr 2026, the 15th day is Saturday 9 May, a make-up working day (调休: 5月9日
    (周六)上班, 国务院办公厅 2026 notice): no rest day, so the limit ends on it (民法典 §203 moves only a
    last day that is a rest day); a Saturday without 调休 would have moved it to Monday."""
    m, clock = accepted_fire(datetime(2026, 4, 24, 10, tzinfo=CST))
    assert sp.statutory_deadline_of(m, clock) == datetime(2026, 5, 9, 17, 30, tzinfo=CST)
    m, clock = accepted_fire(datetime(2026, 5, 1 + 7, 10, tzinfo=CST))  # Friday 8 May: day 15 is Sat 23 May
    assert sp.statutory_deadline_of(m, clock) == datetime(2026, 5, 25, 17, 30, tzinfo=CST)


def test_the_fire_acceptance_keeps_forty_two_s_ten_counted_in_days() -> None:
    """A ministry's rule (规章) is no 法律、法规 (行政许可法 §42), so §42's ten stay; on this clock they are
    days: 22 Sep + 25 days is Saturday 17 Oct, a rest day, so Monday 19 Oct."""
    m, clock = accepted_fire(datetime(2026, 9, 22, 10, tzinfo=CST))
    with pytest.raises(Rejected, match=r"^days: .*exceeds"):
        m.check("extend_limit", sp.extend_limit(FIRE, 11))
    a = sp.ack(m, "extend_limit", sp.extend_limit(FIRE, 10), datetime(2026, 9, 30, 10, tzinfo=CST))
    assert a.message == f"limit of {FIRE} extended by 10 days"
    assert sp.statutory_deadline_of(m, clock) == datetime(2026, 10, 19, 17, 30, tzinfo=CST)


def test_soil_and_water_takes_its_rules_ten_working_days_and_ten_more() -> None:
    """生产建设项目水土保持方案管理办法 (水利部令第53号, 2023): 应当自受理申请之日起10个工作日内作出行政许可
    决定 … 可以延长10个工作日. Accepted Wednesday 4 Mar 2026 10:00: due Wednesday 18 Mar 17:30, extended
    by 10 to Wednesday 1 Apr (README, "Acceptance")."""
    code = "soil-water-conservation"
    # Yanhu, the project stating no fit with the zone's soil and water evaluation: applied as standard.
    reg = registered_with(fit("energy"))
    m = sp.machine("yanhu", acceptance_rule=2, modes_rule=2, stage=Stage.APPROVAL_LAND, reg=reg)
    assert m.state.matters[code].mode == "standard"
    received(m, "project-filing")
    sp.accept(m, "project-filing")
    sp.decide(m, "project-filing")
    received(m, code, T0)
    m.execute("decide", sp.decision(code, "accept"), datetime(2026, 3, 4, 10, tzinfo=CST))
    clock = sp.matter_clock(m, code)
    assert m.state.clocks[clock].clock.counted == "working_days"
    assert sp.statutory_deadline_of(m, clock) == datetime(2026, 3, 18, 17, 30, tzinfo=CST)
    with pytest.raises(Rejected, match=r"^days: .*exceeds"):
        m.check("extend_limit", sp.extend_limit(code, 10.5))
    sp.ack(m, "extend_limit", sp.extend_limit(code, 10), datetime(2026, 3, 10, 10, tzinfo=CST))
    assert sp.statutory_deadline_of(m, clock) == datetime(2026, 4, 1, 17, 30, tzinfo=CST)
