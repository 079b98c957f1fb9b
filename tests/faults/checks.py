"""What the fault suite checks for every project once the faults stop.

- **expected state**: the workflow completed in production.
- **no failing workflow task**: no pending workflow task on attempt > 1, and no WorkflowTaskFailed
  with a nondeterminism cause in any run's history.
- **replays**: every run's history (the continue-as-new chain) replays on the code under test.
- **exactly once**: every acknowledged command left its own event once. With a ``causation_id``
  column: events of the command's primary type (and matter, decision, percent...) whose causation id
  is the command's request id (decision id for decide/verify). Without it (``--legacy``, the code
  before the fix): per type and key, as many events as acknowledged commands, plus at most the
  ambiguous ones.
- **gap-free**: the stream's versions are 1..n.
- **state = stream**: the ``state`` query agrees with a fold of the stream (stage, every matter's
  state, construction percent, agent) and with the ``rm_projects`` row (stage, last version).
- **read models**: rebuilt from the events, they equal the live ones (``incode.py rebuild``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.api.enums.v1 import EventType, PendingWorkflowTaskState, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError

from tests.faults.driver import Command, Expect, ProjectDriver
from tests.faults.stack import Stack

NONDETERMINISM = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR


@dataclass
class Verdict:
    project_id: str
    stuck: list[str] = field(default_factory=list)
    unreplayable: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    inconsistent: list[str] = field(default_factory=list)
    runs: int = 0
    events: int = 0
    task_failures: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not (self.stuck or self.unreplayable or self.lost or self.duplicated or self.inconsistent)


@dataclass
class Report:
    verdicts: list[Verdict]
    causation: bool
    read_models: list[str]
    commands: Counter[str]

    def figure(self, name: str) -> int:
        if name in ("lost", "duplicated"):
            return sum(len(getattr(v, name)) for v in self.verdicts)
        return sum(1 for v in self.verdicts if getattr(v, name))

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.verdicts) and not self.read_models


# ---- Temporal ------------------------------------------------------------------------------


async def histories(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every run of a workflow, oldest first, following the continue-as-new chain backwards."""
    desc = await client.get_workflow_handle(workflow_id).describe(rpc_timeout=timedelta(seconds=20))
    run_id: str | None = desc.run_id
    found: list[WorkflowHistory] = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history(
            rpc_timeout=timedelta(seconds=60)
        )
        found.append(history)
        first = history.events[0].workflow_execution_started_event_attributes
        run_id = first.continued_execution_run_id or None
    return list(reversed(found))


def task_failures(history: WorkflowHistory) -> list[tuple[str, str]]:
    """(cause, message) of every WorkflowTaskFailed in a history."""
    out = []
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            a = e.workflow_task_failed_event_attributes
            out.append((WorkflowTaskFailedCause.Name(a.cause), a.failure.message))
    return out


def timer_gaps(history: WorkflowHistory) -> list[int]:
    """Timer ids the workflow used but its history never started.

    The SDK numbers a run's timers 1, 2, 3 ... and the project workflow never starts and cancels a
    timer within one workflow task, so every number reaches the history. A gap means a first
    execution consumed a number the history does not show: a worker that replays the run from
    scratch numbers its timers one lower and later cancels or starts the wrong one
    (``BadCancelTimerAttributes``), and the project is stuck for good (tests/faults/evidence).
    """
    ids = [
        int(e.timer_started_event_attributes.timer_id)
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]
    return sorted(set(range(1, max(ids, default=0) + 1)) - set(ids))


async def check_temporal(client: Client, d: ProjectDriver, v: Verdict, folder: Path) -> list[Path]:
    """Expected state, failing workflow tasks; write every run's history into ``folder``."""
    if not d.done:
        v.stuck.append(f"did not reach production: {d.reason}")
    elif (d.final or {}).get("stage") != "in_production":
        v.stuck.append(f"completed in stage {(d.final or {}).get('stage')}, expected in_production")
    paths: list[Path] = []
    try:
        desc = await d.handle.describe(rpc_timeout=timedelta(seconds=20))
        raw = desc.raw_description
        task = raw.pending_workflow_task if raw.HasField("pending_workflow_task") else None
        if task is not None and task.attempt > 1:
            v.stuck.append(f"workflow task failing: attempt {task.attempt}")
        if not d.done:
            pending = ", ".join(
                f"{a.activity_type.name} attempt {a.attempt}"
                + (f" ({a.last_failure.message[:120]})" if a.HasField("last_failure") else "")
                for a in raw.pending_activities
            )
            v.stuck.append(
                f"status {desc.status.name if desc.status else '?'}; "
                f"history length {raw.workflow_execution_info.history_length}; pending workflow task: "
                + (f"{PendingWorkflowTaskState.Name(task.state)} attempt {task.attempt}" if task else "none")
                + f"; pending activities: {pending or 'none'}"
            )
        runs = await histories(client, d.workflow_id)
    except RPCError as exc:
        v.stuck.append(f"cannot describe or read history: {exc}")
        return paths
    v.runs = len(runs)
    for i, h in enumerate(runs, start=1):
        failures = task_failures(h)
        for cause, message in failures:
            v.task_failures[cause] += 1
            if cause == WorkflowTaskFailedCause.Name(NONDETERMINISM):
                v.stuck.append(f"run {i}: WorkflowTaskFailed nondeterminism: {message[:300]}")
        gaps = timer_gaps(h)
        if gaps:
            v.unreplayable.append(f"run {i}: timer ids {gaps[:5]} never started: a cold replay would diverge")
        # The workflow id, then the run: the replay needs the real id (the workflow checks it).
        path = folder / f"{d.workflow_id}.run{i}.json"
        path.write_text(h.to_json(), encoding="utf-8")
        paths.append(path)
    return paths


# ---- the event store -----------------------------------------------------------------------


@dataclass
class Stored:
    version: int
    event_type: str
    payload: dict[str, Any]
    causation_id: str | None


async def stream(conn: asyncpg.Connection, project_id: str, causation: bool) -> list[Stored]:
    column = "causation_id" if causation else "NULL::text AS causation_id"
    rows = await conn.fetch(
        f"SELECT version, event_type, payload::text AS payload, {column} FROM events "
        "WHERE stream_id = $1 ORDER BY version",
        project_id,
    )
    return [Stored(r["version"], r["event_type"], json.loads(r["payload"]), r["causation_id"]) for r in rows]


def matches(e: Stored, x: Expect) -> bool:
    return e.event_type == x.event_type and all(
        e.payload.get(k) == val for k, val in x.where.items() if val is not None
    )


def check_once(commands: list[Command], events: list[Stored], causation: bool, v: Verdict) -> None:
    if causation:
        by_cause: dict[str, list[Stored]] = defaultdict(list)
        for e in events:
            if e.causation_id:
                by_cause[e.causation_id].append(e)
        for c in commands:
            n = sum(1 for e in by_cause.get(c.cid, []) if matches(e, c.expects[0]))
            what = f"{c.update} {c.cid} ({c.status}, {c.attempts} attempts)"
            if c.status == "acked" and n == 0:
                v.lost.append(f"{what}: no {c.expects[0].event_type} with its causation id")
            elif n > 1:
                v.duplicated.append(f"{what}: {n} x {c.expects[0].event_type}")
            elif c.status == "refused" and n:
                v.duplicated.append(f"{what}: refused, yet {c.expects[0].event_type} is in the store")
        return
    # Per type and key: acknowledged commands must each have their event, ambiguous ones may.
    acked: Counter[str] = Counter()
    maybe: Counter[str] = Counter()
    keyed: dict[str, Expect] = {}
    for c in commands:
        for x in c.expects:
            key = json.dumps([x.event_type, sorted(x.where.items())], ensure_ascii=False)
            keyed[key] = x
            if c.status == "acked":
                acked[key] += 1
            elif c.status in ("ambiguous", "unanswered"):
                maybe[key] += 1
    for key, x in keyed.items():
        n = sum(1 for e in events if matches(e, x))
        if n < acked[key]:
            v.lost.append(f"{x.event_type} {x.where}: {acked[key]} acknowledged, {n} stored")
        elif n > acked[key] + maybe[key]:
            v.duplicated.append(
                f"{x.event_type} {x.where}: {acked[key]} acknowledged (+{maybe[key]} ambiguous), {n} stored"
            )


def fold(events: list[Stored]) -> dict[str, Any]:
    """Stage, matters' states, construction percent and agent, as the stream tells them."""
    stage: str | None = None
    matters: dict[str, str] = {}
    percent, agent = 0, None
    states = {
        "MatterSubmitted": "pending",
        "MatterApproved": "approved",
        "ApprovalReinstated": "approved",
        "MatterRejected": "rejected",
        "CorrectionRequested": "correction",
        "CorrectionSupplied": "pending",
        "MatterExempted": "exempt",
        "ApprovalSuspended": "suspended",
    }
    for e in events:
        p = e.payload
        if e.event_type == "ProjectRegistered":
            agent = p.get("agent")
            for item in p.get("checklist", []):
                matters[item["matter_code"]] = "waiting"
        elif e.event_type == "StageStarted":
            stage = p["stage"]
        elif e.event_type == "ProjectInProduction":
            stage = "in_production"
        elif e.event_type == "ProjectWithdrawn":
            stage = "withdrawn"
            matters = {k: s if s in ("approved", "exempt") else "withdrawn" for k, s in matters.items()}
        elif e.event_type in states:
            matters[p["matter_code"]] = states[e.event_type]
        elif e.event_type == "ConstructionProgressReported":
            percent = p["percent"]
        elif e.event_type == "AgentReassigned":
            agent = p["to_agent"]
    return {"stage": stage, "matters": matters, "construction_percent": percent, "agent": agent}


def check_state(view: dict[str, Any] | None, events: list[Stored], rm: asyncpg.Record | None, v: Verdict) -> None:
    versions = [e.version for e in events]
    if versions != list(range(1, len(events) + 1)):
        missing = sorted(set(range(1, max(versions, default=0) + 1)) - set(versions))
        v.inconsistent.append(f"stream has gaps: versions missing {missing[:10]}")
    folded = fold(events)
    if view is not None:
        seen: dict[str, Any] = {
            "stage": view.get("stage"),
            "matters": {m["code"]: m["state"] for m in view.get("matters", [])},
            "construction_percent": view.get("construction_percent"),
            "agent": view.get("agent"),
        }
        for key, want in folded.items():
            if seen[key] != want:
                if key == "matters":
                    diff = {k: (seen[key].get(k), s) for k, s in want.items() if seen[key].get(k) != s}
                    v.inconsistent.append(f"matters differ (workflow, stream): {diff}")
                else:
                    v.inconsistent.append(f"{key}: workflow says {seen[key]!r}, stream says {want!r}")
        emitted = view.get("events_emitted")
        if isinstance(emitted, int) and emitted != len(events):
            v.inconsistent.append(f"workflow emitted {emitted} events, the store holds {len(events)}")
    if rm is None:
        v.inconsistent.append("no rm_projects row")
    else:
        if rm["stage"] != folded["stage"]:
            v.inconsistent.append(f"rm_projects.stage {rm['stage']!r}, stream says {folded['stage']!r}")
        if rm["last_version"] != len(events):
            v.inconsistent.append(f"rm_projects.last_version {rm['last_version']}, stream has {len(events)}")


async def caught_up(conn: asyncpg.Connection, within: float = 60) -> bool:
    """Wait until the projector's checkpoint reaches the last event."""
    for _ in range(int(within / 0.5)):
        row = await conn.fetchrow(
            "SELECT (SELECT coalesce(max(position), 0) FROM events) AS last, "
            "(SELECT position FROM projection_checkpoints WHERE projection = 'read_models') AS at"
        )
        if row is not None and row["at"] is not None and row["at"] >= row["last"]:
            return True
        await asyncio.sleep(0.5)
    return False


def copy_histories(paths: list[Path], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for p in paths:
        shutil.copy(p, folder / p.name)


# ---- all of it -----------------------------------------------------------------------------


async def check_all(
    client: Client,
    stack: Stack,
    drivers: list[ProjectDriver],
    *,
    legacy: bool,
    keep_histories: Path | None,
    say: Any,
) -> Report:
    verdicts = {d.project_id: Verdict(d.project_id) for d in drivers}
    folder = stack.root / "histories"
    folder.mkdir(exist_ok=True)
    files: dict[str, list[Path]] = {}
    for d in drivers:
        files[d.project_id] = await check_temporal(client, d, verdicts[d.project_id], folder)
    say(f"histories: {sum(len(f) for f in files.values())} runs written to {folder}")
    if keep_histories is not None:
        await asyncio.to_thread(copy_histories, [p for paths in files.values() for p in paths], keep_histories)
    out = stack.root / "replay.json"
    await asyncio.to_thread(stack.incode, "replay", str(folder), str(out), stack.dsn)
    replayed = json.loads(out.read_text(encoding="utf-8"))
    for pid, paths in files.items():
        for p in paths:
            err = replayed.get(p.name, "not replayed")
            if err:
                verdicts[pid].unreplayable.append(f"{p.name}: {err[:400]}")
    say(f"replayed {len(replayed)} histories on {stack.code}")

    conn = await asyncpg.connect(stack.dsn)
    try:
        causation = (
            bool(
                await conn.fetchval(
                    "SELECT 1 FROM information_schema.columns"
                    " WHERE table_name = 'events' AND column_name = 'causation_id'"
                )
            )
            and not legacy
        )
        if not await caught_up(conn):
            say("warning: the projector did not catch up within 60 s")
        for d in drivers:
            v = verdicts[d.project_id]
            events = await stream(conn, d.project_id, causation)
            v.events = len(events)
            check_once(d.commands, events, causation, v)
            view = None
            if not v.stuck:
                with contextlib.suppress(Exception):
                    view = await asyncio.wait_for(d.handle.query("state"), 30)
                if view is None:
                    v.inconsistent.append("state query failed on a settled project")
            rm = await conn.fetchrow("SELECT stage, last_version FROM rm_projects WHERE project_id = $1", d.project_id)
            check_state(view if isinstance(view, dict) else None, events, rm, v)
    finally:
        await conn.close()

    # Rebuild the read models with the workers (and their projectors) stopped.
    await asyncio.to_thread(stack.stop_workers)
    out = stack.root / "rebuild.json"
    await asyncio.to_thread(stack.incode, "rebuild", stack.dsn, str(out))
    rebuilt = json.loads(out.read_text(encoding="utf-8"))
    problems = []
    for table, diff in rebuilt["tables"].items():
        for side in ("only_live", "only_rebuilt"):
            for row in diff[side]:
                problems.append(f"{table} {side}: {json.dumps(row, ensure_ascii=False)[:300]}")
                pid = row.get("project_id")
                if pid in verdicts:
                    verdicts[pid].inconsistent.append(f"read model {table} differs after rebuild ({side})")
    say(
        f"read models rebuilt from {rebuilt['events_replayed']} events: "
        f"{'identical' if not problems else f'{len(problems)} rows differ'}"
    )
    commands: Counter[str] = Counter()
    for d in drivers:
        for c in d.commands:
            commands[c.status] += 1
            kind = c.payload.get("kind") if c.update == "decide" else None
            commands[f"{c.update}{f' {kind}' if kind else ''}"] += 1
            if c.update == "verify" and not c.payload.get("passed"):
                commands["verify failed"] += 1
    return Report(list(verdicts.values()), causation, problems, commands)
