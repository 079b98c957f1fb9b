"""``daiban projector ...``: the read-model projector's quarantine (``eventstore.projector``)."""

from __future__ import annotations

from typing import Annotated

import typer

from interfaces.cli.common import HELP_STYLE, JsonOpt, emit, out, read, table

app = typer.Typer(help="The read-model projector's quarantine: list and retry.", no_args_is_help=True, **HELP_STYLE)


@app.command("quarantine")
def quarantine(
    project: Annotated[str | None, typer.Option(help="Only this project's events.")] = None,
    resolved: Annotated[bool, typer.Option("--all", help="Include events resolved since.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Events the projector could not project (or held back behind one), with their error."""
    from eventstore.projector import list_quarantine

    rows = read(lambda pool: list_quarantine(pool, stream_id=project, include_resolved=resolved))
    columns = ["position", "stream_id", "version", "event_type", "reason", "attempts", "quarantined_at",
               "resolved_at", "error"]  # fmt: skip

    def render() -> None:
        if not rows:
            out.print("nothing quarantined")
        else:
            table(rows, columns)

    emit(rows, as_json, render)


@app.command("retry")
def retry(
    project: Annotated[str | None, typer.Option(help="Only this project's events.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Project the quarantined events again, in order (after fixing their cause); exit 1 if some still fail."""
    from eventstore.projector import retry_quarantined

    result = read(lambda pool: retry_quarantined(pool, stream_id=project))

    def render() -> None:
        out.print(f"{result.resolved} projected, {result.still_quarantined} still quarantined")
        for q in result.errors:
            out.print(f"  position {q.position} ({q.stream_id} v{q.version} {q.event_type}): {q.error}")

    emit(result, as_json, render)
    if result.still_quarantined:
        raise typer.Exit(1)
