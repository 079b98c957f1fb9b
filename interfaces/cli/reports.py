"""Reads of the event store's read models: inbox, overdue, notifications, reports, rebuild."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import asyncpg
import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from eventstore import figures, queries
from eventstore.outbox import list_notifications
from interfaces.cli.common import HELP_STYLE, JsonOpt, cell, emit, fail, out, read, show_table, table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ChartOpt = Annotated[
    Path | None,
    typer.Option("--chart", help="Also draw the chart the dashboard shows, to this .svg or .png file."),
]


def _check_chart(chart: Path | None) -> None:
    """Refuse a chart file of another format before anything is read."""
    if chart is not None and chart.suffix.lower() not in (".svg", ".png"):
        raise fail(f"--chart: {chart.name!r} must end in .svg or .png")


def _draw(chart: Path | None, draw: Callable[[], Figure]) -> None:
    from interfaces.dashboard.charts import save

    if chart is not None:
        save(draw(), chart)
        print(f"chart written to {chart}", file=sys.stderr)


report_app = typer.Typer(help="Reports from the event store's read models.", no_args_is_help=True, **HELP_STYLE)


def inbox(department: str, as_json: JsonOpt = False) -> None:
    """A department's open applications, oldest first: those to accept (受理, within the matter's period
    to accept from receipt) and those accepted and to decide, each with its deadline."""
    rows = read(lambda pool: queries.department_inbox(pool, department))

    def show() -> None:
        for phase, title in (("acceptance", "To accept (受理)"), ("decision", "To decide")):
            out.print(f"[bold]{title}[/bold]")
            table(
                [r for r in rows if r.phase == phase],
                ["project_id", "project_name", "matter_code", "submission", "submitted_at", "deadline"],
            )

    emit(rows, as_json, show)


def overdue(as_json: JsonOpt = False, chart: ChartOpt = None) -> None:
    """Every clock past its deadline, with the department, how late in working days past the
    deadline (the legal clock's working time on the calendar in force, 行政许可法 §82; working hours
    under one working day), whether the breach rests on a provisional deadline (a year without the
    State Council's holiday notice) and the escalation so far. ``--json``: ``late_working_days``,
    ``late_working_hours``, ``provisional``."""
    _check_chart(chart)
    rows = read(lambda pool: queries.overdue(pool))

    def render() -> None:
        t = Table("project_id", "clock_id", "department", "deadline", "late by", "provisional", "agent", "escalation")
        for r in rows:
            t.add_row(
                r.project_id,
                r.clock_id,
                cell(r.department),
                cell(r.deadline),
                r.late_by,
                cell(r.provisional),
                r.agent,
                cell(r.escalation) + (" (stop overran)" if r.stop_overran else ""),
            )
        show_table(t)

    emit(rows, as_json, render)
    _draw(chart, lambda: _charts().overdue_chart(rows, datetime.now(UTC)))


def notifications(
    project: Annotated[str | None, typer.Option(help="Only this project's.")] = None,
    unsent: Annotated[bool, typer.Option(help="Only those not delivered yet.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The notifications outbox: warnings, escalations, meetings, and whether they were delivered."""
    rows = read(lambda pool: list_notifications(pool, project_id=project, unsent_only=unsent, limit=limit))

    def render() -> None:
        t = Table("created", "project", "kind", "to", "message", "sent")
        for r in rows:
            tried = f"no ({r.attempts} tries: {r.last_error})" if r.attempts else "no"
            t.add_row(
                cell(r.created_at), r.project_id, r.kind, ", ".join(r.recipients), r.message, cell(r.sent_at) or tried
            )
        show_table(t)

    emit(rows, as_json, render)


@report_app.command("departments")
def report_departments(
    zone: Annotated[str | None, typer.Option(help="Only this zone's departments.")] = None,
    as_json: JsonOpt = False,
    chart: ChartOpt = None,
) -> None:
    """On-time rate, average and p90 working days, open work, breaches and procedural faults
    (行政许可法 §72) per zone and department."""
    _check_chart(chart)
    rows = read(lambda pool: queries.department_report(pool, zone=zone))
    columns = [
        "zone",
        "department",
        "decided",
        "on_time_rate",
        "avg_approval_days",
        "p90_approval_days",
        "open",
        "breaches",
        "faults",
    ]
    emit(rows, as_json, lambda: table(rows, columns))
    _draw(chart, lambda: _charts().department_rates_chart(rows))


@report_app.command("credit")
def report_credit(
    zone: Annotated[str | None, typer.Option(help="Only this zone's projects.")] = None,
    enterprise: Annotated[str | None, typer.Option(help="Only this enterprise's entries.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The credit record: commitments (告知承诺) found untrue on verification (国办发〔2020〕42号)."""
    rows = read(lambda pool: queries.credit_records(pool, zone, enterprise))
    columns = ["recorded_at", "enterprise", "zone", "project_id", "matter_code", "department", "findings"]
    emit(rows, as_json, lambda: table(rows, columns))


@report_app.command("zone")
def report_zone(as_json: JsonOpt = False, chart: ChartOpt = None) -> None:
    """Projects per stage, investment and working days saved, per zone (``--chart``: the stage funnel)."""
    _check_chart(chart)
    rows = read(lambda pool: queries.zone_report(pool))
    columns = [
        "zone",
        "projects",
        "active",
        "projects_by_stage",
        "total_investment_yuan",
        "days_saved_commitment",
        "days_saved_tolerance",
        "days_saved_regional_assessment",
    ]
    emit(rows, as_json, lambda: table(rows, columns))
    _draw(chart, lambda: _charts().stage_funnel_chart(rows))


def _charts() -> Any:
    # matplotlib is imported only when a chart is asked for (it takes a second to load).
    from interfaces.dashboard import charts

    return charts


ZoneOpt = Annotated[str | None, typer.Option(help="Only this zone (default: every zone).")]
PeriodOpt = Annotated[str, typer.Option(help="A year (2026), a quarter (2026-Q1) or a month (2026-03), Beijing time.")]


def _period(period: str) -> str:
    try:
        return figures.parse_period(period).label
    except ValueError as exc:
        raise fail(str(exc)) from None


@report_app.command("satisfaction")
def report_satisfaction(period: PeriodOpt, zone: ZoneOpt = None, as_json: JsonOpt = False) -> None:
    """好差评: ratings by grade and the satisfaction rate (good grades over all) per zone, department and
    agent, with bad ratings still owed a fix and callbacks and fixes on time (国办发〔2019〕51号)."""
    label = _period(period)
    report = read(lambda pool: figures.satisfaction(pool, label, zone))
    columns = ["level", "key", "ratings", "satisfied", "satisfaction_rate", "bad", "very_bad", "bad_unfixed"]
    emit(report, as_json, lambda: table(report.rows, ["zone", *columns, "callbacks_on_time", "fixes_on_time"]))


@report_app.command("figures")
def report_figures(period: PeriodOpt, zone: ZoneOpt = None, as_json: JsonOpt = False) -> None:
    """The zone's honest figures over a period: departments on time against statute and promise,
    stages and projects against their limits and cap, days and fees saved per project on the
    critical path (reversed on revocation), commitment and full-agency shares."""
    label = _period(period)
    report = read(lambda pool: figures.figures(pool, label, zone))

    def render() -> None:
        sections: list[tuple[str, Sequence[BaseModel], list[str]]] = [
            (
                "Departments (decided on time against the statutory and the promised limit; accepted within §32)",
                report.departments,
                [
                    *("zone", "department", "decided", "on_time_statutory_rate", "on_time_promised_rate", "deemed"),
                    *("accepted", "accepted_on_time_rate"),
                ],
            ),
            (
                "Stages completed (working days of the stage's clock against its limit)",
                report.stages,
                ["zone", "stage", "completed", "avg_working_days", "max_working_days", "avg_limit_days", "over_limit"],
            ),
            (
                "Projects through the capped stages",
                report.projects,
                ["zone", "project_id", "project_type", "capped_working_days", "cap_days", "within_cap"],
            ),
            (
                "Saved per project (critical path; revoked approvals excluded)",
                report.savings,
                [
                    *("zone", "mode", "projects", "matters", "revoked", "days_saved", "days_saved_per_project"),
                    *("fees_saved_yuan", "fees_saved_per_project"),
                ],
            ),
            (
                "Shares",
                report.shares,
                ["zone", "approvals", "commitment_approvals", "commitment_share", "projects", "full_agency_share"],
            ),
        ]
        out.print(f"[bold]{report.zone or 'every zone'}, {report.period}[/bold]")
        for title, rows, columns in sections:
            out.print(f"[bold]{title}[/bold]")
            table(rows, columns)

    emit(report, as_json, render)


def rebuild(as_json: JsonOpt = False) -> None:
    """Rebuild every read model from the event store (safe while the platform runs)."""
    from eventstore.projector import Projector

    async def go(pool: asyncpg.Pool) -> int:
        with Progress(transient=True, console=Console(stderr=True)) as progress:
            task = progress.add_task("replaying events", total=None)
            projector = Projector(pool, on_batch=lambda batch: progress.advance(task, len(batch)))
            return await projector.rebuild()

    n = read(go)
    emit({"events_replayed": n}, as_json, lambda: out.print(f"read models rebuilt from {n} events"))


def install(app: typer.Typer) -> None:
    app.command("inbox")(inbox)
    app.command("overdue")(overdue)
    app.command("notifications")(notifications)
    app.command("rebuild-read-models")(rebuild)
    app.add_typer(report_app, name="report")
