"""``daiban``: the command line for agents, project leads and operators.

Tables in a terminal, ``--json`` for scripts. Exit code 0 on success; on error one line on
stderr and a non-zero code (2 bad input or configuration, 1 refused by the project).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from infra.logs import configure_logging
from infra.process import exit_now
from infra.settings import ConfigError, load_settings
from infra.temporal import connect
from interfaces.client import CommandRejected, DaibanClient, DaibanError, NotReady, ProjectNotFound
from legalclock import LegalClockError, merge_calendar_file
from legalclock import cli as lc_cli
from schemas.project import (
    Decision,
    ExtendLimit,
    ProgressReport,
    ProjectView,
    ReassignAgent,
    RegisterProject,
    ResolveMeeting,
    Resubmit,
    ResumeClock,
    StopClock,
    SupplyMaterials,
    Verification,
    Withdraw,
)

T = TypeVar("T")

app = typer.Typer(
    help="daiban: full-agency approval of investment projects, on Temporal.", no_args_is_help=True, add_completion=False
)
project_app = typer.Typer(help="Register, inspect and steer projects.", no_args_is_help=True)
app.add_typer(project_app, name="project")

out = Console()
RequestIdOpt = Annotated[
    str | None,
    typer.Option(help="Idempotency key: resend a command with the same id and it is applied once (default: a new id)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    print(f"daiban: {message}", file=sys.stderr)
    return typer.Exit(code)


def _field_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "input"
    return f"{where}: {err['msg']}"


def build(model: type[BaseModel], **fields: Any) -> Any:
    """Validate command-line input into a schema model, or exit naming the bad field."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise fail(_field_error(exc)) from None


def run(fn: Callable[[DaibanClient], Awaitable[T]]) -> T:
    """Connect with the environment's settings and run ``fn``; errors become one line."""

    async def main() -> T:
        s = load_settings()
        return await fn(DaibanClient(await connect(s), s.task_queue))

    try:
        return asyncio.run(main())
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except ProjectNotFound as exc:
        raise fail(str(exc)) from None
    except (CommandRejected, NotReady) as exc:
        raise fail(f"refused: {exc}", 1) from None
    except DaibanError as exc:
        raise fail(str(exc), 1) from None


def emit(data: Any, as_json: bool, render: Callable[[], None]) -> None:
    if as_json:
        if isinstance(data, BaseModel):
            print(data.model_dump_json(indent=2))
        else:
            print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        render()


# ---- projects -------------------------------------------------------------------------------


@project_app.command("register")
def register(
    file: Annotated[Path, typer.Argument(help="JSON file with the registration.")], as_json: JsonOpt = False
) -> None:
    """Register a project (idempotent on its project_id)."""
    try:
        reg = RegisterProject.model_validate_json(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}") from None
    except ValidationError as exc:
        raise fail(f"{file}: {_field_error(exc)}") from None
    run_id = run(lambda c: c.register(reg))
    emit(
        {"project_id": reg.project_id, "run_id": run_id},
        as_json,
        lambda: out.print(f"registered [bold]{reg.project_id}[/] (run {run_id})"),
    )


@project_app.command("list")
def list_projects(
    query: Annotated[str, typer.Option(help='Visibility query, e.g. "DaibanOverdue = true".')] = "",
    as_json: JsonOpt = False,
) -> None:
    """Projects with their stage, agent, open departments and nearest deadline."""
    rows = run(lambda c: c.list_projects(query))

    def render() -> None:
        t = Table("project", "status", "zone", "stage", "agent", "open departments", "next deadline", "overdue")
        for r in rows:
            t.add_row(
                r["project_id"],
                r["status"],
                r["zone"] or "",
                r["stage"] or "",
                r["agent"] or "",
                ", ".join(r["open_departments"]),
                str(r["next_deadline"] or ""),
                "YES" if r["overdue"] else "",
            )
        out.print(t)

    emit(rows, as_json, render)


def render_view(v: ProjectView) -> None:
    out.print(f"[bold]{v.project_id}[/] {v.name} — {v.enterprise} (zone {v.zone}, {v.investment_yuan:,} yuan)")
    out.print(f"stage [bold]{v.stage}[/], agent {v.agent} (backup {v.backup_agent}), lead {v.project_lead}")
    out.print(v.waiting_for)
    t = Table("clock", "limit", "used", "left", "deadline", "")
    for c in v.clocks:
        t.add_row(
            c.clock_id,
            f"{c.limit_days:g}",
            f"{c.working_days_used:g}",
            "" if c.working_days_left is None else f"{c.working_days_left:g}",
            str(c.deadline or "stopped"),
            ("OVERDUE " if c.overdue else "") + ("provisional" if c.provisional else ""),
        )
    out.print(t)
    t = Table("matter", "department", "stage", "mode", "state", "days left", "deadline", "obligations")
    for m in v.matters:
        mc = m.clock
        left = "" if mc is None or mc.working_days_left is None else f"{mc.working_days_left:g}"
        deadline = "" if mc is None else ("stopped" if mc.paused else str(mc.deadline or ""))
        obligations = ", ".join(f"{o.kind}:{o.state}" for o in m.obligations)
        t.add_row(m.code, m.department, m.stage, m.approval_mode or m.mode, m.state, left, deadline, obligations)
    out.print(t)
    for meeting in v.meetings:
        out.print(f"joint meeting {meeting.meeting_id} on {meeting.clock_id}: {meeting.resolution or 'open'}")


@project_app.command("show")
def show(project_id: str, as_json: JsonOpt = False) -> None:
    """Stages, matters, clocks with working days left, obligations."""
    view = run(lambda c: c.state(project_id))
    emit(view, as_json, lambda: render_view(view))


def _ack(project_id: str, call: Callable[[DaibanClient], Awaitable[BaseModel]], as_json: bool) -> None:
    result = run(call)
    emit(
        result,
        as_json,
        lambda: out.print(f"{project_id}: {json.dumps(result.model_dump(mode='json'), ensure_ascii=False)}"),
    )


@app.command("decide")
def decide(
    project_id: str,
    matter: Annotated[str, typer.Option(help="Matter code, e.g. eia.")],
    department: Annotated[str, typer.Option(help="Deciding department's code.")],
    kind: Annotated[
        str, typer.Option(help="approve | reject | request_correction | accept_with_tolerance | approve_on_commitment")
    ],
    decision_id: Annotated[str, typer.Option(help="Unique id of this decision (retry-safe).")],
    by: Annotated[str, typer.Option(help="Who decided.")],
    reason: Annotated[list[str] | None, typer.Option(help="Reason (repeat for several).")] = None,
    item: Annotated[list[str] | None, typer.Option(help="Material owed or to correct (repeat).")] = None,
    instant: Annotated[bool, typer.Option(help="Decided on the spot (即办件).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Send a department's decision on a matter."""
    d = build(
        Decision,
        decision_id=decision_id,
        department=department,
        matter_code=matter,
        kind=kind,
        decided_by=by,
        reasons=reason or [],
        items=item or [],
        instant=instant,
    )
    _ack(project_id, lambda c: c.decide(project_id, d), as_json)


@app.command("verify")
def verify(
    project_id: str,
    matter: Annotated[str, typer.Option()],
    department: Annotated[str, typer.Option()],
    decision_id: Annotated[str, typer.Option()],
    by: Annotated[str, typer.Option()],
    passed: Annotated[bool, typer.Option("--passed/--failed")] = True,
    findings: Annotated[str, typer.Option()] = "",
    as_json: JsonOpt = False,
) -> None:
    """Record the after-the-fact verification of a commitment-based approval."""
    v = build(
        Verification,
        decision_id=decision_id,
        department=department,
        matter_code=matter,
        passed=passed,
        by=by,
        findings=findings,
    )
    _ack(project_id, lambda c: c.verify(project_id, v), as_json)


@project_app.command("supply")
def supply(
    project_id: str,
    matter: Annotated[str, typer.Option()],
    by: Annotated[str, typer.Option()],
    item: Annotated[list[str], typer.Option(help="Material supplied (repeat).")],
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The agent supplies correction materials or materials owed under tolerance."""
    cmd = build(SupplyMaterials, request_id=request_id, matter_code=matter, by=by, items=item)
    _ack(project_id, lambda c: c.supply_materials(project_id, cmd), as_json)


@project_app.command("resubmit")
def resubmit(
    project_id: str,
    matter: Annotated[str, typer.Option()],
    by: Annotated[str, typer.Option()],
    note: Annotated[str, typer.Option()] = "",
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Resubmit a rejected matter after fixing it."""
    cmd = build(Resubmit, request_id=request_id, matter_code=matter, by=by, note=note)
    _ack(project_id, lambda c: c.resubmit(project_id, cmd), as_json)


@project_app.command("stop-clock")
def stop_clock(
    project_id: str,
    matter: Annotated[str, typer.Option()],
    department: Annotated[str, typer.Option()],
    kind: Annotated[str, typer.Option(help="expert_review | hearing | testing | public_notice")],
    reason: Annotated[str, typer.Option()],
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stop a matter's clock (time that does not count toward the limit)."""
    cmd = build(StopClock, request_id=request_id, matter_code=matter, department=department, kind=kind, reason=reason)
    _ack(project_id, lambda c: c.stop_clock(project_id, cmd), as_json)


@project_app.command("resume-clock")
def resume_clock(
    project_id: str,
    matter: Annotated[str, typer.Option()],
    department: Annotated[str, typer.Option()],
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Restart a stopped clock."""
    cmd = build(ResumeClock, request_id=request_id, matter_code=matter, department=department)
    _ack(project_id, lambda c: c.resume_clock(project_id, cmd), as_json)


@project_app.command("extend")
def extend(
    project_id: str,
    matter: Annotated[str, typer.Option()],
    department: Annotated[str, typer.Option()],
    days: Annotated[float, typer.Option()],
    approved_by: Annotated[str, typer.Option()],
    reason: Annotated[str, typer.Option()],
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Extend a matter's limit once, with the agency head's approval."""
    cmd = build(
        ExtendLimit,
        request_id=request_id,
        matter_code=matter,
        department=department,
        days=days,
        approved_by=approved_by,
        reason=reason,
    )
    _ack(project_id, lambda c: c.extend_limit(project_id, cmd), as_json)


@project_app.command("reassign")
def reassign(
    project_id: str,
    to: Annotated[str, typer.Option(help="The new agent.")],
    by: Annotated[str, typer.Option()],
    reason: Annotated[str, typer.Option()],
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hand the project to the backup agent or a new agent."""
    cmd = build(ReassignAgent, request_id=request_id, to_agent=to, by=by, reason=reason)
    _ack(project_id, lambda c: c.reassign_agent(project_id, cmd), as_json)


@project_app.command("progress")
def progress(
    project_id: str,
    percent: Annotated[int, typer.Option()],
    by: Annotated[str, typer.Option()],
    note: Annotated[str, typer.Option()] = "",
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Report construction progress; 100 starts the joint completion acceptance."""
    cmd = build(ProgressReport, request_id=request_id, percent=percent, note=note, by=by)
    _ack(project_id, lambda c: c.report_progress(project_id, cmd), as_json)


@project_app.command("complete")
def complete(project_id: str, by: Annotated[str, typer.Option()], note: Annotated[str, typer.Option()] = "",
             as_json: JsonOpt = False) -> None:
    """Construction is finished: start the joint completion acceptance."""
    _ack(project_id, lambda c: c.complete_construction(project_id, by, note), as_json)


@project_app.command("resolve-meeting")
def resolve_meeting(
    project_id: str,
    meeting: Annotated[str, typer.Option()],
    resolution: Annotated[str, typer.Option()],
    by: Annotated[str, typer.Option()],
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a joint meeting's resolution."""
    cmd = build(ResolveMeeting, request_id=request_id, meeting_id=meeting, resolution=resolution, by=by)
    _ack(project_id, lambda c: c.resolve_meeting(project_id, cmd), as_json)


@project_app.command("withdraw")
def withdraw(
    project_id: str,
    reason: Annotated[str, typer.Option()],
    by: Annotated[str, typer.Option()],
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Withdraw a project at any stage; open matters are closed."""
    cmd = build(Withdraw, request_id=request_id, reason=reason, by=by)
    _ack(project_id, lambda c: c.withdraw(project_id, cmd), as_json)


# ---- read models (PostgreSQL) ---------------------------------------------------------------

report_app = typer.Typer(help="Reports from the event store's read models.", no_args_is_help=True)
app.add_typer(report_app, name="report")


def read(fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``fn`` with a pool on ``DATABASE_URL``; errors become one line."""
    from infra.db import create_pool

    async def main() -> T:
        s = load_settings()
        if not s.database_url:
            raise ConfigError("DATABASE_URL is not set; point it at daiban's PostgreSQL")
        pool = await create_pool(s.database_url, max_size=2)
        try:
            return await fn(pool)
        finally:
            await pool.close()

    try:
        return asyncio.run(main())
    except ConfigError as exc:
        raise fail(str(exc)) from None


def _table(rows: Sequence[BaseModel], columns: list[str]) -> None:
    t = Table(*columns)
    for r in rows:
        d = r.model_dump()
        t.add_row(*("" if d.get(c) is None else str(d.get(c)) for c in columns))
    out.print(t)


def _dump(rows: list[Any]) -> list[Any]:
    return [r.model_dump(mode="json") for r in rows]


@project_app.command("timeline")
def timeline(project_id: str, as_json: JsonOpt = False) -> None:
    """A project's story from the event store, one line per event."""
    from eventstore.queries import project_timeline

    rows = read(lambda pool: project_timeline(pool, project_id))
    if not rows:
        raise fail(f"project_id: no events for {project_id!r}")
    emit(_dump(rows), as_json, lambda: _table(rows, ["version", "occurred_at", "event_type", "summary"]))


@app.command("inbox")
def inbox(department: str, as_json: JsonOpt = False) -> None:
    """Applications waiting for a department's decision, oldest first."""
    from eventstore.queries import department_inbox

    rows = read(lambda pool: department_inbox(pool, department))
    emit(
        _dump(rows),
        as_json,
        lambda: _table(rows, ["project_id", "project_name", "matter_code", "submission", "submitted_at", "deadline"]),
    )


@app.command("overdue")
def overdue_cmd(as_json: JsonOpt = False) -> None:
    """Every clock past its deadline, with the department and the escalation so far."""
    from eventstore.queries import overdue

    rows = read(lambda pool: overdue(pool))
    emit(
        _dump(rows),
        as_json,
        lambda: _table(rows, ["project_id", "clock_id", "department", "deadline", "agent", "escalation"]),
    )


@app.command("notifications")
def notifications(
    project: Annotated[str | None, typer.Option(help="Only this project's.")] = None,
    unsent: Annotated[bool, typer.Option(help="Only those not delivered yet.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The notifications outbox: warnings, escalations, meetings, and whether they were delivered."""

    async def fetch(pool: Any) -> list[dict[str, Any]]:
        rows = await pool.fetch(
            """SELECT notification_id, project_id, kind, recipients, message, created_at, sent_at,
                      attempts, last_error
               FROM notifications
               WHERE ($1::text IS NULL OR project_id = $1) AND (NOT $2 OR sent_at IS NULL)
               ORDER BY created_at DESC LIMIT $3""",
            project,
            unsent,
            limit,
        )
        return [dict(r) for r in rows]

    rows = read(fetch)

    def render() -> None:
        t = Table("created", "project", "kind", "to", "message", "sent")
        for r in rows:
            sent = str(r["sent_at"] or (f"no ({r['attempts']} tries: {r['last_error']})" if r["attempts"] else "no"))
            t.add_row(str(r["created_at"]), r["project_id"], r["kind"], ", ".join(r["recipients"]), r["message"], sent)
        out.print(t)

    emit(rows, as_json, render)


@report_app.command("departments")
def report_departments(as_json: JsonOpt = False) -> None:
    """On-time rate, average and p90 working days, open work and breaches per department."""
    from eventstore.queries import department_report

    rows = read(lambda pool: department_report(pool))
    emit(
        _dump(rows),
        as_json,
        lambda: _table(
            rows,
            ["department", "decided", "on_time_rate", "avg_approval_days", "p90_approval_days", "open", "breaches"],
        ),
    )


@report_app.command("zone")
def report_zone(as_json: JsonOpt = False) -> None:
    """Projects per stage, investment and working days saved, per zone."""
    from eventstore.queries import zone_report

    rows = read(lambda pool: zone_report(pool))
    emit(
        _dump(rows),
        as_json,
        lambda: _table(
            rows,
            [
                "zone",
                "projects",
                "active",
                "projects_by_stage",
                "total_investment_yuan",
                "days_saved_commitment",
                "days_saved_tolerance",
                "days_saved_regional_assessment",
            ],
        ),
    )


@app.command("rebuild-read-models")
def rebuild(as_json: JsonOpt = False) -> None:
    """Rebuild every read model from the event store (safe while the platform runs)."""
    from eventstore.projector import Projector

    async def go(pool: Any) -> int:
        with Progress(transient=True, console=Console(stderr=True)) as progress:
            task = progress.add_task("replaying events", total=None)
            projector = Projector(pool, on_batch=lambda batch: progress.advance(task, len(batch)))
            return await projector.rebuild()

    n = read(go)
    emit({"events_replayed": n}, as_json, lambda: out.print(f"read models rebuilt from {n} events"))


calendar_app = typer.Typer(help="Official working-day calendar: add, count, show, load.", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")
# The pure commands come from the legal clock; `load` is daiban's own: it stores and notifies.
calendar_app.command("add")(lc_cli.add)
calendar_app.command("count")(lc_cli.count)
calendar_app.command("show")(lc_cli.show)


async def _publish_calendar(text: str, by: str, dry_run: bool) -> dict[str, Any]:
    """Merge a calendar file into the calendar in force, store it, tell every running project."""
    from activities.calendars import current_calendar, store_calendar
    from infra.db import create_pool
    from workflows.project import CalendarUpdate, ProjectWorkflow

    s = load_settings()
    if not s.database_url:
        raise ConfigError("DATABASE_URL is not set; the calendar in force lives in PostgreSQL")
    pool = await create_pool(s.database_url, max_size=2)
    try:
        base = await current_calendar(pool)
        merged, changed = merge_calendar_file(base, text)
        result: dict[str, Any] = {
            "base_version": base.version,
            "version": merged.version,
            "changed_years": changed,
            "stored": False,
            "projects_notified": 0,
        }
        if dry_run or not changed:
            return result
        result["stored"] = await store_calendar(pool, merged, by)
    finally:
        await pool.close()
    client = DaibanClient(await connect(s), s.task_queue)
    # Projects receive the version only; every worker loads the stored content into its registry.
    update = CalendarUpdate(version=merged.version)
    running = [r["project_id"] for r in await client.list_projects("ExecutionStatus = 'Running'")]
    with Progress(transient=True, console=Console(stderr=True)) as progress:
        task = progress.add_task("notifying running projects", total=len(running))
        for project_id in running:
            await client.handle(project_id).signal(ProjectWorkflow.calendar_updated, update)
            progress.advance(task)
    result["projects_notified"] = len(running)
    return result


@calendar_app.command("load")
def calendar_load(
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
        result = asyncio.run(_publish_calendar(text, by, dry_run))
    except (ConfigError, LegalClockError) as exc:
        raise fail(str(exc)) from None
    emit(
        result,
        as_json,
        lambda: out.print(
            f"calendar {result['version']} (was {result['base_version']}): "
            f"years changed {result['changed_years'] or 'none'}; "
            + ("dry run, nothing stored" if dry_run else f"{result['projects_notified']} running projects recomputed")
        ),
    )


def main() -> None:
    """Console-script entry point; exits without interpreter teardown (see ``infra.process``)."""
    # Library logs go to stderr, warnings and worse only: stdout is the command's answer.
    configure_logging("console", "warning")
    try:
        app()
        code = 0
    except SystemExit as exc:  # how click ends every command, successful or not
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    exit_now(code)


# ---- projector quarantine (eventstore.projector) --------------------------------------------------

projector_app = typer.Typer(help="The read-model projector's quarantine: list and retry.", no_args_is_help=True)
app.add_typer(projector_app, name="projector")


@projector_app.command("quarantine")
def projector_quarantine(
    project: Annotated[str | None, typer.Option(help="Only this project's events.")] = None,
    resolved: Annotated[bool, typer.Option("--all", help="Include events resolved since.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Events the projector could not project (or held back behind one), with their error."""
    from eventstore.projector import list_quarantine

    rows = read(lambda pool: list_quarantine(pool, stream_id=project, include_resolved=resolved))

    def render() -> None:
        if not rows:
            out.print("nothing quarantined")
            return
        _table(rows, ["position", "stream_id", "version", "event_type", "reason", "attempts", "quarantined_at",
                      "resolved_at", "error"])

    emit(_dump(rows), as_json, render)


@projector_app.command("retry")
def projector_retry(
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


# ---- repair (eventstore.repair) ----------------------------------------------------------------


@app.command("repair")
def repair(project_id: str, as_json: JsonOpt = False) -> None:
    """Re-append a project's events missing from the event store, from its Temporal history (idempotent)."""
    from eventstore.repair import describe, repair_project
    from eventstore.store import EventStoreError
    from infra.db import create_pool

    async def go() -> Any:
        s = load_settings()
        if not s.database_url:
            raise ConfigError("DATABASE_URL is not set; point it at the event store to repair")
        client = await connect(s)
        pool = await create_pool(s.database_url, max_size=2)
        try:
            from infra import migrate

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


# ---- database (infra.migrate) -----------------------------------------------------------------------

db_app = typer.Typer(help="daiban's PostgreSQL: apply migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("migrate")
def db_migrate(
    dry_run: Annotated[bool, typer.Option(help="Only list the migrations not applied yet.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Apply daiban's migrations to DATABASE_URL (safe to repeat; workers and gateways only check)."""
    from infra import migrate

    async def go(pool: Any) -> list[str]:
        return await (migrate.pending(pool) if dry_run else migrate.apply(pool))

    try:
        versions = read(go)
    except migrate.MigrationError as exc:
        raise fail(str(exc)) from None
    verb = "pending" if dry_run else "applied"
    listed = ", ".join(versions) or "-"
    emit({verb: versions}, as_json, lambda: out.print(f"{len(versions)} migration(s) {verb}: {listed}"))
