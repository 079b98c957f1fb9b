"""Content migration (issue 13): a running project moves to another zone policy version only by an
explicit, recorded ``migrate_content``, which recomputes its open clocks from the new content.

The rules on the pure machine: a shorter promise moves the promised deadline (on the clock's own
ledger: its acceptance stays) and leaves the statutory one; the ladder re-arms on a deadline moved
into the future; content that changes the checklist, another zone's policy, an unknown version and
an ended project are refused before anything is recorded; the preview changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from catalog.content import ContentRegistry, ContentVersions
from catalog.load import default_catalog
from catalog.models import Catalog, ZonePolicy
from legalclock import default_calendar
from schemas import events as ev
from schemas.project import MigrateContent
from schemas.stages import Stage
from tests import support as sp
from tests.lifecycle.test_acceptance import at_land, at_land_reporting, received
from workflows.lifecycle import ProjectContext, ProjectMachine, Rejected

EIA = "matter:eia:1"


def on_registry(m: ProjectMachine, *zones: ZonePolicy) -> ContentRegistry:
    """Put ``m`` on versions of a registry holding its content and ``zones`` (the worker's role)."""
    registry = ContentRegistry()
    for zone in (m.zone, *zones):
        registry.add_zone(zone)
    m.state.versions = ContentVersions(
        catalog=registry.add_catalog(default_catalog()),
        zone=registry.add_zone(m.zone),
        calendar=registry.add_calendar(default_calendar()),
    )
    m.contents = lambda v: ProjectContext(
        registry.catalog(v.catalog), registry.zone(v.zone), registry.calendar(v.calendar)
    )
    return registry


def earlier_catalog(
    registry: ContentRegistry,
    code: str,
    *,
    drop: tuple[str, ...] = (),
    version: str = "shanxi-industrial-2026.8",
    **changes: object,
) -> str:
    """The shipped catalog as an earlier release had matter ``code``: the fields in ``drop`` left to
    their defaults, ``changes`` set; added to ``registry`` as ``version``, whose id is returned."""
    data = default_catalog().model_dump(exclude_unset=True)
    matter = next(x for x in data["matters"] if x["code"] == code)
    for key in drop:
        del matter[key]
    matter.update(changes)
    data["version"] = version
    return registry.add_catalog(Catalog.model_validate(data))


def promising(zone: ZonePolicy, **days: float) -> ZonePolicy:
    """``zone`` with its own promises ``days`` (matter code with underscores → days)."""
    own = {code.replace("_", "-"): d for code, d in days.items()}
    return ZonePolicy.model_validate({**zone.model_dump(), "promised_days": {**zone.promised_days, **own}})


def migration(zone_version: str | None = None, catalog_version: str | None = None) -> MigrateContent:
    return MigrateContent(
        request_id=sp.rid(),
        zone_version=zone_version,
        catalog_version=catalog_version,
        by="operator-li",
        reason="the zone's new service guide",
    )


def test_a_shorter_promise_moves_the_promised_deadline_and_keeps_the_statutory_one() -> None:
    m = sp.at_approval_land("tunliu")
    accepted = m.state.clocks[EIA].clock.accepted_at
    statutory = sp.statutory_deadline_of(m, EIA)
    assert sp.deadline_of(m, EIA) == sp.legal_deadline(m, accepted, sp.EIA_PROMISE)
    new = promising(m.zone, eia=3)
    registry = on_registry(m, new)
    was = m.state.versions
    later = sp.T0 + timedelta(hours=2)
    ack = sp.ack(m, "migrate_content", migration(registry.add_zone(new)), later)

    assert "1 deadline(s) moved" in ack.message
    assert sp.deadline_of(m, EIA) == sp.legal_deadline(m, accepted, 3)  # from its acceptance, not now
    assert sp.statutory_deadline_of(m, EIA) == statutory
    assert m.state.versions == was.model_copy(update={"zone": registry.add_zone(new)})
    assert next(i for i in m.state.checklist if i.matter_code == "eia").promised_days == 3
    (event,) = sp.events_of(m, "ContentMigrated")
    done = ev.ContentMigrated.model_validate(event.payload)
    assert (done.zone_was, done.zone, done.catalog_was, done.catalog) == (
        was.zone,
        registry.add_zone(new),
        was.catalog,
        was.catalog,
    )
    assert (done.by, done.reason) == ("operator-li", "the zone's new service guide")
    (move,) = done.moves
    assert (move.clock_id, move.promised_days_was, move.promised_days) == (EIA, sp.EIA_PROMISE, 3)
    assert move.deadline == move.deadline_was == statutory
    assert move.promised_deadline == sp.legal_deadline(m, accepted, 3)
    assert {"content_versions", "notify"} <= set(sp.effect_kinds(m))


def test_a_longer_promise_re_arms_the_ladder_of_a_missed_one() -> None:
    m = sp.at_approval_land("tunliu")
    promised = sp.deadline_of(m, EIA)
    m.fire_alarms(promised)
    assert m.state.clocks[EIA].promise_breached
    new = promising(m.zone, eia=8)  # within the stage limit of 9.5 (filing 1, then EIA)
    registry = on_registry(m, new)
    now = promised + timedelta(hours=1)
    sp.ack(m, "migrate_content", migration(registry.add_zone(new)), now)
    tc = m.state.clocks[EIA]
    assert not tc.promise_breached and not tc.warned
    new_promise = sp.deadline_of(m, EIA)
    assert new_promise > now
    sp.drain(m)
    m.fire_alarms(now)  # the ladder runs again on the new promise: its warning is due at once
    assert [e.payload["clock_id"] for e in sp.events_of(m, "DeadlineWarned")] == [EIA]
    m.fire_alarms(new_promise)
    (missed,) = sp.events_of(m, "DeadlineBreached")
    assert missed.payload["limit"] == "promised" and missed.payload["deadline"] == new_promise.isoformat()


def test_content_that_changes_the_checklist_is_refused_and_nothing_is_recorded() -> None:
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND)
    # Yanhu drops its regional energy assessment: the energy review would have to be applied for.
    new = ZonePolicy.model_validate({**m.zone.model_dump(), "regional_assessments": ["soil-water"]})
    registry = on_registry(m, new)
    cmd = migration(registry.add_zone(new))
    was = m.state.versions
    with pytest.raises(Rejected, match=r"zone_version: .*checklist.*energy-review's mode regional_assessment"):
        m.check("migrate_content", cmd, sp.T0)
    with pytest.raises(Rejected, match="checklist"):
        m.execute("migrate_content", cmd, sp.T0)
    assert m.state.versions == was and not m.state.pending_events


def test_an_ended_project_refuses_a_migration() -> None:
    m = sp.machine("tunliu", stage=Stage.APPROVAL_LAND)
    new = promising(m.zone, eia=3)
    registry = on_registry(m, new)
    sp.ack(m, "withdraw", sp.withdraw())
    sp.drain(m)
    with pytest.raises(Rejected, match="withdrawn; nothing can change"):
        m.check("migrate_content", migration(registry.add_zone(new)), sp.T0)


def test_another_zones_policy_an_unknown_version_and_the_same_version_are_refused() -> None:
    m = sp.at_approval_land("tunliu")
    yanhu = sp.lifecycle_zones()["yanhu"]
    registry = on_registry(m, yanhu)
    with pytest.raises(Rejected, match=r"zone_version: .* a policy of zone yanhu; project .* runs in zone tunliu"):
        m.check("migrate_content", migration(registry.add_zone(yanhu)), sp.T0)
    with pytest.raises(Rejected, match="zone_version: zone policy version zone-tunliu-nope is not loaded"):
        m.check("migrate_content", migration("zone-tunliu-nope"), sp.T0)
    with pytest.raises(Rejected, match="catalog_version: catalog version catalog-nope is not loaded"):
        m.check("migrate_content", migration(catalog_version="catalog-nope"), sp.T0)
    with pytest.raises(Rejected, match=r"zone_version: .* already runs under"):
        m.check("migrate_content", migration(m.state.versions.zone), sp.T0)
    with pytest.raises(ValueError, match="zone_version: name a zone policy version"):
        MigrateContent(request_id="r-1", by="operator-li", reason="nothing named")


def test_the_preview_lists_the_moves_and_changes_nothing() -> None:
    m = sp.at_approval_land("tunliu")
    new = promising(m.zone, eia=3)
    registry = on_registry(m, new)
    was, version = m.state.versions, m.state.version
    preview = m.preview_migration(migration(registry.add_zone(new)), sp.T0)
    assert [x.clock_id for x in preview.moves] == [EIA] and preview.zone == registry.add_zone(new)
    assert m.state.versions == was and m.state.version == version and not m.state.pending_events
    assert sp.deadline_of(m, EIA) == sp.legal_deadline(m, m.state.clocks[EIA].clock.accepted_at, sp.EIA_PROMISE)


def test_a_shorter_stage_limit_moves_the_running_stage_deadline_counted_from_its_opening() -> None:
    m = sp.at_approval_land("tunliu")
    stage = m.state.clocks["stage:approval_land"]
    opened = stage.clock.accepted_at
    limits = {**m.zone.stage_limits, Stage.APPROVAL_LAND: 8.5}  # was 9.5
    new = ZonePolicy.model_validate({**m.zone.model_dump(), "stage_limits": limits})
    registry = on_registry(m, new)
    sp.ack(m, "migrate_content", migration(registry.add_zone(new)), sp.T0 + timedelta(days=1))
    assert sp.deadline_of(m, "stage:approval_land") == sp.legal_deadline(m, opened, 8.5)


def test_a_stage_limit_removed_closes_the_stage_clock_and_one_set_counts_from_the_migration() -> None:
    m = sp.machine("tunliu")  # in establishment, promised in half a day
    assert m.state.stage == Stage.ESTABLISHMENT and not m.state.clocks["stage:establishment"].closed
    unlimited = ZonePolicy.model_validate(
        {**m.zone.model_dump(), "stage_limits": {k: v for k, v in m.zone.stage_limits.items() if k != "establishment"}}
    )
    original = m.zone
    registry = on_registry(m, unlimited)
    sp.ack(m, "migrate_content", migration(registry.add_zone(unlimited)), sp.T0)
    assert m.state.clocks["stage:establishment"].closed
    (move,) = ev.ContentMigrated.model_validate(sp.events_of(m, "ContentMigrated")[0].payload).moves
    assert (move.clock_id, move.limit_days_was, move.limit_days, move.deadline) == (
        "stage:establishment",
        0.5,
        None,
        None,
    )
    sp.drain(m)

    later = sp.T0 + timedelta(days=1)  # Tuesday 09:00: the zone promises half a day again, from now
    sp.ack(m, "migrate_content", migration(registry.add_zone(original)), later)
    tc = m.state.clocks["stage:establishment"]
    assert not tc.closed and tc.clock.accepted_at == later
    assert sp.deadline_of(m, "stage:establishment") == sp.legal_deadline(m, later, 0.5)
    (move,) = ev.ContentMigrated.model_validate(sp.events_of(m, "ContentMigrated")[0].payload).moves
    assert (move.limit_days_was, move.limit_days) == (None, 0.5)


def test_a_whole_process_cap_set_or_removed_for_a_running_process_is_refused() -> None:
    m = sp.machine("tunliu")
    uncapped = ZonePolicy.model_validate({**m.zone.model_dump(), "process_caps": {}})
    registry = on_registry(m, uncapped)
    with pytest.raises(
        Rejected, match=r"zone_version: process_caps\.general: the new policy removes the whole-process"
    ):
        m.check("migrate_content", migration(registry.add_zone(uncapped)), sp.T0)


def test_a_new_catalog_version_moves_the_promise_it_changes() -> None:
    m = sp.at_approval_land("tunliu")
    accepted = m.state.clocks[EIA].clock.accepted_at
    data = default_catalog().model_dump()
    data["matters"] = [{**x, "promised_days": 5} if x["code"] == "eia" else x for x in data["matters"]]
    catalog = Catalog.model_validate(data)
    registry = on_registry(m)
    version = registry.add_catalog(catalog)
    sp.ack(m, "migrate_content", migration(catalog_version=version), sp.T0)
    assert m.state.versions.catalog == version
    assert sp.deadline_of(m, EIA) == sp.legal_deadline(m, accepted, 5)
    (event,) = sp.events_of(m, "ContentMigrated")
    assert event.payload["catalog"] == version and event.payload["zone"] == event.payload["zone_was"]


def test_a_limit_that_comes_to_count_from_the_receipt_moves_there_and_back() -> None:
    """A catalog version that counts EIA's limit from the receipt (环境影响评价法 §22) moves a running
    accepted application's statutory deadline to the receipt's count, its promise staying with the
    acceptance; a version that counts it from acceptance again moves it back."""
    m = at_land()
    registry = on_registry(m)
    receipt_version = m.state.versions.catalog
    data = default_catalog().model_dump()
    data["matters"] = [{**x, "limit_from": "acceptance"} if x["code"] == "eia" else x for x in data["matters"]]
    acceptance_version = registry.add_catalog(Catalog.model_validate(data))
    sp.ack(m, "migrate_content", migration(catalog_version=acceptance_version), sp.T0)
    received(m, "eia", sp.T0)
    accepted = sp.T0 + timedelta(days=2)  # Wednesday
    m.execute("decide", sp.decision("eia", "accept"), accepted)
    spec = m.ctx.specs["eia"]
    clock_id = sp.matter_clock(m, "eia")
    from_acceptance = sp.legal_deadline(m, accepted, spec.clock_days, sp.EIA_COUNTED)
    promised = sp.legal_deadline(m, accepted, spec.promised_days or 0)
    assert (sp.statutory_deadline_of(m, clock_id), sp.deadline_of(m, clock_id)) == (from_acceptance, promised)

    sp.drain(m)
    sp.ack(m, "migrate_content", migration(catalog_version=receipt_version), accepted)
    from_receipt = sp.legal_deadline(m, sp.T0, spec.clock_days, sp.EIA_COUNTED)
    assert (sp.statutory_deadline_of(m, clock_id), sp.deadline_of(m, clock_id)) == (from_receipt, promised)
    (event,) = sp.events_of(m, "ContentMigrated")
    (move,) = ev.ContentMigrated.model_validate(event.payload).moves
    assert (move.deadline_was, move.deadline, move.promised_deadline) == (from_acceptance, from_receipt, promised)

    sp.ack(m, "migrate_content", migration(catalog_version=acceptance_version), accepted)
    assert (sp.statutory_deadline_of(m, clock_id), sp.deadline_of(m, clock_id)) == (from_acceptance, promised)
    tc = m.state.clocks[clock_id]
    assert (tc.clock.accepted_at, tc.acceptance) == (accepted, None)  # the clock starts at the acceptance again


def test_a_receipt_counted_limit_without_a_promise_keeps_its_acceptance_through_migrations() -> None:
    """EIA report (60 from the receipt, no promise) accepted on Wednesday: a version that counts it
    from acceptance moves the statutory deadline there; a version with a promise of 7 starts the
    promise at the acceptance, not at the receipt."""
    m = at_land_reporting()
    registry = on_registry(m)
    received(m, "eia-report", sp.T0)
    accepted = sp.T0 + timedelta(days=2)
    m.execute("decide", sp.decision("eia-report", "accept"), accepted)
    clock_id = sp.matter_clock(m, "eia-report")

    def version(**changes: object) -> str:
        data = default_catalog().model_dump()
        data["matters"] = [{**x, **changes} if x["code"] == "eia-report" else x for x in data["matters"]]
        return registry.add_catalog(Catalog.model_validate(data))

    sp.ack(m, "migrate_content", migration(catalog_version=version(limit_from="acceptance")), accepted)
    assert sp.statutory_deadline_of(m, clock_id) == sp.legal_deadline(m, accepted, 60, "days")
    sp.ack(m, "migrate_content", migration(catalog_version=version(promised_days=7)), accepted)
    assert sp.statutory_deadline_of(m, clock_id) == sp.legal_deadline(m, sp.T0, 60, "days")
    assert sp.deadline_of(m, clock_id) == sp.legal_deadline(m, accepted, 7)
