"""Each decision kind, on the pure machine: approve, instant, reject + resubmit, correction,
tolerance (容缺), commitment (告知承诺) with its verification, and who may decide what."""

from __future__ import annotations

from datetime import timedelta

import pytest

from legalclock import Clock, SuspensionKind
from schemas import effects as fx
from schemas.project import DecisionResult
from schemas.stages import Stage
from tests import support as sp
from workflows.lifecycle import Rejected

T1 = sp.T0 + timedelta(days=1, hours=2)  # Tuesday 11:00
T2 = sp.T0 + timedelta(days=3, hours=5)  # Thursday 14:00


# ---- approve -------------------------------------------------------------------------------


def test_approve_closes_the_clock_closes_the_submission_and_issues_the_e_license() -> None:
    m = sp.at_approval_land("yanhu")
    result = m.execute("decide", sp.decision("eia", decision_id="eco-1"), T1)
    assert sp.first_answer(result) == DecisionResult(
        decision_id="eco-1", matter_code="eia", state="approved", stage=Stage.APPROVAL_LAND
    )
    eia = m.state.matters["eia"]
    assert (eia.state, eia.approval_mode) == ("approved", "standard")
    assert eia.license_no == fx.license_number(m.pid, "eia", 1)
    assert m.state.clocks["matter:eia:1"].closed
    assert sp.types(m) == ["MatterApproved", "ELicenseIssued"]
    approved = m.state.pending_events[0].payload
    assert (approved["decision_id"], approved["mode"], approved["on_time"]) == ("eco-1", "standard", True)
    used = m.state.clocks["matter:eia:1"].final_used_days
    assert used is not None and approved["working_days_used"] == used  # frozen when the clock closed
    close, issue = m.state.effects
    assert isinstance(close, fx.CloseSubmission) and isinstance(issue, fx.IssueLicense)
    assert (close.matter_code, close.submission, close.outcome, close.closed_at) == ("eia", 1, "approved:standard", T1)
    assert (issue.license_no, issue.department, issue.enterprise) == (
        eia.license_no,
        "ecology",
        m.state.registration.enterprise,
    )
    assert [(d.decision_id, d.kind, d.at) for d in eia.decisions] == [("eco-1", "approve", T1)]


def test_matters_without_a_license_issue_none() -> None:
    m = sp.machine("yanhu", stage=Stage.COMPLETION_ACCEPTANCE)
    sp.decide(m, "planning-verification")
    assert sp.types(m) == ["MatterApproved"]
    assert m.state.matters["planning-verification"].license_no is None
    assert sp.effect_kinds(m) == ["close_submission"]


def test_license_numbers_are_a_pure_function_of_project_matter_and_submission() -> None:
    a = sp.at_approval_land("yanhu")
    b = sp.at_approval_land("yanhu")
    sp.decide(a, "eia")
    sp.decide(b, "eia")
    assert a.state.matters["eia"].license_no == fx.license_number(a.pid, "eia", 1)
    assert b.state.matters["eia"].license_no == fx.license_number(b.pid, "eia", 1)
    assert a.state.matters["eia"].license_no != b.state.matters["eia"].license_no  # other project
    assert fx.license_number(a.pid, "eia", 1).startswith("DZZZ-EIA-")
    assert fx.license_number(a.pid, "eia", 1) == fx.license_number(a.pid, "eia", 1)
    assert fx.license_number(a.pid, "eia", 2) != fx.license_number(a.pid, "eia", 1)


def test_instant_approval_only_on_instant_matters() -> None:
    m = sp.at_approval_land("yanhu")
    with pytest.raises(Rejected, match=r"^instant: matter eia is not an instant matter \(即办件\)$"):
        m.check("decide", sp.decision("eia", instant=True))
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    m.execute("decide", sp.decision("project-filing", instant=True), sp.T0)
    assert m.state.matters["project-filing"].approval_mode == "instant"
    assert m.state.pending_events[0].payload["mode"] == "instant"


# ---- reject and resubmit -------------------------------------------------------------------


def test_reject_then_resubmit_starts_a_second_submission_with_a_fresh_clock() -> None:
    m = sp.at_approval_land("yanhu")
    m.execute("decide", sp.decision("eia", "reject", reasons=["公众参与说明不完整"]), T1)
    eia = m.state.matters["eia"]
    assert eia.state == "rejected" and m.state.clocks["matter:eia:1"].closed
    assert sp.types(m) == ["MatterRejected"]
    assert m.state.pending_events[0].payload["reasons"] == ["公众参与说明不完整"]
    assert sp.effect_kinds(m) == ["close_submission", "notify"]
    close, note = m.state.effects
    assert isinstance(close, fx.CloseSubmission) and close.outcome == "rejected"
    assert isinstance(note, fx.Notify) and note.notice == "rejected" and note.recipients == ["agent-li"]
    assert "公众参与说明不完整" in note.message
    assert m.waiting_for(T1).startswith("Stage approval_land: waiting for ")
    assert "agent agent-li to resubmit eia" in m.waiting_for(T1)
    sp.drain(m)

    m.execute("resubmit", sp.resubmit("eia"), T2)
    assert (eia.state, eia.submissions, eia.clock_id) == ("pending", 2, "matter:eia:2")
    # The promised days count again from the resubmission.
    assert sp.deadline_of(m, "matter:eia:2") == sp.legal_deadline(m, T2, sp.EIA_PROMISE)
    assert sp.types(m) == ["MatterSubmitted"]
    (submit,) = m.state.effects
    assert isinstance(submit, fx.SubmitApplication) and (submit.submission, submit.submitted_at) == (2, T2)
    sp.decide(m, "eia", now=T2)
    assert eia.license_no == fx.license_number(m.pid, "eia", 2)


def test_only_a_rejected_matter_is_resubmitted() -> None:
    m = sp.at_approval_land("yanhu")
    with pytest.raises(Rejected, match=r"^matter_code: only a rejected matter is resubmitted \(eia is pending\)$"):
        m.check("resubmit", sp.resubmit("eia"))


def test_a_rejection_must_give_reasons() -> None:
    with pytest.raises(ValueError, match="a rejection must state its reasons"):
        sp.decision("eia", "reject", reasons=[])


# ---- correction (补正) ---------------------------------------------------------------------


def test_correction_stops_the_clock_and_supplying_it_resumes_with_the_deadline_moved() -> None:
    m = sp.at_approval_land("yanhu")
    before = sp.deadline_of(m, "matter:eia:1")
    m.execute("decide", sp.decision("eia", "request_correction", items=["噪声监测数据"]), T1)
    eia = m.state.matters["eia"]
    assert eia.state == "correction"
    assert sp.types(m) == ["ClockStopped", "CorrectionRequested"]
    stopped = m.state.pending_events[0].payload
    assert (stopped["clock_id"], stopped["kind"], stopped["reason"]) == ("matter:eia:1", "correction", "噪声监测数据")
    assert m.deadline(m.state.clocks["matter:eia:1"]).at is None  # unknown while stopped
    assert "agent agent-li to supply correction for eia (clock stopped)" in m.waiting_for(T1)
    assert m.open_departments() == ["ecology", "resources"]  # still with a department (open)
    (note,) = m.state.effects
    assert isinstance(note, fx.Notify) and note.notice == "correction" and "噪声监测数据" in note.message
    sp.drain(m)

    m.execute("supply_materials", sp.supply("eia", ["噪声监测数据"]), T2)
    assert sp.state_of(m, "eia") == "pending"
    assert sp.types(m) == ["CorrectionSupplied", "ClockResumed"]
    # The promise and the statutory limit (30) share the ledger: both move by the stop.
    expected, statutory = (
        sp.deadline_on(
            m,
            Clock(accepted_at=sp.T0, limit_days=days, counted=counted)
            .stop(SuspensionKind.CORRECTION, T1, "")
            .resume(T2),
        )
        for days, counted in ((sp.EIA_PROMISE, "working_days"), (sp.EIA_STATUTORY, sp.EIA_COUNTED))
    )
    assert (sp.deadline_of(m, "matter:eia:1"), sp.statutory_deadline_of(m, "matter:eia:1")) == (expected, statutory)
    assert expected > before
    assert m.state.pending_events[1].payload["new_deadline"] == statutory.isoformat()
    assert m.state.pending_events[1].payload["stopped_working_days"] > 0


def test_supplying_what_nobody_asked_for_is_refused() -> None:
    m = sp.at_approval_land("yanhu")
    with pytest.raises(Rejected, match=r"^matter_code: nothing is owed on matter eia \(state: pending\)$"):
        m.check("supply_materials", sp.supply("eia"))


# ---- tolerance (容缺) -----------------------------------------------------------------------


def test_tolerance_approves_now_and_owes_the_named_materials_within_the_tolerance_period() -> None:
    m = sp.at_approval_land("yanhu")
    m.execute("decide", sp.decision("eia", "accept_with_tolerance", items=["监测数据"]), T1)
    eia = m.state.matters["eia"]
    assert (eia.state, eia.approval_mode) == ("approved", "tolerance")
    assert sp.types(m) == ["MatterApproved", "ELicenseIssued", "ObligationOpened"]
    (o,) = eia.obligations
    assert (o.kind, o.items, o.state, o.clock_id) == (
        "supply_materials",
        ["监测数据"],
        "open",
        "obligation:eia:supply_materials:1",
    )
    assert sp.deadline_of(m, o.clock_id) == sp.legal_deadline(m, T1, 10)
    assert sp.effect_kinds(m) == ["close_submission", "issue_license", "notify"]
    sp.drain(m)
    m.execute("supply_materials", sp.supply("eia", ["监测数据"]), T2)
    assert o.state == "fulfilled" and m.state.clocks[o.clock_id].closed
    assert sp.types(m) == ["ObligationFulfilled"]


def test_tolerance_only_on_matters_that_allow_it() -> None:
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    with pytest.raises(Rejected, match=r"^kind: matter project-filing cannot be handled by tolerance$"):
        m.check("decide", sp.decision("project-filing", "accept_with_tolerance"))


def test_missed_tolerance_materials_suspend_the_approval_and_hold_the_stage() -> None:
    m = sp.at_approval_land("yanhu")
    m.execute("decide", sp.decision("eia", "accept_with_tolerance", items=["监测数据"]), sp.T0)
    due = sp.deadline_of(m, "obligation:eia:supply_materials:1")
    sp.approve_stage(m)
    # Every other matter of stage 1 is done: the stage would close but for nothing owed.
    assert m.state.stage == Stage.ENGINEERING_PERMIT
    sp.drain(m)
    m.fire_alarms(due)
    eia = m.state.matters["eia"]
    assert eia.state == "suspended" and eia.obligations[0].state == "missed"
    # (the engineering permits pending since T0 breach at this instant too: look at eia's own story)
    owed = "obligation:eia:supply_materials:1"
    story = [
        e.event_type
        for e in m.state.pending_events
        if e.payload.get("clock_id") == owed or e.payload.get("matter_code") == "eia"
    ]
    assert story == ["DeadlineWarned", "DeadlineBreached", "ObligationMissed", "ApprovalSuspended"]
    # A missed obligation suspends the approval; it does not escalate.
    assert owed not in [e.payload["clock_id"] for e in sp.events_of(m, "EscalatedToLead")]
    assert "suspended" in [f.notice for f in m.state.effects if isinstance(f, fx.Notify)]
    # The suspended approval holds the stage the project is in now.
    sp.approve_pending(m, due)
    assert m.state.stage == Stage.ENGINEERING_PERMIT
    assert all(m.state.matters[c].state == "approved" for c in ("building-planning-permit", "lightning-design-review"))
    assert "agent agent-li to supply owed materials for eia" in m.waiting_for(due)
    sp.drain(m)
    late = due + timedelta(days=1)
    m.execute("supply_materials", sp.supply("eia", ["监测数据"]), late)
    assert sp.state_of(m, "eia") == "approved"
    assert sp.types(m)[:3] == ["ObligationFulfilled", "ApprovalReinstated", "StageCompleted"]
    assert m.view(late).stage == Stage.CONSTRUCTION_PERMIT  # (read afresh: the command moved it)


# ---- commitment (告知承诺) -----------------------------------------------------------------


def test_approve_on_commitment_only_on_matters_that_allow_it() -> None:
    m = sp.at_approval_land("yanhu")
    with pytest.raises(Rejected, match=r"^kind: matter eia cannot be handled by commitment$"):
        m.check("decide", sp.decision("eia", "approve_on_commitment"))


def test_commitment_approval_opens_a_verification_that_passing_fulfils() -> None:
    m = sp.machine("yanhu", stage=Stage.ENGINEERING_PERMIT)
    m.execute("decide", sp.decision("lightning-design-review", "approve_on_commitment"), T1)
    x = m.state.matters["lightning-design-review"]
    assert (x.state, x.approval_mode) == ("approved", "commitment")
    assert sp.types(m) == ["MatterApproved", "ELicenseIssued", "ObligationOpened"]
    assert sp.deadline_of(m, "obligation:lightning-design-review:verification:1") == sp.legal_deadline(m, T1, 20)
    sp.drain(m)
    result = m.execute("verify", sp.verification("lightning-design-review", passed=True), T2)
    assert isinstance(result, DecisionResult) and result.state == "approved"
    assert sp.types(m) == ["ObligationFulfilled"]
    assert x.obligations[0].state == "fulfilled"
    assert [d.kind for d in x.decisions] == ["approve_on_commitment", "verification_passed"]
    with pytest.raises(Rejected, match="has no commitment awaiting verification"):
        m.check("verify", sp.verification("lightning-design-review", passed=True))


def test_failed_verification_revokes_the_license_and_reopens_the_matter_as_standard() -> None:
    m = sp.machine("yanhu", stage=Stage.ENGINEERING_PERMIT)
    m.execute("decide", sp.decision("lightning-design-review", "approve_on_commitment"), sp.T0)
    first = m.state.matters["lightning-design-review"].license_no
    assert first == fx.license_number(m.pid, "lightning-design-review", 1)
    sp.drain(m)
    v = sp.verification("lightning-design-review", passed=False, findings="接闪器与承诺不符")
    result = m.execute("verify", v, T1)
    x = m.state.matters["lightning-design-review"]
    assert sp.first_answer(result) == DecisionResult(
        decision_id=v.decision_id, matter_code="lightning-design-review", state="pending", stage=m.state.stage
    )
    assert (x.state, x.mode, x.approval_mode, x.license_no, x.submissions) == ("pending", "standard", None, None, 2)
    assert sp.types(m) == ["ApprovalRevoked", "MatterSubmitted"]
    assert m.state.pending_events[0].payload["reason"] == "接闪器与承诺不符"
    notify, revoke, submit = m.state.effects
    assert isinstance(revoke, fx.RevokeLicense) and (revoke.license_no, revoke.reason) == (first, "接闪器与承诺不符")
    assert isinstance(notify, fx.Notify) and notify.notice == "revoked"
    assert notify.recipients == ["agent-li", "lead-zhao"]
    assert isinstance(submit, fx.SubmitApplication) and submit.submission == 2
    assert sp.deadline_of(m, "matter:lightning-design-review:2") == sp.legal_deadline(m, T1, 5)
    sp.decide(m, "lightning-design-review", now=T2)
    assert x.license_no == fx.license_number(m.pid, "lightning-design-review", 2) != first


# ---- who may decide ------------------------------------------------------------------------


def test_only_the_owning_department_decides_verifies_stops_or_extends() -> None:
    m = sp.at_approval_land("yanhu")
    with pytest.raises(Rejected, match=r"^department: matter eia belongs to ecology, not water$"):
        m.check("decide", sp.decision("eia", department="water"))
    with pytest.raises(Rejected, match=r"^department: matter eia belongs to ecology, not water$"):
        m.execute("decide", sp.decision("eia", department="water"), sp.T0)
    assert m.state.matters["eia"].state == "pending" and not m.state.pending_events
    with pytest.raises(Rejected, match=r"^department: matter eia belongs to ecology, not housing$"):
        m.check("stop_clock", sp.stop_clock("eia", department="housing"))
    with pytest.raises(Rejected, match=r"^department: matter eia belongs to ecology, not housing$"):
        m.check("extend_limit", sp.extend_limit("eia", department="housing"))
    t = sp.machine("tunliu", stage=Stage.ENGINEERING_PERMIT)
    with pytest.raises(Rejected, match=r"^department: matter energy-review belongs to approval, not ecology$"):
        t.check("verify", sp.verification("energy-review", passed=True, department="ecology"))


def test_decisions_on_unknown_or_undecidable_matters_are_refused() -> None:
    m = sp.at_approval_land("yanhu")
    with pytest.raises(Rejected, match=r"^matter_code: 'no-such-matter' is not a matter of project "):
        m.check("decide", sp.decision("eia").model_copy(update={"matter_code": "no-such-matter"}))
    with pytest.raises(Rejected, match=r"^matter_code: matter building-planning-permit is not pending a decision"):
        m.check("decide", sp.decision("building-planning-permit"))
    sp.decide(m, "eia")
    with pytest.raises(Rejected, match=r"is not pending a decision \(state: approved\)$"):
        m.check("decide", sp.decision("eia"))


def test_a_matter_reopened_by_a_failed_verification_in_production_can_be_decided() -> None:
    m = sp.machine("tunliu", stage=Stage.IN_PRODUCTION)
    m.execute("verify", sp.verification("construction-permit", passed=False, findings="资金未到位"), T1)
    assert m.state.matters["construction-permit"].state == "pending"
    for code in ("energy-review", "soil-water-conservation", "lightning-design-review", "air-defence-review"):
        m.execute("verify", sp.verification(code, passed=True), T1)
    assert not m.done  # a revoked permit is still owed
    m.check("decide", sp.decision("construction-permit"))
