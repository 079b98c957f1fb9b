"""The catalog and zone policies: stage limits hold their critical paths and the cap, the law in the data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from catalog.load import default_catalog, default_zones
from catalog.models import CAPPED_STAGES, Catalog, MatterSpec, ZonePolicy, check_zone, critical_path
from schemas.stages import APPROVAL_STAGES, Stage
from tests.support import lifecycle_zones

REPLAY_CONTENT = Path(__file__).parents[1] / "replay" / "content"


def test_the_shipped_zone_policies_pass() -> None:
    for zone in default_zones().values():
        check_zone(default_catalog(), zone)


def test_the_critical_path_chains_required_matters_and_skips_what_the_zone_waives() -> None:
    catalog, zones = default_catalog(), lifecycle_zones()
    # Project filing (1), land pre-review (3), the land contract (2), the land-use planning permit (2).
    land = ["project-filing", "land-pre-review", "land-contract", "land-use-planning-permit"]
    assert critical_path(catalog, zones["yanhu"], Stage.APPROVAL_LAND) == (8, land)
    # Fire design review (3) then the construction permit, whose 7 days (日, 建筑法 §8 ¶2) are the law's
    # ceiling and no zone's promise (0); Tunliu grants the permit on a commitment (告知承诺).
    assert critical_path(catalog, zones["yanhu"], Stage.CONSTRUCTION_PERMIT) == (
        3,
        ["fire-design-review", "construction-permit"],
    )
    assert critical_path(catalog, zones["tunliu"], Stage.CONSTRUCTION_PERMIT)[0] == 3


def test_a_stage_limit_below_its_critical_path_is_refused_naming_the_chain() -> None:
    zone = lifecycle_zones()["yanhu"]
    short = zone.model_copy(update={"stage_limits": {**zone.stage_limits, Stage.APPROVAL_LAND: 7}})
    with pytest.raises(
        ValueError,
        match=r"^zones\.yanhu\.stage_limits\.approval_land: 7 working days .* 8 "
        r"\(project-filing then land-pre-review then land-contract then land-use-planning-permit\)$",
    ):
        check_zone(default_catalog(), short)


def test_stage_limits_over_the_whole_process_cap_are_refused() -> None:
    zone = lifecycle_zones()["tunliu"]
    over = zone.model_copy(update={"stage_limits": {**zone.stage_limits, Stage.APPROVAL_LAND: 10}})
    with pytest.raises(
        ValueError, match=r"20\.5 working days up to the construction permit exceed the whole-process cap of 20"
    ):
        check_zone(default_catalog(), over)


def test_every_shipped_matter_names_its_legal_basis() -> None:
    missing = [m.code for m in default_catalog().matters if not m.legal_basis]
    assert missing == []
    permit = default_catalog().matter("construction-permit")
    assert "§8 ¶2 as amended on 23 Apr 2019: 建设行政主管部门应当自收到申请之日起七日内" in (permit.legal_basis or "")
    assert "§5(三): the same 七日" in (permit.legal_basis or "")
    assert permit.limit_from == "receipt"


# ---- the catalog of issue 12: each correction with its legal source -----------------------------


def test_every_promise_says_where_it_comes_from() -> None:
    missing = [m.code for m in default_catalog().matters if m.promised_days is not None and not m.promise_basis]
    assert missing == []


def test_filings_and_contracts_have_no_statutory_limit_and_the_enterprise_period_is_its_own() -> None:
    catalog = default_catalog()
    kinds = {m.code: m.kind for m in catalog.matters if m.kind != "approval"}
    assert kinds == {
        "project-filing": "filing",
        "land-contract": "contract",
        "eia-registration": "filing",
        "fire-acceptance-filing": "filing",
        "completion-filing": "filing",
        "environmental-self-acceptance": "filing",
    }
    assert all(catalog.matter(c).statutory_days is None for c in kinds)
    assert "§13" in (catalog.matter("project-filing").legal_basis or "")
    completion = catalog.matter("completion-filing")
    # 建设工程质量管理条例 §49: the enterprise files within 15 days; the department only signs receipt.
    assert (completion.enterprise_days, completion.statutory_days) == (15, None)
    assert "§49" in (completion.legal_basis or "")
    assert catalog.matter("fire-acceptance-filing").enterprise_days == 5


def test_eia_limits_follow_the_category() -> None:
    catalog = default_catalog()
    assert [(catalog.matter(c).statutory_days, catalog.matter(c).applies_if) for c in ("eia-report", "eia")] == [
        (60, {"eia_category": ["report"]}),
        (30, {"eia_category": ["report_form"]}),
    ]
    assert all("§22" in (catalog.matter(c).legal_basis or "") for c in ("eia", "eia-report", "eia-registration"))


def test_matters_sit_where_the_reform_puts_them() -> None:
    catalog = default_catalog()
    # Fire and civil air defence design review with the joint drawing review in stage 3.
    for code in ("construction-drawing-review", "fire-design-review", "air-defence-review"):
        assert catalog.matter(code).stage == Stage.CONSTRUCTION_PERMIT, code
    assert set(catalog.matter("construction-permit").requires) == {
        "construction-drawing-review",
        "fire-design-review",
        "air-defence-review",
    }
    # The land-use planning permit after the land contract, which follows the land pre-review.
    assert "land-contract" in catalog.matter("land-use-planning-permit").requires
    assert "land-pre-review" in catalog.matter("land-contract").requires
    # The meteorological bureau keeps special sites only (国发〔2016〕39号).
    for code in ("lightning-design-review", "lightning-acceptance"):
        assert catalog.matter(code).applies_if == {"lightning_special_site": [True]}, code
        assert "国发〔2016〕39号" in (catalog.matter(code).legal_basis or ""), code
    # Pollutant discharge permits before production, in the last stage.
    assert {catalog.matter(c).stage for c in ("pollutant-permit-simplified", "pollutant-permit-key")} == {
        Stage.COMPLETION_ACCEPTANCE
    }


def test_the_joint_acceptance_names_its_matters_and_the_shipped_zones_keep_absent_department_off() -> None:
    joint = default_catalog().joint_acceptance
    assert joint is not None and joint.stage == Stage.COMPLETION_ACCEPTANCE
    assert "completion-filing" not in joint.matters and "environmental-self-acceptance" not in joint.matters
    assert {"planning-verification", "land-verification", "archives-acceptance"} <= set(joint.matters)
    assert not any(z.absent_department_deemed for z in default_zones().values())


def test_every_stage_has_a_known_lead_department() -> None:
    for zone in default_zones().values():
        assert set(zone.stage_leads) == set(APPROVAL_STAGES)
    zone = lifecycle_zones()["yanhu"]
    leads = {k: v for k, v in zone.stage_leads.items() if k != Stage.CONSTRUCTION_PERMIT}
    with pytest.raises(ValueError, match=r"^zones\.yanhu\.stage_leads\.construction_permit: every stage needs"):
        check_zone(default_catalog(), zone.model_copy(update={"stage_leads": leads}))
    unknown = {**zone.stage_leads, Stage.APPROVAL_LAND: "planning-office"}
    with pytest.raises(
        ValueError, match=r"^zones\.yanhu\.stage_leads\.approval_land: unknown department 'planning-office'$"
    ):
        check_zone(default_catalog(), zone.model_copy(update={"stage_leads": unknown}))


def test_a_matter_the_zone_promises_nothing_for_is_not_on_the_promised_critical_path() -> None:
    # A full EIA report (60 statutory days, no promise) leaves stage 1's promised path as it is.
    catalog, zone = default_catalog(), lifecycle_zones()["yanhu"]
    days, chain = critical_path(catalog, zone, Stage.APPROVAL_LAND)
    assert days == 8 and "eia-report" not in chain


def test_tunliu_fits_its_cap() -> None:
    zone = lifecycle_zones()["tunliu"]
    assert sum(zone.stage_limits.get(s, 0) for s in CAPPED_STAGES) <= min(zone.process_caps.values())
    assert "zone's choice" in zone.notes["stage_limits"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "approval", "statutory_days": None}, r"matters\.x\.statutory_days: an approval needs"),
        ({"kind": "filing", "statutory_days": 3}, r"matters\.x\.statutory_days: a filing has no statutory"),
        ({"applies_if": {"eia_category": ["big"]}}, r"matters\.x\.applies_if\.eia_category: values must be among"),
        ({"applies_if": {"special_construction": ["yes"]}}, r"matters\.x\.applies_if\.special_construction"),
    ],
)
def test_a_matter_is_refused_naming_the_field(change: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "code": "x",
        "name": "x",
        "name_zh": "x",
        "department": "housing",
        "stage": "construction_permit",
        "statutory_days": 20,
        "main_materials": ["m"],
    }
    with pytest.raises(ValidationError, match=message):
        MatterSpec.model_validate({**base, **change})


def test_a_joint_acceptance_of_another_stages_matter_is_refused() -> None:
    catalog = default_catalog()
    data = catalog.model_dump()
    data["joint_acceptance"]["matters"] = ["construction-permit"]
    with pytest.raises(ValidationError, match=r"joint_acceptance\.matters: 'construction-permit' is not a matter of"):
        Catalog.model_validate(data)


def test_the_absent_department_rule_needs_its_local_rule() -> None:
    zone = lifecycle_zones()["yanhu"]
    with pytest.raises(ValidationError, match=r"zones\.yanhu\.absent_department_rule: 缺席默认 needs"):
        ZonePolicy.model_validate({**zone.model_dump(), "absent_department_deemed": True})
    allowed = ZonePolicy.model_validate(
        {**zone.model_dump(), "absent_department_deemed": True, "absent_department_rule": "盐湖区联合验收办法 §12"}
    )
    check_zone(default_catalog(), allowed)
    with pytest.raises(ValueError, match=r"^zones\.yanhu\.absent_department_deemed: the catalog .* has no joint"):
        check_zone(default_catalog().model_copy(update={"joint_acceptance": None}), allowed)
    with pytest.raises(ValidationError, match=r"zones\.yanhu\.notes: no such fields \['stage_limit'\]"):
        ZonePolicy.model_validate({**zone.model_dump(), "notes": {"stage_limit": "typo"}})


def test_catalogs_of_projects_registered_before_still_load() -> None:
    # Replayed projects name their catalog versions: those files load under today's models.
    for path in sorted(REPLAY_CONTENT.glob("catalog-*.json")):
        catalog = Catalog.model_validate(json.loads(path.read_text(encoding="utf-8"))["content"])
        assert all(m.statutory_days for m in catalog.matters if m.kind == "approval"), path.name
