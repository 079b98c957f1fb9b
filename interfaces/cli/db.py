"""``daiban db migrate`` and ``daiban repair``: daiban's PostgreSQL, its schema and its event store."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import asyncpg
import typer

from infra import migrate
from infra.settings import ConfigError, load_settings
from interfaces.cli.common import HELP_STYLE, JsonOpt, ProjectArg, database_url, emit, fail, out, read

app = typer.Typer(help="daiban's PostgreSQL: apply migrations.", no_args_is_help=True, **HELP_STYLE)


@app.command("migrate")
def db_migrate(
    dry_run: Annotated[bool, typer.Option(help="Only list the migrations not applied yet.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Apply daiban's migrations to DATABASE_URL (safe to repeat; workers and gateways only check)."""

    async def go(pool: asyncpg.Pool) -> list[str]:
        return await (migrate.pending(pool) if dry_run else migrate.apply(pool))

    try:
        versions = read(go)
    except migrate.MigrationError as exc:
        raise fail(str(exc)) from None
    verb = "pending" if dry_run else "applied"
    listed = ", ".join(versions) or "-"
    emit({verb: versions}, as_json, lambda: out.print(f"{len(versions)} migration(s) {verb}: {listed}"))


def repair(project_id: ProjectArg, as_json: JsonOpt = False) -> None:
    """Re-append a project's events missing from the event store, from its Temporal history (idempotent)."""
    from eventstore.repair import describe, repair_project
    from eventstore.store import EventStoreError
    from infra.db import create_pool
    from infra.temporal import connect

    async def go() -> Any:
        s = load_settings()
        url = database_url(s)
        client = await connect(s)
        pool = await create_pool(url, max_size=2)
        try:
            await migrate.require_current(pool)
            return await repair_project(pool, client, project_id)
        finally:
            await pool.close()

    try:
        result = asyncio.run(go())
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except EventStoreError as exc:
        raise fail(str(exc), 2 if str(exc).startswith("project_id:") else 1) from None
    emit(result, as_json, lambda: out.print(describe(result)))


def install(root: typer.Typer) -> None:
    root.command("repair")(repair)
    root.add_typer(app, name="db")
