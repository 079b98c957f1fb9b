"""Fill the worker's content registry (``catalog.content.REGISTRY``) from files and PostgreSQL.

Workflows look content up by version and never read it themselves. A worker loads the shipped
catalog, zone policies and calendar, and every version stored in PostgreSQL (tables
``content_versions`` and ``calendars``), before it polls; then it keeps looking for new ones, so a
version an operator loads reaches every worker within ``poll_interval`` seconds (a workflow task
that needs it meanwhile fails and is retried). Versions are stored when a project first uses them
(``ProjectActivities.resolve_versions``), so a project keeps its content across releases.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog
from pydantic import BaseModel

from catalog.content import REGISTRY, ContentRegistry
from catalog.load import default_catalog, default_zones
from legalclock import default_calendar

log = structlog.get_logger(__name__)


def load_shipped(registry: ContentRegistry = REGISTRY) -> None:
    """The catalog, zone policies and calendar shipped with daiban."""
    registry.add_catalog(default_catalog())
    for zone in default_zones().values():
        registry.add_zone(zone)
    registry.add_calendar(default_calendar())


async def store_versions(pool: asyncpg.Pool, versions: list[tuple[str, str, BaseModel]]) -> None:
    """Record ``(version, kind, content)`` of the catalogs, zone policies and calendars projects use."""
    await pool.executemany(
        "INSERT INTO content_versions (version, kind, content) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING",
        [(v, kind, model.model_dump(mode="json")) for v, kind, model in versions],
    )


async def load_stored(pool: asyncpg.Pool, registry: ContentRegistry = REGISTRY) -> int:
    """Every stored catalog, zone policy and calendar the registry lacks; return how many were added."""
    held = registry.contents()
    rows = await pool.fetch(
        """SELECT version, kind FROM content_versions
           UNION ALL SELECT version, 'calendar' FROM calendars"""
    )
    missing = {r["version"]: r["kind"] for r in rows if r["version"] not in held}
    for version, kind in missing.items():
        content = await pool.fetchval(
            """SELECT content FROM content_versions WHERE version = $1
               UNION ALL SELECT content FROM calendars WHERE version = $1 LIMIT 1""",
            version,
        )
        registry.add(kind, content, version)
    if missing:
        log.info("content versions loaded into the registry", versions=sorted(missing))
    return len(missing)


async def refresh_forever(pool: asyncpg.Pool, stop: asyncio.Event, poll_interval: float = 2.0) -> None:
    """Load new content versions until ``stop`` is set; database outages are waited out."""
    while not stop.is_set():
        try:
            await load_stored(pool)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("content registry cannot reach the database", error=str(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll_interval)
