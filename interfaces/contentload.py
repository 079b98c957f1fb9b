"""Load a new version of the zone policies or of the catalog (the CLI's ``zone load``, ``catalog load``).

A file is validated whole (``catalog.validate``: every error at once, each naming its field) and
compared with the version in force; a dry run stops there. Otherwise each changed zone (or the
catalog) gets a new version, in force for projects registered from now on. Running projects keep
the version they registered under; the answer lists them, from the read models, with that version.
Loading content identical to the version in force changes nothing and says so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from pydantic import BaseModel, ConfigDict

from catalog.models import ZonePolicy
from catalog.validate import Change, diff, parse_catalog, parse_zones
from eventstore.store import Executor
from eventstore.versions import (
    CATALOG_KEY,
    ProjectOnVersion,
    catalog_version,
    current_catalog,
    current_zone,
    current_zones,
    record_load,
    running_projects,
    zone_version,
)


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VersionLoaded(_Result):
    """One key's load: ``status`` is ``new`` (a zone not configured before), ``changed`` or
    ``unchanged`` (identical to the version in force: nothing stored)."""

    key: str
    status: str
    was: str | None
    version: str
    changes: list[Change]
    # Running projects the change concerns; each keeps the version it registered under.
    running: list[ProjectOnVersion] = []


class ContentLoaded(_Result):
    """What loading a file did (or, dry, would do)."""

    kind: str
    dry_run: bool
    loads: list[VersionLoaded]

    @property
    def stored(self) -> int:
        return 0 if self.dry_run else sum(1 for x in self.loads if x.status != "unchanged")


class NothingInForce(ValueError):
    """The database has no catalog in force: run ``daiban db migrate`` (it records the shipped one)."""


async def load_zones(db: Executor, text: str, by: str, *, dry_run: bool = False) -> ContentLoaded:
    """Validate zone file ``text`` against the catalog in force and make each changed zone a new version.

    Raises:
        catalog.validate.ContentInvalid: every error of the file; nothing is stored.
        NothingInForce: no catalog recorded yet.
    """
    found = await current_catalog(db)
    if found is None:
        raise NothingInForce("no catalog in force: run `daiban db migrate` first")
    zones = parse_zones(text, found[1])
    in_force = await current_zones(db)
    loads: list[VersionLoaded] = []
    async with _transaction(db) as tx:
        for zone in zones:
            loads.append(await _load_zone(tx, zone, in_force, by, dry_run=dry_run))
    return ContentLoaded(kind="zone", dry_run=dry_run, loads=loads)


@asynccontextmanager
async def _transaction(db: Executor) -> AsyncIterator[Executor]:
    """One transaction for a file's loads: all of its zones in force, or none."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn, conn.transaction():
            yield conn
    else:
        async with db.transaction():
            yield db


async def _load_zone(
    db: Executor, zone: ZonePolicy, in_force: dict[str, tuple[str, ZonePolicy]], by: str, *, dry_run: bool
) -> VersionLoaded:
    """One zone of a file: compared with its version in force, stored unless identical or dry."""
    version = zone_version(zone)
    was_version, was = in_force.get(zone.code, (None, None))
    status = "new" if was is None else "unchanged" if was_version == version else "changed"
    running = [] if status == "unchanged" else await running_projects(db, zone.code)
    if not dry_run and status != "unchanged":
        await record_load(db, "zone", zone.code, version, zone, by)
    return VersionLoaded(
        key=zone.code,
        status=status,
        was=was_version,
        version=version,
        changes=[] if status == "unchanged" else diff(was, zone),
        running=running,
    )


async def load_catalog(db: Executor, text: str, by: str, *, dry_run: bool = False) -> ContentLoaded:
    """Validate catalog file ``text`` against every zone in force and make it the catalog in force.

    Raises:
        catalog.validate.ContentInvalid: every error of the file (its own, and each zone policy in
            force that could not run on it); nothing is stored.
    """
    in_force = await current_zones(db)
    catalog = parse_catalog(text, [z for _, z in in_force.values()])
    version = catalog_version(catalog)
    found = await current_catalog(db)
    was_version, was = found if found is not None else (None, None)
    status = "new" if was is None else "unchanged" if was_version == version else "changed"
    load = VersionLoaded(
        key=CATALOG_KEY,
        status=status,
        was=was_version,
        version=version,
        changes=[] if status == "unchanged" else diff(was, catalog),
        running=[] if status == "unchanged" else await running_projects(db),
    )
    if not dry_run and status != "unchanged":
        async with _transaction(db) as tx:
            await record_load(tx, "catalog", CATALOG_KEY, version, catalog, by)
    return ContentLoaded(kind="catalog", dry_run=dry_run, loads=[load])


async def versions_in_force(db: Executor, zone: str) -> tuple[str, str]:
    """The versions in force of ``zone``'s policy and of the catalog: what ``daiban project
    migrate-content --in-force`` moves a project to.

    Raises:
        NothingInForce: no catalog, or no policy of ``zone``, recorded yet.
    """
    found_zone, found_catalog = await current_zone(db, zone), await current_catalog(db)
    if found_zone is None or found_catalog is None:
        raise NothingInForce(f"zone: no policy of zone {zone!r} or no catalog in force: run `daiban db migrate`")
    return found_zone[0], found_catalog[0]
