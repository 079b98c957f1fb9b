"""A matter whose own rule sets the period to accept (MatterSpec.acceptance) instead of 行政许可法 §32's 5 working days.

排污许可管理条例 §9(4): what is missing is told 当场或者在3日内; 逾期不告知的，自收到申请材料之日起即视为受理.
A period of that regulation, not of the licensing law (whose §82 counts only its own periods in
working days), so 3 days (日) counted by 民法典 §201-§203. Received Tuesday 29 September 2026 at
10:00: the three days are 30 September, 1 and 2 October; 2 October is in the National Day holiday
(1-7 October), so the period ends on Thursday 8 October 17:30. Read as §32's 5 working days it
would end on Monday 12 October (30 Sep, 8, 9, 10 (the Saturday made a working day), 12 Oct).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from catalog.load import default_catalog
from catalog.models import ACCEPTANCE_DAYS, AcceptancePeriod, Catalog
from legalclock import CST, add_calendar_days
from schemas.stages import Stage
from tests import support as sp
from tests.lifecycle.test_acceptance import acceptance_clock, received
from tests.lifecycle.test_migration import migration, on_registry
from workflows.lifecycle import ProjectMachine, Rejected

PERMIT = "pollutant-permit-simplified"
RECEIVED = datetime(2026, 9, 29, 10, tzinfo=CST)
DUE = datetime(2026, 10, 8, 17, 30, tzinfo=CST)
DUE_IN_WORKING_DAYS = datetime(2026, 10, 12, 17, 30, tzinfo=CST)


def at_completion() -> ProjectMachine:
    """A rule-2 project with a simplified-management pollutant permit, in its completion stage."""
    reg = sp.registration(zone="tunliu").model_copy(update={"pollutant_permit": "simplified"})
    m = sp.machine("tunliu", reg=reg, acceptance_rule=2, stage=Stage.COMPLETION_ACCEPTANCE, at=RECEIVED)
    assert sp.state_of(m, PERMIT) == "to_apply"
    return m


def test_the_shipped_catalog_gives_the_pollutant_permits_three_days_and_the_rest_section_32() -> None:
    specs = {s.code: s for s in default_catalog().matters}
    for code in (PERMIT, "pollutant-permit-key"):
        assert specs[code].acceptance == AcceptancePeriod(days=3, counted="days", basis="排污许可管理条例 §9(4)")
    # Rules that repeat §32's 5 working days are cited as the matter's own.
    own = {
        "water-abstraction-permit": "取水许可和水资源费征收管理条例 §13",
        "lightning-design-review": "雷电防护装置设计审核和竣工验收规定 §8",
    }
    for code, basis in own.items():
        assert specs[code].acceptance == AcceptancePeriod(basis=basis)
    # The construction permit's notice of what is missing: 当场或者五日内 (建筑工程施工许可管理办法 §5(三)), 日.
    assert specs["construction-permit"].acceptance == AcceptancePeriod(
        days=5, counted="days", basis="建筑工程施工许可管理办法 §5(三): 当场或者五日内一次告知"
    )
    own["construction-permit"] = ""
    others = [s.acceptance for c, s in specs.items() if not c.startswith("pollutant-permit") and c not in own]
    assert others and all(a == AcceptancePeriod() for a in others)
    assert AcceptancePeriod().days == ACCEPTANCE_DAYS and AcceptancePeriod().counted == "working_days"


def test_silence_for_three_days_is_acceptance_on_receipt_after_the_holiday() -> None:
    """README "Acceptance first": received Tuesday 29 Sep 2026 10:00, deemed accepted Thursday 8 Oct 17:30."""
    m = at_completion()
    received(m, PERMIT, RECEIVED)
    tc = m.state.clocks[acceptance_clock(m, PERMIT)]
    assert tc.clock.counted == "days" and tc.clock.limit_days == 3
    due = sp.statutory_deadline_of(m, tc.clock_id)
    assert due == DUE == add_calendar_days(m.ctx.calendar, m.zone.office_hours, RECEIVED, 3).at
    [app] = sp.events_of(m, "ApplicationReceived")
    assert app.payload["acceptance_deadline"] == DUE.isoformat()
    sp.drain(m)
    m.fire_alarms(DUE - timedelta(minutes=1))
    assert sp.state_of(m, PERMIT) == "received"
    m.fire_alarms(DUE)
    assert sp.state_of(m, PERMIT) == "pending"
    [accepted] = sp.events_of(m, "ApplicationAccepted")
    assert accepted.payload["deemed"] is True and accepted.payload["accepted_at"] == RECEIVED.isoformat()
    assert m.state.clocks[sp.matter_clock(m, PERMIT)].clock.accepted_at == RECEIVED
    told = [f for f in m.state.effects if f.kind == "notify" and f.notice == "deemed_acceptance"]
    assert [n.message.split(";")[0] for n in told] == [
        "排污许可证（简化管理）: no acceptance decision within 3 days (日, 排污许可管理条例 §9(4), "
        "counted by 民法典 §201-§203)"
    ]


def test_a_notice_after_the_three_days_is_refused_naming_the_rule() -> None:
    m = at_completion()
    received(m, PERMIT, RECEIVED)
    m.check("decide", sp.decision(PERMIT, "request_completion"), DUE - timedelta(minutes=1))
    with pytest.raises(
        Rejected, match=r"^kind: the 3 days \(日, 排污许可管理条例 §9\(4\).* ran out at 2026-10-08 17:30"
    ):
        m.check("decide", sp.decision(PERMIT, "request_completion"), DUE)


def test_a_project_under_a_catalog_with_section_32s_days_moves_to_three_by_migration() -> None:
    """A running application's period to accept follows the matter's rule in the catalog it migrates to:
    from §32's 5 working days (12 October) to the regulation's 3 days (8 October)."""
    m = at_completion()
    registry = on_registry(m)
    data = default_catalog().model_dump()
    data["matters"] = [
        {**x, "acceptance": AcceptancePeriod().model_dump()} if x["code"] == PERMIT else x for x in data["matters"]
    ]
    before = registry.add_catalog(Catalog.model_validate(data))
    shipped = m.state.versions.catalog
    sp.ack(m, "migrate_content", migration(catalog_version=before), RECEIVED)
    received(m, PERMIT, RECEIVED)
    clock = acceptance_clock(m, PERMIT)
    assert sp.statutory_deadline_of(m, clock) == DUE_IN_WORKING_DAYS
    sp.drain(m)
    sp.ack(m, "migrate_content", migration(catalog_version=shipped), RECEIVED + timedelta(days=1))
    assert m.state.clocks[clock].clock.counted == "days"
    assert sp.statutory_deadline_of(m, clock) == DUE
    (event,) = sp.events_of(m, "ContentMigrated")
    (move,) = [x for x in event.payload["moves"] if x["clock_id"] == clock]
    assert (move["deadline_was"], move["deadline"]) == (DUE_IN_WORKING_DAYS.isoformat(), DUE.isoformat())


def _catalog_with(code: str, **changes: object) -> Catalog:
    data = default_catalog().model_dump()
    data["matters"] = [{**x, **changes} if x["code"] == code else x for x in data["matters"]]
    return Catalog.model_validate(data)


def test_a_period_to_accept_in_days_is_whole_days() -> None:
    with pytest.raises(
        ValueError, match=rf"matters\.{PERMIT}\.acceptance\.days: a period in calendar days \(日\) is a whole"
    ):
        _catalog_with(PERMIT, acceptance={"days": 2.5, "counted": "days", "basis": "排污许可管理条例 §9(4)"})
    with pytest.raises(ValueError, match=r"acceptance\.basis"):
        _catalog_with(PERMIT, acceptance={"days": 3, "counted": "days", "basis": ""})


def test_a_promise_on_a_limit_from_the_receipt_leaves_the_matters_own_period_to_accept() -> None:
    """A limit of 7 working days from the receipt (the construction permit's as catalogs before
    shanxi-industrial-2026.10 counted it); with §32's 5 days to accept a promise of 2 fits, 3 could end
    after the limit. With a rule of 3 days to accept, 4 fits, 5 does not."""
    permit = "construction-permit"
    spec = _catalog_with(
        permit, statutory_days_counted="working_days", acceptance={"days": 5, "counted": "working_days"}
    ).matter(permit)
    assert spec.promise_error(2) is None
    assert "promise at most 2" in (spec.promise_error(3) or "")
    rule = {"days": 3, "counted": "working_days", "basis": "a rule"}
    shorter = _catalog_with(permit, statutory_days_counted="working_days", acceptance=rule).matter(permit)
    assert shorter.promise_error(4) is None
    assert "the 3 working days (a rule) to accept count against it; promise at most 4" in (
        shorter.promise_error(5) or ""
    )
