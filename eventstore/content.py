"""Content versions projects registered under (table ``content_versions``, and ``calendars``).

A project's workflow names its catalog, zone policy and calendar by version only; the versions a
project uses are stored here for as long as it lives, so every worker can load them at start.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Literal

from pydantic import BaseModel

from eventstore.store import Executor

ContentKind = Literal["catalog", "zone", "calendar"]


async def store_versions(db: Executor, versions: Sequence[tuple[str, ContentKind, BaseModel]]) -> None:
    """Record ``(version, kind, content)`` of the catalogs, zone policies and calendars projects use."""
    await db.executemany(
        "INSERT INTO content_versions (version, kind, content) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING",
        [(v, kind, model.model_dump(mode="json")) for v, kind, model in versions],
    )


async def stored_kinds(db: Executor) -> dict[str, str]:
    """Every stored version with its kind: content versions and operator-loaded calendars."""
    rows = await db.fetch(
        """SELECT version, kind FROM content_versions
           UNION ALL SELECT version, 'calendar' FROM calendars"""
    )
    return {r["version"]: r["kind"] for r in rows}


async def stored_contents(db: Executor, versions: Collection[str]) -> dict[str, Any]:
    """The stored JSON content of ``versions`` (those that exist), by version."""
    rows = await db.fetch(
        """SELECT version, content FROM content_versions WHERE version = ANY($1::text[])
           UNION ALL
           SELECT version, content FROM calendars
           WHERE version = ANY($1::text[])
             AND version NOT IN (SELECT version FROM content_versions)""",
        list(versions),
    )
    return {r["version"]: r["content"] for r in rows}
