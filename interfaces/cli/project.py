"""``daiban project ...``: register, list, show, timeline, and the agent's and operator's commands.

Each command's verb is its update's name with dashes (``supply_materials`` -> ``project
supply-materials``); the verbs of earlier versions stay as hidden aliases (``ALIASES``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from interfaces.cli.common import (
    JsonOpt,
    RequestIdOpt,
    acknowledge,
    build,
    emit,
    fail,
    field_error,
    out,
    read,
    run,
    table,
)
from schemas.project import (
    ConfirmDeadline,
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
    Withdraw,
)
from workflows.project import RetryFaulted

app = typer.Typer(help="Register, inspect and steer projects.", no_args_is_help=True)
# Verbs of version 1 -> the update's verb; still accepted, hidden from the help.
ALIASES = {
    "supply": "supply-materials",
    "extend": "extend-limit",
    "reassign": "reassign-agent",
    "progress": "report-progress",
}


@app.command("register")
def register(
    file: Annotated[Path, typer.Argument(help="JSON file with the registration.")], as_json: JsonOpt = False
) -> None:
    """Register a project (idempotent on its project_id)."""
    try:
        reg = RegisterProject.model_validate_json(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}") from None
    except ValidationError as exc:
        raise fail(f"{file}: {field_error(exc)}") from None
    run_id = run(lambda c: c.register(reg))
    emit(
        {"project_id": reg.project_id, "run_id": run_id},
        as_json,
        lambda: out.print(f"registered [bold]{reg.project_id}[/] (run {run_id})"),
    )


@app.command("list")
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
                r.project_id,
                r.status,
                r.zone or "",
                r.stage or "",
                r.agent or "",
                ", ".join(r.open_departments),
                str(r.next_deadline or ""),
                "YES" if r.overdue else "",
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


@app.command("show")
def show(project_id: str, as_json: JsonOpt = False) -> None:
    """Stages, matters, clocks with working days left, obligations."""
    view = run(lambda c: c.state(project_id))
    emit(view, as_json, lambda: render_view(view))


@app.command("timeline")
def timeline(project_id: str, as_json: JsonOpt = False) -> None:
    """A project's story from the event store, one line per event."""
    from eventstore.queries import project_timeline

    rows = read(lambda pool: project_timeline(pool, project_id))
    if not rows:
        raise fail(f"project_id: no events for {project_id!r}")
    emit(rows, as_json, lambda: table(rows, ["version", "occurred_at", "event_type", "summary"]))


# ---- commands: the verb is the update's name ------------------------------------------------------


@app.command("supply-materials")
def supply_materials(
    project_id: str,
    matter: Annotated[str, typer.Option()],
    by: Annotated[str, typer.Option()],
    item: Annotated[list[str], typer.Option(help="Material supplied (repeat).")],
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The agent supplies correction materials or materials owed under tolerance."""
    cmd = build(SupplyMaterials, request_id=request_id, matter_code=matter, by=by, items=item)
    acknowledge(project_id, lambda c: c.supply_materials(project_id, cmd), as_json)


@app.command("resubmit")
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
    acknowledge(project_id, lambda c: c.resubmit(project_id, cmd), as_json)


@app.command("stop-clock")
def stop_clock(
    project_id: str,
    matter: Annotated[str, typer.Option()],
    department: Annotated[str, typer.Option()],
    kind: Annotated[str, typer.Option(help="expert_review | hearing | testing | public_notice | ...")],
    reason: Annotated[str, typer.Option()],
    expected_days: Annotated[
        float | None, typer.Option(help="Working days the procedure is expected to take (told to the applicant).")
    ] = None,
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stop a matter's clock (time that does not count toward the limit)."""
    cmd = build(
        StopClock,
        request_id=request_id,
        matter_code=matter,
        department=department,
        kind=kind,
        reason=reason,
        expected_days=expected_days,
    )
    acknowledge(project_id, lambda c: c.stop_clock(project_id, cmd), as_json)


@app.command("resume-clock")
def resume_clock(
    project_id: str,
    matter: Annotated[str, typer.Option()],
    department: Annotated[str, typer.Option()],
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Restart a stopped clock."""
    cmd = build(ResumeClock, request_id=request_id, matter_code=matter, department=department)
    acknowledge(project_id, lambda c: c.resume_clock(project_id, cmd), as_json)


@app.command("extend-limit")
def extend_limit(
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
    acknowledge(project_id, lambda c: c.extend_limit(project_id, cmd), as_json)


@app.command("reassign-agent")
def reassign_agent(
    project_id: str,
    to: Annotated[str, typer.Option(help="The new agent.")],
    by: Annotated[str, typer.Option()],
    reason: Annotated[str, typer.Option()],
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hand the project to the backup agent or a new agent."""
    cmd = build(ReassignAgent, request_id=request_id, to_agent=to, by=by, reason=reason)
    acknowledge(project_id, lambda c: c.reassign_agent(project_id, cmd), as_json)


@app.command("report-progress")
def report_progress(
    project_id: str,
    percent: Annotated[int, typer.Option()],
    by: Annotated[str, typer.Option()],
    note: Annotated[str, typer.Option()] = "",
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Report construction progress; 100 starts the joint completion acceptance."""
    cmd = build(ProgressReport, request_id=request_id, percent=percent, note=note, by=by)
    acknowledge(project_id, lambda c: c.report_progress(project_id, cmd), as_json)


@app.command("complete")
def complete(
    project_id: str,
    by: Annotated[str, typer.Option()],
    note: Annotated[str, typer.Option()] = "",
    as_json: JsonOpt = False,
) -> None:
    """Construction is finished: report 100% progress, which starts the joint completion acceptance."""
    acknowledge(project_id, lambda c: c.complete_construction(project_id, by, note), as_json)


@app.command("resolve-meeting")
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
    acknowledge(project_id, lambda c: c.resolve_meeting(project_id, cmd), as_json)


@app.command("withdraw")
def withdraw(
    project_id: str,
    reason: Annotated[str, typer.Option()],
    by: Annotated[str, typer.Option()],
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Withdraw a project at any stage; open matters are closed."""
    cmd = build(Withdraw, request_id=request_id, reason=reason, by=by)
    acknowledge(project_id, lambda c: c.withdraw(project_id, cmd), as_json)


@app.command("retry-faulted")
def retry_faulted(
    project_id: str,
    by: Annotated[str, typer.Option(help="The operator asking.")],
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """After the cause of a fault is repaired: the project tries its refused batch again."""
    cmd = build(RetryFaulted, request_id=request_id, by=by)
    acknowledge(project_id, lambda c: c.retry_faulted(project_id, cmd), as_json)


@app.command("confirm-deadline")
def confirm_deadline(
    project_id: str,
    clock: Annotated[str, typer.Option(help="The clock whose provisional deadline is confirmed, e.g. matter:eia:1.")],
    by: Annotated[str, typer.Option(help="The operator confirming.")],
    reason: Annotated[str, typer.Option(help="Why (recorded).")],
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Confirm a provisional deadline so the deemed approval held on it is taken (超时默认)."""
    cmd = build(ConfirmDeadline, request_id=request_id, clock_id=clock, by=by, reason=reason)
    acknowledge(project_id, lambda c: c.confirm_deadline(project_id, cmd), as_json)


_BY_VERB: dict[str, Callable[..., None]] = {
    "supply-materials": supply_materials,
    "extend-limit": extend_limit,
    "reassign-agent": reassign_agent,
    "report-progress": report_progress,
}
for _old, _verb in ALIASES.items():
    app.command(_old, hidden=True, help=f"Old name of `project {_verb}`.")(_BY_VERB[_verb])
