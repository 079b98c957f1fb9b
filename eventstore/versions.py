"""The catalog and zone policy versions in force (tables ``content_loads``, ``content_versions``).

Every load of a catalog or a zone policy appends a row to ``content_loads`` naming its content
version; the content is kept in ``content_versions`` for good. The newest load of a key (the zone's
code, or ``catalog``) is in force: new projects register under it, and a running project keeps
the version it registered under (``project_content_versions``, written when it registers).

The shipped files (``catalog/data``) are the first version: ``seed_shipped`` records them, once per
key, when the setup step applies the migrations (``infra.migrate.apply``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from catalog.content import ContentVersions, canonical_hash
from catalog.load import default_catalog, default_zones
from catalog.models import Catalog, ZonePolicy
from eventstore.content import store_versions
from eventstore.store import Executor
from schemas import events as ev
from schemas.events import ChecklistItem

LoadKind = Literal["catalog", "zone"]
CATALOG_KEY = "catalog"
SHIPPED_BY = "shipped"


class Load(BaseModel):
    """One load: which version of which key, by whom, when (``id`` orders loads)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    kind: LoadKind
    key: str
    version: str
    loaded_by: str
    loaded_at: datetime


class ProjectOnVersion(BaseModel):
    """A running project (read model) with the content versions it registered under.

    The versions are None for a project registered before they were recorded (before migration 0100).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    project_id: str
    zone: str
    stage: str
    catalog: str | None
    zone_version: str | None


def catalog_version(catalog: Catalog) -> str:
    """The content version of ``catalog``: a hash of its canonical JSON (``canonical_hash``)."""
    return canonical_hash(catalog, "catalog")


def zone_version(zone: ZonePolicy) -> str:
    """The content version of a zone policy: a hash of its canonical JSON (``canonical_hash``)."""
    return canonical_hash(zone, f"zone-{zone.code}")


async def record_load(db: Executor, kind: LoadKind, key: str, version: str, content: BaseModel, by: str) -> None:
    """Store ``content`` under ``version`` (kept for good) and make it the one in force for ``key``."""
    await store_versions(db, [(version, kind, content)])
    await db.execute(
        "INSERT INTO content_loads (kind, key, version, loaded_by) VALUES ($1, $2, $3, $4)", kind, key, version, by
    )


async def current_catalog(db: Executor) -> tuple[str, Catalog] | None:
    """The catalog in force with its version; None before the shipped one was recorded."""
    row = await db.fetchrow(
        """SELECT l.version, v.content FROM content_loads l JOIN content_versions v USING (version)
           WHERE l.kind = 'catalog' AND l.key = $1 ORDER BY l.id DESC LIMIT 1""",
        CATALOG_KEY,
    )
    return None if row is None else (row["version"], Catalog.model_validate(row["content"]))


async def current_zones(db: Executor) -> dict[str, tuple[str, ZonePolicy]]:
    """Every zone's policy in force with its version, by zone code."""
    rows = await db.fetch(
        """SELECT DISTINCT ON (l.key) l.key, l.version, v.content
           FROM content_loads l JOIN content_versions v USING (version)
           WHERE l.kind = 'zone' ORDER BY l.key, l.id DESC"""
    )
    return {r["key"]: (r["version"], ZonePolicy.model_validate(r["content"])) for r in rows}


async def current_zone(db: Executor, code: str) -> tuple[str, ZonePolicy] | None:
    """The zone's policy in force with its version; None for a zone never loaded."""
    row = await db.fetchrow(
        """SELECT l.version, v.content FROM content_loads l JOIN content_versions v USING (version)
           WHERE l.kind = 'zone' AND l.key = $1 ORDER BY l.id DESC LIMIT 1""",
        code,
    )
    return None if row is None else (row["version"], ZonePolicy.model_validate(row["content"]))


async def load_history(db: Executor, kind: LoadKind, key: str | None = None) -> list[Load]:
    """Every load of ``kind`` (of one key when given), oldest first."""
    rows = await db.fetch(
        """SELECT id, kind, key, version, loaded_by, loaded_at FROM content_loads
           WHERE kind = $1 AND ($2::text IS NULL OR key = $2) ORDER BY id""",
        kind,
        key,
    )
    return [Load.model_validate(dict(r)) for r in rows]


async def seed_shipped(db: Executor) -> list[str]:
    """Record the shipped catalog and each shipped zone policy whose key has no load yet.

    Returns the versions recorded (none on a second run). Idempotent; run by the setup step in the
    migrations' transaction, so a fresh database has every shipped zone in force. A key loaded
    before keeps its version: a release that changes the shipped files changes nothing in force
    until an operator loads them (``daiban zone load catalog/data/zones.json``).
    """
    held = {(r["kind"], r["key"]) for r in await db.fetch("SELECT DISTINCT kind, key FROM content_loads")}
    recorded = []
    if ("catalog", CATALOG_KEY) not in held:
        catalog = default_catalog()
        recorded.append(catalog_version(catalog))
        await record_load(db, "catalog", CATALOG_KEY, recorded[-1], catalog, SHIPPED_BY)
    for code, zone in default_zones().items():
        if ("zone", code) not in held:
            recorded.append(zone_version(zone))
            await record_load(db, "zone", code, recorded[-1], zone, SHIPPED_BY)
    return recorded


async def record_project_versions(db: Executor, project_id: str, versions: ContentVersions) -> None:
    """The versions a project registered under (the last resolution wins: the one it received)."""
    await db.execute(
        """INSERT INTO project_content_versions (project_id, catalog, zone, calendar) VALUES ($1, $2, $3, $4)
           ON CONFLICT (project_id) DO UPDATE
           SET catalog = EXCLUDED.catalog, zone = EXCLUDED.zone, calendar = EXCLUDED.calendar,
               recorded_at = now()""",
        project_id,
        versions.catalog,
        versions.zone,
        versions.calendar,
    )


async def record_migrated_versions(
    db: Executor, project_id: str, versions: ContentVersions, event_version: int
) -> None:
    """The versions a project runs under after a content migration (the ``ContentMigrated`` event at
    stream version ``event_version``); an older migration applied again changes nothing."""
    await db.execute(
        """INSERT INTO project_content_versions (project_id, catalog, zone, calendar, event_version)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (project_id) DO UPDATE
           SET catalog = EXCLUDED.catalog, zone = EXCLUDED.zone, calendar = EXCLUDED.calendar,
               event_version = EXCLUDED.event_version, recorded_at = now()
           WHERE project_content_versions.event_version < EXCLUDED.event_version""",
        project_id,
        versions.catalog,
        versions.zone,
        versions.calendar,
        event_version,
    )


def checklist_in_force(events: Iterable[object]) -> list[ChecklistItem] | None:
    """A project's checklist as it stands after ``events`` (its stream, in order, as domain events):
    the registration's, or the one the latest content migration carried (``ContentMigrated.checklist``;
    one recorded before migrations carried it leaves the previous). None without a registration."""
    found: list[ChecklistItem] | None = None
    for e in events:
        carried = e.checklist if isinstance(e, (ev.ProjectRegistered, ev.ContentMigrated)) else None
        found = carried if carried is not None else found
    return found


async def running_projects(db: Executor, zone: str | None = None) -> list[ProjectOnVersion]:
    """The active projects of the read models (of one zone when given) with their content versions."""
    rows = await db.fetch(
        """SELECT p.project_id, p.zone, p.stage, v.catalog, v.zone AS zone_version
           FROM rm_projects p LEFT JOIN project_content_versions v USING (project_id)
           WHERE p.status = 'active' AND ($1::text IS NULL OR p.zone = $1) ORDER BY p.project_id""",
        zone,
    )
    return [ProjectOnVersion.model_validate(dict(r)) for r in rows]
