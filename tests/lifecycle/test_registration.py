"""Registration (签约入库): the checklist, the matters, the whole-process clock, the first stage."""

from __future__ import annotations

from datetime import datetime

import pytest

from catalog.load import default_catalog
from catalog.models import ProjectFacts, derive_checklist
from schemas import effects as fx
from schemas.stages import Stage
from tests import support as sp
from tests.support import lifecycle_zones
from workflows.lifecycle import ProjectMachine

# The matters of the test project (special construction on a special lightning site, EIA report
# form, no own water abstraction, no pollutant permit), in catalog order.
ALL_MATTERS = [m.code for m in default_catalog().matters if m.applies_to(ProjectFacts.of(sp.registration()))]


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
    assert {c for c, mode in modes.items() if mode == "instant"} == {
        "enterprise-registration",
        "project-filing",
        "environmental-self-acceptance",
    }
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
    assert f"checklist issued with {len(ALL_MATTERS)} matters" in notify.message
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
    # A type with a cap of its own (a key project's cap is never looser than the general one).
    own = sp.unregistered(sp.registration(zone="yanhu", project_type="government_invested"))
    own.register([], sp.T0)
    assert own.state.clocks["process"].clock.limit_days == 45


def test_registration_then_advance_opens_no_other_stage() -> None:
    m = registered("tunliu")
    m.advance(sp.T0)
    assert m.state.stage == Stage.ESTABLISHMENT
    assert sp.types(m) == ["ProjectRegistered", "StageStarted", "MatterSubmitted"]
    assert set(m.state.clocks) == {"process", "stage:establishment", "matter:enterprise-registration:1"}


def checklist(**facts: object) -> list[str]:
    """The matter codes of the checklist of a Yanhu project with ``facts``."""
    items = derive_checklist(
        default_catalog(), lifecycle_zones()["yanhu"], ProjectFacts(project_type="general", **facts)
    )
    return [i.matter_code for i in items]


@pytest.mark.parametrize(
    ("category", "matter"),
    [("report", "eia-report"), ("report_form", "eia"), ("registration_form", "eia-registration")],
)
def test_the_eia_category_chooses_its_matter(category: str, matter: str) -> None:
    # 环境影响评价法 §16, §22: report 60 days, report form 30, registration form filed only.
    codes = checklist(eia_category=category)
    assert [c for c in codes if c.startswith("eia")] == [matter]
    spec = default_catalog().matter(matter)
    assert (spec.kind, spec.statutory_days) == {
        "report": ("approval", 60),
        "report_form": ("approval", 30),
        "registration_form": ("filing", None),
    }[category]
    # The enterprise's own environmental acceptance follows a report or report form, not a registration form.
    assert ("environmental-self-acceptance" in codes) == (category != "registration_form")


def test_a_registration_defaults_to_an_ordinary_project() -> None:
    codes = checklist()
    # Lightning protection of ordinary buildings is in the drawing review and completion filing (国发〔2016〕39号).
    assert not {"lightning-design-review", "lightning-acceptance"} & set(codes)
    # Not a special construction project: no fire design review or acceptance; it files (§34-35).
    assert not {"fire-design-review", "fire-acceptance"} & set(codes)
    assert "fire-acceptance-filing" in codes
    assert not {"water-abstraction-permit", "pollutant-permit-simplified", "pollutant-permit-key"} & set(codes)
    assert {"land-contract", "construction-drawing-review", "eia"} <= set(codes)


def test_project_facts_add_the_matters_they_need() -> None:
    codes = checklist(
        lightning_special_site=True, special_construction=True, water_abstraction=True, pollutant_permit="key"
    )
    assert {"lightning-design-review", "lightning-acceptance", "fire-design-review", "fire-acceptance"} <= set(codes)
    assert {"water-abstraction-permit", "pollutant-permit-key"} <= set(codes)
    assert "fire-acceptance-filing" not in codes and "pollutant-permit-simplified" not in codes


def test_the_workflow_takes_the_facts_from_the_registration() -> None:
    reg = sp.registration(special_construction=False, lightning_special_site=False)
    facts = ProjectFacts.of(reg.model_copy(update={"eia_category": "report", "water_abstraction": True}))
    assert (facts.eia_category, facts.water_abstraction, facts.special_construction) == ("report", True, False)
