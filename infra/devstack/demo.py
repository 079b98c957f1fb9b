"""Demo projects for ``make run``, driven to different stages so the UI has something real to show.

Each project is registered and advanced with the same updates a department system would send.
Everything is idempotent: project ids and decision ids are fixed, so a second ``make run``
finds the same projects and changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog

from infra.settings import Settings
from infra.temporal import connect
from interfaces.client import DaibanClient, DaibanError
from legalclock import CST
from schemas.project import (
    Commitment,
    Decision,
    DecisionKind,
    ProgressReport,
    RegisterProject,
    SubmitApplication,
    Withdraw,
)

log = structlog.get_logger(__name__)


def _project(
    project_id: str,
    name: str,
    enterprise: str,
    zone: str,
    investment_yuan: int,
    team: tuple[str, str, str],
    **more: Any,
) -> RegisterProject:
    """A demo registration; ``team``: agent, backup agent, project lead."""
    agent, backup_agent, project_lead = team
    return RegisterProject(
        project_id=project_id,
        name=name,
        enterprise=enterprise,
        zone=zone,
        investment_yuan=investment_yuan,
        agent=agent,
        backup_agent=backup_agent,
        project_lead=project_lead,
        **more,
    )


PROJECTS = [
    _project(
        "demo-yanhu-001",
        "标准化厂房二期",
        "天津霖霖节水设备有限公司",
        "yanhu",
        120_000_000,
        ("agent-li", "agent-wang", "lead-zhao"),
        standard_land_parcel=True,
    ),
    _project(
        "demo-tunliu-002",
        "新材料生产线",
        "轩卡新材料有限公司",
        "tunliu",
        500_000_000,
        ("agent-chen", "agent-li", "lead-zhao"),
        project_type="key",
    ),
    _project(
        "demo-yanhu-003",
        "年产4亿件卫生材料及医疗器械生产线",
        "山西百特辉医疗科技有限公司",
        "yanhu",
        80_000_000,
        ("agent-wang", "agent-chen", "lead-sun"),
        standard_land_parcel=True,
    ),
    _project(
        "demo-tunliu-004",
        "节能装备制造基地",
        "潞安节能装备有限公司",
        "tunliu",
        65_000_000,
        ("agent-li", "agent-chen", "lead-sun"),
    ),
    _project(
        "demo-yanhu-005",
        "物流仓储中心",
        "运城物流有限公司",
        "yanhu",
        30_000_000,
        ("agent-chen", "agent-wang", "lead-zhao"),
    ),
]


def _clerk(
    matter_code: str, department: str, decision_id: str, kind: DecisionKind = "approve", **more: Any
) -> Decision:
    """A decision by the department's clerk (``<department>-clerk`` unless ``decided_by`` says otherwise)."""
    fields: dict[str, Any] = {"decided_by": f"{department}-clerk", **more}
    return Decision(decision_id=decision_id, department=department, matter_code=matter_code, kind=kind, **fields)


async def apply_and_accept(c: DaibanClient, project_id: str, prefix: str, *, accept: bool = True) -> int:
    """The agent applies for every matter open to apply; the departments accept what they received
    (受理, unless ``accept`` is False). How many matters moved."""
    view = await c.state(project_id)
    moved = 0
    for m in view.matters:
        if m.state == "to_apply":
            signed = (
                Commitment(text_version="cn-2026-1", signed_by="法定代表人", signed_at=datetime.now(CST))
                if m.mode == "commitment"
                else None
            )
            application = SubmitApplication(
                matter_code=m.code, by=view.agent, materials=["申请表", "项目材料"], commitment=signed
            )
            await c.submit_application(project_id, application)
            moved += 1
    if accept:
        for m in (await c.state(project_id)).matters:
            if m.state == "received":
                await c.decide(
                    project_id, _clerk(m.code, m.department, f"{prefix}-accept-{m.code}-{m.submissions}", "accept")
                )
                moved += 1
    return moved


async def approve_pending(c: DaibanClient, project_id: str, prefix: str, stop_at: str) -> None:
    """Apply, accept and approve every matter, stage by stage, until the project reaches ``stop_at``."""
    for _ in range(30):
        view = await c.state(project_id)
        if view.stage == stop_at:
            return
        moved = await apply_and_accept(c, project_id, prefix)
        pending = [m for m in (await c.state(project_id)).matters if m.state == "pending"]
        if not pending and not moved:
            return
        for m in pending:
            await c.decide(project_id, _clerk(m.code, m.department, f"{prefix}-{m.code}-{m.submissions}"))


async def run_demo(settings: Settings) -> None:
    """Register the demo projects and drive each to its stage (through Temporal only)."""
    c = DaibanClient(await connect(settings, address=f"127.0.0.1:{settings.temporal_port}"), settings.task_queue)
    for reg in PROJECTS:
        await c.register(reg)
    try:
        # 001: through the first national stage, now waiting on engineering permits.
        await approve_pending(c, "demo-yanhu-001", "demo", "engineering_permit")
        # 002: established; the EIA came back for correction (clock stopped).
        await approve_pending(c, "demo-tunliu-002", "demo", "approval_land")
        # The agent applies; project filing (即办件) is accepted and decided on the spot; the EIA is
        # accepted (受理) and its clock runs; the land matters wait in the inbox to be accepted.
        await apply_and_accept(c, "demo-tunliu-002", "demo", accept=False)
        view = await c.state("demo-tunliu-002")
        if any(m.code == "project-filing" and m.state == "received" for m in view.matters):
            await c.decide("demo-tunliu-002", _clerk("project-filing", "approval", "demo-002-filing", instant=True))
        await apply_and_accept(c, "demo-tunliu-002", "demo", accept=False)
        if any(m.code == "eia" and m.state == "received" for m in (await c.state("demo-tunliu-002")).matters):
            await c.decide("demo-tunliu-002", _clerk("eia", "ecology", "demo-002-eia-accept", "accept"))
        if any(m.code == "eia" and m.state == "pending" for m in (await c.state("demo-tunliu-002")).matters):
            correction = _clerk(
                "eia",
                "ecology",
                "demo-002-eia-correction",
                "request_correction",
                decided_by="ecology-reviewer",
                items=["noise monitoring data"],
            )
            await c.decide("demo-tunliu-002", correction)
        # 003: all permits issued, under construction.
        await approve_pending(c, "demo-yanhu-003", "demo", "construction")
        if (await c.state("demo-yanhu-003")).stage == "construction":
            # A fixed request id: a second `make run` gets the first answer and records nothing.
            progress = ProgressReport(
                request_id="demo-003-progress-45", percent=45, note="主体结构封顶", by="agent-wang"
            )
            await c.report_progress("demo-yanhu-003", progress)
        # 004 waits at establishment. 005 was withdrawn by the enterprise.
        if (await c.state("demo-yanhu-005")).stage != "withdrawn":
            await approve_pending(c, "demo-yanhu-005", "demo", "approval_land")
            await c.withdraw(
                "demo-yanhu-005",
                Withdraw(
                    request_id="demo-005-withdraw", reason="enterprise changed its investment plan", by="agent-chen"
                ),
            )
    except DaibanError as exc:
        log.warning("demo step skipped", reason=str(exc))
