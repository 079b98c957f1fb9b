"""Zone policies checked against the catalog: stage limits hold their critical paths and the cap."""

from __future__ import annotations

import pytest

from catalog.load import default_catalog, default_zones
from catalog.models import check_zone, critical_path
from schemas.stages import Stage


def test_the_shipped_zone_policies_pass() -> None:
    for zone in default_zones().values():
        check_zone(default_catalog(), zone)


def test_the_critical_path_chains_required_matters_and_skips_what_the_zone_waives() -> None:
    catalog, zones = default_catalog(), default_zones()
    # Project filing (1), land pre-review (3), the land contract (2), the land-use planning permit (2).
    land = ["project-filing", "land-pre-review", "land-contract", "land-use-planning-permit"]
    assert critical_path(catalog, zones["yanhu"], Stage.APPROVAL_LAND) == (8, land)
    # Fire design review (3) then the construction permit (2); Tunliu grants the permit on a
    # commitment (告知承诺), so only the review counts there.
    assert critical_path(catalog, zones["yanhu"], Stage.CONSTRUCTION_PERMIT) == (
        5,
        ["fire-design-review", "construction-permit"],
    )
    assert critical_path(catalog, zones["tunliu"], Stage.CONSTRUCTION_PERMIT)[0] == 3


def test_a_stage_limit_below_its_critical_path_is_refused_naming_the_chain() -> None:
    zone = default_zones()["yanhu"]
    short = zone.model_copy(update={"stage_limits": {**zone.stage_limits, Stage.APPROVAL_LAND: 7}})
    with pytest.raises(
        ValueError,
        match=r"^zones\.yanhu\.stage_limits\.approval_land: 7 working days .* 8 "
        r"\(project-filing then land-pre-review then land-contract then land-use-planning-permit\)$",
    ):
        check_zone(default_catalog(), short)


def test_stage_limits_over_the_whole_process_cap_are_refused() -> None:
    zone = default_zones()["tunliu"]
    over = zone.model_copy(update={"stage_limits": {**zone.stage_limits, Stage.APPROVAL_LAND: 10}})
    with pytest.raises(
        ValueError, match=r"20\.5 working days up to the construction permit exceed the whole-process cap of 20"
    ):
        check_zone(default_catalog(), over)


def test_every_shipped_matter_names_its_legal_basis() -> None:
    missing = [m.code for m in default_catalog().matters if not m.legal_basis]
    assert missing == []
    assert "§5: 7 days" in (default_catalog().matter("construction-permit").legal_basis or "")
