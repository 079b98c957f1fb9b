"""Handling modes by the rules (modes rule 2), on the pure machine with a fixed clock: tolerance's
conditions and the licence's suspension, the credit record of a failed commitment, the regional
assessment's fit and commitment, and the construction permit's extensions and lapse."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from catalog.models import AssessmentScope
from legalclock import CST
from schemas import effects as fx
from schemas.project import AssessmentFit, DecisionResult, PermitExtension, RegisterProject
from schemas.stages import Stage
from tests import support as sp
from workflows import clocks
from workflows.lifecycle import ProjectContext, ProjectMachine, Rejected
from workflows.lifecycle.modes import period_end

T1 = sp.T0 + timedelta(days=1, hours=2)  # Tuesday 11:00
LAND = "land-pre-review"  # main: application, project filing certificate, site plan; secondary: land survey report
PERMIT = "construction-permit"


def rule2(
    zone: str = "yanhu", stage: Stage = Stage.APPROVAL_LAND, reg: RegisterProject | None = None
) -> ProjectMachine:
    """A rule-2 project in ``stage``, with stage 1's project filing approved if it is stage 1."""
    m = sp.machine(zone, stage=stage, modes_rule=2, reg=reg)
    if stage == Stage.APPROVAL_LAND:
        sp.decide(m, "project-filing")
        sp.drain(m)
    return m


def with_zone(m: ProjectMachine, **changes: object) -> ProjectMachine:
    m.ctx = ProjectContext(m.ctx.catalog, m.ctx.zone.model_copy(update=changes), m.ctx.calendar)
    return m


def notices(m: ProjectMachine, kind: str) -> list[fx.Notify]:
    return [f for f in m.state.effects if isinstance(f, fx.Notify) and f.notice == kind]


def statuses(m: ProjectMachine) -> list[tuple[str, str, int]]:
    return [(f.license_no, f.status, f.version) for f in m.state.effects if isinstance(f, fx.SetLicenseStatus)]


# ---- tolerance (容缺) -----------------------------------------------------------------------


def test_tolerance_is_refused_for_public_safety_environmental_and_zone_listed_matters() -> None:
    m = rule2()
    with pytest.raises(Rejected, match=r"^kind: eia is an environmental matter; tolerance \(容缺\) does not apply"):
        m.check("decide", sp.decision("eia", "accept_with_tolerance", items=["monitoring data"]))
    with_zone(m, no_tolerance_matters=[LAND])
    with pytest.raises(Rejected, match=r"^kind: land-pre-review is excluded by zone yanhu's tolerance list;"):
        m.check("decide", sp.decision(LAND, "accept_with_tolerance", items=["land survey report"]))
    s3 = sp.machine("yanhu", stage=Stage.CONSTRUCTION_PERMIT, modes_rule=2)
    with pytest.raises(Rejected, match=r"^kind: fire-design-review is a matter of public safety;"):
        s3.check("decide", sp.decision("fire-design-review", "accept_with_tolerance", items=["x"]))


def test_tolerance_owes_only_secondary_materials_so_the_main_ones_are_complete() -> None:
    m = rule2()
    with pytest.raises(Rejected, match=r"^items: site plan are main materials of land-pre-review; tolerance needs"):
        m.check("decide", sp.decision(LAND, "accept_with_tolerance", items=["land survey report", "site plan"]))
    with pytest.raises(
        Rejected, match=r"^items: 监测数据 are not secondary materials of land-pre-review \(secondary: land survey"
    ):
        m.execute("decide", sp.decision(LAND, "accept_with_tolerance", items=["监测数据"]), sp.T0)
    assert sp.state_of(m, LAND) == "pending" and not m.state.pending_events


def test_rule_1_keeps_accepting_what_it_accepted() -> None:
    m = sp.at_approval_land("yanhu")  # modes rule 1
    m.execute("decide", sp.decision("eia", "accept_with_tolerance", items=["监测数据"]), T1)
    assert sp.state_of(m, "eia") == "approved"
    assert not statuses(m) and not m.state.permits


def test_tolerance_notice_states_the_deadline_and_the_suspension_then_the_licence_follows() -> None:
    m = rule2()
    m.execute("decide", sp.decision(LAND, "accept_with_tolerance", items=["land survey report"]), T1)
    land = m.state.matters[LAND]
    owed = "obligation:land-pre-review:supply_materials:1"
    due = sp.deadline_of(m, owed)
    assert due == sp.legal_deadline(m, T1, 10)
    (notice,) = notices(m, "tolerance")
    assert clocks.local_text(due) in notice.message
    assert f"the approval and its e-licence {land.license_no} are suspended until they are" in notice.message
    assert "国办发〔2019〕11号" in notice.message
    sp.drain(m)
    m.fire_alarms(due - timedelta(minutes=1))
    assert not statuses(m)
    m.fire_alarms(due)
    assert land.state == "suspended"
    (changed,) = sp.events_of(m, "LicenseStatusChanged")
    assert (changed.payload["license_no"], changed.payload["status"]) == (land.license_no, "suspended")
    assert statuses(m) == [(land.license_no, "suspended", changed.version)]
    assert m.view(due).matters[[x.code for x in m.view(due).matters].index(LAND)].license_status == "suspended"
    sp.drain(m)
    m.execute("supply_materials", sp.supply(LAND, ["land survey report"]), due + timedelta(days=1))
    assert sp.state_of(m, LAND) == "approved" and not m.state.license_status
    (back,) = sp.events_of(m, "LicenseStatusChanged")
    assert back.payload["status"] == "valid"
    assert statuses(m) == [(land.license_no, "valid", back.version)]


def test_materials_supplied_in_time_never_touch_the_licence() -> None:
    m = rule2()
    m.execute("decide", sp.decision(LAND, "accept_with_tolerance", items=["land survey report"]), T1)
    sp.drain(m)
    m.execute("supply_materials", sp.supply(LAND, ["land survey report"]), T1 + timedelta(days=1))
    assert sp.types(m) == ["ObligationFulfilled"] and not statuses(m)


# ---- commitment (告知承诺) -----------------------------------------------------------------


def test_failed_verification_records_the_credit_consequence() -> None:
    m = rule2("yanhu", Stage.ENGINEERING_PERMIT)
    sp.drain(m)
    m.execute("decide", sp.decision("lightning-design-review", "approve_on_commitment"), sp.T0)
    sp.drain(m)
    v = sp.verification("lightning-design-review", passed=False, findings="接闪器与承诺不符")
    m.execute("verify", v, T1)
    (credit,) = sp.events_of(m, "CreditRecorded")
    assert {k: credit.payload[k] for k in ("enterprise", "matter_code", "findings", "decision_id", "verified_by")} == {
        "enterprise": m.state.registration.enterprise,
        "matter_code": "lightning-design-review",
        "findings": "接闪器与承诺不符",
        "decision_id": v.decision_id,
        "verified_by": "核查组",
    }
    assert "信用记录" in credit.payload["consequence"] and "国办发〔2020〕42号" in credit.payload["consequence"]
    (notice,) = notices(m, "credit_recorded")
    assert notice.recipients == ["agent-li", "lead-zhao"] and "接闪器与承诺不符" in notice.message
    assert sp.types(m)[0] == "ApprovalRevoked"


def test_passed_verification_and_rule_1_record_no_credit() -> None:
    for modes_rule, passed in ((2, True), (1, False)):
        m = sp.machine("yanhu", stage=Stage.ENGINEERING_PERMIT, modes_rule=modes_rule)  # type: ignore[arg-type]
        m.execute("decide", sp.decision("lightning-design-review", "approve_on_commitment"), sp.T0)
        m.execute("verify", sp.verification("lightning-design-review", passed=passed), T1)
        assert not sp.events_of(m, "CreditRecorded")


# ---- regional assessment (区域评估) -------------------------------------------------------


def fit(assessment: str, area: str = "盐湖高新区东区", kind: str = "industrial") -> AssessmentFit:
    return AssessmentFit(
        assessment=assessment,
        area=area,
        project_kind=kind,
        commitment="按区域评估结论及其管控要求建设，接受事中事后监管",
        signed_by="法定代表人 张三",
    )


def registered_with(*fits: AssessmentFit) -> RegisterProject:
    return sp.registration().model_copy(update={"regional_assessments": list(fits)})


def test_exemption_records_the_fit_and_the_commitment() -> None:
    m = rule2(reg=registered_with(fit("energy"), fit("soil-water")))
    assert sp.state_of(m, "energy-review") == sp.state_of(m, "soil-water-conservation") == "exempt"
    m2 = sp.machine("yanhu", stage=Stage.APPROVAL_LAND, modes_rule=2, reg=registered_with(fit("energy")), clear=False)
    exempted = {e.payload["matter_code"]: e.payload for e in sp.events_of(m2, "MatterExempted")}
    record = exempted["energy-review"]
    assert (record["assessment"], record["area"], record["project_kind"], record["signed_by"]) == (
        "energy",
        "盐湖高新区东区",
        "industrial",
        "法定代表人 张三",
    )
    assert record["commitment"].startswith("按区域评估结论")


def test_a_project_that_states_no_fit_applies_as_the_zone_otherwise_handles_the_matter() -> None:
    m = sp.machine("yanhu", modes_rule=2, reg=registered_with(fit("energy")), clear=False)
    (declined,) = sp.events_of(m, "RegionalAssessmentDeclined")
    assert (declined.payload["matter_code"], declined.payload["mode"]) == ("soil-water-conservation", "standard")
    assert "states no fit" in declined.payload["reason"]
    assert m.state.matters["soil-water-conservation"].mode == "standard"
    item = next(i for i in m.state.checklist if i.matter_code == "soil-water-conservation")
    assert item.mode == "standard"
    assert notices(m, "assessment_declined")


def test_the_zones_scope_decides_the_fit_by_area_and_kind() -> None:
    scope = AssessmentScope(areas=["盐湖高新区东区"], project_kinds=["industrial"], conditions="单位产品能耗不高于限额")
    reg = registered_with(fit("energy", area="西区"), fit("soil-water", kind="residential"))
    m = sp.unregistered(reg, modes_rule=2)
    with_zone(m, regional_assessment_scopes={"energy": scope, "soil-water": scope})
    from catalog.models import ProjectFacts, derive_checklist

    m.register(
        derive_checklist(m.ctx.catalog, m.zone, ProjectFacts(project_type="general", standard_land_parcel=False)), sp.T0
    )
    reasons = {e.payload["matter_code"]: e.payload["reason"] for e in sp.events_of(m, "RegionalAssessmentDeclined")}
    assert reasons == {
        "energy-review": "area '西区' lies outside the assessed area (盐湖高新区东区)",
        "soil-water-conservation": "project kind 'residential' is not covered (industrial)",
    }
    fits = sp.unregistered(registered_with(fit("energy")), modes_rule=2)
    with_zone(fits, regional_assessment_scopes={"energy": scope})
    fits.register(
        derive_checklist(fits.ctx.catalog, fits.zone, ProjectFacts(project_type="general", standard_land_parcel=False)),
        sp.T0,
    )
    fits.advance(sp.T0)
    sp.approve_until(fits, Stage.APPROVAL_LAND)
    (exempted,) = [e for e in sp.events_of(fits, "MatterExempted") if e.payload["matter_code"] == "energy-review"]
    assert exempted.payload["conditions"] == "单位产品能耗不高于限额"


def test_rule_1_exempts_without_a_statement() -> None:
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    assert sp.state_of(m, "energy-review") == "exempt"


# ---- construction permit: start, extension, lapse (建筑法 §9) -------------------------------


def test_period_end_counts_calendar_months_by_the_civil_code() -> None:
    cal = sp.context("yanhu").calendar
    # §201-202: the corresponding day, ending at 24:00.
    assert period_end(sp.T0, 3, cal) == datetime(2026, 6, 3, tzinfo=CST)
    # §202: no corresponding day (31 Aug + 3 months): the month's last day, Monday 30 Nov.
    assert period_end(datetime(2026, 8, 31, 10, tzinfo=CST), 3, cal) == datetime(2026, 12, 1, tzinfo=CST)
    # §203: 1 October is National Day: the period ends on the first working day after the holiday.
    assert period_end(datetime(2026, 7, 1, 10, tzinfo=CST), 3, cal) == datetime(2026, 10, 9, tzinfo=CST)
    # Across a year.
    assert period_end(datetime(2026, 11, 4, 10, tzinfo=CST), 3, cal) == datetime(2027, 2, 5, tzinfo=CST)


def permit_machine() -> ProjectMachine:
    m = sp.machine("yanhu", stage=Stage.CONSTRUCTION, modes_rule=2, clear=False)
    return m


def extension(decision_id: str | None = None, department: str = "housing") -> PermitExtension:
    return PermitExtension(
        decision_id=decision_id or sp.rid(), department=department, matter_code=PERMIT, by="住建局", reason="拆迁未完成"
    )


def test_the_permit_sets_a_start_deadline_and_an_alarm() -> None:
    m = permit_machine()
    permit = m.state.permits[PERMIT]
    assert permit.license_no == m.state.matters[PERMIT].license_no and permit.issued_at == sp.T0
    (started,) = sp.events_of(m, "CommencementPeriodStarted")
    expires = datetime(2026, 6, 3, tzinfo=CST)
    assert started.payload["expires_at"] == expires.isoformat() and started.payload["extensions_allowed"] == 2
    assert clocks.local_text(expires) in notices(m, "construction_start_due")[0].message
    assert m.next_alarm() is not None and m.next_alarm() <= expires  # type: ignore[operator]
    assert m.nearest_deadline() is not None
    assert f"construction to start on {permit.license_no} by 2026-06-03 00:00 CST" in m.waiting_for(sp.T0)
    view = m.view(sp.T0)
    (pv,) = [x for x in view.matters if x.code == PERMIT]
    assert (pv.license_status, pv.permit_expires_at) == ("valid", expires)


def test_extensions_before_expiry_at_most_twice_by_the_issuing_department() -> None:
    m = permit_machine()
    sp.drain(m)
    with pytest.raises(Rejected, match=r"^department: matter construction-permit belongs to housing, not water$"):
        m.check("extend_permit", extension(department="water"), sp.T0)
    first = m.execute("extend_permit", extension("ext-1"), datetime(2026, 5, 20, 10, tzinfo=CST))
    assert isinstance(first, DecisionResult) and (first.decision_id, first.state) == ("ext-1", "approved")
    assert m.permit_expiry(m.state.permits[PERMIT]) == datetime(2026, 9, 3, tzinfo=CST)
    (ext,) = sp.events_of(m, "PermitExtended")
    assert (ext.payload["extension"], ext.payload["expires_at"]) == (1, datetime(2026, 9, 3, tzinfo=CST).isoformat())
    # The same decision id again: the first answer, nothing applied twice.
    assert m.execute("extend_permit", extension("ext-1"), datetime(2026, 5, 21, tzinfo=CST)).duplicate
    late = datetime(2026, 9, 3, 0, 0, tzinfo=CST)
    with pytest.raises(Rejected, match=r"^matter_code: permit .* expired at 2026-09-03 00:00 CST; an extension is"):
        m.check("extend_permit", extension(), late)
    m.execute("extend_permit", extension(), datetime(2026, 9, 1, 10, tzinfo=CST))
    assert m.permit_expiry(m.state.permits[PERMIT]) == datetime(2026, 12, 3, tzinfo=CST)
    with pytest.raises(Rejected, match=r"^matter_code: permit .* was extended 2 times, the most 建筑法 §9"):
        m.check("extend_permit", extension(), datetime(2026, 11, 1, tzinfo=CST))


def test_a_resent_last_extension_is_answered_with_its_first_answer_under_department_decision_ids() -> None:
    """Decision scope 2 keeps answers under ``department/id``: the resend of the last extension
    allowed was checked again (and refused: no extension left) instead of answered; the gateway then
    told the department an applied extension was refused."""
    m = permit_machine()
    m.state.decision_scope = 2
    m.execute("extend_permit", extension("ext-1"), datetime(2026, 5, 20, 10, tzinfo=CST))
    last = extension("ext-2")
    m.execute("extend_permit", last, datetime(2026, 9, 1, 10, tzinfo=CST))
    again = datetime(2026, 9, 2, tzinfo=CST)
    m.check("extend_permit", last, again)  # no extension left, yet the resend passes
    assert m.execute("extend_permit", last, again).duplicate
    with pytest.raises(Rejected, match=r"^matter_code: permit .* was extended 2 times"):
        m.check("extend_permit", extension("ext-3"), again)


def test_construction_started_settles_the_permit() -> None:
    m = permit_machine()
    sp.drain(m)
    m.execute("report_progress", sp.progress(5), datetime(2026, 4, 1, 10, tzinfo=CST))
    assert sp.types(m) == ["ConstructionProgressReported", "ConstructionStarted"]
    assert m.state.permits[PERMIT].started
    with pytest.raises(Rejected, match=r"^matter_code: no permit of construction-permit awaiting .* \(is in use\)$"):
        m.check("extend_permit", extension(), datetime(2026, 4, 2, tzinfo=CST))
    m.fire_alarms(datetime(2026, 7, 1, tzinfo=CST))
    assert not sp.events_of(m, "PermitLapsed")


def test_a_permit_neither_used_nor_extended_lapses_and_the_matter_reopens() -> None:
    m = permit_machine()
    licence = m.state.matters[PERMIT].license_no
    sp.drain(m)
    expires = datetime(2026, 6, 3, tzinfo=CST)
    m.fire_alarms(expires - timedelta(seconds=1))
    assert not sp.events_of(m, "PermitLapsed")
    sp.drain(m)  # (the commitment's verification of air defence escalates meanwhile)
    m.fire_alarms(expires)
    assert sp.types(m)[:3] == ["PermitLapsed", "LicenseStatusChanged", "MatterSubmitted"]
    lapsed = sp.events_of(m, "PermitLapsed")[0].payload
    assert (lapsed["license_no"], lapsed["extensions_used"]) == (licence, 0)
    assert statuses(m) == [(licence, "lapsed", sp.events_of(m, "LicenseStatusChanged")[0].version)]
    (notice,) = notices(m, "permit_lapsed")
    assert "lead-zhao" in notice.recipients and "apply for a new permit" in notice.message
    x = m.state.matters[PERMIT]
    assert (x.state, x.license_no, x.submissions, x.mode) == ("pending", None, 2, "standard")
    assert m.state.stage == Stage.CONSTRUCTION
    with pytest.raises(Rejected, match=r"^percent: construction cannot proceed without a valid 建筑工程施工许可证"):
        m.check("report_progress", sp.progress(10))
    with pytest.raises(Rejected, match=r"\(lapsed\)$"):
        m.check("extend_permit", extension(), expires + timedelta(days=1))
    m.fire_alarms(expires + timedelta(days=1))  # nothing twice
    assert len(sp.events_of(m, "PermitLapsed")) == 1
    # A new permit: a new licence and a new term; construction proceeds on it.
    again = expires + timedelta(days=2, hours=9)
    sp.decide(m, PERMIT, now=again)
    assert x.license_no not in (None, licence) and m.state.permits[PERMIT].issued_at == again
    m.execute("report_progress", sp.progress(10), again)
    assert m.state.permits[PERMIT].started


def test_rule_1_permits_never_lapse() -> None:
    m = sp.machine("yanhu", stage=Stage.CONSTRUCTION)
    assert not m.state.permits
    m.fire_alarms(datetime(2027, 6, 1, tzinfo=CST))
    assert not sp.events_of(m, "PermitLapsed")
    with pytest.raises(Rejected, match=r"^matter_code: no permit of construction-permit awaiting"):
        m.check("extend_permit", extension(), sp.T0)


def test_a_permit_revoked_by_a_failed_verification_no_longer_waits_to_lapse() -> None:
    # Tunliu grants the construction permit on commitment; its verification fails before construction.
    m = sp.machine("tunliu", stage=Stage.CONSTRUCTION, modes_rule=2)
    old = m.state.permits[PERMIT].license_no
    m.execute("verify", sp.verification(PERMIT, passed=False, findings="资金承诺不实"), T1)
    assert m.state.matters[PERMIT].license_no is None and sp.events_of(m, "CreditRecorded")
    m.fire_alarms(datetime(2026, 12, 31, tzinfo=CST))
    assert not sp.events_of(m, "PermitLapsed")
    assert [x.permit_expires_at for x in m.view(T1).matters if x.code == PERMIT] == [None]
    assert old not in m.waiting_for(T1)


def _tolerance_owed_at_production(production_rule: int) -> ProjectMachine:
    """Yanhu, fire acceptance approved with tolerance (容缺) as the last acceptance: in production
    with its materials still owed."""
    m = sp.machine("yanhu", stage=Stage.COMPLETION_ACCEPTANCE, acceptance_rule=2, filing_rule=2)
    m.state.production_rule = production_rule  # type: ignore[assignment]
    sp.open_applications(m, sp.T0)
    fire = "fire-acceptance"
    m.check("decide", sp.decision(fire, "accept_with_tolerance", items=["消防设施检测报告"]), sp.T0)
    m.execute("decide", sp.decision(fire, "accept_with_tolerance", items=["消防设施检测报告"]), sp.T0)
    for _ in range(5):
        sp.approve_pending(m, sp.T0)
    for code in [
        c
        for c, x in m.state.matters.items()
        if any(o.state == "open" and o.kind == "verification" for o in x.obligations)
    ]:
        m.execute("verify", sp.verification(code, True), sp.T0)
    assert m.state.stage == Stage.IN_PRODUCTION
    assert [(o.kind, o.state) for o in m.state.matters[fire].obligations] == [("supply_materials", "open")]
    return m


def test_materials_owed_under_tolerance_can_be_supplied_in_production_and_keep_the_project_open() -> None:
    """Production rule 2: production left the owed materials' clock running but refused the agent's
    supply, so the approval was suspended when it ran out and the project ended with it suspended."""
    m = _tolerance_owed_at_production(2)
    fire = "fire-acceptance"
    assert [p.matter_code for p in m.pending()[0]] == []  # approved, its materials not yet late
    later = sp.T0 + timedelta(days=30)
    m.fire_alarms(later)
    m.advance(later)
    assert sp.state_of(m, fire) == "suspended" and not m.done
    assert [(p.matter_code, p.awaited) for p in m.pending()[0]] == [(fire, "owed_materials")]
    supply = sp.supply(fire, ["消防设施检测报告"])
    m.check("supply_materials", supply)
    m.execute("supply_materials", supply, later)
    assert sp.state_of(m, fire) == "approved" and m.done


def test_projects_registered_before_production_rule_2_refuse_the_supply_in_production() -> None:
    m = _tolerance_owed_at_production(1)
    with pytest.raises(Rejected, match="nothing can change"):
        m.check("supply_materials", sp.supply("fire-acceptance", ["消防设施检测报告"]))


def suspended_permit_lapses(
    permit_rule: int, *, keep_events: bool = False, supply_days: float | None = None
) -> ProjectMachine:
    """Yanhu, the construction permit approved with tolerance (容缺), its materials not supplied (the
    approval suspended), then the permit neither used nor extended: it lapses (建筑法 §9).
    ``keep_events``: every event kept in the outbox (to be stored and projected). ``supply_days``: the
    permit's tolerance period (``MatterSpec.tolerance_supply_days``) in place of the catalog's; one
    longer than the permit's three months lapses the permit while the materials are still owed, the
    approval not suspended."""
    m = sp.machine(
        "yanhu", stage=Stage.CONSTRUCTION_PERMIT, acceptance_rule=2, modes_rule=2, filing_rule=2, clear=not keep_events
    )
    m.state.permit_rule = permit_rule  # type: ignore[assignment]
    if supply_days is not None:
        catalog = m.ctx.catalog
        matters = [
            x.model_copy(update={"tolerance_supply_days": supply_days}) if x.code == PERMIT else x
            for x in catalog.matters
        ]
        m.ctx = ProjectContext(catalog.model_copy(update={"matters": matters}), m.ctx.zone, m.ctx.calendar)
    for _ in range(5):
        if m.state.matters[PERMIT].state != "waiting":
            break
        for code, x in list(m.state.matters.items()):
            if code != PERMIT and m._spec(x).stage == Stage.CONSTRUCTION_PERMIT:
                if x.state == "to_apply":
                    sp.apply(m, code, sp.T0)
                if m.state.matters[code].state == "received":
                    sp.accept(m, code, sp.T0)
                if m.state.matters[code].state == "pending":
                    sp.decide(m, code, "approve", sp.T0)
    sp.apply(m, PERMIT, sp.T0)
    sp.accept(m, PERMIT, sp.T0)
    tolerance = sp.decision(PERMIT, "accept_with_tolerance", items=["funds commitment letter"])
    m.check("decide", tolerance, sp.T0)
    m.execute("decide", tolerance, sp.T0)
    m.fire_alarms(sp.T0 + timedelta(days=20))
    assert sp.state_of(m, PERMIT) == ("suspended" if supply_days is None else "approved")
    if not keep_events:
        sp.drain(m)
    m.fire_alarms(sp.T0 + timedelta(days=120))
    assert m.state.permits[PERMIT].lapsed
    return m


def test_a_permit_that_lapses_while_suspended_reopens_its_matter_and_is_never_reinstated() -> None:
    """Permit rule 2: before, the suspended matter kept the lapsed licence, and supplying the owed
    materials reinstated the approval and set the lapsed permit valid: construction went on on it."""
    m = suspended_permit_lapses(2)
    x = m.state.matters[PERMIT]
    assert (x.state, x.license_no, x.obligations) == ("to_apply", None, [])
    [lapsed] = sp.events_of(m, "PermitLapsed")
    assert len(lapsed.payload["obligations_ended"]) == 1
    with pytest.raises(Rejected, match="nothing is owed on matter construction-permit"):
        m.check("supply_materials", sp.supply(PERMIT, ["funds commitment letter"]))
    with pytest.raises(Rejected, match="construction cannot proceed without a valid"):
        m.check("report_progress", sp.progress(10))


def test_a_permit_that_lapses_while_materials_are_still_owed_ends_them_too() -> None:
    """Within a tolerance period longer than the permit's three months the approval is not yet
    suspended: it lapses with the permit, and the materials owed for it end, their clock closed."""
    m = suspended_permit_lapses(2, supply_days=100)
    x = m.state.matters[PERMIT]
    assert (x.state, x.license_no, x.obligations) == ("to_apply", None, [])
    [lapsed] = sp.events_of(m, "PermitLapsed")
    [ended] = lapsed.payload["obligations_ended"]
    assert m.state.clocks[ended].closed and not m.state.clocks[ended].breached
    assert not sp.events_of(m, "ObligationMissed")


def test_projects_registered_before_permit_rule_2_keep_the_suspended_matter_on_lapse() -> None:
    m = suspended_permit_lapses(1)
    assert sp.state_of(m, PERMIT) == "suspended" and m.state.matters[PERMIT].license_no is not None
    [lapsed] = sp.events_of(m, "PermitLapsed")
    assert "obligations_ended" not in lapsed.payload, "the event as the release before wrote it"
