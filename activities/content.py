"""Fill the worker's content registry (``catalog.content.REGISTRY``) from files and PostgreSQL.

Workflows look content up by version and never read it themselves. A worker loads the shipped
catalog, zone policies and calendar, and every version stored in PostgreSQL (tables
``content_versions`` and ``calendars``), before it polls; then it keeps looking for new ones, so a
version an operator loads reaches every worker within ``poll_interval`` seconds (a workflow task
that needs it meanwhile fails and is retried). Versions are stored (``eventstore.content``) when a
project first uses them (``ProjectActivities.resolve_versions``), so a project keeps its content
across releases.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

from catalog.content import REGISTRY, ContentRegistry
from catalog.load import default_catalog, default_zones
from eventstore.content import stored_contents, stored_kinds
from legalclock import default_calendar

log = structlog.get_logger(__name__)


def load_shipped(registry: ContentRegistry = REGISTRY) -> None:
    """The catalog, zone policies and calendar shipped with daiban."""
    registry.add_catalog(default_catalog())
    for zone in default_zones().values():
        registry.add_zone(zone)
    registry.add_calendar(default_calendar())


async def load_stored(pool: asyncpg.Pool, registry: ContentRegistry = REGISTRY) -> int:
    """Every stored catalog, zone policy and calendar the registry lacks; return how many were added."""
    held = registry.contents()
    missing = {v: kind for v, kind in (await stored_kinds(pool)).items() if v not in held}
    if not missing:
        return 0
    contents = await stored_contents(pool, missing)
    for version, kind in missing.items():
        registry.add(kind, contents[version], version)
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
