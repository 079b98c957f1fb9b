"""A statutory limit the law sets by the project's scale: the construction-drawing review.

住建部令第13号 (房屋建筑和市政基础设施工程施工图设计文件审查管理办法) §12: the review takes at most
15 working days for a large project and 10 for a medium or smaller one. The oracle below is the
article's own table, not the catalog's data.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from catalog.content import REGISTRY, ContentRegistry, ContentVersions
from catalog.load import default_catalog
from catalog.models import Catalog, MatterSpec, ProjectFacts, check_zone, derive_checklist, facts_catalog
from legalclock import default_calendar
from schemas import events as ev
from schemas.project import MigrateContent, ProjectScale, RegisterProject
from schemas.stages import Stage
from tests import support as sp
from tests.support import lifecycle_zones
from workflows.content import machine_of
from workflows.lifecycle import ProjectContext

DRAWING_REVIEW = "construction-drawing-review"
# 住建部令第13号 §12: 大型房屋建筑工程、市政基础设施工程 15 个工作日, 中型及以下 10 个工作日.
LAW_13_ARTICLE_12 = {"large": 15, "medium": 10, "small": 10}
SCALES: list[ProjectScale] = ["large", "medium", "small"]


def _reg(scale: ProjectScale) -> RegisterProject:
    return RegisterProject.model_validate({**sp.registration().model_dump(), "project_scale": scale})


@pytest.mark.parametrize("scale", SCALES)
def test_the_drawing_review_takes_the_limit_of_the_projects_scale(scale: ProjectScale) -> None:
    m = sp.machine(reg=_reg(scale), stage=Stage.CONSTRUCTION_PERMIT)
    clock_id = sp.matter_clock(m, DRAWING_REVIEW)
    tc = m.state.clocks[clock_id]
    assert tc.clock.limit_days == LAW_13_ARTICLE_12[scale]
    assert sp.statutory_deadline_of(m, clock_id) == sp.legal_deadline(m, tc.clock.accepted_at, LAW_13_ARTICLE_12[scale])
    # The zone's promise is the same for every scale: it is within each of the law's limits.
    assert tc.promised_days == default_catalog().matter(DRAWING_REVIEW).promised_days


@pytest.mark.parametrize("scale", SCALES)
def test_the_checklist_states_the_limit_of_the_projects_scale(scale: ProjectScale) -> None:
    facts = ProjectFacts.of(_reg(scale))
    items = {i.matter_code: i for i in derive_checklist(default_catalog(), lifecycle_zones()["yanhu"], facts)}
    assert items[DRAWING_REVIEW].statutory_days == LAW_13_ARTICLE_12[scale]


def test_a_registration_without_a_scale_is_large_so_no_limit_shortens() -> None:
    data = sp.registration().model_dump()
    data.pop("project_scale")
    assert RegisterProject.model_validate(data).project_scale == "large"
    with pytest.raises(ValidationError, match="project_scale"):
        RegisterProject.model_validate({**data, "project_scale": "huge"})


def _before_scales(catalog: Catalog) -> Catalog:
    """``catalog`` as a version written before limits by scale: the drawing review 15 for all."""
    matters = [
        m.model_copy(update={"statutory_days_if": {}}) if m.code == DRAWING_REVIEW else m for m in catalog.matters
    ]
    return catalog.model_copy(update={"matters": matters})


def test_the_workflow_builds_its_machine_with_the_projects_facts() -> None:
    """``workflows.content.machine_of``: the content from the registry, the limits by the facts."""
    catalog = default_catalog()
    versions = ContentVersions(
        catalog=REGISTRY.add_catalog(catalog),
        zone=REGISTRY.add_zone(lifecycle_zones()["yanhu"]),
        calendar=REGISTRY.add_calendar(default_calendar()),
    )
    for scale in SCALES:
        state = sp.machine(reg=_reg(scale)).state.model_copy(update={"versions": versions})
        assert machine_of(state).ctx.specs[DRAWING_REVIEW].statutory_days == LAW_13_ARTICLE_12[scale]
    # A catalog version written before limits by scale (no ``statutory_days_if``) keeps its limit.
    older = _before_scales(catalog)
    state = sp.machine(reg=_reg("small")).state.model_copy(
        update={"versions": versions.model_copy(update={"catalog": REGISTRY.add_catalog(older)})}
    )
    assert machine_of(state).ctx.specs[DRAWING_REVIEW].statutory_days == 15


def test_a_medium_project_migrated_to_the_catalog_with_limits_by_scale_has_its_review_deadline_moved() -> None:
    """A medium project registered under a catalog version that held 15 days for every scale, its
    drawing review accepted: ``migrate_content`` to the version with limits by scale moves the
    statutory deadline to 10 working days from the same acceptance (``ContentMigrated``)."""
    facts = ProjectFacts.of(_reg("medium"))
    registry = ContentRegistry()
    older, shipped = _before_scales(default_catalog()), default_catalog()
    zone = lifecycle_zones()["yanhu"]
    m = sp.machine(reg=_reg("medium"))
    m.contents = lambda v: ProjectContext(
        registry.catalog(v.catalog), registry.zone(v.zone), registry.calendar(v.calendar), None, facts
    )
    m.state.versions = ContentVersions(
        catalog=registry.add_catalog(older),
        zone=registry.add_zone(zone),
        calendar=registry.add_calendar(default_calendar()),
    )
    m.ctx = m.contents(m.state.versions)
    sp.approve_until(m, Stage.CONSTRUCTION_PERMIT)
    clock_id = sp.matter_clock(m, DRAWING_REVIEW)
    accepted = m.state.clocks[clock_id].clock.accepted_at
    assert sp.statutory_deadline_of(m, clock_id) == sp.legal_deadline(m, accepted, 15)
    sp.drain(m)

    command = MigrateContent(
        request_id=sp.rid(),
        catalog_version=registry.add_catalog(shipped),
        by="operator-li",
        reason="住建部令第13号 §12",
    )
    sp.ack(m, "migrate_content", command, accepted)
    assert sp.statutory_deadline_of(m, clock_id) == sp.legal_deadline(m, accepted, 10)
    (event,) = sp.events_of(m, "ContentMigrated")
    (move,) = [x for x in ev.ContentMigrated.model_validate(event.payload).moves if x.clock_id == clock_id]
    assert (move.limit_days_was, move.limit_days) == (15, 10)


def test_without_a_limit_by_fact_the_catalog_is_the_same_object() -> None:
    catalog = default_catalog()
    assert facts_catalog(catalog, ProjectFacts(project_type="general")) is catalog
    assert facts_catalog(catalog, None) is catalog
    medium = facts_catalog(catalog, ProjectFacts(project_type="general", project_scale="medium"))
    assert medium is not catalog
    # Projects of the same scale share one (a worker holds thousands of projects).
    assert facts_catalog(catalog, ProjectFacts(project_type="key", project_scale="small")) is medium


def _spec(**changes: object) -> MatterSpec:
    data = default_catalog().matter(DRAWING_REVIEW).model_dump()
    return MatterSpec.model_validate({**data, **changes})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"statutory_days_if": {"project_scale": {"huge": 10}}}, "values must be among"),
        ({"statutory_days_if": {"project_scale": {}}}, "values must be among"),
        ({"statutory_days_if": {"special_construction": {"True": 10}}}, "a fact with named values"),
        (
            {"statutory_days_if": {"project_scale": {"medium": 10}, "eia_category": {"report": 12}}},
            "at most one fact",
        ),
        ({"statutory_days_if": {"size": {"medium": 10}}}, "statutory_days_if.size"),
        ({"statutory_days_if": {"project_scale": {"medium": 2}}}, "exceed the statutory limit of 2"),
    ],
)
def test_a_limit_by_fact_the_catalog_cannot_keep_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _spec(**changes)


def test_a_zone_promise_above_the_shorter_limit_is_refused() -> None:
    zone = lifecycle_zones()["yanhu"]
    too_long = zone.model_copy(update={"promised_days": {**zone.promised_days, DRAWING_REVIEW: 12}})
    with pytest.raises(ValueError, match="12 working days exceed the statutory limit of 10"):
        check_zone(default_catalog(), too_long)
