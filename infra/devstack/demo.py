"""Demo projects for ``make run``, driven to different stages so the UI has something real to show.

Each project is registered and advanced with the same updates a department system would send.
Everything is idempotent: project ids and decision ids are fixed, so a second ``make run``
finds the same projects and changes nothing.
"""

from __future__ import annotations

import structlog

from infra.settings import Settings
from infra.temporal import connect
from interfaces.client import DaibanClient, DaibanError
from schemas.project import Decision, ProgressReport, RegisterProject, Withdraw

log = structlog.get_logger(__name__)

PROJECTS = [
    RegisterProject(
        project_id="demo-yanhu-001",
        name="标准化厂房二期",
        enterprise="天津霖霖节水设备有限公司",
        zone="yanhu",
        investment_yuan=120_000_000,
        standard_land_parcel=True,
        agent="agent-li",
        backup_agent="agent-wang",
        project_lead="lead-zhao",
    ),
    RegisterProject(
        project_id="demo-tunliu-002",
        name="新材料生产线",
        enterprise="轩卡新材料有限公司",
        zone="tunliu",
        investment_yuan=500_000_000,
        project_type="key",
        agent="agent-chen",
        backup_agent="agent-li",
        project_lead="lead-zhao",
    ),
    RegisterProject(
        project_id="demo-yanhu-003",
        name="年产4亿件卫生材料及医疗器械生产线",
        enterprise="山西百特辉医疗科技有限公司",
        zone="yanhu",
        investment_yuan=80_000_000,
        standard_land_parcel=True,
        agent="agent-wang",
        backup_agent="agent-chen",
        project_lead="lead-sun",
    ),
    RegisterProject(
        project_id="demo-tunliu-004",
        name="节能装备制造基地",
        enterprise="潞安节能装备有限公司",
        zone="tunliu",
        investment_yuan=65_000_000,
        agent="agent-li",
        backup_agent="agent-chen",
        project_lead="lead-sun",
    ),
    RegisterProject(
        project_id="demo-yanhu-005",
        name="物流仓储中心",
        enterprise="运城物流有限公司",
        zone="yanhu",
        investment_yuan=30_000_000,
        agent="agent-chen",
        backup_agent="agent-wang",
        project_lead="lead-zhao",
    ),
]


async def approve_pending(c: DaibanClient, project_id: str, prefix: str, stop_at: str) -> None:
    """Approve every pending matter, stage by stage, until the project reaches ``stop_at``."""
    for _ in range(12):
        view = await c.state(project_id)
        if view.stage == stop_at:
            return
        pending = [m for m in view.matters if m.state == "pending"]
        if not pending:
            return
        for m in pending:
            await c.decide(
                project_id,
                Decision(
                    decision_id=f"{prefix}-{m.code}-{m.submissions}",
                    department=m.department,
                    matter_code=m.code,
                    kind="approve",
                    decided_by=f"{m.department}-clerk",
                ),
            )


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
        view = await c.state("demo-tunliu-002")
        if any(m.code == "project-filing" and m.state == "pending" for m in view.matters):
            await c.decide(
                "demo-tunliu-002",
                Decision(
                    decision_id="demo-002-filing",
                    department="approval",
                    matter_code="project-filing",
                    kind="approve",
                    decided_by="approval-clerk",
                    instant=True,
                ),
            )
        if any(m.code == "eia" and m.state == "pending" for m in (await c.state("demo-tunliu-002")).matters):
            await c.decide(
                "demo-tunliu-002",
                Decision(
                    decision_id="demo-002-eia-correction",
                    department="ecology",
                    matter_code="eia",
                    kind="request_correction",
                    decided_by="ecology-reviewer",
                    items=["noise monitoring data"],
                ),
            )
        # 003: all permits issued, under construction.
        await approve_pending(c, "demo-yanhu-003", "demo", "construction")
        if (await c.state("demo-yanhu-003")).stage == "construction":
            await c.report_progress("demo-yanhu-003", ProgressReport(percent=45, note="主体结构封顶", by="agent-wang"))
        # 004 waits at establishment. 005 was withdrawn by the enterprise.
        if (await c.state("demo-yanhu-005")).stage != "withdrawn":
            await approve_pending(c, "demo-yanhu-005", "demo", "approval_land")
            await c.withdraw(
                "demo-yanhu-005", Withdraw(reason="enterprise changed its investment plan", by="agent-chen")
            )
    except DaibanError as exc:
        log.warning("demo step skipped", reason=str(exc))
