"""Project types of the national reform (国办发〔2019〕11号): each derives its own checklist in every
shipped zone, small low-risk projects get a zone's short caps, key projects a fast track and never a
looser cap, and every zone runs each type from registration to production (pure)."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import ValidationError

from catalog.load import default_catalog, default_zones
from catalog.models import ProjectFacts, ZonePolicy, check_zone, derive_checklist, zone_errors, zone_for_type
from catalog.types import PROJECT_TYPES
from legalclock import default_calendar
from schemas.clocks import PROCESS_CLOCK_ID
from schemas.project import ProjectType, RegisterProject
from schemas.stages import APPROVAL_STAGES, Stage
from tests import support as sp
from workflows.lifecycle import ProjectContext, ProjectMachine, ProjectState

SIX = ["yanhu", "xiangyuan", "tunliu", "lingchuan", "shouyang", "linfen"]
TYPES: list[str] = list(get_args(ProjectType))
LAND_AND_PLANNING = {
    "land-pre-review",
    "land-contract",
    "land-use-planning-permit",
    "building-planning-permit",
    "planning-verification",
    "land-verification",
}


def _registration(zone: str, project_type: str) -> RegisterProject:
    """The demo's kind of project (``sp.registration``) as a project of ``project_type``, with the
    facts the type demands."""
    reg = sp.registration(zone=zone)
    facts: dict[str, object] = {"project_type": project_type}
    if project_type == "small_low_risk":
        facts |= {
            "eia_category": "registration_form",
            "special_construction": False,
            "lightning_special_site": False,
            "project_scale": "small",
        }
    if project_type == "standard_land_industrial":
        facts["standard_land_parcel"] = True
    return RegisterProject.model_validate(reg.model_dump() | facts)


def _codes(zone: ZonePolicy, reg: RegisterProject) -> list[str]:
    return [i.matter_code for i in derive_checklist(default_catalog(), zone, ProjectFacts.of(reg))]


def test_every_type_has_a_rule_naming_its_source() -> None:
    assert set(PROJECT_TYPES) == set(TYPES)
    for rule in PROJECT_TYPES.values():
        assert "国办发〔2019〕11号" in rule.source
    assert "拎包入住" in PROJECT_TYPES["standard_factory_tenant"].source


@pytest.mark.parametrize("code", SIX)
@pytest.mark.parametrize("project_type", TYPES)
def test_a_project_of_each_type_in_each_zone_derives_its_checklist(code: str, project_type: str) -> None:
    zone = default_zones()[code]
    reg = _registration(code, project_type)
    codes = _codes(zone, reg)
    general = _codes(zone, _registration(code, "general"))
    assert codes[0] == "enterprise-registration"
    if project_type in ("general", "key"):
        # The old types keep their meaning: the same checklist, and the zone as it is.
        assert codes == general
        assert zone_for_type(zone, project_type) is zone
        assert "project-approval" not in codes
    elif project_type == "government_invested":
        # Approved, not filed (政府投资条例 §9-§11).
        assert "project-approval" in codes and "project-filing" not in codes
        assert set(codes) - {"project-approval"} == set(general) - {"project-filing"}
    elif project_type == "small_low_risk":
        assert "eia-registration" in codes
        review = next(
            i
            for i in derive_checklist(default_catalog(), zone, ProjectFacts.of(reg))
            if i.matter_code == "construction-drawing-review"
        )
        assert review.statutory_days == 10  # 住建部令第13号 §12: medium or smaller
        assert not {"eia", "eia-report", "fire-design-review", "fire-acceptance", "lightning-design-review"} & set(
            codes
        )
        assert "fire-acceptance-filing" in codes
    elif project_type == "standard_land_industrial":
        assert "land-pre-review" not in codes and "land-use-planning-permit" in codes
    else:
        # A tenant of a ready-built standard factory: no land or planning permits; establishment,
        # filing, EIA, then fit-out (drawings, construction permit) and acceptance.
        assert not LAND_AND_PLANNING & set(codes)
        assert set(codes) == set(general) - LAND_AND_PLANNING
        assert {"project-filing", "construction-permit", "completion-filing"} <= set(codes)
    # A new type with no cap of its own in the zone has the general cap (never none, never looser).
    assert zone_for_type(zone, project_type).process_caps[project_type] == zone.process_caps["general"]


def test_a_registration_refuses_facts_its_type_does_not_allow_naming_the_field() -> None:
    reg = sp.registration()
    with pytest.raises(ValidationError, match="eia_category: a small_low_risk project must have 'registration_form'"):
        RegisterProject.model_validate(reg.model_dump() | {"project_type": "small_low_risk"})
    # Small low-risk is of medium or smaller scale (住建部令第13号 §12's 10 days for its drawing review);
    # registered without a scale, it is small.
    small = reg.model_dump(exclude={"project_scale"}) | {
        "project_type": "small_low_risk",
        "eia_category": "registration_form",
        "special_construction": False,
        "lightning_special_site": False,
    }
    assert RegisterProject.model_validate(small).project_scale == "small"
    assert RegisterProject.model_validate(small | {"project_scale": "medium"}).project_scale == "medium"
    with pytest.raises(ValidationError, match="project_scale: a small_low_risk project must have 'medium' or 'small'"):
        RegisterProject.model_validate(small | {"project_scale": "large"})
    with pytest.raises(ValidationError, match="standard_land_parcel: a standard_land_industrial project"):
        RegisterProject.model_validate(reg.model_dump() | {"project_type": "standard_land_industrial"})
    with pytest.raises(ValidationError, match="project_type"):
        RegisterProject.model_validate(reg.model_dump() | {"project_type": "industrial"})
    # The old values still validate.
    for old in ("general", "key"):
        assert RegisterProject.model_validate(reg.model_dump() | {"project_type": old}).project_type == old


# A zone that adopts the reform's short caps for small low-risk projects (2 + 3 + 5 working days by
# stage) and a fast track for key projects: Yanhu's shipped policy plus that data.
def _adopting() -> ZonePolicy:
    yanhu = default_zones()["yanhu"]
    return yanhu.model_copy(
        update={
            "process_caps": {**yanhu.process_caps, "small_low_risk": 11, "key": 19},
            "type_stage_limits": {
                "small_low_risk": {Stage.APPROVAL_LAND: 2, Stage.ENGINEERING_PERMIT: 3, Stage.CONSTRUCTION_PERMIT: 5},
                "key": {Stage.APPROVAL_LAND: 7},
            },
            "type_promised_days": {
                "small_low_risk": {
                    "project-filing": 0.5,
                    "land-pre-review": 0.5,
                    "land-contract": 0.5,
                    "land-use-planning-permit": 0.5,
                    "energy-review": 1.5,
                    "soil-water-conservation": 1.5,
                    "building-planning-permit": 3,
                    "construction-drawing-review": 2,
                    "air-defence-review": 2,
                },
                "key": {"land-pre-review": 2, "energy-review": 3, "eia": 5},
            },
        }
    )


def test_a_zone_adopting_short_caps_passes_the_checks_and_runs_them() -> None:
    zone = _adopting()
    check_zone(default_catalog(), zone)
    typed = zone_for_type(zone, "small_low_risk")
    assert [typed.stage_limits[s] for s in APPROVAL_STAGES[1:4]] == [2, 3, 5]
    reg = _registration("yanhu", "small_low_risk")
    items = {i.matter_code: i for i in derive_checklist(default_catalog(), zone, ProjectFacts.of(reg))}
    assert items["energy-review"].promised_days == 1.5
    # Key projects: shorter promises (a fast track), the general projects' promises unchanged.
    key = {i.matter_code: i for i in derive_checklist(default_catalog(), zone, ProjectFacts(project_type="key"))}
    general = {
        i.matter_code: i for i in derive_checklist(default_catalog(), zone, ProjectFacts(project_type="general"))
    }
    assert (key["energy-review"].promised_days, general["energy-review"].promised_days) == (3, 5)
    # The machine runs the type's stage limits and cap.
    m = _machine(zone, reg)
    sp.approve_until(m, Stage.CONSTRUCTION)
    started = {e.payload["stage"]: e.payload["limit_days"] for e in sp.events_of(m, "StageStarted")}
    assert [started[s] for s in APPROVAL_STAGES[:4]] == [1, 2, 3, 5]
    assert m.state.clocks[PROCESS_CLOCK_ID].clock.limit_days == 11


def test_a_looser_cap_or_promise_for_key_projects_is_refused_naming_the_field() -> None:
    yanhu = default_zones()["yanhu"]
    looser = yanhu.model_copy(update={"process_caps": {"general": 20, "key": 30}})
    assert any(
        e.startswith("zones.yanhu.process_caps.key: 30 working days is looser")
        for e in zone_errors(default_catalog(), looser)
    )
    slower = yanhu.model_copy(update={"type_promised_days": {"key": {"energy-review": 8}}})
    assert any(
        e.startswith("zones.yanhu.type_promised_days.key.energy-review") for e in zone_errors(default_catalog(), slower)
    )
    unknown = yanhu.model_copy(update={"type_stage_limits": {"industrial": {Stage.APPROVAL_LAND: 2}}})
    assert any(
        e.startswith("zones.yanhu.type_stage_limits.industrial: unknown project type")
        for e in zone_errors(default_catalog(), unknown)
    )
    too_short = _adopting().model_copy(update={"type_promised_days": {}})
    assert any(
        e.startswith("zones.yanhu.type_stage_limits.small_low_risk.approval_land: 2 working days cannot hold")
        for e in zone_errors(default_catalog(), too_short)
    )


def _machine(zone: ZonePolicy, reg: RegisterProject) -> ProjectMachine:
    """A project of ``reg``'s type registered in ``zone`` as ``ProjectWorkflow`` registers a new one."""
    ctx = ProjectContext(default_catalog(), zone, default_calendar(), reg.project_type)
    state = ProjectState(
        registration=reg,
        versions=sp.versions(ctx),
        agent=reg.agent,
        backup_agent=reg.backup_agent,
        clock_model=2,
        deemed_rule=2,
        acceptance_rule=2,
        modes_rule=2,
        filing_rule=2,
    )
    m = ProjectMachine(state, ctx)
    m.register(derive_checklist(ctx.catalog, ctx.zone, ProjectFacts.of(reg)), sp.T0)
    m.advance(sp.T0)
    return m


@pytest.mark.parametrize("code", SIX)
@pytest.mark.parametrize("project_type", TYPES)
def test_each_zone_runs_each_type_from_registration_to_production(code: str, project_type: str) -> None:
    """The demo's kind of project, every matter applied for, accepted and decided (rules 2)."""
    m = _machine(default_zones()[code], _registration(code, project_type))
    sp.approve_until(m, Stage.IN_PRODUCTION)
    assert m.state.stage == Stage.IN_PRODUCTION
    kinds = sp.types(m)
    assert "ProjectRegistered" in kinds
    for code_, matter in m.state.matters.items():
        assert matter.state in ("approved", "exempt", "filed", "signed"), (code_, matter.state)
    checklist = {i.matter_code for i in m.state.checklist}
    assert checklist == set(m.state.matters)
    # Every matter not covered by a regional assessment was applied for (received) and decided.
    applied = {x.code for x in m.state.matters.values() if x.state != "exempt"}
    received = {e.payload["matter_code"] for e in sp.events_of(m, "ApplicationReceived")}
    approved = {e.payload["matter_code"] for e in sp.events_of(m, "MatterApproved")}
    assert received == applied and approved == applied
    assert sp.events_of(m, "ApplicationAccepted"), "the departments accepted (受理) what they decide"
    if project_type == "standard_factory_tenant":
        assert not LAND_AND_PLANNING & checklist


def test_general_and_key_projects_run_on_the_zone_as_it_is() -> None:
    """Replay safety: a zone version without type data gives general and key projects the very zone
    object they registered under, even one without a key cap (no process clock, as before)."""
    yanhu = default_zones()["yanhu"]
    no_key = yanhu.model_copy(update={"process_caps": {"general": 20}})
    assert zone_for_type(no_key, "key") is no_key and zone_for_type(no_key, "general") is no_key
    assert zone_for_type(no_key, "small_low_risk").process_caps["small_low_risk"] == 20
