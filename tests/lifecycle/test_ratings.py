"""Ratings (好差评, 国办发〔2019〕51号) on the pure lifecycle: one rating per service, a bad rating's
callback and fix clocks in the zone's working days, their warnings, 督办 and closing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from catalog.models import RatingPolicy
from schemas import effects as fx
from schemas import project as p
from schemas.events import EventEnvelope
from schemas.stages import Stage
from tests import support as sp
from workflows.lifecycle import ProjectContext, ProjectMachine, Rejected

T0 = sp.T0  # Monday 2 March 2026, 09:00
LEAD = "lead-zhao"


def rate(target: str = "matter", code: str | None = None, grade: str = "good", text: str = "") -> p.Rate:
    return p.Rate.model_validate(
        {"request_id": sp.rid(), "target": target, "matter_code": code, "grade": grade, "text": text, "by": "ent-1"}
    )


def callback(rating_id: str, by: str) -> p.RecordCallback:
    return p.RecordCallback(request_id=sp.rid(), rating_id=rating_id, note="called the enterprise", by=by)


def fix(rating_id: str, by: str) -> p.RecordFix:
    return p.RecordFix(request_id=sp.rid(), rating_id=rating_id, note="window staff retrained", by=by)


def on_ratings(m: ProjectMachine, event_type: str) -> list[EventEnvelope]:
    return [e for e in sp.events_of(m, event_type) if e.payload.get("scope") == "rating"]


def notices(m: ProjectMachine, kind: str) -> list[fx.Notify]:
    return [e for e in m.state.effects if isinstance(e, fx.Notify) and e.notice == kind]


def decided() -> tuple[ProjectMachine, str]:
    """A project in stage 1 with its establishment matter approved: (machine, that matter's code)."""
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    code = next(c for c, mm in m.state.matters.items() if mm.state == "approved")
    return m, code


def test_a_decided_matter_is_rated_once_and_a_good_rating_opens_no_clock() -> None:
    m, code = decided()
    ack = sp.ack(m, "rate", rate(code=code, grade="very_good", text="半日结, 很快"))
    assert "非常满意" in ack.message
    [given] = sp.events_of(m, "RatingGiven")
    assert given.payload["rating_id"] == f"matter:{code}"
    assert given.payload["department"] == sp.department_of(code)
    assert (given.payload["satisfied"], given.payload["callback_deadline"]) == (True, None)
    assert not any(tc.scope == "rating" for tc in m.state.clocks.values())
    with pytest.raises(Rejected, match="one rating per service"):
        m.check("rate", rate(code=code, grade="bad"))


def test_an_undecided_matter_cannot_be_rated_nor_an_unknown_one() -> None:
    m, _ = decided()
    pending = next(c for c, mm in m.state.matters.items() if mm.state not in ("approved", "rejected", "exempt"))
    with pytest.raises(Rejected, match=f"matter_code: {pending} is not decided yet"):
        m.check("rate", rate(code=pending))
    with pytest.raises(Rejected, match="matter_code: 'nope'"):
        m.check("rate", rate(code="nope"))


def test_the_matter_is_named_for_a_matter_rating_only() -> None:
    with pytest.raises(ValidationError, match="matter_code"):
        rate(target="matter", code=None)
    with pytest.raises(ValidationError, match="matter_code"):
        rate(target="agent", code="eia")
    with pytest.raises(ValidationError, match="grade"):
        rate(target="agent", grade="great")


def test_the_agent_is_rated_any_time_after_registration_and_a_new_agent_again() -> None:
    m = sp.machine("yanhu")
    sp.ack(m, "rate", rate(target="agent", grade="good"))
    with pytest.raises(Rejected, match="agent:agent-li was already rated"):
        m.check("rate", rate(target="agent", grade="average"))
    sp.ack(m, "reassign_agent", sp.reassign("agent-wang"))
    sp.ack(m, "rate", rate(target="agent", grade="average"))
    assert sorted(m.state.ratings) == ["agent:agent-li", "agent:agent-wang"]


def test_a_bad_rating_opens_a_callback_and_a_fix_clock_in_working_days() -> None:
    m, code = decided()
    sp.ack(m, "rate", rate(code=code, grade="very_bad", text="窗口态度差"))
    rid = f"matter:{code}"
    policy = m.zone.ratings
    assert (policy.callback_days, policy.fix_days) == (1, 15)  # the defaults (RatingPolicy)
    call, fixing = f"rating:callback:{rid}", f"rating:fix:{rid}"
    assert sp.statutory_deadline_of(m, call) == sp.legal_deadline(m, T0, 1)
    assert sp.statutory_deadline_of(m, fixing) == sp.legal_deadline(m, T0, 15)
    [given] = sp.events_of(m, "RatingGiven")
    assert given.payload["satisfied"] is False
    assert datetime.fromisoformat(str(given.payload["fix_deadline"])) == sp.legal_deadline(m, T0, 15)
    assert m.state.clocks[call].department == sp.department_of(code)
    assert len(notices(m, "bad_rating")) == 1


def test_a_missed_callback_is_warned_then_escalated_to_the_lead_without_a_joint_meeting() -> None:
    m, code = decided()
    sp.ack(m, "rate", rate(code=code, grade="bad"))
    sp.drain(m)
    call = f"rating:callback:matter:{code}"
    deadline = sp.statutory_deadline_of(m, call)
    m.fire_alarms(deadline - timedelta(minutes=1))
    assert [e.payload["clock_id"] for e in on_ratings(m, "DeadlineWarned")] == [call]
    m.fire_alarms(deadline)
    [breach] = on_ratings(m, "DeadlineBreached")
    [escalated] = on_ratings(m, "EscalatedToLead")
    assert (breach.payload["clock_id"], escalated.payload["project_lead"]) == (call, LEAD)
    label = f"回访 of bad rating matter:{code}"
    [escalation] = [e for e in notices(m, "escalation") if label in e.message]
    assert f"dept:{sp.department_of(code)}" in escalation.recipients
    assert LEAD in escalation.recipients
    m.fire_alarms(deadline + timedelta(days=30))  # long after: still no joint meeting on a rating
    assert not [e for e in sp.events_of(m, "JointMeetingConvened") if e.payload["clock_id"].startswith("rating:")]


def test_the_callback_then_the_fix_close_the_clocks_by_the_department_or_the_lead() -> None:
    m, code = decided()
    sp.ack(m, "rate", rate(code=code, grade="bad"))
    rid = f"matter:{code}"
    with pytest.raises(Rejected, match="by: the callback"):
        m.check("record_callback", callback(rid, "agent-li"))
    with pytest.raises(Rejected, match=r"called back .* before its fix"):
        m.check("record_fix", fix(rid, LEAD))
    sp.ack(m, "record_callback", callback(rid, sp.department_of(code)), T0 + timedelta(hours=2))
    [made] = sp.events_of(m, "RatingCallbackMade")
    assert made.payload["on_time"] is True
    with pytest.raises(Rejected, match="already called back"):
        m.check("record_callback", callback(rid, LEAD))
    late = sp.statutory_deadline_of(m, f"rating:fix:{rid}") + timedelta(days=1)
    sp.ack(m, "record_fix", fix(rid, LEAD), late)
    [fixed] = sp.events_of(m, "RatingFixed")
    assert fixed.payload["on_time"] is False
    assert all(tc.closed for tc in m.state.clocks.values() if tc.scope == "rating")
    with pytest.raises(Rejected, match="already fixed"):
        m.check("record_fix", fix(rid, LEAD))
    with pytest.raises(Rejected, match="not a bad rating"):
        m.check("record_callback", callback("agent:agent-li", LEAD))


def test_a_bad_rating_of_the_agent_is_owed_to_the_lead_and_keeps_an_ended_project_running() -> None:
    m = sp.machine("yanhu", stage=Stage.IN_PRODUCTION)
    m.execute("verify", sp.verification("air-defence-review", True), T0)  # the last commitment verified
    assert m.done
    sp.ack(m, "rate", rate(target="agent", grade="bad"))
    assert not m.done  # the callback and fix are still owed
    with pytest.raises(Rejected, match="recorded by lead-zhao"):
        m.check("record_callback", callback("agent:agent-li", "agent-li"))
    sp.ack(m, "record_callback", callback("agent:agent-li", LEAD))
    sp.ack(m, "record_fix", fix("agent:agent-li", LEAD))
    assert m.done


def test_the_zone_sets_its_own_limits_and_the_callback_comes_first() -> None:
    m, code = decided()
    zone = m.ctx.zone.model_copy(update={"ratings": RatingPolicy(callback_days=2, fix_days=5)})
    m.ctx = ProjectContext(m.ctx.catalog, zone, m.ctx.calendar)
    sp.ack(m, "rate", rate(code=code, grade="bad"))
    assert sp.statutory_deadline_of(m, f"rating:fix:matter:{code}") == sp.legal_deadline(m, T0, 5)
    with pytest.raises(ValidationError, match="callback comes before the fix"):
        RatingPolicy(callback_days=10, fix_days=5)
    with pytest.raises(ValidationError, match="fix_days"):
        RatingPolicy(fix_days=20)


def _bad_rating_then_production(production_rule: int) -> ProjectMachine:
    """A yanhu project rated bad (its agent) in the completion stage, then in production."""
    m = sp.machine("yanhu", stage=Stage.COMPLETION_ACCEPTANCE)
    m.state.production_rule = production_rule  # type: ignore[assignment]
    sp.ack(m, "rate", rate(target="agent", grade="very_bad", text="材料清单讲了三遍"))
    sp.approve_until(m, Stage.IN_PRODUCTION)
    return m


def test_production_leaves_a_bad_ratings_callback_and_fix_running_and_the_project_open() -> None:
    m = _bad_rating_then_production(2)
    callback_clock, fix_clock = "rating:callback:agent:agent-li", "rating:fix:agent:agent-li"
    assert not m.state.clocks[callback_clock].closed and not m.state.clocks[fix_clock].closed
    [production] = sp.events_of(m, "ProjectInProduction")
    running = production.payload["clocks_running"]
    assert {callback_clock, fix_clock} <= set(running)
    assert all(m.state.clocks[c].scope in ("rating", "obligation") for c in running)
    for code in [c for c, mm in m.state.matters.items() if any(o.state == "open" for o in mm.obligations)]:
        m.execute("verify", sp.verification(code, True), T0)
    assert not m.done, "the callback and the fix are still owed (国办发〔2019〕51号)"
    assert m.next_alarm() is not None, "the owed callback still warns and escalates"
    sp.ack(m, "record_callback", callback("agent:agent-li", LEAD))
    assert not m.done
    sp.ack(m, "record_fix", fix("agent:agent-li", LEAD))
    assert m.done


def test_projects_registered_before_production_rule_2_close_the_rating_clocks_at_production() -> None:
    m = _bad_rating_then_production(1)
    assert m.state.clocks["rating:fix:agent:agent-li"].closed
    [production] = sp.events_of(m, "ProjectInProduction")
    assert "clocks_running" not in production.payload, "the event as the release before wrote it"


def test_a_withdrawn_project_cannot_be_rated() -> None:
    """Its workflow ends at withdrawal: a bad rating's callback and fix would never be closed."""
    m, _ = decided()
    m.execute("withdraw", sp.withdraw(), T0)
    with pytest.raises(Rejected, match="withdrawn; its services can no longer be rated"):
        m.check("rate", rate(target="agent", grade="very_bad"))
