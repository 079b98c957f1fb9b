"""A running project moves to a new zone policy version only by ``migrate_content`` (issue 13):
the Temporal concerns, on the dev server with the real activities and PostgreSQL.

Two projects register under version A of a zone; version B (a one-day promise for market
registration instead of half a day) is loaded as ``daiban zone load`` loads it; the worker's
registry picks it up as the worker's refresher does; one project is previewed, then migrated: its
state shows the new deadline, the event store ``ContentMigrated`` and its content versions row the
new version; the other keeps A.
"""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from activities import content
from catalog.load import default_zones
from eventstore.queries import project_timeline
from interfaces.client import CommandRejected, DaibanClient
from interfaces.contentload import load_zones
from legalclock import Clock, default_calendar
from schemas.project import ClockView, MigrateContent, ProjectView
from tests.harness import Harness
from tests.workflows.helpers import apply, decide, events, view

REGISTRATION = "matter:enterprise-registration:1"


def zone_text(code: str, **changes: object) -> str:
    """Xiangyuan's shipped policy (半日结: market registration promised in half a day) under ``code``."""
    data = default_zones()["xiangyuan"].model_dump(mode="json")
    data.update(code=code, **changes)
    return json.dumps(data, ensure_ascii=False)


def registration_clock(v: ProjectView) -> ClockView:
    clock = next(m for m in v.matters if m.code == "enterprise-registration").clock
    assert clock is not None and clock.clock_id == REGISTRATION
    return clock


async def accepted_registration(dev: Harness, code: str) -> ProjectView:
    """A project of zone ``code`` whose market registration is accepted: its clock runs."""
    h = await dev.start(zone=code, regional_assessments=[])
    await view(h)  # registered
    await apply(h, "enterprise-registration", "instant", f"r-{uuid.uuid4().hex[:8]}", by="agent-li")
    await decide(h, "enterprise-registration", "market", f"d-{uuid.uuid4().hex[:8]}", "accept", by="market-clerk")
    return await view(h)


async def test_a_migrated_project_takes_the_new_promise_and_the_other_keeps_its_version(
    dev: Harness, pg_pool: asyncpg.Pool
) -> None:
    code = f"mig-{uuid.uuid4().hex[:6]}"
    (a,) = (await load_zones(pg_pool, zone_text(code), "operator")).loads
    moved, kept = await accepted_registration(dev, code), await accepted_registration(dev, code)
    before = registration_clock(moved)
    assert before.promised_days == 0.5

    changed = zone_text(code, promised_days={"enterprise-registration": 1}, stage_limits={"establishment": 1})
    (b,) = (await load_zones(pg_pool, changed, "operator-li")).loads
    await content.load_stored(pg_pool)  # what every worker's refresher does within seconds
    client = DaibanClient(dev.client, dev.task_queue)
    cmd = MigrateContent(
        request_id=f"mig-{moved.project_id}", zone_version=b.version, by="operator-li", reason="new service guide"
    )

    preview = await client.migration_preview(moved.project_id, cmd)
    assert (preview.zone_was, preview.zone) == (a.version, b.version)
    assert {m.clock_id for m in preview.moves} == {REGISTRATION, "stage:establishment"}
    unchanged = registration_clock(await view(dev.client.get_workflow_handle(f"project-{moved.project_id}")))
    assert unchanged.promised_deadline == before.promised_deadline  # a preview changes nothing

    ack = await client.migrate_content(moved.project_id, cmd)
    assert "2 deadline(s) moved" in ack.message and not ack.duplicate
    h = dev.client.get_workflow_handle(f"project-{moved.project_id}")
    after = registration_clock(await view(h))
    hours = default_zones()["xiangyuan"].office_hours
    expected = Clock(accepted_at=before.accepted_at, limit_days=1).deadline(default_calendar(), hours).at
    assert after.promised_days == 1 and after.promised_deadline == expected
    assert before.promised_deadline is not None and expected is not None and expected > before.promised_deadline
    assert after.deadline == before.deadline  # the statutory limit (3 working days) is the law's
    move = next(m for m in preview.moves if m.clock_id == REGISTRATION)
    assert move.promised_deadline == expected  # the preview said so

    rows = await events(pg_pool, moved.project_id, wait_for="ContentMigrated")
    payload = next(r for r in rows if r["event_type"] == "ContentMigrated")["payload"]
    assert (payload["zone_was"], payload["zone"], payload["by"]) == (a.version, b.version, "operator-li")
    timeline = await project_timeline(pg_pool, moved.project_id)
    assert any(t.summary.startswith(f"Moved to {b.version} ") for t in timeline)
    versions = {
        r["project_id"]: r["zone"]
        for r in await pg_pool.fetch(
            "SELECT project_id, zone FROM project_content_versions WHERE project_id = ANY($1::text[])",
            [moved.project_id, kept.project_id],
        )
    }
    assert versions == {moved.project_id: b.version, kept.project_id: a.version}

    # The project not migrated keeps version A and its half-day promise.
    other = registration_clock(await view(dev.client.get_workflow_handle(f"project-{kept.project_id}")))
    assert other.promised_deadline == registration_clock(kept).promised_deadline and other.promised_days == 0.5

    # Sent again: the first answer; a second migration to the same version is refused, naming the field.
    again = await client.migrate_content(moved.project_id, cmd)
    assert again.duplicate
    with pytest.raises(CommandRejected, match=r"zone_version: .* already runs under"):
        await client.migrate_content(moved.project_id, cmd.model_copy(update={"request_id": "mig-again"}))
    with pytest.raises(CommandRejected, match="zone_version: zone policy version zone-nope is not loaded"):
        await client.migration_preview(kept.project_id, cmd.model_copy(update={"zone_version": "zone-nope"}))
