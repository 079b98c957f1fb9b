"""Zone policies and the catalog as versions in PostgreSQL: loading, validating, versioning, and a
running project keeping the version it registered under (real PostgreSQL, real Temporal dev server).

Catalog loads change what every project of a database registers under, so they run on a database
of their own; zone loads use zone codes no other test uses.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from catalog.load import default_catalog, default_zones
from catalog.validate import ContentInvalid
from eventstore.projector import Projector
from eventstore.queries import project_licences
from eventstore.versions import current_catalog, current_zone, current_zones, load_history, seed_shipped
from infra import migrate
from infra.db import create_pool
from interfaces.contentload import load_catalog, load_zones
from schemas.project import ProjectView
from tests.harness import Harness
from tests.workflows.helpers import apply, decide, view

SHIPPED = Path(__file__).parents[2] / "catalog" / "data"


def zone_text(code: str, **changes: object) -> str:
    """Xiangyuan's shipped policy under another code, with ``changes``."""
    data = default_zones()["xiangyuan"].model_dump(mode="json")
    data.update(code=code, **changes)
    return json.dumps(data, ensure_ascii=False)


@pytest.fixture
async def own_db(pg_server_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A fresh, migrated database for one test (its catalog loads touch nobody else)."""
    name = f"daiban_versions_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    base, _, query = pg_server_dsn.partition("?")
    scheme, rest = base.split("://", 1)
    dsn = f"{scheme}://{rest.split('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
    pool = await create_pool(dsn, max_size=4)
    try:
        await migrate.apply(pool)
        yield pool
    finally:
        await pool.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_the_shipped_files_are_the_first_version_recorded_once(own_db: asyncpg.Pool) -> None:
    zones = await current_zones(own_db)
    assert sorted(zones) == sorted(default_zones())
    assert all(zone == default_zones()[code] for code, (_, zone) in zones.items())
    found = await current_catalog(own_db)
    assert found is not None and found[1] == default_catalog()
    assert await seed_shipped(own_db) == []  # a second setup records nothing
    assert await migrate.apply(own_db) == []
    assert [x.loaded_by for x in await load_history(own_db, "zone", "yanhu")] == ["shipped"]
    # Loading the shipped files again is a no-op that says so.
    again = await load_zones(own_db, (SHIPPED / "zones.json").read_text(encoding="utf-8"), "operator")
    assert {x.status for x in again.loads} == {"unchanged"} and again.stored == 0
    same = await load_catalog(own_db, (SHIPPED / "catalog.json").read_text(encoding="utf-8"), "operator")
    assert [x.status for x in same.loads] == ["unchanged"]
    assert len(await load_history(own_db, "catalog")) == 1


async def test_a_bad_zone_file_is_refused_with_every_error_naming_its_field(pg_pool: asyncpg.Pool) -> None:
    bad = json.loads(zone_text("badzone"))
    bad["stage_limits"] = {"establishment": 0.25}  # no multiple of half a day: the legal clock cannot count it
    bad["commitment_matters"] = ["no-such-matter"]
    bad["process_caps"] = {"general": "twenty"}
    bad["notes"] = {"stage_limit": "typo"}
    other = json.loads(zone_text("badzone2", promised_days={"construction-permit": 9}))
    with pytest.raises(ContentInvalid) as refused:
        await load_zones(pg_pool, json.dumps([bad, other, {"name": "no code"}]), "operator")
    fields = [e.field for e in refused.value.errors]
    assert "zones.badzone.process_caps.general" in fields and "zones.badzone.stage_limits.establishment" in fields
    assert "zones.[2].code" in fields and "zones.[2].process_caps" in fields
    assert "zones.badzone2.promised_days.construction-permit" in fields
    message = str(refused.value)
    assert "past the statutory limit of 7 days (日" in message and "nothing loaded" in message
    # Field types valid, the zone checks: every error at once.
    bad["process_caps"] = {"general": 20}
    bad["stage_limits"] = {"approval_land": 1.0}  # stage 1's promised critical path does not fit
    with pytest.raises(ContentInvalid) as refused:
        await load_zones(pg_pool, json.dumps(bad), "operator")
    assert {e.field for e in refused.value.errors} == {"zones.badzone.notes"}
    bad["notes"] = {}
    with pytest.raises(ContentInvalid) as refused:
        await load_zones(pg_pool, json.dumps(bad), "operator")
    assert [e.field for e in refused.value.errors] == [
        "zones.badzone.stage_limits.approval_land",
        "zones.badzone.commitment_matters",
    ]
    assert await current_zone(pg_pool, "badzone") is None  # nothing stored


async def test_a_catalog_the_zones_in_force_cannot_run_on_is_refused(own_db: asyncpg.Pool) -> None:
    data = default_catalog().model_dump(mode="json")
    for m in data["matters"]:
        if m["code"] == "land-pre-review":
            m["promised_days"] = 9  # stage 1's critical path no longer fits Yanhu's 8
        if m["code"] == "eia":
            m["department"] = "environment"  # no such department
    with pytest.raises(ContentInvalid) as refused:
        await load_catalog(own_db, json.dumps(data, ensure_ascii=False), "operator")
    assert [e.field for e in refused.value.errors] == ["matters.eia.department"]
    data["matters"] = [{**m, "department": "ecology"} if m["code"] == "eia" else m for m in data["matters"]]
    with pytest.raises(ContentInvalid) as refused:
        await load_catalog(own_db, json.dumps(data, ensure_ascii=False), "operator")
    assert [e.field for e in refused.value.errors] == ["zones.yanhu.stage_limits.approval_land"]
    # A change every zone can honour: a new version, the old one kept.
    for m in data["matters"]:
        if m["code"] == "land-pre-review":
            m["promised_days"] = 2
    dry = await load_catalog(own_db, json.dumps(data, ensure_ascii=False), "operator", dry_run=True)
    (load,) = dry.loads
    assert load.status == "changed" and dry.stored == 0
    assert [(c.field, c.was, c.now) for c in load.changes] == [("matters.land-pre-review.promised_days", 3, 2)]
    assert len(await load_history(own_db, "catalog")) == 1
    done = await load_catalog(own_db, json.dumps(data, ensure_ascii=False), "operator-li")
    assert done.stored == 1
    history = await load_history(own_db, "catalog")
    assert [h.loaded_by for h in history] == ["shipped", "operator-li"] and history[1].version == load.version
    found = await current_catalog(own_db)
    assert found is not None and found[0] == load.version and found[0] != load.was


async def test_a_running_project_keeps_its_version_and_new_ones_take_the_newest(
    dev: Harness, pg_pool: asyncpg.Pool
) -> None:
    code = f"zone-{uuid.uuid4().hex[:6]}"
    first = await load_zones(pg_pool, zone_text(code), "operator")
    assert [x.status for x in first.loads] == ["new"]
    again = await load_zones(pg_pool, zone_text(code), "operator")
    assert [x.status for x in again.loads] == ["unchanged"] and again.stored == 0
    old = await view(await dev.start(zone=code, regional_assessments=[]))
    assert _promise(old) == 0.5

    # A shorter promise is longer here: 1 working day instead of half a day, for new projects.
    changed = zone_text(code, promised_days={"enterprise-registration": 1}, stage_limits={"establishment": 1})
    dry = await load_zones(pg_pool, changed, "operator", dry_run=True)
    (load,) = dry.loads
    assert load.status == "changed" and dry.stored == 0
    assert ("promised_days.enterprise-registration", 0.5, 1.0) in [(c.field, c.was, c.now) for c in load.changes]
    await _projected(pg_pool, old.project_id)
    dry = await load_zones(pg_pool, changed, "operator", dry_run=True)
    assert [(p.project_id, p.zone_version) for p in dry.loads[0].running] == [(old.project_id, first.loads[0].version)]
    stored = await load_zones(pg_pool, changed, "operator-li")
    assert stored.stored == 1
    new = await view(await dev.start(zone=code, regional_assessments=[]))
    assert _promise(new) == 1
    assert _promise(await view(dev.client.get_workflow_handle(f"project-{old.project_id}"))) == 0.5
    versions = {
        r["project_id"]: r["zone"]
        for r in await pg_pool.fetch(
            "SELECT project_id, zone FROM project_content_versions WHERE project_id = ANY($1::text[])",
            [old.project_id, new.project_id],
        )
    }
    assert versions == {old.project_id: first.loads[0].version, new.project_id: stored.loads[0].version}
    assert [h.version for h in await load_history(pg_pool, "zone", code)] == [
        first.loads[0].version,
        stored.loads[0].version,
    ]


async def test_a_one_seal_zone_issues_its_licences_under_its_seal(dev: Harness, pg_pool: asyncpg.Pool) -> None:
    # 一枚印章管审批: Xiangyuan's policy under a fresh code, against a zone whose departments seal.
    code = f"seal-{uuid.uuid4().hex[:6]}"
    await load_zones(pg_pool, zone_text(code), "operator")
    sealed = dev.client.get_workflow_handle(f"project-{(await view(await dev.start(zone=code))).project_id}")
    own = dev.client.get_workflow_handle(f"project-{(await view(await dev.start(zone='tunliu'))).project_id}")
    for h in (sealed, own):
        await apply(h, "enterprise-registration", "instant", f"r-{uuid.uuid4().hex[:8]}", by="agent-li")
        result = await decide(
            h, "enterprise-registration", "market", f"d-{uuid.uuid4().hex[:8]}", by="market-clerk", instant=True
        )
        assert result.state == "approved"
    licences = {}
    for h in (sealed, own):
        pid = h.id.removeprefix("project-")
        for _ in range(100):
            rows = await project_licences(pg_pool, pid)
            if rows:
                break
            await asyncio.sleep(0.1)
        licences[h] = rows
    assert [(x.matter_code, x.issuing_body, x.seal) for x in licences[sealed]] == [
        ("enterprise-registration", "襄垣经济技术开发区管理委员会", "襄垣经济技术开发区管理委员会行政审批专用章")
    ]
    assert [(x.issuing_body, x.seal) for x in licences[own]] == [("市场监督管理局", None)]
    # A seal without the body that issues under it is refused, naming the field.
    with pytest.raises(ContentInvalid, match=r"zones\.nobody\.approval_body: a zone's approval seal needs"):
        await load_zones(pg_pool, zone_text("nobody", approval_body=None), "operator")


def _promise(v: ProjectView) -> float | None:
    return next(i.promised_days for i in v.checklist if i.matter_code == "enterprise-registration")


async def _projected(pool: asyncpg.Pool, project_id: str) -> None:
    """Wait until the read models hold the project (the worker's projector is not running here)."""
    for _ in range(100):
        await Projector(pool).run_once()
        if await pool.fetchval("SELECT 1 FROM rm_projects WHERE project_id = $1", project_id):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"project {project_id} never reached the read models")
