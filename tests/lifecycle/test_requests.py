"""The request-id rules of the command gate, and the causation id on what a command causes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.project import Ack, DecisionResult, SupplyMaterials
from schemas.stages import Stage
from tests import support as sp
from workflows.lifecycle import ProjectMachine, Rejected, commands, fingerprint

LATER = sp.T0 + timedelta(hours=3)


def test_the_same_decision_id_gets_the_first_answer_and_nothing_is_applied_twice() -> None:
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    d = sp.decision("project-filing", instant=True, decision_id="ab-0001")
    first = m.execute("decide", d, sp.T0)
    assert sp.first_answer(first) == DecisionResult(
        decision_id="ab-0001", matter_code="project-filing", state="approved", stage=Stage.APPROVAL_LAND
    )
    version, outbox, effects = m.state.version, list(m.state.pending_events), list(m.state.effects)
    # The matter is no longer pending; the retry still passes the validator and gets the first answer.
    m.check("decide", d)
    again = m.execute("decide", d, LATER)
    assert sp.first_answer(again) == sp.first_answer(first).model_copy(update={"duplicate": True})
    assert (m.state.version, m.state.pending_events, m.state.effects) == (version, outbox, effects)
    assert len(m.state.matters["project-filing"].decisions) == 1


def test_an_ack_retry_gets_the_first_ack_with_its_stage_and_request_id() -> None:
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    cmd = sp.reassign("agent-wang")
    first = m.execute("reassign_agent", cmd, sp.T0)
    assert sp.first_answer(first) == Ack(
        stage=Stage.APPROVAL_LAND, message="agent is now agent-wang", request_id=cmd.request_id
    )
    sp.decide(m, "project-filing")  # the project moves on; the retry still answers as the first time
    sp.drain(m)
    again = m.execute("reassign_agent", cmd, LATER)
    assert sp.first_answer(again) == sp.first_answer(first).model_copy(update={"duplicate": True})
    assert (m.state.agent, m.state.backup_agent) == ("agent-wang", "agent-li")  # not swapped back
    assert not m.state.pending_events


def test_the_same_id_with_another_body_is_refused_naming_request_id() -> None:
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    m.execute("decide", sp.decision("project-filing", instant=True, decision_id="ab-0002"), sp.T0)
    sp.drain(m)
    other = sp.decision("land-use-planning-permit", decision_id="ab-0002")
    message = r"^request_id: ab-0002 was already used for a different command$"
    with pytest.raises(Rejected, match=message):
        m.check("decide", other)
    with pytest.raises(Rejected, match=message):
        m.execute("decide", other, sp.T0)
    # Across commands too: the ids share one namespace per project.
    cmd = sp.reassign("agent-zhang")
    m.execute("reassign_agent", cmd, sp.T0)
    sp.drain(m)
    with pytest.raises(Rejected, match=rf"^request_id: {cmd.request_id} was already used"):
        m.execute("withdraw", sp.withdraw().model_copy(update={"request_id": cmd.request_id}), sp.T0)
    assert m.state.stage == Stage.APPROVAL_LAND and not m.state.pending_events


def test_a_command_without_a_request_id_is_refused() -> None:
    m = sp.machine("yanhu", stage=Stage.ESTABLISHMENT)
    bare = SupplyMaterials(matter_code="enterprise-registration", by="agent-li", items=["章程"])
    message = r"^request_id: every command needs a request id"
    with pytest.raises(Rejected, match=message):
        m.check("supply_materials", bare)
    with pytest.raises(Rejected, match=message):
        m.execute("supply_materials", bare, sp.T0)
    assert m.state.version == 3 and not m.state.answers


def test_a_refused_command_leaves_no_answer_so_it_can_be_corrected_and_resent() -> None:
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    wrong = sp.decision("project-filing", department="market", decision_id="ab-0003")
    with pytest.raises(Rejected):
        m.execute("decide", wrong, sp.T0)
    assert "ab-0003" not in m.state.answers and m.state.version == 10
    fixed = sp.decision("project-filing", instant=True, decision_id="ab-0003")
    assert sp.first_answer(m.execute("decide", fixed, sp.T0)) == DecisionResult(
        decision_id="ab-0003", matter_code="project-filing", state="approved", stage=Stage.APPROVAL_LAND
    )


def test_events_and_effects_caused_by_a_command_carry_its_request_id() -> None:
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    d = sp.decision("project-filing", instant=True)
    m.execute("decide", d, sp.T0)
    # The approval and everything it set moving (the stage's next matters) carry the decision id.
    assert sp.types(m) == ["MatterApproved", "ELicenseIssued"] + ["MatterSubmitted"] * 2
    assert {e.causation_id for e in m.state.pending_events} == {d.decision_id}
    sp.drain(m)
    cmd = sp.supply("eia")
    m.execute("decide", sp.decision("eia", "request_correction", decision_id="eco-7"), sp.T0)
    m.execute("supply_materials", cmd, sp.T0)
    assert [(e.event_type, e.causation_id) for e in m.state.pending_events] == [
        ("ClockStopped", "eco-7"),
        ("CorrectionRequested", "eco-7"),
        ("CorrectionSupplied", cmd.request_id),
        ("ClockResumed", cmd.request_id),
    ]
    # Alarms and stage moves with no command behind them carry none.
    sp.drain(m)
    m.fire_alarms(sp.T0 + timedelta(days=60))
    assert m.state.pending_events and {e.causation_id for e in m.state.pending_events} == {None}


def test_the_first_answer_is_kept_by_request_id_with_the_commands_fingerprint() -> None:
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    cmd = sp.reassign("agent-wang")
    m.execute("reassign_agent", cmd, sp.T0)
    kept = m.state.answers[str(cmd.request_id)]
    assert kept.fingerprint == fingerprint(cmd)
    assert kept.result == Ack(stage=Stage.APPROVAL_LAND, message="agent is now agent-wang", request_id=cmd.request_id)


def test_a_project_keeps_only_its_newest_answers_so_carried_state_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(commands, "ANSWERS_KEPT", 3)
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    sent = [sp.reassign(f"agent-{i}") for i in range(5)]
    for cmd in sent:
        m.execute("reassign_agent", cmd, sp.T0)
    assert list(m.state.answers) == [str(c.request_id) for c in sent[-3:]]
    # The newest still answers as the first time; the oldest would be applied as a new command.
    assert m.execute("reassign_agent", sent[-1], sp.T0).duplicate
    assert str(sent[0].request_id) not in m.state.answers


def _next_of_another_department(m: ProjectMachine, first: str) -> str:
    return next(
        code
        for code, ms in m.state.matters.items()
        if ms.state == "pending" and sp.department_of(code) != sp.department_of(first)
    )


def test_decision_ids_are_each_departments_own_under_decision_scope_2() -> None:
    # Issue 14: one department's decision id never refuses another department's.
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    m.state.decision_scope = 2
    a = "project-filing"
    first = m.execute("decide", sp.decision(a, "approve", decision_id="2026-001"), sp.T0)
    b = _next_of_another_department(m, a)
    m.check("decide", sp.decision(b, "approve", decision_id="2026-001"), sp.T0)
    second = m.execute("decide", sp.decision(b, "approve", decision_id="2026-001"), sp.T0)
    assert isinstance(first, DecisionResult) and isinstance(second, DecisionResult)
    assert (first.matter_code, first.duplicate) == (a, False)
    assert (second.matter_code, second.duplicate) == (b, False)
    # A retry of the same department's decision is still answered once.
    again = m.execute("decide", sp.decision(a, "approve", decision_id="2026-001"), sp.T0)
    assert isinstance(again, DecisionResult) and again.duplicate


def test_decision_ids_stay_project_wide_for_projects_registered_before() -> None:
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    m.execute("decide", sp.decision("project-filing", "approve", decision_id="2026-001"), sp.T0)
    b = _next_of_another_department(m, "project-filing")
    with pytest.raises(Rejected, match="request_id: 2026-001 was already used"):
        m.check("decide", sp.decision(b, "approve", decision_id="2026-001"), sp.T0)
