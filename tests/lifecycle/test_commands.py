"""The other commands: stop / resume / extend a clock, reassign the agent, progress, withdraw."""

from __future__ import annotations

from datetime import timedelta

import pytest

from legalclock import Clock, LegalClockError, SuspensionKind
from schemas import effects as fx
from schemas.stages import Stage
from tests import support as sp
from workflows.lifecycle import ProjectContext, Rejected

T1 = sp.T0 + timedelta(days=1, hours=2)  # Tuesday 11:00
T2 = sp.T0 + timedelta(days=2, hours=5)  # Wednesday 14:00


# ---- stop and resume (§45: expert review, hearing, testing, public notice) -----------------


def test_a_department_stops_its_clock_and_resuming_moves_the_deadline_by_the_stop() -> None:
    m = sp.at_approval_land()
    a = sp.ack(m, "stop_clock", sp.stop_clock("eia", "expert_review"), T1)
    assert a.message == "clock of eia stopped for expert_review, 10 working days"
    assert sp.types(m) == ["ClockStopped"]
    assert m.state.pending_events[0].payload["kind"] == "expert_review"
    view = next(x for x in m.view(T1).matters if x.code == "eia")
    assert view.clock is not None and view.clock.paused and view.clock.deadline is None
    assert "ecology to decide eia (clock stopped)" in m.waiting_for(T1)
    # A stopped clock has no alarm: the next one belongs to another clock.
    assert "环境影响评价审批" not in m.next_alarm_summary()
    sp.drain(m)
    sp.ack(m, "resume_clock", sp.resume_clock("eia"), T2)
    # The statutory limit (30) and the zone's promise run on one ledger: both move by the stop.
    promise, statutory = (
        sp.deadline_on(
            m,
            Clock(accepted_at=sp.T0, limit_days=days, counted=counted)
            .stop(SuspensionKind.EXPERT_REVIEW, T1, "")
            .resume(T2),
        )
        for days, counted in ((sp.EIA_PROMISE, "working_days"), (sp.EIA_STATUTORY, sp.EIA_COUNTED))
    )
    assert (sp.deadline_of(m, "matter:eia:1"), sp.statutory_deadline_of(m, "matter:eia:1")) == (promise, statutory)
    assert sp.types(m) == ["ClockResumed"]
    assert m.state.pending_events[0].payload["new_deadline"] == statutory.isoformat()


def test_stop_and_resume_are_refused_in_the_wrong_state() -> None:
    m = sp.at_approval_land()
    with pytest.raises(Rejected, match=r"^matter_code: the clock of eia is not stopped by its department$"):
        m.check("resume_clock", sp.resume_clock("eia"))
    m.execute("stop_clock", sp.stop_clock("eia"), T1)
    with pytest.raises(Rejected, match=r"^matter_code: the clock of eia is not running \(state: pending\)$"):
        m.check("stop_clock", sp.stop_clock("eia", "hearing"))
    m.execute("decide", sp.decision("land-pre-review", "request_correction"), T1)
    with pytest.raises(Rejected, match=r"^matter_code: the clock of land-pre-review is not running"):
        m.check("stop_clock", sp.stop_clock("land-pre-review"))
    # A correction's stop ends with the materials, not with resume_clock.
    with pytest.raises(Rejected, match="is not stopped by its department"):
        m.check("resume_clock", sp.resume_clock("land-pre-review"))


def test_a_correction_during_an_expert_review_is_refused_or_applied_whole() -> None:
    m = sp.at_approval_land()
    m.execute("stop_clock", sp.stop_clock("eia"), T1)
    sp.drain(m)
    d = sp.decision("eia", "request_correction")
    eia = m.state.matters["eia"]
    try:
        m.check("decide", d)
        m.execute("decide", d, T2)
    except (Rejected, LegalClockError):  # refused (the workflow refuses both): nothing changed
        assert (eia.state, eia.decisions, m.state.pending_events) == ("pending", [], [])
        return
    assert eia.state == "correction" and "CorrectionRequested" in sp.types(m) and d.decision_id in m.state.answers


# ---- extension (§42) -------------------------------------------------------------------------


def test_a_limit_is_extended_once_with_who_approved_it() -> None:
    m = sp.at_approval_land()
    clock = sp.matter_clock(m, sp.LAND_PRE)
    a = sp.ack(m, "extend_limit", sp.extend_limit(sp.LAND_PRE, 10), T1)
    assert a.message == f"limit of {sp.LAND_PRE} extended by 10 working days"  # §42's own unit (§82)
    tc = m.state.clocks[clock]
    assert tc.clock.extension is not None and tc.clock.extension.approved_by == "局长"
    # §42 extends the statutory limit (20 + 10); the zone's promise stays where its policy keeps it.
    assert sp.statutory_deadline_of(m, clock) == sp.legal_deadline(m, sp.T0, sp.LAND_PRE_STATUTORY + 10)
    assert sp.deadline_of(m, clock) == sp.legal_deadline(m, sp.T0, sp.LAND_PRE_PROMISE)
    (extended,) = sp.events_of(m, "LimitExtended")
    assert (extended.payload["days"], extended.payload["new_deadline"], extended.payload["new_promised_deadline"]) == (
        10,
        sp.legal_deadline(m, sp.T0, sp.LAND_PRE_STATUTORY + 10).isoformat(),
        sp.legal_deadline(m, sp.T0, sp.LAND_PRE_PROMISE).isoformat(),
    )
    view = next(x for x in m.view(T1).matters if x.code == sp.LAND_PRE)
    assert view.clock is not None and view.clock.extended and view.clock.limit_days == sp.LAND_PRE_STATUTORY + 10
    assert (view.clock.promised_days, view.clock.promised_deadline) == (
        sp.LAND_PRE_PROMISE,
        sp.legal_deadline(m, sp.T0, sp.LAND_PRE_PROMISE),
    )
    with pytest.raises(
        Rejected, match=rf"^matter_code: the limit of {sp.LAND_PRE} was already extended once \(行政许可法 §42\)$"
    ):
        m.check("extend_limit", sp.extend_limit(sp.LAND_PRE, 5))


def test_an_extension_needs_an_open_matter() -> None:
    m = sp.at_approval_land()
    sp.decide(m, "eia")
    with pytest.raises(Rejected, match=r"^matter_code: eia has no running clock to extend$"):
        m.check("extend_limit", sp.extend_limit("eia"))


def test_a_matter_in_correction_can_still_be_extended() -> None:
    m = sp.at_approval_land()
    m.execute("decide", sp.decision(sp.LAND_PRE, "request_correction"), T1)
    m.execute("extend_limit", sp.extend_limit(sp.LAND_PRE, 5), T1)
    m.execute("supply_materials", sp.supply(sp.LAND_PRE), T2)
    assert m.state.clocks[sp.matter_clock(m, sp.LAND_PRE)].clock.total_days == sp.LAND_PRE_STATUTORY + 5


def test_an_extension_re_arms_the_statutory_breach_but_not_the_promise_by_default() -> None:
    m = sp.at_approval_land()
    clock = sp.matter_clock(m, sp.LAND_PRE)
    due = sp.statutory_deadline_of(m, clock)
    m.fire_alarms(due - timedelta(minutes=1))  # the promise passed (warned, 督办), the legal limit not yet
    tc = m.state.clocks[clock]
    assert tc.warned and tc.promise_breached and not tc.breached
    m.execute("extend_limit", sp.extend_limit(sp.LAND_PRE, 10), due - timedelta(minutes=1))
    assert tc.warned and tc.promise_breached, "the zone's promise does not move with the law's extension"
    assert m.deadline(tc).at == sp.legal_deadline(m, sp.T0, sp.LAND_PRE_STATUTORY + 10)


def test_an_extension_moves_the_promise_where_the_zones_policy_says_so() -> None:
    m = sp.at_approval_land(zone="tunliu")
    m.ctx = ProjectContext(
        m.ctx.catalog, m.ctx.zone.model_copy(update={"extension_moves_promise": True}), m.ctx.calendar
    )
    clock = sp.matter_clock(m, sp.LAND_PRE)
    promised = sp.deadline_of(m, clock)
    m.fire_alarms(promised - timedelta(minutes=1))  # warned on the promise
    tc = m.state.clocks[clock]
    assert tc.warned and not tc.promise_breached
    m.execute("extend_limit", sp.extend_limit(sp.LAND_PRE, 10), promised - timedelta(minutes=1))
    assert not tc.warned, "the moved promise re-arms its warning"
    assert sp.deadline_of(m, clock) == sp.legal_deadline(m, sp.T0, sp.LAND_PRE_PROMISE + 10)
    assert sp.statutory_deadline_of(m, clock) == sp.legal_deadline(m, sp.T0, sp.LAND_PRE_STATUTORY + 10)


def test_an_extension_after_the_deadline_is_refused_naming_the_rule() -> None:
    m = sp.at_approval_land()
    clock = sp.matter_clock(m, sp.LAND_PRE)
    due = sp.statutory_deadline_of(m, clock)  # §42 counts the law's limit, not the promise
    m.fire_alarms(due)
    assert m.state.clocks[clock].breached
    with pytest.raises(Rejected, match=r"^days: the limit of land-pre-review ran out .*§42"):
        m.execute("extend_limit", sp.extend_limit(sp.LAND_PRE, 10), due + timedelta(days=1))


def test_an_extension_beyond_the_legal_maximum_is_refused() -> None:
    m = sp.at_approval_land()
    with pytest.raises(Rejected, match=r"^days: an extension of 30 working days exceeds the legal maximum of 10 .*§42"):
        m.execute("extend_limit", sp.extend_limit(sp.LAND_PRE, 30), T1)


# ---- reassign (AB岗) --------------------------------------------------------------------------


def test_reassigning_to_the_backup_swaps_the_two_agents() -> None:
    m = sp.at_approval_land()
    sp.ack(m, "reassign_agent", sp.reassign("agent-wang"), T1)
    assert (m.state.agent, m.state.backup_agent) == ("agent-wang", "agent-li")
    (event,) = m.state.pending_events
    assert event.event_type == "AgentReassigned"
    assert (event.payload["from_agent"], event.payload["to_agent"]) == ("agent-li", "agent-wang")
    (note,) = m.state.effects
    assert isinstance(note, fx.Notify) and note.notice == "reassigned"
    assert note.recipients == ["agent-li", "agent-wang"]
    # The new agent is who is told from now on.
    m.execute("decide", sp.decision("eia", "reject"), T1)
    assert [f.recipients for f in m.state.effects if isinstance(f, fx.Notify)][-1] == ["agent-wang"]
    assert m.view(T1).agent == "agent-wang"


def test_reassigning_to_someone_new_keeps_the_backup() -> None:
    m = sp.at_approval_land()
    m.execute("reassign_agent", sp.reassign("agent-zhang"), T1)
    assert (m.state.agent, m.state.backup_agent) == ("agent-zhang", "agent-wang")
    with pytest.raises(Rejected, match=r"^to_agent: agent-zhang is already the agent of "):
        m.check("reassign_agent", sp.reassign("agent-zhang"))


# ---- construction progress ---------------------------------------------------------------


def test_progress_is_reported_only_during_construction() -> None:
    m = sp.machine("yanhu", stage=Stage.CONSTRUCTION_PERMIT)
    with pytest.raises(Rejected, match=r"^stage: progress is reported during construction, the project is in "):
        m.check("report_progress", sp.progress(10))


def test_progress_never_goes_back_and_100_opens_completion_acceptance() -> None:
    m = sp.machine("yanhu", stage=Stage.CONSTRUCTION)
    assert sp.ack(m, "report_progress", sp.progress(40), T1).message == "construction at 40%"
    sp.ack(m, "report_progress", sp.progress(40), T1)  # the same figure again is not going back
    with pytest.raises(Rejected, match=r"^percent: progress cannot go back from 40% to 30%$"):
        m.check("report_progress", sp.progress(30))
    sp.drain(m)
    done = sp.ack(m, "report_progress", sp.progress(100), T2)
    assert done.stage == Stage.COMPLETION_ACCEPTANCE
    assert sp.types(m)[:2] == ["ConstructionProgressReported", "StageStarted"]
    assert m.state.pending_events[1].payload["stage"] == "completion_acceptance"
    assert m.state.pending_events[1].payload["limit_days"] == 10
    assert sp.deadline_of(m, "stage:completion_acceptance") == sp.legal_deadline(m, T2, 10)
    assert [e.payload["matter_code"] for e in sp.events_of(m, "MatterSubmitted")] == [
        *sp.COMPLETION_ACCEPTANCES,
        "environmental-self-acceptance",  # the enterprise's own, for a project with an EIA report form
    ]


# ---- withdrawal ----------------------------------------------------------------------------


def test_withdrawal_closes_open_matters_and_every_clock() -> None:
    m = sp.at_approval_land("yanhu")
    m.execute("decide", sp.decision("eia", "request_correction"), T1)
    sp.decide(m, "land-pre-review", now=T1)
    sp.drain(m)
    a = sp.ack(m, "withdraw", sp.withdraw(), T2)
    assert (a.stage, a.message) == (Stage.WITHDRAWN, "project withdrawn")
    states = {c: x.state for c, x in m.state.matters.items()}
    assert states["project-filing"] == states["land-pre-review"] == "approved"
    assert states["energy-review"] == "exempt"
    assert states["eia"] == states["land-use-planning-permit"] == states["completion-filing"] == "withdrawn"
    assert sp.types(m) == ["ProjectWithdrawn"]
    payload = m.state.pending_events[0].payload
    assert (payload["stage"], payload["reason"], payload["by"]) == ("approval_land", "投资计划调整", "enterprise")
    closes = [f for f in m.state.effects if isinstance(f, fx.CloseSubmission)]
    # The two matters still with a department (pending, and in correction) leave its inbox.
    assert sorted((f.matter_code, f.outcome, f.closed_at) for f in closes) == [
        ("eia", "withdrawn", T2),
        ("land-contract", "withdrawn", T2),  # the land-use planning permit still waits for it
    ]
    assert sp.effect_kinds(m)[-1] == "notify"
    note = m.state.effects[-1]
    assert isinstance(note, fx.Notify) and note.recipients == ["agent-li", "lead-zhao"]
    assert all(tc.closed for tc in m.state.clocks.values())
    assert m.done and m.next_alarm() is None and m.next_alarm_summary() == "no deadline pending"


def test_nothing_changes_after_withdrawal() -> None:
    m = sp.machine("yanhu", stage=Stage.ENGINEERING_PERMIT)
    m.execute("decide", sp.decision("building-planning-permit", "reject"), sp.T0)
    m.execute("withdraw", sp.withdraw(), T1)
    sp.drain(m)
    version = m.state.version
    refused = [
        ("decide", sp.decision("lightning-design-review")),
        ("resubmit", sp.resubmit("building-planning-permit")),
        ("supply_materials", sp.supply("building-planning-permit")),
        ("stop_clock", sp.stop_clock("lightning-design-review")),
        ("extend_limit", sp.extend_limit("lightning-design-review")),
        ("reassign_agent", sp.reassign("agent-wang")),
        ("report_progress", sp.progress(10)),
        ("withdraw", sp.withdraw()),
    ]
    for name, cmd in refused:
        with pytest.raises(Rejected, match=r"is withdrawn; nothing can change$"):
            m.check(name, cmd)
        with pytest.raises(Rejected, match=r"is withdrawn; nothing can change$"):
            m.execute(name, cmd, T2)
    with pytest.raises(Rejected, match=r"is withdrawn; nothing can change$"):
        m.check("verify", sp.verification("air-defence-review", passed=False))
    later = sp.T0 + timedelta(days=400)
    m.fire_alarms(later)
    m.advance(later)
    assert m.state.version == version and not m.state.pending_events and not m.state.effects
    assert m.state.stage == Stage.WITHDRAWN


def test_a_joint_meeting_cannot_be_resolved_after_withdrawal() -> None:
    m = sp.at_approval_land()
    due = sp.deadline_of(m, "matter:eia:1")
    m.fire_alarms(due)
    m.fire_alarms(due + timedelta(days=10))
    assert "jm-1" in m.state.meetings
    m.execute("withdraw", sp.withdraw(), due + timedelta(days=10))
    with pytest.raises(Rejected, match="is withdrawn"):
        m.check("resolve_meeting", sp.resolve("jm-1"))


def test_approve_pending_helper_reaches_every_stage() -> None:
    # The support module's driver: "approve everything pending" moves one stage at a time.
    m = sp.machine("tunliu", stage=Stage.ESTABLISHMENT)
    assert sp.approve_pending(m) == 1 and m.state.stage == Stage.APPROVAL_LAND
