"""``daiban calendar ...``: the official working-day calendar (add, count, show, load)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from eventstore.calendars import current_calendar
from infra.db import create_pool
from infra.settings import ConfigError, load_settings
from infra.temporal import connect
from interfaces.cli.common import HELP_STYLE, JsonOpt, database_url, emit, fail, out, show_table, when
from interfaces.client import DaibanClient
from interfaces.usecases import CalendarPublished, publish_calendar
from legalclock import LegalClockError, OfficialCalendar
from legalclock import cli as lc_cli

app = typer.Typer(help="Official working-day calendar: add, count, show, load.", no_args_is_help=True, **HELP_STYLE)


def calendar_in_force() -> tuple[OfficialCalendar, str]:
    """The calendar every tool uses: the one in force in PostgreSQL; the shipped one without a database."""
    s = load_settings()
    if not s.database_url:
        typer.echo("daiban: DATABASE_URL is not set; using the calendar shipped with daiban", err=True)
        return lc_cli.shipped_calendar()

    async def fetch() -> OfficialCalendar:
        pool = await create_pool(database_url(s), max_size=1)
        try:
            return await current_calendar(pool)
        finally:
            await pool.close()

    try:
        calendar = asyncio.run(fetch())
    except ConfigError as exc:  # PostgreSQL unreachable or DATABASE_URL wrong: configuration, exit 2
        raise fail(str(exc)) from None
    except (OSError, asyncpg.PostgresError) as exc:
        raise fail(f"cannot read the calendar in force from PostgreSQL: {exc}") from None
    return calendar, "in force (PostgreSQL)"


# The pure commands come from the legal clock, on the calendar in force; `load` is daiban's own:
# it stores and notifies.
lc_cli.calendar_source = calendar_in_force
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
    """Load a newly published official calendar: store it and recompute running deadlines.

    With DAIBAN_TOKEN: an operator of every zone only, and --by is that principal."""
    by = _as_principal(by)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}") from None
    try:
        result = asyncio.run(_load(text, by, dry_run))
    except (ConfigError, LegalClockError) as exc:
        raise fail(str(exc)) from None

    def render() -> None:
        out.print(
            f"calendar {result.version} (was {result.base_version}): "
            f"years changed {result.changed_years or 'none'}; "
            + ("dry run, nothing stored" if dry_run else f"{result.projects_notified} running projects recomputed")
        )
        if result.not_notified:
            out.print(
                f"not told, Temporal did not answer: {', '.join(result.not_notified)}; load the file again to tell them"
            )
        days = Table("Date", "Was", "Now", title="Days the notice changes")
        for year in result.changes.years:
            for c in year.changes:
                days.add_row(c.day.isoformat(), f"{c.was} {c.was_name}".strip(), f"{c.now} {c.now_name}".strip())
        if days.row_count:
            out.print(days)
        moves = Table(
            "Project", "Clock", "Limit", "Deadline before", "After", "Working days", title="Deadlines that move"
        )
        for m in result.moves:
            moves.add_row(m.project_id, m.clock_id, m.limit, _local(m.before), _local(m.after), f"{m.working_days:+d}")
        if moves.row_count:
            show_table(moves, keep={"Project", "Clock"})

    emit(result, as_json, render)


def _as_principal(by: str) -> str:
    """``by`` as the service credential allows it (``DAIBAN_TOKEN``: an operator of every zone,
    ``by`` its name; the default ``operator`` stands for it); unchanged without a credential."""
    from interfaces.auth.principals import check_by, check_operator
    from interfaces.auth.service import principal_for
    from interfaces.auth.verifying import AuthError

    try:
        principal = principal_for(load_settings())
        if principal is None:
            return by
        check_operator(principal, "calendar load")
        return check_by(principal, None if by == "operator" else by)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except AuthError as exc:
        raise fail(f"forbidden: {exc.reason}", 1) from None


def _local(at: datetime | None) -> str:
    return "stopped" if at is None else when(at)
