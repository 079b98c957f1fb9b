"""``daiban zone ...`` and ``daiban catalog ...``: the zone policies and the catalog in force.

``load FILE`` validates a file (every error at once, each naming its field), shows how it differs
from the version in force and which running projects keep their older version, and stores it as
the new version in force (``--dry-run``: only shows). ``versions`` lists every load; ``zone table``
prints the README's zone table of the zones in force.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import asyncpg
import typer
from rich.table import Table

from catalog.table import zone_table
from catalog.validate import ContentInvalid
from eventstore.versions import CATALOG_KEY, current_catalog, current_zones, load_history
from interfaces.cli.common import JsonOpt, emit, fail, out, read, table
from interfaces.contentload import ContentLoaded, NothingInForce, load_catalog, load_zones

zone_app = typer.Typer(
    help="Zone policies: load a new version, list versions, print the zone table.", no_args_is_help=True
)
catalog_app = typer.Typer(help="The matter catalog: load a new version, list versions.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="JSON file: the content of the new version.")]
ByOpt = Annotated[str, typer.Option(help="Operator loading it (recorded).")]
DryOpt = Annotated[bool, typer.Option(help="Only validate and show what would change.")]


def _load(file: Path, go: Any, as_json: bool) -> None:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}") from None
    try:
        result: ContentLoaded = read(lambda pool: go(pool, text))
    except (ContentInvalid, NothingInForce) as exc:
        raise fail(str(exc)) from None
    emit(result, as_json, lambda: _render(result))


def _render(result: ContentLoaded) -> None:
    for load in result.loads:
        name = f"{result.kind} {load.key}" if result.kind == "zone" else "catalog"
        if load.status == "unchanged":
            out.print(f"{name}: identical to the version in force ({load.version}); nothing changed")
            continue
        verb = "would be" if result.dry_run else "is now"
        was = f" (was {load.was})" if load.was else " (new)"
        out.print(f"{name}: {load.version} {verb} in force for new projects{was}")
        if load.was:
            changes = Table("Field", "Was", "Now", title="Differences")
            for c in load.changes:
                changes.add_row(c.field, _short(c.was), _short(c.now))
            out.print(changes)
        running = Table("Project", "Zone", "Stage", "Keeps version", title="Running projects (keep their version)")
        for p in load.running:
            kept = (
                p.zone_version if result.kind == "zone" else p.catalog
            ) or "(registered before versions were recorded)"
            running.add_row(p.project_id, p.zone, p.stage, kept)
        if running.row_count:
            out.print(running)
        else:
            out.print("no running project concerned")
    if result.dry_run:
        out.print("dry run: nothing stored")


def _short(value: Any, limit: int = 80) -> str:
    text = "-" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@zone_app.command("load")
def zone_load(file: FileArg, by: ByOpt = "operator", dry_run: DryOpt = False, as_json: JsonOpt = False) -> None:
    """Load zone policies (one zone or a list) as new versions, checked against the catalog in force."""
    _load(file, lambda pool, text: load_zones(pool, text, by, dry_run=dry_run), as_json)


@catalog_app.command("load")
def catalog_load(file: FileArg, by: ByOpt = "operator", dry_run: DryOpt = False, as_json: JsonOpt = False) -> None:
    """Load a matter catalog as the new version, checked against every zone policy in force."""
    _load(file, lambda pool, text: load_catalog(pool, text, by, dry_run=dry_run), as_json)


@zone_app.command("versions")
def zone_versions(
    zone: Annotated[str | None, typer.Argument(help="Only this zone's.")] = None, as_json: JsonOpt = False
) -> None:
    """Every load of the zone policies, oldest first (the newest of a zone is in force)."""
    rows = read(lambda pool: load_history(pool, "zone", zone))
    emit(rows, as_json, lambda: table(rows, ["id", "key", "version", "loaded_by", "loaded_at"]))


@catalog_app.command("versions")
def catalog_versions(as_json: JsonOpt = False) -> None:
    """Every load of the catalog, oldest first (the newest is in force)."""
    rows = read(lambda pool: load_history(pool, "catalog", CATALOG_KEY))
    emit(rows, as_json, lambda: table(rows, ["id", "version", "loaded_by", "loaded_at"]))


@zone_app.command("table")
def zone_table_cmd() -> None:
    """The zone table (zone, promises, modes, regional assessments, seal) of the zones in force, as Markdown."""

    async def go(pool: asyncpg.Pool) -> str:
        found = await current_catalog(pool)
        if found is None:
            raise NothingInForce("no catalog in force: run `daiban db migrate` first")
        return zone_table(found[1], [z for _, z in (await current_zones(pool)).values()])

    try:
        text = read(go)
    except NothingInForce as exc:
        raise fail(str(exc)) from None
    typer.echo(text, nl=False)
