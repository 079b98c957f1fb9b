"""Small factories shared by the tests: registrations, pure lifecycle machines, commands, drivers.

Everything here is pure and fast (no Temporal, no PostgreSQL): a machine is built the way
``ProjectWorkflow`` builds it (content looked up by version, ``register`` then ``advance``) and
driven through its public command gate, ``check`` / ``execute``, with an explicit instant.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, TypeAdapter

from catalog.content import ContentVersions, content_hash
from catalog.load import default_catalog
from catalog.models import ProjectFacts, ZonePolicy, check_zone, derive_checklist
from legalclock import CST, Clock, OfficialCalendar, YearCalendar, default_calendar, provisional_holidays
from legalclock.clock import Counted
from schemas.effects import Batch
from schemas.events import EventEnvelope
from schemas.project import (
    Ack,
    Commitment,
    Decision,
    DecisionKind,
    DecisionResult,
    ExtendLimit,
    ProgressReport,
    ProjectType,
    ReassignAgent,
    RegisterProject,
    ResolveMeeting,
    Resubmit,
    ResumeClock,
    StopClock,
    SubmitApplication,
    SupplyMaterials,
    Verification,
    Withdraw,
)
from schemas.stages import Stage
from workflows.lifecycle import ProjectContext, ProjectMachine, ProjectState

# Monday 2 March 2026, 09:00 Beijing time: a working day, clear of every holiday for weeks.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)

M = TypeVar("M", bound=BaseModel)
StopKind = Literal["expert_review", "hearing", "testing", "public_notice"]

# Stage order, for "approve until stage X".
LIFECYCLE = (
    Stage.REGISTERED,
    Stage.ESTABLISHMENT,
    Stage.APPROVAL_LAND,
    Stage.ENGINEERING_PERMIT,
    Stage.CONSTRUCTION_PERMIT,
    Stage.CONSTRUCTION,
    Stage.COMPLETION_ACCEPTANCE,
    Stage.IN_PRODUCTION,
)

# The six acceptances of the completion stage (联合验收) of a special construction project on a
# special lightning site (``registration``'s default), in catalog order.
COMPLETION_ACCEPTANCES = [
    "planning-verification",
    "land-verification",
    "fire-acceptance",
    "air-defence-acceptance",
    "lightning-acceptance",
    "archives-acceptance",
]


def rid() -> str:
    """A fresh request id for a command."""
    return f"t-{uuid.uuid4().hex[:16]}"


# ---- registration and machines --------------------------------------------------------------


def registration(
    project_id: str | None = None,
    *,
    zone: str = "yanhu",
    project_type: ProjectType = "general",
    standard_land_parcel: bool = False,
    special_construction: bool = True,
    lightning_special_site: bool = True,
    agent: str = "agent-li",
    backup_agent: str = "agent-wang",
    project_lead: str = "lead-zhao",
) -> RegisterProject:
    """A project's registration (签约入库), with a fresh project id unless one is given.

    By default a special construction project (特殊建设工程) on a special lightning site, so that
    every public-safety matter of the catalog (fire design review and acceptance, the lightning
    review and acceptance) is on its checklist.
    """
    return RegisterProject(
        project_id=project_id or f"p-{uuid.uuid4().hex[:10]}",
        name="年产4亿件卫生材料生产线",
        enterprise="山西百特辉医疗科技有限公司",
        zone=zone,
        project_type=project_type,
        investment_yuan=80_000_000,
        standard_land_parcel=standard_land_parcel,
        special_construction=special_construction,
        lightning_special_site=lightning_special_site,
        agent=agent,
        backup_agent=backup_agent,
        project_lead=project_lead,
    )


# The test zones (``tests/zones.json``): codes ``yanhu`` and ``tunliu`` with the feature set the
# lifecycle tests exercise (regional assessments, deemed approval, commitment, the half-day
# promise, stage limits and caps) -- not the source's zones, which are ``catalog/data/zones.json``
# (tested in ``tests/catalog``). ``tests/conftest.py`` loads them into the session's database.
TEST_ZONES_FILE = Path(__file__).parent / "zones.json"


@lru_cache(maxsize=1)
def lifecycle_zones() -> dict[str, ZonePolicy]:
    """The test zones by code, each checked against the shipped catalog."""
    zones = TypeAdapter(list[ZonePolicy]).validate_json(TEST_ZONES_FILE.read_text(encoding="utf-8"))
    for zone in zones:
        check_zone(default_catalog(), zone)
    return {z.code: z for z in zones}


def context(zone: str) -> ProjectContext:
    """The shipped catalog, the test zone's policy and the shipped calendar (all cached)."""
    return ProjectContext(default_catalog(), lifecycle_zones()[zone], default_calendar())


def versions(ctx: ProjectContext) -> ContentVersions:
    return ContentVersions(
        catalog=content_hash(ctx.catalog, "catalog"),
        zone=content_hash(ctx.zone, "zone"),
        calendar=ctx.calendar.version,
    )


def unregistered(
    reg: RegisterProject,
    clock_model: Literal[1, 2] = 2,
    deemed_rule: Literal[1, 2] = 2,
    acceptance_rule: Literal[1, 2] = 1,
    modes_rule: Literal[1, 2] = 1,
    filing_rule: Literal[1, 2] = 1,
    promise_only_rule: Literal[1, 2] = 1,
    enterprise_period_rule: Literal[1, 2] = 2,
    acceptance_hold_rule: Literal[1, 2] = 2,
) -> ProjectMachine:
    """A machine holding ``reg`` before ``register`` ran (for registration tests).

    ``clock_model`` 1 is the one-clock rule of projects registered before the two-clock rule.
    ``acceptance_rule`` 1 (the default here) submits a matter when its stage opens, so a test of a
    decision's rules starts from the decision; the acceptance step (rule 2, every new project) has
    its own tests (``tests/lifecycle/test_acceptance.py``), and what follows acceptance is the same.
    ``modes_rule`` 1 (the default here) handles modes as before; rule 2 (every new project) has its
    own tests (``tests/lifecycle/test_modes.py``). ``enterprise_period_rule`` 2 (today's) runs an
    enterprise's period in days (日) as a clock counted in days; rule 1 has its own tests.
    ``acceptance_hold_rule`` 2 (today's) holds acceptance by silence on a provisional deadline.
    """
    ctx = context(reg.zone)
    state = ProjectState(
        registration=reg,
        versions=versions(ctx),
        agent=reg.agent,
        backup_agent=reg.backup_agent,
        clock_model=clock_model,
        deemed_rule=deemed_rule,
        acceptance_rule=acceptance_rule,
        modes_rule=modes_rule,
        filing_rule=filing_rule,
        promise_only_rule=promise_only_rule,
        enterprise_period_rule=enterprise_period_rule,
        acceptance_hold_rule=acceptance_hold_rule,
    )
    # The statutory limits the law sets by the project's facts, as ``workflows.content.context_of``
    # gives them (the zone as it applies to a type is left to the type tests' own contexts).
    facts = ProjectFacts.of(reg)
    return ProjectMachine(state, ProjectContext(ctx.catalog, ctx.zone, ctx.calendar, None, facts))


def machine(
    zone: str = "yanhu",
    *,
    at: datetime = T0,
    stage: Stage | None = None,
    reg: RegisterProject | None = None,
    project_type: ProjectType = "general",
    standard_land_parcel: bool = False,
    clear: bool = True,
    clock_model: Literal[1, 2] = 2,
    deemed_rule: Literal[1, 2] = 2,
    acceptance_rule: Literal[1, 2] = 1,
    modes_rule: Literal[1, 2] = 1,
    filing_rule: Literal[1, 2] = 1,
    promise_only_rule: Literal[1, 2] = 1,
    enterprise_period_rule: Literal[1, 2] = 2,
    acceptance_hold_rule: Literal[1, 2] = 2,
) -> ProjectMachine:
    """A registered project at ``at`` (its first stage open), approved until ``stage`` if given.

    With ``clear`` the outbox (events and effects so far) is emptied, so a test sees only what
    it causes; the stream's version keeps counting.
    """
    reg = reg or registration(zone=zone, project_type=project_type, standard_land_parcel=standard_land_parcel)
    m = unregistered(
        reg,
        clock_model,
        deemed_rule,
        acceptance_rule,
        modes_rule,
        filing_rule,
        promise_only_rule,
        enterprise_period_rule,
        acceptance_hold_rule,
    )
    facts = ProjectFacts.of(reg)
    m.register(derive_checklist(m.ctx.catalog, m.ctx.zone, facts), at)
    m.advance(at)
    if stage is not None:
        approve_until(m, stage, at)
    if clear:
        drain(m)
    return m


def drain(m: ProjectMachine) -> list[EventEnvelope]:
    """Empty the outbox as ``apply_batch`` would; return the events it held."""
    events = list(m.state.pending_events)
    m.state.pending_events.clear()
    m.state.effects.clear()
    return events


def types(m: ProjectMachine) -> list[str]:
    """Event types in the outbox, in order."""
    return [e.event_type for e in m.state.pending_events]


def events_of(m: ProjectMachine, event_type: str) -> list[EventEnvelope]:
    return [e for e in m.state.pending_events if e.event_type == event_type]


def effect_kinds(m: ProjectMachine) -> list[str]:
    return [f.kind for f in m.state.effects]


def state_of(m: ProjectMachine, code: str) -> str:
    """A matter's state, read afresh (a command may have changed it since the last look)."""
    return m.state.matters[code].state


def department_of(code: str) -> str:
    return default_catalog().matter(code).department


def deadline_of(m: ProjectMachine, clock_id: str) -> datetime:
    """A running clock's deadline the zone answers for (its promise when there is one)."""
    at = m.answerable_deadline(m.state.clocks[clock_id]).at
    assert at is not None, f"{clock_id} is stopped"
    return at


def statutory_deadline_of(m: ProjectMachine, clock_id: str) -> datetime:
    """A running clock's statutory deadline as the machine computes it."""
    at = m.deadline(m.state.clocks[clock_id]).at
    assert at is not None, f"{clock_id} is stopped"
    return at


def deadline_on(m: ProjectMachine, clock: Clock) -> datetime:
    """The legal clock's own deadline of ``clock`` in the machine's calendar and hours (expected values)."""
    at = clock.deadline(m.ctx.calendar, m.zone.office_hours).at
    assert at is not None
    return at


def legal_deadline(
    m: ProjectMachine, accepted_at: datetime, limit_days: float, counted: Counted = "working_days"
) -> datetime:
    """The legal clock's own deadline for a limit accepted at ``accepted_at`` (expected values), in
    working days or (``counted="days"``) calendar days."""
    return deadline_on(m, Clock(accepted_at=accepted_at, limit_days=limit_days, counted=counted))


def matter_clock(m: ProjectMachine, code: str) -> str:
    clock_id = m.state.matters[code].clock_id
    assert clock_id is not None, f"{code} has no clock"
    return clock_id


# ---- commands with fresh request ids ---------------------------------------------------------


def _of_department(model: type[M], code: str, department: str | None, **fields: object) -> M:
    """A department's command on matter ``code`` (by its owning department unless named)."""
    return model(matter_code=code, department=department or department_of(code), **fields)


def decision(
    code: str,
    kind: DecisionKind = "approve",
    *,
    department: str | None = None,
    instant: bool = False,
    reasons: list[str] | None = None,
    items: list[str] | None = None,
    decision_id: str | None = None,
) -> Decision:
    """A department's decision on matter ``code``; reasons and items as its kind needs them."""
    if reasons is None:
        reasons = ["材料不符合要求"] if kind in ("reject", "refuse") else []
    if items is None:
        items = (
            ["补充监测数据"] if kind in ("request_correction", "accept_with_tolerance", "request_completion") else []
        )
    fields = {"kind": kind, "decided_by": "科长", "instant": instant, "reasons": reasons, "items": items}
    return _of_department(Decision, code, department, decision_id=decision_id or rid(), **fields)


def verification(
    code: str, passed: bool, *, findings: str = "", department: str | None = None, decision_id: str | None = None
) -> Verification:
    """A department's verification of a commitment on matter ``code``."""
    fields = {"passed": passed, "by": "核查组", "findings": findings}
    return _of_department(Verification, code, department, decision_id=decision_id or rid(), **fields)


def supply(code: str, items: list[str] | None = None) -> SupplyMaterials:
    return SupplyMaterials(request_id=rid(), matter_code=code, by="agent-li", items=items or ["补充监测数据"])


def resubmit(code: str) -> Resubmit:
    return Resubmit(request_id=rid(), matter_code=code, by="agent-li", note="已按意见修改")


def stop_clock(
    code: str, kind: StopKind = "expert_review", *, department: str | None = None, expected_days: float = 10
) -> StopClock:
    return _of_department(
        StopClock, code, department, request_id=rid(), kind=kind, reason="专家评审", expected_days=expected_days
    )


def resume_clock(code: str, *, department: str | None = None) -> ResumeClock:
    return _of_department(ResumeClock, code, department, request_id=rid())


def extend_limit(code: str, days: float = 10, *, department: str | None = None) -> ExtendLimit:
    return _of_department(
        ExtendLimit, code, department, request_id=rid(), days=days, approved_by="局长", reason="情况复杂"
    )


def reassign(to_agent: str) -> ReassignAgent:
    return ReassignAgent(request_id=rid(), to_agent=to_agent, by="lead-zhao", reason="休假 (AB岗)")


def progress(percent: int) -> ProgressReport:
    return ProgressReport(request_id=rid(), percent=percent, by="agent-li", note=f"{percent}%")


def resolve(meeting_id: str) -> ResolveMeeting:
    return ResolveMeeting(request_id=rid(), meeting_id=meeting_id, resolution="专班协调，限期办结", by="lead-zhao")


def withdraw() -> Withdraw:
    return Withdraw(request_id=rid(), reason="投资计划调整", by="enterprise")


# ---- drivers -------------------------------------------------------------------------------


def decide(m: ProjectMachine, code: str, kind: DecisionKind = "approve", now: datetime = T0) -> DecisionResult:
    """Send ``kind`` on ``code`` through the gate (instant on instant matters when approving)."""
    instant = kind == "approve" and m.state.matters[code].mode == "instant"
    result = m.execute("decide", decision(code, kind, instant=instant), now)
    assert isinstance(result, DecisionResult)
    return result


def ack(m: ProjectMachine, name: str, cmd: BaseModel, now: datetime = T0) -> Ack:
    """Execute a command that answers with an ``Ack``."""
    result = m.execute(name, cmd, now)
    assert isinstance(result, Ack)
    return result


def application(code: str, materials: list[str] | None = None, commitment: bool = False) -> SubmitApplication:
    """The agent's application for matter ``code`` (with a signed commitment if asked)."""
    signed = Commitment(text_version="cn-2026-1", signed_by="法定代表人 张三", signed_at=T0) if commitment else None
    return SubmitApplication(
        request_id=rid(), matter_code=code, by="agent-li", materials=materials or ["申请表"], commitment=signed
    )


def apply(m: ProjectMachine, code: str, now: datetime = T0) -> Ack:
    """The agent applies for ``code`` (signing the commitment of a commitment matter)."""
    return ack(m, "submit_application", application(code, commitment=m.state.matters[code].mode == "commitment"), now)


def accept(m: ProjectMachine, code: str, now: datetime = T0) -> DecisionResult:
    """The department accepts the received application for ``code`` (受理)."""
    result = m.execute("decide", decision(code, "accept"), now)
    assert isinstance(result, DecisionResult)
    return result


def open_applications(m: ProjectMachine, now: datetime = T0) -> int:
    """Apply for and accept every matter open to apply or received (acceptance rule 2); how many."""
    codes = [code for code, x in m.state.matters.items() if x.state in ("to_apply", "received")]
    for code in codes:
        if m.state.matters[code].state == "to_apply":
            apply(m, code, now)
        if m.state.matters[code].state == "received":
            accept(m, code, now)
    return len(codes)


def approve_pending(m: ProjectMachine, now: datetime = T0) -> int:
    """Approve every matter pending a decision (instant where the matter is instant); how many
    matters moved.

    Under the acceptance rule, matters open to apply are first applied for and accepted (a
    commitment matter is approved on receipt).
    """
    opened = open_applications(m, now)
    pending = [code for code, x in m.state.matters.items() if x.state == "pending"]
    for code in pending:
        if m.state.matters[code].state == "pending":
            decide(m, code, "approve", now)
    return opened + len(pending)


def approve_stage(m: ProjectMachine, now: datetime = T0) -> None:
    """Approve what is pending, and what becomes pending after it, until the stage moves on or waits."""
    stage = m.state.stage
    while m.state.stage == stage and approve_pending(m, now):
        pass


def at_approval_land(zone: str = "tunliu") -> ProjectMachine:
    """Stage 1 with project filing approved: land, planning and EIA pending since T0, effects drained."""
    m = machine(zone, stage=Stage.APPROVAL_LAND)
    decide(m, "project-filing")
    drain(m)
    return m


def approve_until(m: ProjectMachine, stage: Stage, now: datetime = T0) -> None:
    """Approve everything pending (and report construction done) until the project is in ``stage``."""
    target = LIFECYCLE.index(stage)
    for _ in range(50):
        if m.state.stage == stage:
            return
        if m.state.stage not in LIFECYCLE or LIFECYCLE.index(m.state.stage) > target:
            break
        if m.state.stage == Stage.CONSTRUCTION:
            m.execute("report_progress", progress(100), now)
        elif approve_pending(m, now) == 0:
            break
    raise AssertionError(f"cannot reach {stage}: the project is in {m.state.stage}")


def deeming(m: ProjectMachine, *codes: str, safety_rule: str | None = None) -> ProjectMachine:
    """``m`` under its zone's policy changed to deem ``codes`` approved (a public-safety matter
    only with ``safety_rule``, the local rule that allows it)."""
    zone = m.ctx.zone.model_copy(
        update={"deemed_approval_matters": list(codes), "deemed_approval_safety_rule": safety_rule}
    )
    m.ctx = ProjectContext(m.ctx.catalog, zone, m.ctx.calendar)
    return m


def promised(code: str) -> float:
    """The shipped catalog's promised limit of matter ``code`` (working days)."""
    days = default_catalog().matter(code).promised_days
    assert days is not None, f"{code} has no promised limit"
    return days


EIA_PROMISE = promised("eia")
# The EIA's statutory limit for the default category, the report form (环境影响评价法 §22: 30 days).
EIA_STATUTORY = default_catalog().matter("eia").statutory_days or 0.0
# 环境影响评价法 §22 states it in days (日): calendar days, 民法典 §201-§203.
EIA_COUNTED = default_catalog().matter("eia").statutory_days_counted
# The land pre-review (土地管理法 §52): the licensing law's own limit (行政许可法 §42: 20 working days),
# so the one §42 extends by 10 working days; EIA's limit is its own law's, which provides no extension.
LAND_PRE = "land-pre-review"
LAND_PRE_PROMISE = promised(LAND_PRE)
LAND_PRE_STATUTORY = default_catalog().matter(LAND_PRE).statutory_days or 0.0


def first_answer(answer: Any) -> Any:
    """An update's answer without what it says is pending now (``pending``: not part of the first answer kept)."""
    return answer.model_copy(update={"pending": [], "pending_more": 0})


def lean_split() -> tuple[Batch, Batch]:
    """A registered project's outbox as two lean batches (patch ``lean-batches``): its events,
    then its effects alone, stored after them (``after_version``)."""
    m = machine("yanhu", stage=Stage.APPROVAL_LAND, modes_rule=2, clear=False)
    decide(m, "project-filing")
    events, effects = list(m.state.pending_events), list(m.state.effects)
    assert events and effects
    first = Batch(project_id=m.pid, events=events)
    second = Batch(project_id=m.pid, effects=effects, after_version=events[-1].version)
    return first, second


def with_notices(calendar: OfficialCalendar, years: range) -> OfficialCalendar:
    """``calendar`` with a notice for each year of ``years`` that has none, each as the State
    Council would publish the law's own rest days (国务院《全国年节及纪念日放假办法》), without 调休."""
    for year in years:
        if not calendar.is_official(year):
            holidays = {day: name.removesuffix(" (provisional)") for day, name in provisional_holidays(year).items()}
            calendar = calendar.with_year(year, YearCalendar(holidays=holidays))
    return calendar
