"""daiban's whole lifecycle as ``make bench`` drives it: registration to production.

``drive`` plays the agent and every department against one project, step by step: it reads the
state once (one query), then sends every command the state calls for, concurrently (or one after
another when ``sequential``): an application for every matter open to apply (with the signed
commitment of a commitment matter), the acceptance (受理) of every received one (an instant
matter is accepted and decided in one step), a decision on every pending matter, the
verification of every commitment-based approval, construction reported done; until the project
is in production and its workflow completed. Every decision approves, so each lifecycle of one
registration is the same: the same Updates in the same steps, the same domain events.

It returns the lifecycle's ``Trace``: the request ids (the events' causation ids) of its Updates,
step by step, from which ``benchmarks.bench`` builds the baseline's schedule.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.contrib.pydantic import pydantic_data_converter

from benchmarks.patience import patiently
from interfaces.client import DaibanClient
from legalclock import CST
from schemas.project import (
    Commitment,
    Decision,
    MatterView,
    ProgressReport,
    ProjectResult,
    ProjectView,
    RegisterProject,
    SubmitApplication,
    Verification,
    workflow_id_for,
)
from tests.faults.plan import INSTANT
from workflows.project import ProjectWorkflow

SIGNED = datetime(2026, 1, 5, 9, 0, tzinfo=CST)


@dataclass
class Trace:
    """What one lifecycle's driver sent: Updates (name, causation id) per step, and its queries."""

    project_id: str
    steps: list[list[tuple[str, str]]] = field(default_factory=list)
    queries: int = 0
    result: ProjectResult | None = None
    registration: dict[str, Any] = field(default_factory=dict)  # as sent (JSON)
    args: dict[str, dict[str, Any]] = field(default_factory=dict)  # each Update's argument by causation id (JSON)

    @property
    def updates(self) -> int:
        return sum(len(s) for s in self.steps)


async def view(h: WorkflowHandle[Any, Any], trace: Trace) -> ProjectView:
    """The project's state (one query), waiting while it registers."""
    for _ in range(600):
        trace.queries += 1
        try:
            return await patiently(lambda: h.query(ProjectWorkflow.state), "query")
        except WorkflowQueryFailedError as exc:
            if "still registering" not in str(exc):
                raise
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{trace.project_id} never finished registering")


def commands(v: ProjectView, pid: str) -> list[tuple[str, str, Any]]:
    """(update, causation id, argument) of every command the state ``v`` calls for."""
    out: list[tuple[str, str, Any]] = []
    for m in v.matters:
        out.extend(_matter_commands(m, v, pid))
    if v.stage == "construction" and v.construction_percent < 100:
        rid = f"{pid}-built"
        out.append(("report_progress", rid, ProgressReport(request_id=rid, percent=100, by=v.agent)))
    return out


def _matter_commands(m: MatterView, v: ProjectView, pid: str) -> list[tuple[str, str, Any]]:
    code, dept, n = m.code, m.department, m.submissions
    out: list[tuple[str, str, Any]] = []
    if m.state == "to_apply":
        rid = f"{pid}-apply-{code}-{n + 1}"
        signed = (
            Commitment(text_version="cn-2026-1", signed_by="法定代表人", signed_at=SIGNED)
            if m.mode == "commitment"
            else None
        )
        cmd = SubmitApplication(request_id=rid, matter_code=code, by=v.agent, materials=["申请表"], commitment=signed)
        out.append(("submit_application", rid, cmd))
    elif m.state in ("received", "pending"):
        instant = code in INSTANT
        kind = "accept" if m.state == "received" and not instant else "approve"
        did = f"{pid}-{kind}-{code}-{n}"
        d = Decision(
            decision_id=did, department=dept, matter_code=code, kind=kind, decided_by=f"{dept}-clerk", instant=instant
        )
        out.append(("decide", did, d))
    for i, o in enumerate(m.obligations):
        if o.state == "open" and o.kind == "verification":
            did = f"{pid}-verify-{code}-{i}"
            verified = Verification(
                decision_id=did, department=dept, matter_code=code, passed=True, by=f"{dept}-inspector"
            )
            out.append(("verify", did, verified))
    return out


def _as_sent(arg: Any) -> dict[str, Any]:
    """An Update's argument as the data converter sends it (JSON)."""
    sent: dict[str, Any] = json.loads(pydantic_data_converter.payload_converter.to_payloads([arg])[0].data)
    return sent


async def drive(
    daiban: DaibanClient,
    reg: RegisterProject,
    latencies: list[float],
    *,
    sequential: bool = False,
    pace: float = 0.0,
) -> Trace:
    """Register ``reg`` and drive it to production (module docstring); its trace. ``pace``: when
    ``sequential``, seconds to wait before each Update (so it meets the project at rest)."""
    client: Client = daiban.client
    trace = Trace(reg.project_id, registration=reg.model_dump(mode="json"))
    await patiently(lambda: daiban.register(reg), "register")
    h = client.get_workflow_handle(workflow_id_for(reg.project_id), result_type=ProjectResult)
    sent: set[str] = set()

    async def send(update: str, cid: str, arg: Any) -> None:
        t0 = time.perf_counter()
        await patiently(lambda: h.execute_update(update, arg, id=cid), "update")
        latencies.append(time.perf_counter() - t0)

    while True:
        v = await view(h, trace)
        todo = [(u, cid, arg) for u, cid, arg in commands(v, reg.project_id) if cid not in sent]
        if not todo:
            if v.stage == "in_production" and not any(o.state == "open" for m in v.matters for o in m.obligations):
                trace.result = await patiently(h.result, "result")
                return trace
            await asyncio.sleep(0.02)  # the workflow has yet to act on the last answers
            continue
        sent.update(cid for _, cid, _ in todo)
        trace.steps.append([(u, cid) for u, cid, _ in todo])
        trace.args.update((cid, _as_sent(arg)) for _, cid, arg in todo)
        if sequential:
            for u, cid, arg in todo:
                await asyncio.sleep(pace)
                await send(u, cid, arg)
        else:
            await asyncio.gather(*(send(u, cid, arg) for u, cid, arg in todo))
