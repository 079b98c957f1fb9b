"""``daiban``: the command line for agents, project leads and operators.

Tables in a terminal, ``--json`` for scripts. Exit code 0 on success; on error one line on
stderr and a non-zero code (2 bad input or configuration, 1 refused by the project).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from infra.settings import ConfigError, load_settings
from interfaces.client import CommandRejected, DaibanClient, DaibanError, NotReady, ProjectNotFound
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

app = typer.Typer(help="daiban: full-agency approval of investment projects, on Temporal.",
                  no_args_is_help=True, add_completion=False)
project_app = typer.Typer(help="Register, inspect and steer projects.", no_args_is_help=True)
app.add_typer(project_app, name="project")

out = Console()
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
        try:
            client = await asyncio.wait_for(
                DaibanClient.connect(s.temporal_address, s.temporal_namespace, s.task_queue), timeout=10
            )
        except Exception as exc:
            raise ConfigError(
                f"cannot reach Temporal at {s.temporal_address} ({type(exc).__name__}); "
                "start it with `make run` or set DAIBAN_TEMPORAL_ADDRESS"
            ) from None
        return await fn(client)

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
def register(file: Annotated[Path, typer.Argument(help="JSON file with the registration.")],
             as_json: JsonOpt = False) -> None:
    """Register a project (idempotent on its project_id)."""
    try:
        reg = RegisterProject.model_validate_json(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}") from None
    except ValidationError as exc:
        raise fail(f"{file}: {_field_error(exc)}") from None
    run_id = run(lambda c: c.register(reg))
    emit({"project_id": reg.project_id, "run_id": run_id}, as_json,
         lambda: out.print(f"registered [bold]{reg.project_id}[/] (run {run_id})"))


@project_app.command("list")
def list_projects(query: Annotated[str, typer.Option(help="Visibility query, e.g. \"DaibanOverdue = true\".")] = "",
                  as_json: JsonOpt = False) -> None:
    """Projects with their stage, agent, open departments and nearest deadline."""
    rows = run(lambda c: c.list_projects(query))

    def render() -> None:
        t = Table("project", "status", "zone", "stage", "agent", "open departments", "next deadline", "overdue")
        for r in rows:
            t.add_row(r["project_id"], r["status"], r["zone"] or "", r["stage"] or "", r["agent"] or "",
                      ", ".join(r["open_departments"]), str(r["next_deadline"] or ""), "YES" if r["overdue"] else "")
        out.print(t)

    emit(rows, as_json, render)


def render_view(v: ProjectView) -> None:
    out.print(f"[bold]{v.project_id}[/] {v.name} — {v.enterprise} (zone {v.zone}, {v.investment_yuan:,} yuan)")
    out.print(f"stage [bold]{v.stage}[/], agent {v.agent} (backup {v.backup_agent}), lead {v.project_lead}")
    out.print(v.waiting_for)
    t = Table("clock", "limit", "used", "left", "deadline", "")
    for c in v.clocks:
        t.add_row(c.clock_id, f"{c.limit_days:g}", f"{c.working_days_used:g}",
                  "" if c.working_days_left is None else f"{c.working_days_left:g}",
                  str(c.deadline or "stopped"), ("OVERDUE " if c.overdue else "") + ("provisional" if c.provisional else ""))
    out.print(t)
    t = Table("matter", "department", "stage", "mode", "state", "days left", "deadline", "obligations")
    for m in v.matters:
        c = m.clock
        left = "" if c is None or c.working_days_left is None else f"{c.working_days_left:g}"
        deadline = "" if c is None else ("stopped" if c.paused else str(c.deadline or ""))
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
    emit(result, as_json, lambda: out.print(f"{project_id}: {json.dumps(result.model_dump(mode='json'), ensure_ascii=False)}"))


@app.command("decide")
def decide(
    project_id: str,
    matter: Annotated[str, typer.Option(help="Matter code, e.g. eia.")],
    department: Annotated[str, typer.Option(help="Deciding department's code.")],
    kind: Annotated[str, typer.Option(help="approve | reject | request_correction | accept_with_tolerance | approve_on_commitment")],
    decision_id: Annotated[str, typer.Option(help="Unique id of this decision (retry-safe).")],
    by: Annotated[str, typer.Option(help="Who decided.")],
    reason: Annotated[list[str] | None, typer.Option(help="Reason (repeat for several).")] = None,
    item: Annotated[list[str] | None, typer.Option(help="Material owed or to correct (repeat).")] = None,
    instant: Annotated[bool, typer.Option(help="Decided on the spot (即办件).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Send a department's decision on a matter."""
    d = build(Decision, decision_id=decision_id, department=department, matter_code=matter, kind=kind,
              decided_by=by, reasons=reason or [], items=item or [], instant=instant)
    _ack(project_id, lambda c: c.decide(project_id, d), as_json)


@app.command("verify")
def verify(project_id: str, matter: Annotated[str, typer.Option()], department: Annotated[str, typer.Option()],
           decision_id: Annotated[str, typer.Option()], by: Annotated[str, typer.Option()],
           passed: Annotated[bool, typer.Option("--passed/--failed")] = True,
           findings: Annotated[str, typer.Option()] = "", as_json: JsonOpt = False) -> None:
    """Record the after-the-fact verification of a commitment-based approval."""
    v = build(Verification, decision_id=decision_id, department=department, matter_code=matter,
              passed=passed, by=by, findings=findings)
    _ack(project_id, lambda c: c.verify(project_id, v), as_json)


@project_app.command("supply")
def supply(project_id: str, matter: Annotated[str, typer.Option()], by: Annotated[str, typer.Option()],
           item: Annotated[list[str], typer.Option(help="Material supplied (repeat).")], as_json: JsonOpt = False) -> None:
    """The agent supplies correction materials or materials owed under tolerance."""
    cmd = build(SupplyMaterials, matter_code=matter, by=by, items=item)
    _ack(project_id, lambda c: c.supply_materials(project_id, cmd), as_json)


@project_app.command("resubmit")
def resubmit(project_id: str, matter: Annotated[str, typer.Option()], by: Annotated[str, typer.Option()],
             note: Annotated[str, typer.Option()] = "", as_json: JsonOpt = False) -> None:
    """Resubmit a rejected matter after fixing it."""
    cmd = build(Resubmit, matter_code=matter, by=by, note=note)
    _ack(project_id, lambda c: c.resubmit(project_id, cmd), as_json)


@project_app.command("stop-clock")
def stop_clock(project_id: str, matter: Annotated[str, typer.Option()], department: Annotated[str, typer.Option()],
               kind: Annotated[str, typer.Option(help="expert_review | hearing | testing | public_notice")],
               reason: Annotated[str, typer.Option()], as_json: JsonOpt = False) -> None:
    """Stop a matter's clock (time that does not count toward the limit)."""
    cmd = build(StopClock, matter_code=matter, department=department, kind=kind, reason=reason)
    _ack(project_id, lambda c: c.stop_clock(project_id, cmd), as_json)


@project_app.command("resume-clock")
def resume_clock(project_id: str, matter: Annotated[str, typer.Option()], department: Annotated[str, typer.Option()],
                 as_json: JsonOpt = False) -> None:
    """Restart a stopped clock."""
    cmd = build(ResumeClock, matter_code=matter, department=department)
    _ack(project_id, lambda c: c.resume_clock(project_id, cmd), as_json)


@project_app.command("extend")
def extend(project_id: str, matter: Annotated[str, typer.Option()], department: Annotated[str, typer.Option()],
           days: Annotated[float, typer.Option()], approved_by: Annotated[str, typer.Option()],
           reason: Annotated[str, typer.Option()], as_json: JsonOpt = False) -> None:
    """Extend a matter's limit once, with the agency head's approval."""
    cmd = build(ExtendLimit, matter_code=matter, department=department, days=days, approved_by=approved_by, reason=reason)
    _ack(project_id, lambda c: c.extend_limit(project_id, cmd), as_json)


@project_app.command("reassign")
def reassign(project_id: str, to: Annotated[str, typer.Option(help="The new agent.")],
             by: Annotated[str, typer.Option()], reason: Annotated[str, typer.Option()], as_json: JsonOpt = False) -> None:
    """Hand the project to the backup agent or a new agent."""
    cmd = build(ReassignAgent, to_agent=to, by=by, reason=reason)
    _ack(project_id, lambda c: c.reassign_agent(project_id, cmd), as_json)


@project_app.command("progress")
def progress(project_id: str, percent: Annotated[int, typer.Option()], by: Annotated[str, typer.Option()],
             note: Annotated[str, typer.Option()] = "", as_json: JsonOpt = False) -> None:
    """Report construction progress; 100 starts the joint completion acceptance."""
    cmd = build(ProgressReport, percent=percent, note=note, by=by)
    _ack(project_id, lambda c: c.report_progress(project_id, cmd), as_json)


@project_app.command("resolve-meeting")
def resolve_meeting(project_id: str, meeting: Annotated[str, typer.Option()], resolution: Annotated[str, typer.Option()],
                    by: Annotated[str, typer.Option()], as_json: JsonOpt = False) -> None:
    """Record a joint meeting's resolution."""
    cmd = build(ResolveMeeting, meeting_id=meeting, resolution=resolution, by=by)
    _ack(project_id, lambda c: c.resolve_meeting(project_id, cmd), as_json)


@project_app.command("withdraw")
def withdraw(project_id: str, reason: Annotated[str, typer.Option()], by: Annotated[str, typer.Option()],
             as_json: JsonOpt = False) -> None:
    """Withdraw a project at any stage; open matters are closed."""
    cmd = build(Withdraw, reason=reason, by=by)
    _ack(project_id, lambda c: c.withdraw(project_id, cmd), as_json)


def _mount_optional() -> None:
    # The calendar commands live with the legal clock.
    from legalclock.cli import app as calendar_app

    app.add_typer(calendar_app, name="calendar", help="Official working-day calendar: add, count, show, load.")


_mount_optional()


def main() -> None:
    """Console-script entry point."""
    app()
