"""The stage sequence, ``requires`` inside a stage, stage clocks, and what operators see per stage."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.stages import Stage
from tests import support as sp
from workflows.clocks import local_text


def test_stages_open_in_order_and_each_closes_before_the_next_opens() -> None:
    m = sp.machine("yanhu", clear=False)
    for _ in range(20):
        if m.state.stage == Stage.CONSTRUCTION:
            m.execute("report_progress", sp.progress(100), sp.T0)
        elif not sp.approve_pending(m):
            break
    assert m.state.stage == Stage.IN_PRODUCTION
    story = [
        (e.event_type, e.payload.get("stage"))
        for e in m.state.pending_events
        if e.event_type in ("StageStarted", "StageCompleted", "ProjectInProduction")
    ]
    assert story == [
        ("StageStarted", "establishment"),
        ("StageCompleted", "establishment"),
        ("StageStarted", "approval_land"),
        ("StageCompleted", "approval_land"),
        ("StageStarted", "engineering_permit"),
        ("StageCompleted", "engineering_permit"),
        ("StageStarted", "construction_permit"),
        ("StageCompleted", "construction_permit"),
        ("StageStarted", "construction"),
        ("StageStarted", "completion_acceptance"),
        ("StageCompleted", "completion_acceptance"),
        ("ProjectInProduction", None),
    ]


def test_matters_wait_for_the_matters_they_require() -> None:
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    states = {c: m.state.matters[c].state for c in ("project-filing", "land-use-planning-permit", "eia")}
    assert states == {"project-filing": "pending", "land-use-planning-permit": "waiting", "eia": "waiting"}
    sp.decide(m, "project-filing")
    submitted = [e.payload["matter_code"] for e in sp.events_of(m, "MatterSubmitted")]
    assert submitted == ["land-pre-review", "eia"]
    assert all(m.state.matters[c].state == "pending" for c in submitted)
    # The land-use planning permit needs the land contract, which follows the land pre-review
    # (城乡规划法 §38).
    sp.decide(m, "land-pre-review")
    assert (sp.state_of(m, "land-contract"), sp.state_of(m, "land-use-planning-permit")) == ("pending", "waiting")
    sp.decide(m, "land-contract")
    assert sp.state_of(m, "land-use-planning-permit") == "pending"


def test_completion_filing_waits_for_all_six_acceptances() -> None:
    m = sp.machine("yanhu", stage=Stage.COMPLETION_ACCEPTANCE)
    pending = [c for c, x in m.state.matters.items() if x.state == "pending"]
    # The enterprise's own environmental acceptance is not one of the joint acceptance.
    assert pending == [*sp.COMPLETION_ACCEPTANCES, "environmental-self-acceptance"]
    six = pending[:-1]
    for code in six[:-1]:
        sp.decide(m, code)
    assert sp.state_of(m, "completion-filing") == "waiting"
    sp.decide(m, six[-1])
    assert sp.state_of(m, "completion-filing") == "pending"
    assert m.state.stage == Stage.COMPLETION_ACCEPTANCE


def test_regional_assessment_exempts_matters_when_their_stage_opens() -> None:
    m = sp.machine("yanhu", stage=Stage.ESTABLISHMENT)
    assert sp.state_of(m, "energy-review") == "waiting"
    sp.decide(m, "enterprise-registration")
    assert sp.types(m)[:3] == ["MatterApproved", "ELicenseIssued", "StageCompleted"]
    exempted = sp.events_of(m, "MatterExempted")
    assert [(e.payload["matter_code"], e.payload["assessment"]) for e in exempted] == [
        ("energy-review", "energy"),
        ("soil-water-conservation", "soil-water"),
    ]
    assert sp.state_of(m, "energy-review") == "exempt"
    assert m.state.matters["energy-review"].clock_id is None  # never applied for, no clock


def test_zone_commitment_matters_are_approved_on_submission_with_a_verification_owed() -> None:
    m = sp.machine("tunliu", stage=Stage.APPROVAL_LAND)
    sp.decide(m, "project-filing")
    energy = m.state.matters["energy-review"]
    assert (energy.state, energy.approval_mode) == ("approved", "commitment")
    assert energy.decisions == []  # nobody decided: the signed commitment is the approval
    approved = next(e for e in sp.events_of(m, "MatterApproved") if e.payload["matter_code"] == "energy-review")
    assert (approved.payload["decision_id"], approved.payload["decided_by"]) == ("commitment", "enterprise commitment")
    (o,) = energy.obligations
    assert (o.kind, o.state, o.clock_id) == ("verification", "open", "obligation:energy-review:verification:1")
    assert m.state.clocks[o.clock_id].clock.limit_days == 20


def test_stage_clocks_follow_the_zones_stage_limits_and_close_with_their_stage() -> None:
    m = sp.machine("tunliu", stage=Stage.APPROVAL_LAND, clear=False)
    started = [e.payload for e in sp.events_of(m, "StageStarted")]
    assert [(p["stage"], p["limit_days"]) for p in started] == [("establishment", 0.5), ("approval_land", 9.5)]
    assert sp.deadline_of(m, "stage:approval_land") == sp.legal_deadline(m, sp.T0, 9.5)
    assert m.state.clocks["stage:establishment"].closed
    assert not m.state.clocks["stage:approval_land"].closed


def test_the_process_clock_closes_with_the_construction_permit_and_construction_has_no_clock() -> None:
    m = sp.machine("yanhu", stage=Stage.CONSTRUCTION_PERMIT)
    assert not m.state.clocks["process"].closed
    sp.approve_pending(m)
    sp.approve_pending(m)
    assert m.state.stage == Stage.CONSTRUCTION
    assert m.state.clocks["process"].closed
    started = sp.events_of(m, "StageStarted")[-1].payload
    assert (started["stage"], started["limit_days"], started["deadline"]) == ("construction", None, None)
    assert "stage:construction" not in m.state.clocks


def test_production_keeps_only_the_verifications_still_owed() -> None:
    m = sp.machine("yanhu", stage=Stage.IN_PRODUCTION)
    owed = "obligation:air-defence-review:verification:1"
    assert [c for c, tc in m.state.clocks.items() if not tc.closed] == [owed]
    assert not m.done
    m.execute("verify", sp.verification("air-defence-review", passed=True), sp.T0)
    assert m.done
    assert m.next_alarm() is None


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        (Stage.ESTABLISHMENT, "Stage establishment: waiting for market to decide enterprise-registration until {0}."),
        (Stage.APPROVAL_LAND, "Stage approval_land: waiting for approval to decide project-filing until {0}."),
        (
            Stage.ENGINEERING_PERMIT,
            "Stage engineering_permit: waiting for resources to decide building-planning-permit until {0}; "
            "meteorology to decide lightning-design-review until {0}.",
        ),
        (
            Stage.CONSTRUCTION_PERMIT,
            "Stage construction_permit: waiting for housing to decide construction-drawing-review until {0}; "
            "housing to decide fire-design-review until {0}.",
        ),
    ],
)
def test_waiting_for_names_each_department_matter_and_deadline(stage: Stage, expected: str) -> None:
    m = sp.machine("yanhu", stage=stage)
    code = next(c for c, x in m.state.matters.items() if x.state == "pending")
    at = sp.deadline_of(m, m.state.matters[code].clock_id or "")
    assert m.waiting_for(sp.T0) == expected.format(local_text(at))
    assert m.view(sp.T0).waiting_for == m.waiting_for(sp.T0)


def test_waiting_for_in_construction_production_and_withdrawal() -> None:
    m = sp.machine("tunliu", stage=Stage.CONSTRUCTION)
    assert m.waiting_for(sp.T0) == "Construction at 0%: waiting for progress reports until completion."
    m.execute("report_progress", sp.progress(35), sp.T0)
    assert m.waiting_for(sp.T0) == "Construction at 35%: waiting for progress reports until completion."
    m = sp.machine("tunliu", stage=Stage.IN_PRODUCTION)
    assert m.waiting_for(sp.T0) == "In production. Commitment verifications still open."
    for code, x in m.state.matters.items():
        if any(o.state == "open" for o in x.obligations):
            m.execute("verify", sp.verification(code, passed=True), sp.T0)
    assert m.waiting_for(sp.T0) == "In production."
    m = sp.machine("tunliu", stage=Stage.APPROVAL_LAND)
    m.execute("withdraw", sp.withdraw(), sp.T0)
    assert m.waiting_for(sp.T0) == "Withdrawn."


def test_waiting_for_says_overdue_once_a_deadline_has_passed() -> None:
    # Enterprise registration: the zone's half day (半日结) within the statutory 3 days. (Project
    # filing served here before it became a filing, complete on receipt with no statutory limit.)
    m = sp.machine("tunliu")
    at = sp.deadline_of(m, m.state.matters["enterprise-registration"].clock_id or "")
    assert not m.waiting_for(at - timedelta(minutes=1)).endswith("OVERDUE.")
    assert m.waiting_for(at).endswith(". OVERDUE.")  # the period ends at the close of its last day
    late = next(x for x in m.view(at + timedelta(minutes=1)).matters if x.code == "enterprise-registration")
    # Overdue on the promise (half a day), well within the statutory 3.
    assert late.clock is not None and late.clock.overdue and late.clock.promised_deadline == at
    assert late.clock.deadline == sp.legal_deadline(m, sp.T0, 3)
    process = next(c for c in m.view(at + timedelta(minutes=1)).clocks if c.clock_id == "process")
    assert not process.overdue


def test_a_filing_runs_on_the_zones_promise_until_the_lifecycle_completes_it_on_receipt() -> None:
    # Interim (issue 12): project filing has no statutory limit (企业投资项目核准和备案管理条例 §13);
    # the lifecycle still runs a matter clock for it, on the zone's promise alone (MatterSpec.clock_days).
    m = sp.machine("tunliu", stage=Stage.APPROVAL_LAND)
    filing = m.state.clocks[m.state.matters["project-filing"].clock_id or ""]
    assert (filing.clock.limit_days, filing.promised_days) == (1, None)


def test_the_view_shows_the_project_its_process_and_stage_clocks_and_every_matter() -> None:
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    sp.decide(m, "project-filing")
    now = sp.T0 + timedelta(hours=2)
    v = m.view(now)
    assert (v.project_id, v.zone, v.stage, v.agent, v.backup_agent, v.project_lead) == (
        m.pid,
        "yanhu",
        Stage.APPROVAL_LAND,
        "agent-li",
        "agent-wang",
        "lead-zhao",
    )
    assert [c.clock_id for c in v.clocks] == ["process", "stage:establishment", "stage:approval_land"]
    process = v.clocks[0]
    assert (process.limit_days, process.accepted_at, process.deadline) == (20, sp.T0, sp.legal_deadline(m, sp.T0, 20))
    assert process.working_days_left == 20 - process.working_days_used
    assert not process.overdue and not process.paused and not process.extended
    assert v.events_emitted == m.state.version and v.calendar_version == m.ctx.calendar.version
    assert [x.code for x in v.matters] == list(m.state.matters)
    filing = next(x for x in v.matters if x.code == "project-filing")
    assert (filing.state, filing.approval_mode, filing.submissions) == ("approved", "instant", 1)
    assert filing.license_no == m.state.matters["project-filing"].license_no is not None
    assert filing.clock is not None and filing.clock.working_days_left is None  # closed
    eia = next(x for x in v.matters if x.code == "eia")
    assert eia.clock is not None
    assert eia.clock.deadline == sp.legal_deadline(m, sp.T0, sp.EIA_STATUTORY, sp.EIA_COUNTED)
    assert (eia.clock.promised_days, eia.clock.promised_deadline) == (
        sp.EIA_PROMISE,
        sp.legal_deadline(m, sp.T0, sp.EIA_PROMISE),
    )
    assert m.open_departments() == ["ecology", "resources"]
