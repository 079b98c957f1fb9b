"""The raw baseline of ``make bench``: the same job written the naive way on Temporal.

One ``BaselineWorkflow`` per lifecycle receives the same Updates as daiban's lifecycle (the same
number, in the same steps, concurrent within a step as daiban's driver sends them, each under
daiban's update name and id and with the argument daiban received) and runs one activity per
effect, each one ``INSERT`` into ``baseline_events``, in the order the effects arose:
``start_rows`` for the registration (its input carries daiban's registration), then for each
Update the rows its argument names. The bench
takes those rows from daiban's own events table (rows per causing command of a lifecycle it drove
alone, and each row's payload size), so both variants write the same rows per lifecycle, of the
same sizes: the baseline's payload is filler text, so it carries the data but computes nothing.

It shares with daiban what a fair comparison needs: the pydantic data converter, the workflow
sandbox choice, the activities' retry policy and timeouts (``workflows.project``) and the worker
options (``benchmarks.bench_worker``). An Update's handler only queues (as daiban's handlers
never await); the main loop runs the activities. The workflow completes once it has received
``updates`` Updates and stored every row; its result and its query are a few bytes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.common import RawValue, WorkflowIDConflictPolicy

with workflow.unsafe.imports_passed_through():
    from benchmarks.patience import patiently
    from schemas.activities import HEARTBEAT_TIMEOUT
    from workflows.project import _RETRY, _TIMEOUT

TABLE_DDL = """
CREATE TABLE IF NOT EXISTS baseline_events (
    lifecycle_id text        NOT NULL,
    seq          integer     NOT NULL,
    kind         text        NOT NULL,
    payload      jsonb       NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lifecycle_id, seq)
)
"""


class BaselineInput(BaseModel):
    lifecycle_id: str
    start_rows: int
    updates: int  # the workflow completes after this many Updates, once every row is stored
    registration: dict[str, Any] = {}  # daiban's registration, as daiban's workflow receives it
    start_sizes: list[int] = []  # the payload size (bytes) of each start row


class Step(BaseModel):
    """One Update: its name in daiban's lifecycle, how many effects (rows) it caused there, their
    payload sizes (bytes, as PostgreSQL's jsonb text) and the argument daiban received."""

    name: str
    rows: int
    sizes: list[int] = []
    arg: dict[str, Any] = {}


class Row(BaseModel):
    lifecycle_id: str
    seq: int
    kind: str
    payload: str = ""  # JSON (``filler``); empty: ``{"kind": ...}``


def filler(size: int) -> str:
    """A JSON string whose jsonb text is ``size`` bytes (at least its two quotes)."""
    return json.dumps("x" * max(size - 2, 0))


class BaselineState(BaseModel):
    updates: int
    rows: int


@workflow.defn(name="BaselineWorkflow")
class BaselineWorkflow:
    def __init__(self) -> None:
        self._queue: list[Step] = []
        self._received = 0
        self._stored = 0

    @workflow.run
    async def run(self, inp: BaselineInput) -> BaselineState:
        await self._effects(inp.lifecycle_id, Step(name="register", rows=inp.start_rows, sizes=inp.start_sizes))
        while self._received < inp.updates or self._queue:
            await workflow.wait_condition(lambda: bool(self._queue))
            await self._effects(inp.lifecycle_id, self._queue.pop(0))
        return BaselineState(updates=self._received, rows=self._stored)

    async def _effects(self, lifecycle_id: str, step: Step) -> None:
        for i in range(step.rows):
            seq = self._stored + 1
            payload = filler(step.sizes[i]) if i < len(step.sizes) else ""
            await workflow.execute_activity_method(
                BaselineActivities.insert_row,
                Row(lifecycle_id=lifecycle_id, seq=seq, kind=step.name, payload=payload),
                start_to_close_timeout=_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=_RETRY,
            )
            self._stored = seq

    @workflow.update(dynamic=True)
    def step(self, name: str, args: Sequence[RawValue]) -> BaselineState:
        """Every Update, under daiban's own name for it (``submit_application``, ``decide``...)."""
        s = workflow.payload_converter().from_payload(args[0].payload, Step)
        self._received += 1
        self._queue.append(s)
        return BaselineState(updates=self._received, rows=self._stored)

    @workflow.query
    def state(self) -> BaselineState:
        return BaselineState(updates=self._received, rows=self._stored)


class BaselineActivities:
    """The one activity: an idempotent INSERT of one row (``pool``: an asyncpg pool)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    @activity.defn(name="insert_row")
    async def insert_row(self, row: Row) -> None:
        await self.pool.execute(
            "INSERT INTO baseline_events (lifecycle_id, seq, kind, payload) VALUES ($1, $2, $3, $4::jsonb)"
            " ON CONFLICT DO NOTHING",
            row.lifecycle_id,
            row.seq,
            row.kind,
            row.payload or '{"kind": "' + row.kind + '"}',
        )


# ---- the driver ---------------------------------------------------------------------------------


class Schedule(BaseModel):
    """A lifecycle's shape, taken from daiban: rows at registration, then Updates step by step."""

    start_rows: int
    steps: list[list[Step]]
    registration: dict[str, Any] = {}
    start_sizes: list[int] = []
    # Each Update's id after daiban's project id (``-apply-eia-1``): the baseline sends the same
    # update ids as daiban did, after its own lifecycle id (of the same length as daiban's project id).
    id_suffixes: list[list[str]] = []

    @property
    def updates(self) -> int:
        return sum(len(s) for s in self.steps)

    @property
    def rows(self) -> int:
        return self.start_rows + sum(u.rows for s in self.steps for u in s)

    def shape(self) -> list[list[tuple[str, int]]]:
        """The Updates step by step with the rows each caused (what two lifecycles share; their
        arguments and payload sizes differ in ids and times)."""
        return [[("register", self.start_rows)]] + [[(u.name, u.rows) for u in s] for s in self.steps]

    def update_id_suffix(self, step: int, i: int) -> str:
        """The id of step ``step``'s ``i``-th Update after the lifecycle id (``-{step}-{i}`` when unknown)."""
        if step < len(self.id_suffixes) and i < len(self.id_suffixes[step]):
            return self.id_suffixes[step][i]
        return f"-{step}-{i}"

    @property
    def payload_bytes(self) -> int:
        """The rows' payload bytes (0 when the sizes are not known)."""
        return sum(self.start_sizes) + sum(sum(u.sizes) for s in self.steps for u in s)


async def drive(
    client: Client,
    task_queue: str,
    lifecycle_id: str,
    schedule: Schedule,
    latencies: list[float],
    *,
    sequential: bool = False,
    pace: float = 0.0,
) -> BaselineState:
    """One lifecycle: start, then per step one state query and the step's Updates (concurrent,
    or one after another when ``sequential``, each ``pace`` seconds after the one before); the
    workflow's result."""
    handle = await start_open(client, task_queue, lifecycle_id, schedule)

    async def send(s: Step, update_id: str) -> None:
        t0 = time.perf_counter()
        await patiently(lambda: handle.execute_update(s.name, s, id=update_id), "update")
        latencies.append(time.perf_counter() - t0)

    for i, step in enumerate(schedule.steps):
        # daiban's driver reads the state once per step
        await patiently(lambda: handle.query(BaselineWorkflow.state), "query")
        ids = [lifecycle_id + schedule.update_id_suffix(i, j) for j in range(len(step))]
        if sequential:
            for s, update_id in zip(step, ids, strict=True):
                await asyncio.sleep(pace)
                await send(s, update_id)
        else:
            await asyncio.gather(*(send(s, update_id) for s, update_id in zip(step, ids, strict=True)))
    return await patiently(handle.result, "result")


async def start_open(
    client: Client, task_queue: str, lifecycle_id: str, schedule: Schedule
) -> WorkflowHandle[Any, BaselineState]:
    """A lifecycle started (again after a timeout: the same one), waiting for its first Update."""
    return await patiently(
        lambda: client.start_workflow(
            BaselineWorkflow.run,
            BaselineInput(
                lifecycle_id=lifecycle_id,
                start_rows=schedule.start_rows,
                updates=schedule.updates,
                registration=schedule.registration,
                start_sizes=schedule.start_sizes,
            ),
            id=f"baseline-{lifecycle_id}",
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        ),
        "start",
    )
