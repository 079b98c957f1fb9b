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


# Stored versions this process cannot read (a newer release's field, a corrupt row): logged once
# and skipped, so one bad version neither stops the refresher nor hides the others.
_UNREADABLE: dict[str, str] = {}


async def load_stored(pool: asyncpg.Pool, registry: ContentRegistry = REGISTRY) -> int:
    """Every stored catalog, zone policy and calendar the registry lacks; return how many were added.

    A version this release cannot validate (``registry.add`` raises: a field of a newer release,
    a damaged row) is logged at error once, with its version, kind and the error, and skipped: the
    workflow tasks that need it keep failing and are retried until a worker that reads it polls,
    and the other versions still load. Database errors (``OSError``, ``asyncpg.PostgresError``)
    propagate.
    """
    held = registry.contents()
    missing = {v: kind for v, kind in (await stored_kinds(pool)).items() if v not in held and v not in _UNREADABLE}
    if not missing:
        return 0
    contents = await stored_contents(pool, missing)
    added: list[str] = []
    for version, kind in missing.items():
        try:
            registry.add(kind, contents[version], version)
        except Exception as exc:  # one unreadable version must not keep the others out
            _UNREADABLE[version] = f"{type(exc).__name__}: {exc}"[:2000]
            log.error(
                "stored content version cannot be read by this release; skipped",
                version=version,
                kind=kind,
                error=_UNREADABLE[version],
            )
        else:
            added.append(version)
    if added:
        log.info("content versions loaded into the registry", versions=sorted(added))
    return len(added)


def unreadable_versions() -> dict[str, str]:
    """Stored versions this process skipped, ``{version: error}`` (see ``load_stored``)."""
    return dict(_UNREADABLE)


async def refresh_forever(
    pool: asyncpg.Pool, stop: asyncio.Event, poll_interval: float = 2.0, registry: ContentRegistry = REGISTRY
) -> None:
    """Load new content versions until ``stop`` is set; never ends on an error of its own.

    Database outages are waited out (logged at warning); any other error is logged with its
    traceback and the next poll tries again.
    """
    while not stop.is_set():
        try:
            await load_stored(pool, registry)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("content registry cannot reach the database", error=str(exc))
        except Exception:
            log.exception("content registry refresh failed; the next poll tries again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll_interval)
