"""The six zones of the source as shipped data: each passes the zone-policy checks, says where
its values come from, and runs a project through its checklist to production (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.load import default_catalog, default_zones
from catalog.models import (
    CAPPED_STAGES,
    ProjectFacts,
    ZonePolicy,
    check_zone,
    critical_path,
    derive_checklist,
    zone_errors,
)
from catalog.table import readme_table, zone_table
from legalclock import default_calendar
from schemas.stages import APPROVAL_STAGES, Stage
from tests import support as sp
from workflows.lifecycle import ProjectContext, ProjectMachine, ProjectState

SOURCE = Path("/work/shared/seeds/000_3b0d399b235c0bf0.txt")
README = Path(__file__).parents[2] / "README.md"
SIX = ["yanhu", "xiangyuan", "tunliu", "lingchuan", "shouyang", "linfen"]


def test_the_six_zones_of_the_source_are_shipped_and_pass_the_checks() -> None:
    zones = default_zones()
    assert list(zones) == SIX
    for zone in zones.values():
        check_zone(default_catalog(), zone)
        # Stages up to the construction permit fit every cap, each holding its critical path.
        assert sum(zone.stage_limits.get(s, 0) for s in CAPPED_STAGES) <= min(zone.process_caps.values())


# Fields whose value is the national default when a zone leaves them as the model's default.
_DEFAULTS = ZonePolicy(code="x", name="x", name_zh="x", process_caps={})


_NOTE_STARTS = (
    "the source",
    "national default",
    "set ",
    "none",
    "general 20",
    "enterprise-registration",
    "joint meeting",
    "establishment",
)


@pytest.mark.parametrize("code", SIX)
def test_every_zone_specific_value_names_its_source(code: str) -> None:
    zone = default_zones()[code]
    data = zone.model_dump()
    defaults = _DEFAULTS.model_dump()
    own = [f for f in ZonePolicy.model_fields if f not in ("code", "name_zh", "notes") and data[f] != defaults[f]]
    assert [f for f in own if f not in zone.notes] == []
    # Each note quotes the source or says which default or derivation it is.
    for note in zone.notes.values():
        assert note.startswith(
            (
                "the source",
                "national default",
                "set ",
                "none",
                "general 20",
                "enterprise-registration",
                "joint meeting",
                "establishment",
            )
        )


def test_what_the_source_does_not_say_is_not_configured() -> None:
    zones = default_zones()
    yanhu = zones["yanhu"]
    # Yanhu: the 20-day cap of general projects, no regional assessment, no deemed approval, no half day.
    assert yanhu.process_caps["general"] == 20
    assert yanhu.regional_assessments == [] and yanhu.deemed_approval_matters == [] and not yanhu.deemed_approval
    assert yanhu.stage_limits[Stage.ESTABLISHMENT] != 0.5
    assert "压缩一般项目全流程审批时限至20个工作日" in yanhu.notes["process_caps"]
    # Nobody deems approval (超时默认): the source names no such local rule.
    assert not any(z.deemed_approval_matters or z.absent_department_deemed for z in zones.values())
    # The shipped catalog promises nothing for market registration: 半日结 is Xiangyuan's own.
    assert default_catalog().matter("enterprise-registration").promised_days is None


def test_xiangyuan_promises_half_a_day_and_approves_under_one_seal() -> None:
    xiangyuan = default_zones()["xiangyuan"]
    assert xiangyuan.promised_days == {"enterprise-registration": 0.5}
    assert xiangyuan.stage_limits == {Stage.ESTABLISHMENT: 0.5}
    assert xiangyuan.approval_seal == "襄垣经济技术开发区管理委员会行政审批专用章"
    assert xiangyuan.approval_body == "襄垣经济技术开发区管理委员会"
    items = derive_checklist(default_catalog(), xiangyuan, ProjectFacts(project_type="general"))
    registration = next(i for i in items if i.matter_code == "enterprise-registration")
    assert (registration.statutory_days, registration.promised_days) == (3, 0.5)
    # Tunliu's commitment matters are the five the source lists.
    assert default_zones()["tunliu"].commitment_matters == [
        "energy-review",
        "soil-water-conservation",
        "lightning-design-review",
        "air-defence-review",
        "construction-permit",
    ]


def test_the_quoted_source_sentences_are_in_the_source() -> None:
    if not SOURCE.exists():
        pytest.skip("the source document is not on this machine")
    text = SOURCE.read_text(encoding="utf-8")
    for zone in default_zones().values():
        for field, note in zone.notes.items():
            for quote in _quotes(note) if note.startswith("the source") else []:
                assert quote in text, f"{zone.code}.notes.{field}: {quote!r} is not in the source"


def _quotes(note: str) -> list[str]:
    """The Chinese passages in parentheses after "the source" (the quoted sentences)."""
    out = []
    for part in note.split("(")[1:]:
        quote = part.split(")")[0]
        if quote and all(ord(c) > 0x2E80 or c in "“”、，。+0123456789." for c in quote):
            out.append(quote)
    return out


@pytest.mark.parametrize("code", SIX)
def test_every_zone_runs_a_project_through_its_checklist_to_production(code: str) -> None:
    ctx = ProjectContext(default_catalog(), default_zones()[code], default_calendar())
    reg = sp.registration(zone=code)
    state = ProjectState(
        registration=reg,
        versions=sp.versions(ctx),
        agent=reg.agent,
        backup_agent=reg.backup_agent,
        clock_model=2,
        deemed_rule=2,
        acceptance_rule=2,
        modes_rule=2,
    )
    m = ProjectMachine(state, ctx)
    m.register(derive_checklist(ctx.catalog, ctx.zone, ProjectFacts.of(reg)), sp.T0)
    m.advance(sp.T0)
    sp.approve_until(m, Stage.IN_PRODUCTION)
    assert m.state.stage == Stage.IN_PRODUCTION
    for stage in APPROVAL_STAGES:
        assert critical_path(ctx.catalog, ctx.zone, stage)[0] <= ctx.zone.stage_limits.get(stage, float("inf"))


def test_the_readme_zone_table_is_the_generated_one() -> None:
    generated = zone_table(default_catalog(), default_zones().values())
    assert readme_table(README.read_text(encoding="utf-8")) == generated, (
        "the README's zone table is stale: run `python -m catalog.table --write README.md`"
    )


def test_zone_data_that_would_be_ignored_or_unlawful_is_refused_naming_the_field() -> None:
    catalog, yanhu = default_catalog(), default_zones()["yanhu"]
    not_commitment = next(m.code for m in catalog.matters if "commitment" not in m.modes and m.kind == "approval")
    filing = next(m.code for m in catalog.matters if m.kind == "filing")
    bad = yanhu.model_copy(
        update={
            "commitment_matters": [*yanhu.commitment_matters, not_commitment],
            "deemed_approval_matters": [filing],
            "regional_assessments": [*yanhu.regional_assessments, "nonexistent"],
            "process_caps": {**yanhu.process_caps, "key": 0.0},
            "stage_limits": {**yanhu.stage_limits, Stage.CONSTRUCTION: 30.0},
        }
    )
    errors = zone_errors(catalog, bad)
    for start in (
        f"zones.yanhu.commitment_matters: {not_commitment} cannot be handled by commitment",
        f"zones.yanhu.deemed_approval_matters: {filing} is a filing, not an approval",
        "zones.yanhu.regional_assessments: no matter of the catalog is covered by 'nonexistent'",
        "zones.yanhu.process_caps.key: a cap must be more than 0 working days",
        "zones.yanhu.stage_limits.construction: stage construction has no department approvals to limit",
    ):
        assert any(e.startswith(start) for e in errors), (start, errors)


def test_a_catalog_promise_longer_than_the_statutory_limit_is_refused() -> None:
    data = default_catalog().model_dump()
    spec = next(m for m in data["matters"] if m["statutory_days"] and m["limit_from"] != "receipt")
    spec["promised_days"] = spec["statutory_days"] + 5
    with pytest.raises(ValueError, match=rf"matters\.{spec['code']}\.promised_days: .* exceed the statutory limit"):
        type(default_catalog()).model_validate(data)


def test_days_the_legal_clock_cannot_count_are_refused_at_load_naming_the_field() -> None:
    """A working-day figure that is not a multiple of half a day loaded, then failed every deadline
    computed with it inside the workflows (the zone's projects stuck at registration or at their
    next alarm); it is refused at load now, as is one beyond a year of working days."""
    import json

    from catalog.validate import ContentInvalid, parse_catalog, parse_zones

    catalog = default_catalog()
    zone = default_zones()["yanhu"].model_dump(mode="json")
    zone["process_caps"]["general"] = 20.3
    zone["escalation"]["warn_days_before"] = 1.2
    zone["escalation"]["joint_meeting_after_days"] = 2.2
    zone["ratings"]["callback_days"] = 0.3
    zone["stage_limits"]["approval_land"] = 1000
    with pytest.raises(ContentInvalid) as refused:
        parse_zones(json.dumps(zone), catalog)
    fields = {e.field for e in refused.value.errors}
    assert {
        "zones.yanhu.process_caps.general",
        "zones.yanhu.escalation.warn_days_before",
        "zones.yanhu.escalation.joint_meeting_after_days",
        "zones.yanhu.ratings.callback_days",
        "zones.yanhu.stage_limits.approval_land",
    } <= fields, fields
    data = catalog.model_dump(mode="json")
    data["matters"][0]["tolerance_supply_days"] = 7.3
    data["matters"][1]["statutory_days"] = 0.2
    with pytest.raises(ContentInvalid) as refused:
        parse_catalog(json.dumps(data), [])
    code0, code1 = data["matters"][0]["code"], data["matters"][1]["code"]
    assert {e.field for e in refused.value.errors} == {
        f"matters.{code0}.tolerance_supply_days",
        f"matters.{code1}.statutory_days",
    }
