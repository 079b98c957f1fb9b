"""``daiban project migrate-content``, run as an operator runs it (README: "Changing a zone's promise")."""

from __future__ import annotations

import uuid

import asyncpg

from activities import content
from interfaces.contentload import load_zones
from tests.cli.test_cli import daiban, ok_json
from tests.harness import Harness
from tests.workflows.helpers import view
from tests.workflows.test_content_migration import zone_text


async def test_an_operator_previews_then_migrates_a_project_to_the_versions_in_force(
    dev: Harness, pg_dsn: str, pg_pool: asyncpg.Pool
) -> None:
    code = f"cli-{uuid.uuid4().hex[:6]}"
    (a,) = (await load_zones(pg_pool, zone_text(code), "operator")).loads
    pid = (await view(await dev.start(zone=code, regional_assessments=[]))).project_id
    changed = zone_text(code, promised_days={"enterprise-registration": 1}, stage_limits={"establishment": 1})
    (b,) = (await load_zones(pg_pool, changed, "operator-li")).loads
    await content.load_stored(pg_pool)

    code_, _, err = await daiban(dev, pg_dsn, "project", "migrate-content", pid, "--by", "op", "--reason", "r")
    assert code_ == 2 and "to_zone_version: give --to-zone-version" in err
    verb = ["project", "migrate-content", pid, "--in-force", "--by", "operator-li", "--reason", "new service guide"]
    preview = await ok_json(dev, pg_dsn, *verb, "--dry-run")
    assert (preview["zone_was"], preview["zone"]) == (a.version, b.version)
    assert [m["clock_id"] for m in preview["moves"]] == ["stage:establishment"]
    assert preview["moves"][0]["limit_days_was"] == 0.5 and preview["moves"][0]["limit_days"] == 1
    ack = await ok_json(dev, pg_dsn, *verb, "--request-id", "mig-cli-1")
    assert "1 deadline(s) moved" in ack["message"]
    code_, _, err = await daiban(dev, pg_dsn, *verb)
    assert code_ == 1 and "already runs under" in err
    v = await view(dev.client.get_workflow_handle(f"project-{pid}"))
    assert next(i.promised_days for i in v.checklist if i.matter_code == "enterprise-registration") == 1
