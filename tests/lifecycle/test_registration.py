"""Registration (签约入库): the checklist, the matters, the whole-process clock, the first stage."""

from __future__ import annotations

from datetime import datetime

from catalog.load import default_catalog
from schemas import effects as fx
from schemas.stages import Stage
from tests import support as sp
from workflows.lifecycle import ProjectMachine

ALL_MATTERS = [m.code for m in default_catalog().matters]


def registered(zone: str = "yanhu", **kw: bool) -> ProjectMachine:
    return sp.machine(zone, clear=False, standard_land_parcel=kw.get("standard_land_parcel", False))


def test_registration_issues_the_checklist_in_stage_order_with_the_zones_handling_modes() -> None:
    m = registered("yanhu")
    assert [i.matter_code for i in m.state.checklist] == ALL_MATTERS
    modes = {i.matter_code: i.mode for i in m.state.checklist}
    # Yanhu's regional assessments cover energy and soil & water; it takes air defence on commitment.
    assert {c for c, mode in modes.items() if mode == "regional_assessment"} == {
        "energy-review",
        "soil-water-conservation",
    }
    assert {c for c, mode in modes.items() if mode == "commitment"} == {"air-defence-review"}
    assert {c for c, mode in modes.items() if mode == "instant"} == {"enterprise-registration", "project-filing"}
    assert {c: x.mode for c, x in m.state.matters.items()} == modes


def test_tunliu_takes_five_matters_on_commitment_and_has_no_regional_assessment() -> None:
    modes = {i.matter_code: i.mode for i in registered("tunliu").state.checklist}
    assert {c for c, mode in modes.items() if mode == "commitment"} == {
        "energy-review",
        "soil-water-conservation",
        "lightning-design-review",
        "air-defence-review",
        "construction-permit",
    }
    assert "regional_assessment" not in modes.values()


def test_a_standard_land_parcel_skips_the_land_pre_review() -> None:
    m = registered("tunliu", standard_land_parcel=True)
    assert "land-pre-review" not in m.state.matters
    assert [i.matter_code for i in m.state.checklist] == [c for c in ALL_MATTERS if c != "land-pre-review"]


def test_registration_opens_establishment_and_submits_enterprise_registration() -> None:
    m = registered("yanhu")
    pid = m.pid
    assert m.state.stage == Stage.ESTABLISHMENT
    assert sp.types(m) == ["ProjectRegistered", "StageStarted", "MatterSubmitted"]
    assert [(e.version, e.event_id, e.stream_id) for e in m.state.pending_events] == [
        (1, f"{pid}:1", pid),
        (2, f"{pid}:2", pid),
        (3, f"{pid}:3", pid),
    ]
    # Nothing caused these but the registration itself: no command, no causation id.
    assert {e.causation_id for e in m.state.pending_events} == {None}
    assert {e.occurred_at for e in m.state.pending_events} == {sp.T0}
    assert {c: x.state for c, x in m.state.matters.items() if x.state != "waiting"} == {
        "enterprise-registration": "pending"
    }
    registered_event = m.state.pending_events[0].payload
    assert registered_event["agent"] == "agent-li" and registered_event["project_lead"] == "lead-zhao"
    assert [i["matter_code"] for i in registered_event["checklist"]] == ALL_MATTERS
    stage = m.state.pending_events[1].payload
    assert (stage["stage"], stage["limit_days"]) == ("establishment", 0.5)
    submitted = m.state.pending_events[2].payload
    assert (submitted["matter_code"], submitted["department"], submitted["submission"]) == (
        "enterprise-registration",
        "market",
        1,
    )
    # The statutory 3 days run with the half-day promise (半日结) beside them, the limit the zone answers for.
    tc = m.state.clocks["matter:enterprise-registration:1"]
    assert (tc.clock.limit_days, tc.promised_days) == (3, 0.5)
    assert datetime.fromisoformat(submitted["deadline"]) == sp.legal_deadline(m, sp.T0, 3)
    assert datetime.fromisoformat(submitted["promised_deadline"]) == sp.legal_deadline(m, sp.T0, 0.5)


def test_a_project_registered_before_the_two_clock_rule_keeps_one_clock_at_the_shorter_limit() -> None:
    m = sp.machine("yanhu", clock_model=1)
    tc = m.state.clocks["matter:enterprise-registration:1"]
    assert (tc.clock.limit_days, tc.promised_days) == (0.5, None)
    assert (
        sp.deadline_of(m, tc.clock_id) == sp.statutory_deadline_of(m, tc.clock_id) == sp.legal_deadline(m, sp.T0, 0.5)
    )


def test_registration_effects_are_the_checklist_notice_and_the_first_application() -> None:
    m = registered("yanhu")
    notify, submit = m.state.effects
    assert isinstance(notify, fx.Notify) and isinstance(submit, fx.SubmitApplication)
    assert notify.notification_id == f"{m.pid}:1:checklist"
    assert notify.recipients == ["agent-li", "agent-wang"]
    assert "checklist issued with 19 matters" in notify.message
    assert (submit.matter_code, submit.department, submit.submission, submit.submitted_at) == (
        "enterprise-registration",
        "market",
        1,
        sp.T0,
    )
    assert submit.payload["agent"] == "agent-li"
    assert submit.payload["materials"] == default_catalog().matter("enterprise-registration").main_materials


def test_the_whole_process_clock_runs_from_registration_with_the_zones_cap() -> None:
    general = registered("yanhu")
    assert general.state.clocks["process"].clock.limit_days == 20
    assert (
        general.state.pending_events[0].payload["process_deadline"] == sp.legal_deadline(general, sp.T0, 20).isoformat()
    )
    assert sp.deadline_of(general, "process") == sp.legal_deadline(general, sp.T0, 20)
    key = sp.unregistered(sp.registration(zone="yanhu", project_type="key"))
    key.register([], sp.T0)
    assert key.state.clocks["process"].clock.limit_days == 45


def test_registration_then_advance_opens_no_other_stage() -> None:
    m = registered("tunliu")
    m.advance(sp.T0)
    assert m.state.stage == Stage.ESTABLISHMENT
    assert sp.types(m) == ["ProjectRegistered", "StageStarted", "MatterSubmitted"]
    assert set(m.state.clocks) == {"process", "stage:establishment", "matter:enterprise-registration:1"}
