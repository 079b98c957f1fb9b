"""``daiban calendar ...``: the official working-day calendar (add, count, show, load)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from infra.db import create_pool
from infra.settings import ConfigError, load_settings
from infra.temporal import connect
from interfaces.cli.common import JsonOpt, database_url, emit, fail, out
from interfaces.client import DaibanClient
from interfaces.usecases import CalendarPublished, publish_calendar
from legalclock import LegalClockError
from legalclock import cli as lc_cli

app = typer.Typer(help="Official working-day calendar: add, count, show, load.", no_args_is_help=True)
# The pure commands come from the legal clock; `load` is daiban's own: it stores and notifies.
app.command("add")(lc_cli.add)
app.command("count")(lc_cli.count)
app.command("show")(lc_cli.show)


async def _load(text: str, by: str, dry_run: bool) -> CalendarPublished:
    s = load_settings()
    pool = await create_pool(database_url(s), max_size=2)

    async def client() -> DaibanClient:
        return DaibanClient(await connect(s), s.task_queue)

    try:
        with Progress(transient=True, console=Console(stderr=True)) as progress:
            task = progress.add_task("notifying running projects", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            return await publish_calendar(pool, client, text, by, dry_run=dry_run, progress=advance)
    finally:
        await pool.close()


@app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="Calendar JSON file, e.g. the State Council's notice for a new year.")],
    by: Annotated[str, typer.Option(help="Operator loading it (recorded).")] = "operator",
    dry_run: Annotated[bool, typer.Option(help="Only validate and show what would change.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Load a newly published official calendar: store it and recompute running deadlines."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}") from None
    try:
        result = asyncio.run(_load(text, by, dry_run))
    except (ConfigError, LegalClockError) as exc:
        raise fail(str(exc)) from None
    emit(
        result,
        as_json,
        lambda: out.print(
            f"calendar {result.version} (was {result.base_version}): "
            f"years changed {result.changed_years or 'none'}; "
            + ("dry run, nothing stored" if dry_run else f"{result.projects_notified} running projects recomputed")
        ),
    )
