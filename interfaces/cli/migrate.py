"""``daiban project migrate-content``: move a running project to another zone policy or catalog version.

A project keeps the versions it registered under; this verb moves it explicitly (the update
``migrate_content``, recorded as ``ContentMigrated``), and every open clock is recomputed from the
new content. ``--in-force`` reads the versions in force from PostgreSQL (``DATABASE_URL``) before
sending, since the workflow does no I/O. ``--dry-run`` asks the project itself (the query
``migration_preview``, computed on a copy of its state by the same rules) which deadlines would move:
the answer is exact and nothing is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from interfaces.cli.common import JsonOpt, RequestIdOpt, acknowledge, build, emit, fail, out, read, run
from interfaces.client import CommandRejected
from interfaces.contentload import NothingInForce, versions_in_force
from schemas import commands
from schemas import project as p

T = TypeVar("T")


def _when(at: object) -> str:
    return "-" if at is None else str(at)


def _days(days: float | None) -> str:
    return "none" if days is None else f"{days:g}"


def _render(project_id: str, preview: p.MigrationPreview) -> None:
    out.print(f"{project_id}: {preview.zone_was} → {preview.zone}; {preview.catalog_was} → {preview.catalog}")
    if not preview.moves:
        out.print("no deadline would move")
    t = Table("clock", "limit", "deadline", "promised", "promised deadline", title="Deadlines that would move")
    for m in preview.moves:
        with_promise = m.promised_days_was is not None or m.promised_days is not None
        promised = f"{m.promised_days_was} → {m.promised_days}" if with_promise else ""
        t.add_row(
            f"{m.clock_id} ({m.label})",
            f"{_days(m.limit_days_was)} → {_days(m.limit_days)}",
            f"{_when(m.deadline_was)} → {_when(m.deadline)}",
            promised,
            "" if not promised else f"{_when(m.promised_deadline_was)} → {_when(m.promised_deadline)}",
        )
    if preview.moves:
        out.print(t)
    out.print("dry run: nothing recorded")


def migrate_content(
    project_id: str,
    by: Annotated[str, typer.Option(help="The operator migrating (recorded).")],
    reason: Annotated[str, typer.Option(help="Why (recorded).")],
    to_zone_version: Annotated[str | None, typer.Option(help="A version of the project's zone policy.")] = None,
    to_catalog_version: Annotated[str | None, typer.Option(help="A version of the catalog.")] = None,
    in_force: Annotated[bool, typer.Option(help="The zone policy and catalog in force (from DATABASE_URL).")] = False,
    dry_run: Annotated[bool, typer.Option(help="Only show the deadlines that would move.")] = False,
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a running project to another version of its zone's policy and/or the catalog; its open clocks
    are recomputed (refused when its checklist or zone would change, or once it has ended)."""
    if in_force and (to_zone_version or to_catalog_version):
        raise fail("in_force: give --in-force or the versions, not both")
    if in_force:
        zone = run(lambda c: c.state(project_id)).zone
        try:
            to_zone_version, to_catalog_version = read(lambda pool: versions_in_force(pool, zone))
        except NothingInForce as exc:
            raise fail(str(exc)) from None
    elif to_zone_version is None and to_catalog_version is None:
        raise fail("to_zone_version: give --to-zone-version, --to-catalog-version or --in-force")
    cmd = build(
        commands.MIGRATE_CONTENT.request,
        request_id=request_id,
        zone_version=to_zone_version,
        catalog_version=to_catalog_version,
        by=by,
        reason=reason,
    )
    if dry_run:
        preview = run(lambda c: _once_loaded(lambda: c.migration_preview(project_id, cmd)))
        emit(preview, as_json, lambda: _render(project_id, preview))
        return
    acknowledge(project_id, lambda c: _once_loaded(lambda: c.send(commands.MIGRATE_CONTENT, project_id, cmd)), as_json)


# A version loaded a moment ago reaches every worker within seconds (``activities.content``); a
# refusal that names it as not loaded yet is retried this long before it is shown.
LOAD_WAIT_SECONDS = 15.0


async def _once_loaded(call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, retried while the worker has not loaded the version just stored (then its refusal)."""
    loop = asyncio.get_running_loop()
    until = loop.time() + LOAD_WAIT_SECONDS
    while True:
        try:
            return await call()
        except CommandRejected as exc:
            if "is not loaded in this worker" not in str(exc) or loop.time() > until:
                raise
        await asyncio.sleep(0.5)
