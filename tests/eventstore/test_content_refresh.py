"""The worker's content refresher (``activities.content``): one unreadable stored version is
skipped and logged, the others still load, and the refresher lives on."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import structlog

from activities import content
from catalog.content import ContentRegistry
from catalog.load import default_zones


def _zone_json(**extra: object) -> dict[str, Any]:
    """Yanhu's policy as stored (JSON), with ``extra`` fields."""
    return default_zones()["yanhu"].model_dump(mode="json") | extra


async def _store(pool: asyncpg.Pool, version: str, zone: dict[str, Any]) -> None:
    await pool.execute("INSERT INTO content_versions (version, kind, content) VALUES ($1, 'zone', $2)", version, zone)


async def test_an_unreadable_version_is_skipped_and_logged_and_the_others_load(private_pool: asyncpg.Pool) -> None:
    registry = ContentRegistry()
    await content.load_stored(private_pool, registry)  # the versions migrations recorded
    newer, good = f"zone-newer-{uuid.uuid4().hex[:8]}", f"zone-good-{uuid.uuid4().hex[:8]}"
    await _store(private_pool, newer, _zone_json(from_a_newer_release=True))  # extra="forbid" refuses it
    await _store(private_pool, good, _zone_json())
    with structlog.testing.capture_logs() as logs:
        assert await content.load_stored(private_pool, registry) == 1
        assert await content.load_stored(private_pool, registry) == 0  # not tried (nor logged) again
    assert registry.zone(good).code == "yanhu"
    assert newer not in registry.contents()
    assert "from_a_newer_release" in content.unreadable_versions()[newer]
    errors = [e for e in logs if e["log_level"] == "error"]
    assert [(e["version"], e["kind"]) for e in errors] == [(newer, "zone")], errors


async def test_the_refresher_lives_on_past_an_unreadable_version(private_pool: asyncpg.Pool) -> None:
    registry = ContentRegistry()
    stop = asyncio.Event()
    await _store(private_pool, f"zone-newer-{uuid.uuid4().hex[:8]}", _zone_json(from_a_newer_release=True))

    task = asyncio.create_task(content.refresh_forever(private_pool, stop, 0.05, registry))
    try:
        await asyncio.sleep(0.2)
        assert not task.done(), "the refresher ended on the unreadable version"
        later = f"zone-later-{uuid.uuid4().hex[:8]}"
        await _store(private_pool, later, _zone_json())
        for _ in range(100):
            if later in registry.contents():
                break
            await asyncio.sleep(0.05)
        assert later in registry.contents(), "a version stored afterwards reached the registry"
    finally:
        stop.set()
        await task
