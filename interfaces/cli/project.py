"""``daiban project ...``: register, list, show, timeline, and the agent's and operator's commands.

Each command's verb is its update's name with dashes (``supply_materials`` -> ``project
supply-materials``); the verbs of earlier versions stay as hidden aliases (``ALIASES``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from infra.settings import load_settings
from interfaces.cli.common import (
    HELP_STYLE,
    JsonOpt,
    Opt,
    ProjectArg,
    RequestIdOpt,
    acknowledge,
    build,
    cell,
    emit,
    fail,
    field_error,
    fields_table,
    out,
    read,
    run,
    show_table,
    table,
    update_command,
)
from interfaces.cli.migrate import migrate_content
from interfaces.client import DaibanClient
from interfaces.usecases import check_registration
from schemas import bounded, commands
from schemas import project as p
from schemas.contact import EnterpriseContact

app = typer.Typer(help="Register, inspect and steer projects.", no_args_is_help=True, **HELP_STYLE)
# Verbs of version 1 -> the update's verb; still accepted, hidden from the help.
ALIASES = {
    "supply": "supply-materials",
    "extend": "extend-limit",
    "reassign": "reassign-agent",
    "progress": "report-progress",
}


@app.command("register")
def register(
    file: Annotated[Path, typer.Argument(help="JSON file with the registration.")],
    eia_category: Annotated[
        p.EiaCategory | None,
        typer.Option(help="EIA category (环境影响评价法 §16): report, report_form or registration_form."),
    ] = None,
    lightning_special_site: Annotated[
        bool | None, typer.Option(help="A special site for lightning protection (flammable, explosive...).")
    ] = None,
    special_construction: Annotated[
        bool | None, typer.Option(help="A special construction project (特殊建设工程): fire design review.")
    ] = None,
    water_abstraction: Annotated[
        bool | None, typer.Option(help="Abstracts water directly from rivers, lakes or the ground.")
    ] = None,
    pollutant_permit: Annotated[
        p.PollutantPermit | None, typer.Option(help="Pollutant-discharge permit: none, simplified or key.")
    ] = None,
    standard_land_parcel: Annotated[bool | None, typer.Option(help="A standard land parcel (标准地).")] = None,
    project_scale: Annotated[
        p.ProjectScale | None,
        typer.Option(help="Scale (大型/中型/小型): large, medium or small (drawing review limit: 住建部令第13号 §12)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a project (idempotent on its project_id); options set the project facts over the file's.

    The file's ``contact`` (person, phone, legal_rep_id_number: personal data) is stored encrypted in
    PostgreSQL (DAIBAN_CONTACT_KEYS), never sent to Temporal."""
    facts = {
        "eia_category": eia_category,
        "lightning_special_site": lightning_special_site,
        "special_construction": special_construction,
        "water_abstraction": water_abstraction,
        "pollutant_permit": pollutant_permit,
        "standard_land_parcel": standard_land_parcel,
        "project_scale": project_scale,
    }
    contact: EnterpriseContact | None = None
    try:
        data = bounded.loads(file.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise fail(f"{file}: the registration must be a JSON object")
        if data.get("contact") is not None:  # personal data: to PostgreSQL, encrypted, never to Temporal
            contact = contact_of(file, data.pop("contact"))
        data.pop("contact", None)
        reg = p.RegisterProject.model_validate({**data, **{k: v for k, v in facts.items() if v is not None}})
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise fail(f"{file}: not JSON ({exc.msg}, line {exc.lineno})") from None
    except bounded.DuplicateKey as exc:
        raise fail(f"{file}: {exc}") from None
    except ValidationError as exc:
        raise fail(f"{file}: {field_error(exc)}") from None

    async def go(c: DaibanClient) -> tuple[str, bool, bool]:
        """Run id, whether this call created the project, whether it is running."""
        settings = load_settings()
        if settings.database_url:  # the zone in force, before anything starts (as the gateway does)
            from infra.db import create_pool

            pool = await create_pool(settings.database_url, min_size=0, max_size=1)
            try:
                await check_registration(pool, reg)
            finally:
                await pool.close()
        existing = await c.existing_run(reg.project_id)
        if existing is not None and not existing.running and await c.start_refused(reg.project_id):
            existing = None  # its start was refused (an unknown zone): registered again, as the client does
        if existing is not None:
            if contact is not None:
                await c.set_contact(reg.project_id, contact)
            return existing.run_id, False, existing.running
        return await c.register(reg, contact), True, True

    run_id, created, running = run(go, contacts=contact is not None)
    said = "registered" if created else "already registered" + ("" if running else " (finished)")
    emit(
        {"project_id": reg.project_id, "run_id": run_id, "created": created},
        as_json,
        lambda: out.print(f"{said} [bold]{reg.project_id}[/] (run {run_id})"),
    )


def contact_of(file: Path, data: object) -> EnterpriseContact:
    """A contact read from ``file`` (JSON), or exit naming every bad field (the values are not printed)."""
    try:
        return EnterpriseContact.model_validate(data)
    except ValidationError as exc:
        raise fail(f"{file}: contact: {field_error(exc)}") from None


@app.command("contact")
def contact(
    project_id: ProjectArg,
    set_file: Annotated[
        Path | None,
        typer.Option(
            "--set", help="A JSON file with the contact (person, phone, legal_rep_id_number) to store for the project."
        ),
    ] = None,
    replace: Annotated[bool, typer.Option(help="With --set: replace a contact already stored.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The enterprise's contact (personal data), read or stored encrypted in PostgreSQL, never in Temporal.

    With DAIBAN_TOKEN: the project's agent, backup, lead or an operator of its zone only."""
    new: EnterpriseContact | None = None
    if set_file is not None:
        try:
            new = contact_of(set_file, bounded.loads(set_file.read_text(encoding="utf-8")))
        except OSError as exc:
            raise fail(f"{set_file}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise fail(f"{set_file}: not JSON ({exc.msg}, line {exc.lineno})") from None
        except bounded.DuplicateKey as exc:
            raise fail(f"{set_file}: {exc}") from None

    async def go(c: DaibanClient) -> EnterpriseContact | None:
        if new is not None:
            return await c.set_contact(project_id, new, replace=replace)
        return await c.contact(project_id)

    found = run(go, contacts=True)
    if found is None:
        raise fail(f"contact: no contact stored for {project_id!r}")
    shown = found.model_dump()

    def render() -> None:
        out.print(f"[bold]{project_id}[/] {'contact stored' if new is not None else 'contact'}")
        fields_table(shown)

    emit(shown, as_json, render)


# The server marks a workflow whose task keeps failing (after about a minute of attempts).
STUCK = "TemporalReportedProblems IS NOT NULL"


@app.command("list")
def list_projects(
    query: Annotated[str, typer.Option(help='Visibility query, e.g. "DaibanOverdue = true".')] = "",
    stuck: Annotated[
        bool, typer.Option(help="Only projects whose workflow task keeps failing (README: when a project is stuck).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Projects with their stage, agent, open departments and nearest deadline."""
    if stuck:
        query = f"({query}) AND {STUCK}" if query else STUCK
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
                cell(r.next_deadline),
                "YES" if r.overdue else "",
            )
        show_table(t)

    emit(rows, as_json, render)


def render_view(v: p.ProjectView) -> None:
    out.print(f"[bold]{v.project_id}[/] {v.name} — {v.enterprise} (zone {v.zone}, {v.investment_yuan:,} yuan)")
    out.print(f"stage [bold]{v.stage}[/], agent {v.agent} (backup {v.backup_agent}), lead {v.project_lead}")
    out.print(v.waiting_for)
    t = Table("clock", "limit", "used", "left", "deadline", "")
    for c in v.clocks:
        t.add_row(
            c.clock_id,
            f"{c.limit_days:g}" + (" 日" if c.limit_counted == "days" else ""),
            f"{c.working_days_used:g}",
            "" if c.working_days_left is None else f"{c.working_days_left:g}",
            cell(c.deadline) or "stopped",
            ("OVERDUE " if c.overdue else "") + ("provisional" if c.provisional else ""),
        )
    show_table(t)
    t = Table("matter", "department", "stage", "mode", "state", "days left", "deadline", "obligations", "licence")
    for m in v.matters:
        mc = m.clock
        left = "" if mc is None or mc.working_days_left is None else f"{mc.working_days_left:g}"
        deadline = "" if mc is None else ("stopped" if mc.paused else cell(mc.deadline))
        if mc is not None and mc.received_at is not None:  # the limit counts from the receipt, the promise not
            deadline += " (limit from receipt)"
        if mc is not None and mc.promised_deadline is not None and not mc.paused:  # the zone's promise (承诺时限)
            deadline += f"; promised {cell(mc.promised_deadline)}"
        obligations = ", ".join(f"{o.kind}:{o.state}" for o in m.obligations)
        licence = " ".join(x for x in (m.license_no, m.license_status) if x)
        if m.permit_expires_at is not None:  # construction must start by then (建筑法 §9)
            licence += f" (start by {m.permit_expires_at:%Y-%m-%d})"
        t.add_row(
            m.code, m.department, m.stage, m.approval_mode or m.mode, m.state, left, deadline, obligations, licence
        )
    show_table(t)
    for meeting in v.meetings:
        out.print(f"joint meeting {meeting.meeting_id} on {meeting.clock_id}: {meeting.resolution or 'open'}")


@app.command("show")
def show(project_id: ProjectArg, as_json: JsonOpt = False) -> None:
    """Stages, matters, clocks with working days left, obligations."""
    view = run(lambda c: c.state(project_id))
    emit(view, as_json, lambda: render_view(view))


@app.command("timeline")
def timeline(project_id: ProjectArg, as_json: JsonOpt = False) -> None:
    """A project's story from the event store, one line per event."""
    from eventstore.queries import project_timeline

    rows = read(lambda pool: project_timeline(pool, project_id))
    if not rows:
        raise fail(f"project_id: no events for {project_id!r}")
    emit(rows, as_json, lambda: table(rows, ["version", "occurred_at", "event_type", "summary"]))


@app.command("licences")
def licences(project_id: ProjectArg, as_json: JsonOpt = False) -> None:
    """E-licences with their status: valid, suspended (容缺 materials overdue), lapsed (建筑法 §9), revoked."""
    from eventstore.queries import project_licences

    rows = read(lambda pool: project_licences(pool, project_id))
    if not rows:
        raise fail(f"project_id: no e-licences for {project_id!r}")
    columns = ["license_no", "matter_code", "status", "status_reason", "issued_at", "issuing_body", "seal"]
    emit(rows, as_json, lambda: table(rows, columns))


@app.command("flowchart")
def flowchart(
    project_id: str,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the SVG to this file (.svg) instead of stdout.")
    ] = None,
) -> None:
    """The standard flowchart of all matters (全事项办理标准流程图) of a project's checklist, as SVG:
    stages, matters, dependencies, departments, statutory and promised limits."""
    from catalog.flowchart import flowchart_svg
    from eventstore.pictures import flowchart_inputs

    if output is not None and output.suffix.lower() != ".svg":
        raise fail(f"--output: {output.name!r} must end in .svg")
    inputs = read(lambda pool: flowchart_inputs(pool, project_id))
    if inputs is None:
        raise fail(f"project_id: no registration of {project_id!r} in the event store")
    svg = flowchart_svg(inputs.catalog, inputs.checklist, zone=inputs.zone)
    if output is None:
        print(svg)
    else:
        output.write_text(svg, encoding="utf-8")
        out.print(f"flowchart of {project_id} ({len(inputs.checklist)} matters) written to {output}")


@app.command("checklist")
def checklist(project_id: str, as_json: JsonOpt = False) -> None:
    """The one-time checklist (一次性告知清单): per matter the process, legal basis, conditions,
    materials, statutory and promised limits (working days), fee and the department's contact."""
    from catalog.guide import GuideRow, guide_rows
    from eventstore.guides import project_guide

    guide = read(lambda pool: project_guide(pool, project_id))
    if guide is None:
        raise fail(f"project_id: no registration for {project_id!r}")

    def render() -> None:
        out.print(f"{guide.name} ({guide.enterprise}), zone {guide.zone_name}, type {guide.project_type_name}")
        out.print(f"agent {guide.agent}, backup {guide.backup_agent}, lead {guide.project_lead}")
        rows = guide_rows(guide)
        table(rows, list(GuideRow.model_fields))
        if guide.placeholder_contacts:
            out.print("(placeholder) contacts are the zone's to fill in (zone data: departments)")

    emit(guide, as_json, render)


# ---- commands: the verb is the name of the command (schemas.commands) -----------------------------


def complete(
    project_id: ProjectArg,
    by: Annotated[str, typer.Option(help="The agent reporting it (recorded).")],
    note: Annotated[str, typer.Option(help="A note (recorded).")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Construction is finished: report 100% progress, which starts the joint completion acceptance."""
    acknowledge(project_id, lambda c: c.complete_construction(project_id, by, note), as_json)


def submit_application(
    project_id: ProjectArg,
    matter: Annotated[str, typer.Option(help="Matter code, e.g. eia.")],
    by: Annotated[str, typer.Option(help="The agent applying.")],
    material: Annotated[list[str], typer.Option(help="A material of the application (repeat).")],
    commitment_text: Annotated[
        str | None, typer.Option(help="A commitment matter (告知承诺): the version of the text the enterprise signed.")
    ] = None,
    signed_by: Annotated[str | None, typer.Option(help="Who signed the commitment.")] = None,
    signed_at: Annotated[str | None, typer.Option(help="When, ISO 8601 with its offset.")] = None,
    request_id: RequestIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply for a matter with its materials; the department has its period to accept it (5 working
    days by 行政许可法 §32 unless the matter's rule sets another)."""
    signed = {"text_version": commitment_text, "signed_by": signed_by, "signed_at": signed_at}
    cmd = build(
        commands.SUBMIT_APPLICATION.request,
        request_id=request_id,
        matter_code=matter,
        by=by,
        materials=material,
        commitment=signed if commitment_text is not None else None,
    )
    acknowledge(project_id, lambda c: c.send(commands.SUBMIT_APPLICATION, project_id, cmd), as_json)


MATTER = Opt("matter", field="matter_code")
DEPARTMENT = Opt("department")
BY = Opt("by")
REASON = Opt("reason")
NOTE = Opt("note", default="")

# The commands, in the order of the help; each verb is the command's name with dashes.
_COMMANDS: list[Callable[..., None]] = [
    submit_application,
    update_command(
        commands.SUPPLY_MATERIALS,
        "The agent completes an application after a completion notice, supplies correction materials, or "
        "materials owed under tolerance.",
        MATTER,
        BY,
        Opt("item", list[str], "Material supplied (repeat).", field="items"),
    ),
    update_command(commands.RESUBMIT, "Apply again for a rejected matter after fixing it.", MATTER, BY, NOTE),
    update_command(
        commands.STOP_CLOCK,
        "Stop a matter's clock (time that does not count toward the limit).",
        MATTER,
        DEPARTMENT,
        Opt("kind", help="expert_review | hearing | testing | public_notice | ..."),
        REASON,
        Opt(
            "expected_days",
            float | None,
            "Working days the procedure is expected to take (told to the applicant).",
            default=None,
        ),
    ),
    update_command(commands.RESUME_CLOCK, "Restart a stopped clock.", MATTER, DEPARTMENT),
    update_command(
        commands.EXTEND_LIMIT,
        "Extend a matter's limit once, with the agency head's approval.",
        MATTER,
        DEPARTMENT,
        Opt("days", float),
        Opt("approved_by"),
        REASON,
    ),
    update_command(
        commands.REASSIGN_AGENT,
        "Hand the project to the backup agent or a new agent.",
        Opt("to", help="The new agent.", field="to_agent"),
        BY,
        REASON,
    ),
    update_command(
        commands.REPORT_PROGRESS,
        "Report construction progress; 100 starts the joint completion acceptance.",
        Opt("percent", int),
        BY,
        NOTE,
    ),
    complete,
    update_command(
        commands.RESOLVE_MEETING,
        "Record a joint meeting's resolution.",
        Opt("meeting", field="meeting_id"),
        Opt("resolution"),
        BY,
    ),
    update_command(commands.WITHDRAW, "Withdraw a project at any stage; open matters are closed.", REASON, BY),
    update_command(
        commands.RETRY_FAULTED,
        "After the cause of a fault is repaired: the project tries its refused batch again.",
        Opt("by", help="The operator asking."),
    ),
    update_command(
        commands.CONFIRM_DEADLINE,
        "Confirm a provisional deadline so the deemed approval held on it is taken (超时默认).",
        Opt("clock", help="The clock whose provisional deadline is confirmed, e.g. matter:eia:1.", field="clock_id"),
        Opt("by", help="The operator confirming."),
        Opt("reason", help="Why (recorded)."),
    ),
    migrate_content,
    update_command(
        commands.ADOPT_CALENDAR,
        "Recompute the project's open deadlines on a newly loaded official calendar (daiban calendar load "
        "does it for every running project; this one project, e.g. one it could not tell).",
        Opt("version", help="The calendar's content version, as daiban calendar load printed it."),
        Opt("by", help="The operator asking."),
    ),
    update_command(
        commands.RATE,
        "The enterprise rates a decided matter or the agent (好差评); a bad rating opens callback and fix clocks.",
        Opt("target", help="matter | agent"),
        Opt("matter", str | None, "The matter rated (target matter).", default=None, field="matter_code"),
        Opt("grade", help="very_good | good | average | bad | very_bad (非常满意 ... 非常不满意)"),
        Opt("text", default="", help="What the enterprise says."),
        Opt("by", help="Who rates for the enterprise."),
    ),
    update_command(
        commands.RECORD_CALLBACK,
        "Record the callback (回访) on a bad rating: the matter's department or the project lead.",
        Opt("rating", help="The rating id, e.g. matter:eia or agent:agent-wang.", field="rating_id"),
        Opt("note"),
        BY,
    ),
    update_command(
        commands.RECORD_FIX,
        "Record the fix (整改) of a bad rating, after its callback.",
        Opt("rating", help="The rating id, e.g. matter:eia or agent:agent-wang.", field="rating_id"),
        Opt("note"),
        BY,
    ),
]
COMMANDS = {command.__name__.replace("_", "-"): command for command in _COMMANDS}
for _verb, _command in COMMANDS.items():
    app.command(_verb)(_command)
for _old, _verb in ALIASES.items():
    app.command(_old, hidden=True, help=f"Old name of `project {_verb}`.")(COMMANDS[_verb])
