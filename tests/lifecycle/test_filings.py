"""Filing rule 2 on the pure lifecycle: filings complete on receipt, the enterprise's own periods to
file, one joint acceptance opinion with the absent-department rule, stage clocks of the lead department."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Literal

import pytest

from legalclock import CST, OfficialCalendar, merge_calendar_file
from schemas import project as p
from schemas.stages import Stage
from tests import support as sp
from workflows.lifecycle import ProjectContext, ProjectMachine
from workflows.lifecycle.state import SATISFIED

T0 = sp.T0  # Monday 2 March 2026, 09:00


def joint(m: ProjectMachine) -> list[str]:
    """The project's joint-acceptance matters decided by a department (the fire filing aside)."""
    spec = m.ctx.catalog.joint_acceptance
    assert spec is not None
    return [c for c in spec.matters if c in m.state.matters and c != "fire-acceptance-filing"]


def by_law(
    zone: str = "tunliu", stage: Stage | None = None, enterprise_period_rule: Literal[1, 2] = 2
) -> ProjectMachine:
    """A project under every rule of today, not a special construction project (its fire acceptance
    is a filing, 建设工程消防设计审查验收管理暂行规定 §34)."""
    reg = sp.registration(zone=zone).model_copy(update={"special_construction": False})
    return sp.machine(
        zone,
        reg=reg,
        acceptance_rule=2,
        modes_rule=2,
        filing_rule=2,
        stage=stage,
        enterprise_period_rule=enterprise_period_rule,
    )


def payloads(m: ProjectMachine, event_type: str) -> list[dict[str, object]]:
    return [e.payload for e in sp.events_of(m, event_type)]


def test_project_filing_is_complete_on_receipt() -> None:
    m = by_law(stage=Stage.APPROVAL_LAND)
    assert sp.state_of(m, "project-filing") == "to_apply"
    sp.apply(m, "project-filing")
    f = m.state.matters["project-filing"]
    assert (f.state, f.approval_mode, f.clock_id) == ("approved", "filed", None)
    [approved] = payloads(m, "MatterApproved")
    assert approved["mode"] == "filed" and approved["working_days_used"] == 0
    assert not any(tc.scope == "matter" for tc in m.state.clocks.values() if tc.matter_code == "project-filing")
    assert all(tc.closed for tc in m.state.clocks.values() if tc.scope == "acceptance")
    assert sp.state_of(m, "eia") == "to_apply"  # what required the filing opens at once


def test_a_filing_before_the_rule_is_accepted_and_decided_as_before() -> None:
    m = sp.machine("tunliu", acceptance_rule=2, stage=Stage.APPROVAL_LAND)
    sp.apply(m, "project-filing")
    assert sp.state_of(m, "project-filing") == "received"


def test_an_approval_is_not_complete_on_receipt() -> None:
    m = by_law(stage=Stage.APPROVAL_LAND)
    sp.apply(m, "project-filing")
    sp.apply(m, "eia")
    assert sp.state_of(m, "eia") == "received"


def at_completion(zone: str = "tunliu", enterprise_period_rule: Literal[1, 2] = 2) -> ProjectMachine:
    m = by_law(zone, stage=Stage.COMPLETION_ACCEPTANCE, enterprise_period_rule=enterprise_period_rule)
    sp.drain(m)
    return m


def settle_joint(m: ProjectMachine, now: datetime = T0) -> None:
    for code in joint(m):
        if code in m.state.matters:
            sp.apply(m, code, now)
            sp.accept(m, code, now)
            sp.decide(m, code, "approve", now)


def test_fire_acceptance_filing_runs_the_enterprise_five_working_days() -> None:
    m = by_law(stage=Stage.CONSTRUCTION)
    m.execute("report_progress", sp.progress(100), T0)
    tc = m.state.clocks["enterprise:fire-acceptance-filing:1"]
    assert (tc.scope, tc.department, tc.clock.limit_days) == ("enterprise", None, 5)
    [opened] = [p for p in payloads(m, "FilingPeriodOpened") if p["matter_code"] == "fire-acceptance-filing"]
    assert opened["counted"] == "working_days" and "§34" in str(opened["legal_basis"])
    # Five working days after Monday 2 March: Monday 9 March, close of office hours.
    assert sp.statutory_deadline_of(m, tc.clock_id).date() == date(2026, 3, 9)
    sp.apply(m, "fire-acceptance-filing", T0 + timedelta(days=1))
    assert tc.closed and sp.state_of(m, "fire-acceptance-filing") == "approved"


def test_joint_opinion_comes_once_every_joint_matter_is_settled_and_the_completion_filing_follows() -> None:
    m = at_completion()
    sp.apply(m, "fire-acceptance-filing")
    settle_joint(m)
    kinds = sp.types(m)
    assert kinds.count("JointAcceptanceOpinionIssued") == 1
    assert kinds.index("JointAcceptanceOpinionIssued") < kinds.index("FilingPeriodOpened")
    [opinion] = payloads(m, "JointAcceptanceOpinionIssued")
    assert opinion["lead_department"] == "housing"
    results = opinion["results"]
    assert isinstance(results, dict)
    assert (
        set(results) >= {"planning-verification", "fire-acceptance-filing"}
        and results["fire-acceptance-filing"] == "filed"
    )
    assert opinion["absent"] == [] and opinion["rule"] is None
    assert sp.state_of(m, "completion-filing") == "to_apply"


def test_completion_filing_period_counts_fifteen_days_by_the_civil_code() -> None:
    """Joint opinion on Friday 6 March 2026: 15 days end Saturday 21 March, a rest day, so the period
    ends on Monday 23 March (民法典 §201, §203); an independent, hand-counted date."""
    m = at_completion()
    friday = datetime(2026, 3, 6, 10, 0, tzinfo=CST)
    sp.apply(m, "fire-acceptance-filing", friday)
    settle_joint(m, friday)
    tc = m.state.clocks["enterprise:completion-filing:1"]
    assert sp.statutory_deadline_of(m, tc.clock_id).astimezone(CST).date() == date(2026, 3, 23)
    [opened] = [p for p in payloads(m, "FilingPeriodOpened") if p["matter_code"] == "completion-filing"]
    assert (opened["days"], opened["counted"]) == (15, "days")


def completion_period_opened_friday(rule: Literal[1, 2]) -> tuple[ProjectMachine, str]:
    m = at_completion(enterprise_period_rule=rule)
    friday = datetime(2026, 3, 6, 10, 0, tzinfo=CST)
    sp.apply(m, "fire-acceptance-filing", friday)
    settle_joint(m, friday)
    return m, "enterprise:completion-filing:1"


def with_holiday(m: ProjectMachine, day: str) -> OfficialCalendar:
    text = json.dumps({"years": {"2026": {"holidays": {day: "测试假日"}, "workdays": {}}}})
    return merge_calendar_file(m.ctx.calendar, text)[0]


@pytest.mark.parametrize(
    ("holiday", "due"),
    [
        ("2026-03-11", date(2026, 3, 23)),  # a rest day inside the 15 days moves nothing (民法典 §201)
        ("2026-03-23", date(2026, 3, 24)),  # the day the period ended on is now a rest day (§203)
    ],
)
def test_a_calendar_adopted_during_the_period_moves_it_only_by_its_last_day(holiday: str, due: date) -> None:
    """The completion filing's 15 days (日) from Friday 6 March 2026 end Monday 23 March; a (fictional)
    holiday adopted on 9 March inside them changes nothing, one on 23 March moves the end to the 24th."""
    m, clock = completion_period_opened_friday(2)
    tc = m.state.clocks[clock]
    assert (tc.clock.limit_days, tc.clock.counted) == (15, "days")
    assert m.clock_view(tc, T0).limit_counted == "days"
    assert m.calendar_changed(with_holiday(m, holiday), datetime(2026, 3, 9, 9, tzinfo=CST))
    assert sp.statutory_deadline_of(m, clock).astimezone(CST).date() == due


def test_before_the_rule_the_period_ran_as_working_days_and_a_holiday_inside_moved_it() -> None:
    """Enterprise period rule 1 (projects registered before): the same 15 days ran as the 11 working
    days they spanned, so a holiday inside them moved the end a day past the law's (kept on replay)."""
    m, clock = completion_period_opened_friday(1)
    tc = m.state.clocks[clock]
    assert (tc.clock.limit_days, tc.clock.counted) == (11, "working_days")
    assert sp.statutory_deadline_of(m, clock).astimezone(CST).date() == date(2026, 3, 23)
    m.calendar_changed(with_holiday(m, "2026-03-11"), datetime(2026, 3, 9, 9, tzinfo=CST))
    assert sp.statutory_deadline_of(m, clock).astimezone(CST).date() == date(2026, 3, 24)


def test_a_late_filing_is_the_enterprises_breach_and_convenes_nothing() -> None:
    m = at_completion()
    sp.apply(m, "fire-acceptance-filing")
    settle_joint(m)
    sp.drain(m)
    tc = m.state.clocks["enterprise:completion-filing:1"]
    due = sp.statutory_deadline_of(m, tc.clock_id)
    m.fire_alarms(due - timedelta(days=3))
    assert "DeadlineWarned" in sp.types(m)
    m.fire_alarms(due)
    [breach] = [p for p in payloads(m, "DeadlineBreached") if p["clock_id"] == tc.clock_id]
    assert breach["scope"] == "enterprise"
    assert not [p for p in payloads(m, "EscalatedToLead") if p["clock_id"] == tc.clock_id]
    notes = [f for f in m.state.effects if f.kind == "notify" and "late" in f.message]
    assert notes and "dept:" not in " ".join(notes[0].recipients)
    m.fire_alarms(due + timedelta(days=30))
    assert not [p for p in payloads(m, "JointMeetingConvened") if p["clock_id"] == tc.clock_id]
    sp.apply(m, "completion-filing", due + timedelta(days=31))
    assert sp.state_of(m, "completion-filing") == "approved" and tc.closed


def absent_rule(m: ProjectMachine, rule: str | None = "某区联合验收缺席默认办法 §5") -> ProjectMachine:
    zone = m.ctx.zone.model_copy(
        update={
            "absent_department_deemed": rule is not None,
            "absent_department_rule": rule,
            "deemed_approval_matters": [],
        }
    )
    m.ctx = ProjectContext(m.ctx.catalog, zone, m.ctx.calendar)
    return m


def silent_joint(m: ProjectMachine) -> dict[str, datetime]:
    """Every joint matter applied for and accepted; none decided. The statutory deadlines."""
    sp.apply(m, "fire-acceptance-filing")
    due = {}
    for code in joint(m):
        sp.apply(m, code)
        sp.accept(m, code)
        due[code] = sp.statutory_deadline_of(m, sp.matter_clock(m, code))
    return due


def test_absent_department_is_deemed_to_agree_on_its_statutory_limit_under_the_zones_rule() -> None:
    m = absent_rule(at_completion())
    due = silent_joint(m)
    m.fire_alarms(max(due.values()))
    assert m.state.matters["planning-verification"].approval_mode == "deemed"
    assert m.state.matters["archives-acceptance"].approval_mode == "deemed"
    # Civil air defence and lightning are public safety: never deemed without the zone's rule for them.
    assert sp.state_of(m, "air-defence-acceptance") == "pending"
    assert sp.state_of(m, "lightning-acceptance") == "pending"
    liabilities = [p["matter_code"] for p in payloads(m, "DepartmentLiabilityRecorded")]
    assert set(liabilities) == {"planning-verification", "land-verification", "archives-acceptance"}
    assert not sp.events_of(m, "JointAcceptanceOpinionIssued")
    sp.decide(m, "air-defence-acceptance", "approve", max(due.values()))
    sp.decide(m, "lightning-acceptance", "approve", max(due.values()))
    [opinion] = payloads(m, "JointAcceptanceOpinionIssued")
    assert opinion["absent"] == ["planning-verification", "land-verification", "archives-acceptance"]
    assert opinion["rule"] == "某区联合验收缺席默认办法 §5"
    assert opinion["results"]["air-defence-acceptance"] == "standard"  # type: ignore[index]


def test_without_the_zones_rule_an_absent_department_is_escalated_not_deemed() -> None:
    m = absent_rule(at_completion(), rule=None)
    due = silent_joint(m)
    m.fire_alarms(max(due.values()))
    assert all(m.state.matters[c].state == "pending" for c in joint(m))
    assert not sp.events_of(m, "DepartmentLiabilityRecorded")
    assert sp.events_of(m, "EscalatedToLead")


def test_no_absence_is_deemed_on_a_provisional_deadline() -> None:
    m = absent_rule(at_completion())
    due = silent_joint(m)
    code = "planning-verification"
    tc = m.state.clocks[sp.matter_clock(m, code)]
    assert not m.deadline(tc).provisional  # 2026 is official: the hold itself is tested in test_ladder
    m.fire_alarms(due[code])
    assert m.state.matters[code].state in SATISFIED


@pytest.mark.parametrize(("stage", "lead"), [(Stage.ESTABLISHMENT, "market"), (Stage.COMPLETION_ACCEPTANCE, "housing")])
def test_stage_clock_belongs_to_its_lead_department(stage: Stage, lead: str) -> None:
    m = by_law("tunliu", stage=stage)
    tc = m.state.clocks[f"stage:{stage}"]
    assert tc.department == lead
    due = sp.deadline_of(m, tc.clock_id)
    sp.drain(m)
    m.fire_alarms(due)
    escalations = [f for f in m.state.effects if f.kind == "notify" and "督办" in f.message and "stage" in f.message]
    assert escalations and f"dept:{lead}" in escalations[0].recipients


def test_the_agent_is_warned_ten_days_before_a_permit_lapses_and_again_after_an_extension() -> None:
    m = by_law("yanhu", stage=Stage.CONSTRUCTION)
    permit = m.state.permits["construction-permit"]
    expires = datetime(2026, 6, 3, tzinfo=CST)  # issued Monday 2 March: 3 months, ending at 24:00 2 June
    assert m.permit_expiry(permit) == expires
    warn_at = expires - timedelta(days=10)
    assert m.next_alarm() is not None and m.next_alarm() <= warn_at  # type: ignore[operator]
    assert warn_at in [at for at, _ in m._permit_warnings()]
    m.fire_alarms(warn_at - timedelta(minutes=1))
    assert not sp.events_of(m, "PermitExpiryWarned")
    m.fire_alarms(warn_at)
    [warned] = payloads(m, "PermitExpiryWarned")
    assert (warned["expires_at"], warned["extensions_left"]) == (expires.isoformat(), 2)
    [note] = [f for f in m.state.effects if f.kind == "notify" and "lapses at" in f.message]
    assert "dept:housing" in note.recipients and "§8" in note.message
    m.fire_alarms(warn_at + timedelta(hours=1))
    assert len(sp.events_of(m, "PermitExpiryWarned")) == 1  # once per expiry
    ext = p.PermitExtension(
        decision_id="ext-1", department="housing", matter_code="construction-permit", by="住建局", reason="拆迁未完成"
    )
    m.execute("extend_permit", ext, warn_at + timedelta(days=1))
    later = m.permit_expiry(permit)
    assert later == datetime(2026, 9, 3, tzinfo=CST)
    m.fire_alarms(later - timedelta(days=10))
    assert len(sp.events_of(m, "PermitExpiryWarned")) == 2


def test_a_permit_before_the_rule_gets_no_expiry_warning() -> None:
    m = sp.machine("yanhu", stage=Stage.CONSTRUCTION, acceptance_rule=2, modes_rule=2)
    expires = m.permit_expiry(m.state.permits["construction-permit"])
    m.fire_alarms(expires - timedelta(days=1))
    assert not sp.events_of(m, "PermitExpiryWarned")
