"""Drive projects through their lifecycle the way department systems and agents would.

Each project is a ``ProjectWorkflow`` driven with the raw Temporal client and plain dicts (the
contract of ``contracts/``): under the acceptance step, an application for every matter open to
apply (with the signed commitment of a commitment matter), its acceptance (one project in three
first gets a completion notice, then the completed application; instant matters are accepted and
decided in one step); decisions on every pending matter (approve, a correction then the
supplied materials, a rejection then a resubmission, tolerance, approval on commitment then its
verification), construction progress up to 100 %, and, between those steps, a stream of filler
commands (clock stopped and resumed, agent handed over) so updates keep arriving while the
injector kills things.

Every command is kept in a ledger with what it must leave in the event store. An update counts as
*acknowledged* only when it returned a result. An attempt that ends without an answer (RPC error,
timeout, "update was aborted", in-flight limit) is retried with the same request id (decision id
for ``decide``/``verify``) and counted; the command is then *uncertain*, and a refusal after that
(the pre-request-id code refuses what it already applied) leaves it *ambiguous*: it may be in the
store once, not more.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from tests.faults.plan import CLOCK_STOPS, COMMITMENT, CORRECTABLE, EXPECTED_STEPS, INSTANT, REJECTABLE, TOLERANCE
from tests.faults.stack import TASK_QUEUE


@dataclass
class Expect:
    """An event a command must leave in its project's stream: type and payload fields."""

    event_type: str
    where: dict[str, Any]


@dataclass
class Command:
    project_id: str
    update: str
    cid: str  # the request id, or the decision id of decide/verify: the events' causation id
    payload: dict[str, Any]
    expects: list[Expect]  # the first is the command's own (primary) event
    status: str = "pending"  # acked | refused | ambiguous | unanswered | invalid (payload refused)
    uncertain: bool = False  # an attempt ended without an answer
    attempts: int = 0
    error: str = ""
    answer: Any = None


@dataclass
class Run:
    """What all drivers share: client, options, counters the injector and the report read."""

    client: Client
    tag: str
    seed: int
    duration: float
    settle: float
    legacy: bool
    rate: float  # filler commands per second per project
    update_timeout: float = 20.0
    t0: float = field(default_factory=time.monotonic)
    in_flight: int = 0
    retries: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)
    log_file: Path | None = None

    faults_over_at: float | None = None

    @property
    def hard_deadline(self) -> float:
        """Drivers stop here: ``settle`` seconds after the drive's duration or the last fault."""
        return max(self.t0 + self.duration, self.faults_over_at or 0.0) + self.settle

    def note(self, line: str) -> None:
        line = f"{time.monotonic() - self.t0:8.2f} {line}"
        self.log.append(line)
        if self.log_file is not None:
            with self.log_file.open("a", encoding="utf-8") as f:
                f.write(line + "\n")


def classify(exc: BaseException) -> str:
    """A short name for an attempt that ended without an answer."""
    text = str(exc)
    if "in-flight" in text or "limit on number of concurrent" in text:
        return "in-flight limit"
    if "aborted" in text:
        return "update aborted"
    if isinstance(exc, TimeoutError | WorkflowUpdateRPCTimeoutOrCancelledError):
        return "timeout"
    if isinstance(exc, RPCError):
        return f"rpc {exc.status.name.lower()}"
    if isinstance(exc, WorkflowUpdateFailedError):
        cause = exc.cause
        return f"update failed ({getattr(cause, 'type', None) or type(cause).__name__})"
    return type(exc).__name__


def decision_payload(m: dict[str, Any], decision_id: str, kind: str, extra: dict[str, Any]) -> dict[str, Any]:
    """A ``decide`` payload of matter ``m``'s department clerk (``extra``: items, reasons, instant)."""
    dept = m["department"]
    return {
        "decision_id": decision_id,
        "department": dept,
        "matter_code": m["code"],
        "kind": kind,
        "decided_by": f"{dept}-clerk",
        **extra,
    }


class ProjectDriver:
    def __init__(self, run: Run, index: int) -> None:
        self.run = run
        self.index = index
        self.project_id = f"{run.tag}-{index:03d}"
        self.workflow_id = f"project-{self.project_id}"
        self.zone = "yanhu" if index % 2 else "tunliu"
        self.rng = random.Random(run.seed * 1_000 + index)
        self.commands: list[Command] = []
        self.seq = 0
        self.done = False
        self.final: dict[str, Any] | None = None
        self.reason = "not started"
        rng = self.rng
        self.percents = [*sorted(rng.sample(range(5, 96, 5), 3)), 100]
        self.correct = rng.choice(CORRECTABLE)
        self.reject = rng.choice([c for c in REJECTABLE if c != self.correct])
        self.fail_verification = index % 4 == 3
        self.corrected: set[str] = set()
        self.fallback: set[str] = set()  # matters whose special handling was refused: approve
        self.verify_failed = False
        # The acceptance step (行政许可法 §32): seen once a matter is open to apply (new projects).
        self.acceptance = False
        self.complete = rng.choice(CORRECTABLE) if index % 3 == 0 else None
        self.completed_notice: set[str] = set()

    @property
    def handle(self) -> WorkflowHandle[Any, Any]:
        return self.run.client.get_workflow_handle(self.workflow_id)

    def registration(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "name": f"故障测试项目 {self.index}",
            "enterprise": f"山西示例制造有限公司{self.index}",
            "zone": self.zone,
            "project_type": "general",
            "investment_yuan": 50_000_000 + 1_000_000 * self.index,
            "standard_land_parcel": self.index % 3 != 0,
            "agent": "agent-li",
            "backup_agent": "agent-wang",
            "project_lead": "lead-zhao",
        }

    # ---- talking to the workflow -------------------------------------------------------------

    async def start(self) -> None:
        while time.monotonic() < self.run.hard_deadline:
            try:
                await self.run.client.start_workflow(
                    "ProjectWorkflow",
                    {"registration": self.registration()},
                    id=self.workflow_id,
                    task_queue=TASK_QUEUE,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    rpc_timeout=timedelta(seconds=10),
                )
                return
            except RPCError as exc:
                self.run.retries[f"start: {classify(exc)}"] += 1
                await asyncio.sleep(1)
        raise TimeoutError(f"{self.project_id} could not be started")

    async def state(self) -> dict[str, Any] | None:
        try:
            v = await asyncio.wait_for(self.handle.query("state", rpc_timeout=timedelta(seconds=10)), 12)
        except (RPCError, WorkflowQueryFailedError, TimeoutError) as exc:
            self.reason = f"state query: {classify(exc)}: {str(exc)[:200]}"
            return None
        return v if isinstance(v, dict) else None

    async def send(self, update: str, cid: str, payload: dict[str, Any], expects: list[Expect]) -> Command:
        """Send one command until it is answered (or the run is over), retrying with its id."""
        cmd = Command(self.project_id, update, cid, payload, expects)
        self.commands.append(cmd)
        delay = 0.2
        while True:
            cmd.attempts += 1
            self.run.in_flight += 1
            try:
                cmd.answer = await asyncio.wait_for(
                    self.handle.execute_update(update, payload), self.run.update_timeout
                )
                cmd.status = "acked"
                return cmd
            except WorkflowUpdateFailedError as exc:
                cause = exc.cause
                if "Failed decoding arguments" in str(cause):
                    # The payload does not fit the contract: the driver is out of date, not the
                    # workflow; retrying cannot help. Loud, and counted as a refusal.
                    cmd.status = "invalid"
                    cmd.error = str(cause)
                    self.run.refusals[f"{update} (payload refused: driver out of date?)"] += 1
                    self.run.note(f"{self.project_id} {update} {cid} payload refused: {cause}")
                    return cmd
                if isinstance(cause, ApplicationError) and cause.type == "Rejected":
                    cmd.status = "ambiguous" if cmd.uncertain else "refused"
                    cmd.error = cause.message
                    self.run.refusals[f"{update}{' after a retry' if cmd.uncertain else ''}"] += 1
                    self.run.note(f"{self.project_id} {update} {cid} refused: {cause.message}")
                    return cmd
                err: BaseException = exc
            except (RPCError, TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
                err = exc
            finally:
                self.run.in_flight -= 1
            cmd.uncertain = True
            if not cmd.error:  # the first unanswered attempt of a command, with its cause
                why = getattr(err, "cause", None)
                self.run.note(
                    f"{self.project_id} {update} {cid}: {classify(err)}: {str(err)[:200]}"
                    + (f"; cause: {str(why)[:300]}" if why is not None else "")
                )
            cmd.error = f"{classify(err)}: {str(err)[:200]}"
            self.run.retries[classify(err)] += 1
            if time.monotonic() > self.run.hard_deadline:
                cmd.status = "unanswered"
                return cmd
            await asyncio.sleep(delay * (0.5 + self.rng.random()))
            delay = min(delay * 2, 3.0)

    def request_id(self, what: str) -> str:
        self.seq += 1
        return f"r{self.seq:04d}-{what}"[:64]

    async def command(self, update: str, what: str, payload: dict[str, Any], expects: list[Expect]) -> Command:
        """A non-decision command: its request id goes into the payload (unless --legacy)."""
        rid = self.request_id(what)
        if not self.run.legacy:
            payload = {**payload, "request_id": rid}
        return await self.send(update, rid, payload, expects)

    # ---- what to do next ---------------------------------------------------------------------

    async def decide(self, m: dict[str, Any]) -> None:
        code, sub = m["code"], m["submissions"]
        self.seq += 1
        kind = "approve"
        extra: dict[str, Any] = {}
        if code not in self.fallback:
            if code == self.correct and code not in self.corrected:
                kind, extra = "request_correction", {"items": [f"补正材料 {code}"]}
            elif code == self.reject and sub == 1:
                kind, extra = "reject", {"reasons": [f"材料不符 {code}"]}
            elif code in COMMITMENT and m.get("mode") == "standard" and self.rng.random() < 0.7:
                kind = "approve_on_commitment"
            # Not in the last stage: the project would reach production with materials owed, and
            # nothing can be supplied in production.
            elif code in TOLERANCE and m.get("stage") != "completion_acceptance" and self.rng.random() < 0.25:
                kind, extra = "accept_with_tolerance", {"items": [TOLERANCE[code]]}
            elif code in INSTANT:
                extra = {"instant": True}
        did = f"d{self.seq:04d}-{code}-{sub}"[:64]
        primary = {
            "approve": "MatterApproved",
            "approve_on_commitment": "MatterApproved",
            "accept_with_tolerance": "MatterApproved",
            "reject": "MatterRejected",
            "request_correction": "CorrectionRequested",
        }[kind]
        expects = [Expect(primary, {"decision_id": did, "matter_code": code})]
        if kind == "request_correction":
            expects.append(
                Expect("ClockStopped", {"clock_id": (m.get("clock") or {}).get("clock_id"), "kind": "correction"})
            )
        payload = decision_payload(m, did, kind, extra)
        cmd = await self.send("decide", did, payload, expects)
        if cmd.status == "refused" and kind != "approve":
            self.fallback.add(code)
        if kind == "request_correction" and cmd.status == "acked":
            self.corrected.add(code)

    async def apply(self, m: dict[str, Any]) -> None:
        """The agent applies (with the signed commitment of a commitment matter)."""
        code = m["code"]
        payload: dict[str, Any] = {"matter_code": code, "by": "agent-li", "materials": [f"申请材料 {code}"]}
        if m.get("mode") == "commitment":
            payload["commitment"] = {
                "text_version": "cn-2026-1",
                "signed_by": "法定代表人",
                "signed_at": "2026-01-05T09:00:00+08:00",
            }
        await self.command(
            "submit_application",
            f"apply-{code}",
            payload,
            [Expect("ApplicationReceived", {"matter_code": code, "submission": m["submissions"] + 1})],
        )

    async def accept(self, m: dict[str, Any]) -> None:
        """The department accepts the application, notifies once what is missing, or (instant) decides."""
        code, sub = m["code"], m["submissions"]
        if code in INSTANT:
            await self.decide(m)  # 即办件: accepted and decided in one step
            return
        self.seq += 1
        did = f"a{self.seq:04d}-{code}-{sub}"[:64]
        kind, extra = "accept", {}
        if code == self.complete and code not in self.completed_notice and code not in self.fallback:
            kind, extra = "request_completion", {"items": [f"缺件 {code}"]}
        primary = "ApplicationAccepted" if kind == "accept" else "CompletionRequested"
        payload = decision_payload(m, did, kind, extra)
        cmd = await self.send("decide", did, payload, [Expect(primary, {"decision_id": did, "matter_code": code})])
        if kind == "request_completion":
            if cmd.status == "acked":
                self.completed_notice.add(code)
            elif cmd.status == "refused":
                self.fallback.add(code)

    async def supply(self, m: dict[str, Any], items: list[str], correction: bool) -> None:
        code = m["code"]
        if m["state"] == "incomplete":  # completing the application after the notice
            expects = [Expect("ApplicationReceived", {"matter_code": code, "submission": m["submissions"] + 1})]
        elif correction:
            expects = [
                Expect("CorrectionSupplied", {"matter_code": code}),
                Expect("ClockResumed", {"clock_id": (m.get("clock") or {}).get("clock_id")}),
            ]
        else:
            expects = [Expect("ObligationFulfilled", {"matter_code": code, "obligation": "supply_materials"})]
        await self.command(
            "supply_materials",
            f"supply-{code}",
            {"matter_code": code, "by": "agent-li", "items": items or ["材料"]},
            expects,
        )

    async def resubmit(self, m: dict[str, Any]) -> None:
        code = m["code"]
        await self.command(
            "resubmit",
            f"resubmit-{code}",
            {"matter_code": code, "by": "agent-li", "note": "已修改"},
            [
                Expect(
                    "ApplicationReceived" if self.acceptance else "MatterSubmitted",
                    {"matter_code": code, "submission": m["submissions"] + 1},
                )
            ],
        )

    async def verify(self, m: dict[str, Any], stage: str) -> None:
        code, dept = m["code"], m["department"]
        self.seq += 1
        did = f"v{self.seq:04d}-{code}"[:64]
        passed = not (
            self.fail_verification
            and not self.verify_failed
            and stage in ("approval_land", "engineering_permit", "construction_permit")
        )
        expects = (
            [Expect("ObligationFulfilled", {"matter_code": code, "obligation": "verification"})]
            if passed
            else [Expect("ApprovalRevoked", {"matter_code": code})]
        )
        payload = {
            "decision_id": did,
            "department": dept,
            "matter_code": code,
            "passed": passed,
            "by": f"{dept}-inspector",
            "findings": "" if passed else "承诺内容与现场不符",
        }
        cmd = await self.send("verify", did, payload, expects)
        if not passed and cmd.status == "acked":
            self.verify_failed = True

    async def progress(self, current: int) -> None:
        nxt = next((p for p in self.percents if p > current), None)
        if nxt is None:
            return
        await self.command(
            "report_progress",
            f"progress-{nxt}",
            {"percent": nxt, "by": "agent-li", "note": f"形象进度 {nxt}%"},
            [Expect("ConstructionProgressReported", {"percent": nxt})],
        )

    def forward(self, v: dict[str, Any]) -> list[Any]:
        """The commands that move the project on from ``v`` (sent concurrently)."""
        stage = v["stage"]
        acts: list[Any] = []
        for m in v["matters"]:
            state = m["state"]
            if state in ("to_apply", "received", "incomplete"):
                self.acceptance = True
            if state == "to_apply":
                acts.append(self.apply(m))
            elif state == "received":
                acts.append(self.accept(m))
            elif state in ("incomplete", "correction"):  # what the last notice or request named
                asked = "request_completion" if state == "incomplete" else "request_correction"
                items = next((d.get("items") for d in reversed(m.get("decisions", [])) if d.get("kind") == asked), None)
                acts.append(self.supply(m, list(items or []), correction=True))
            elif state == "pending":
                acts.append(self.decide(m))
            elif state == "rejected":
                acts.append(self.resubmit(m))
            for o in m.get("obligations", []):
                if o.get("state") != "open":
                    continue
                if o.get("kind") == "supply_materials":
                    acts.append(self.supply(m, list(o.get("items") or []), correction=False))
                elif o.get("kind") == "verification" and (stage == "in_production" or self.rng.random() < 0.4):
                    acts.append(self.verify(m, stage))
        if stage == "construction":
            acts.append(self.progress(int(v.get("construction_percent", 0))))
        return acts

    async def filler(self) -> None:
        """A command that changes nothing essential: stop and resume a clock, or hand over."""
        v = await self.state()
        if v is None:
            return
        running = [
            m for m in v["matters"] if m["state"] == "pending" and m.get("clock") and not m["clock"].get("paused")
        ]
        if running and self.rng.random() < 0.7:
            m = self.rng.choice(running)
            code, dept, clock_id = m["code"], m["department"], m["clock"]["clock_id"]
            kind = self.rng.choice(CLOCK_STOPS)
            # §45 stops declare their expected length (the contract since issue 11; not before).
            length = {} if self.run.legacy else {"expected_days": 5}
            stop = await self.command(
                "stop_clock",
                f"stop-{code}",
                {"matter_code": code, "department": dept, "kind": kind, "reason": "专家评审", **length},
                [Expect("ClockStopped", {"clock_id": clock_id, "kind": kind})],
            )
            if stop.status not in ("acked", "ambiguous"):
                return
            await asyncio.sleep(self.rng.uniform(0.05, 0.6))
            await self.command(
                "resume_clock",
                f"resume-{code}",
                {"matter_code": code, "department": dept},
                [Expect("ClockResumed", {"clock_id": clock_id})],
            )
        elif v["stage"] not in ("in_production", "withdrawn"):
            to = v["backup_agent"]
            await self.command(
                "reassign_agent",
                f"reassign-{to}",
                {"to_agent": to, "by": "lead-zhao", "reason": "AB岗轮换"},
                [Expect("AgentReassigned", {"from_agent": v["agent"], "to_agent": to})],
            )

    async def pace(self, steps: int) -> None:
        """Spread the forward steps over the run, with filler commands in between."""
        now = time.monotonic()
        t_end = self.run.t0 + self.run.duration * (0.75 + 0.2 * self.rng.random())
        until = now + max(0.0, (t_end - now) / max(1, EXPECTED_STEPS - steps))
        while True:
            await asyncio.sleep(min(self.rng.expovariate(self.run.rate), max(0.0, until - time.monotonic())))
            if time.monotonic() >= until:
                return
            await self.filler()

    async def completed(self) -> dict[str, Any] | None:
        try:
            desc = await self.handle.describe(rpc_timeout=timedelta(seconds=10))
            if desc.status == WorkflowExecutionStatus.COMPLETED:
                result = await self.handle.result(rpc_timeout=timedelta(seconds=10))
                return result if isinstance(result, dict) else {"stage": None}
        except (RPCError, TimeoutError) as exc:
            self.reason = f"describe: {classify(exc)}"
        return None

    async def drive(self) -> None:
        """Start the project and drive it to production (or until the run is over)."""
        try:
            await self._drive()
        except asyncio.CancelledError:
            self.reason = f"cancelled while {self.reason}"
            raise

    async def _drive(self) -> None:
        await self.start()
        steps = 0
        while time.monotonic() < self.run.hard_deadline:
            v = await self.state()
            if v is None:
                await asyncio.sleep(1)
                continue
            self.reason = f"stage {v['stage']}: {v.get('waiting_for', '')[:200]}"
            if v["stage"] == "completion_acceptance" and self.run.faults_over_at is None:
                # Hold the last stage while faults are still to come, streaming filler commands,
                # so every planned fault lands while updates stream.
                await asyncio.sleep(self.rng.expovariate(self.run.rate))
                await self.filler()
                continue
            acts = self.forward(v)
            if acts:
                await asyncio.gather(*acts)
                steps += 1
                await self.pace(steps)
                continue
            if v["stage"] == "in_production":
                final = await self.completed()
                if final is not None:
                    self.final, self.done = final, True
                    self.reason = "completed"
                    return
            await asyncio.sleep(0.5)
        self.reason = f"run over; last seen: {self.reason}"
