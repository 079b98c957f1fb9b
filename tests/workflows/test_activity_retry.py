"""A batch that committed but whose activity then died is retried and writes nothing twice.

The worker registers, under the real activity name, a wrapper that runs the real ``apply_batch``
and then fails its first attempt, as a worker killed between COMMIT and reporting completion would.
"""

from __future__ import annotations

import asyncio

import asyncpg
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.project import ProjectActivities
from schemas.effects import Batch
from tests.harness import Harness, adapter_worker
from tests.workflows.helpers import approve_all, events, open_all, settle, view
from worker import WORKFLOWS, activities_of


class CrashAfterCommit:
    def __init__(self, real: ProjectActivities) -> None:
        self.real = real
        self.crashed: list[int] = []

    @activity.defn(name="apply_batch")
    async def apply_batch(self, batch: Batch) -> int:
        written = await self.real.apply_batch(batch)
        if activity.info().attempt == 1:
            self.crashed.append(written)
            raise RuntimeError("worker died after COMMIT, before reporting completion")
        return written


async def test_a_retried_append_after_commit_writes_nothing_twice(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool
) -> None:
    real = ProjectActivities(pg_pool)
    crashing = CrashAfterCommit(real)
    acts = [a for a in activities_of(real) if getattr(a, "__name__", "") != "apply_batch"]
    async with (
        adapter_worker(dev_env.client, task_queue, pg_pool),
        Worker(
            dev_env.client,
            task_queue=task_queue,
            workflows=WORKFLOWS,
            activities=[*acts, crashing.apply_batch],
        ),
    ):
        h = await Harness(dev_env.client, task_queue, pg_pool).start(zone="tunliu")
        await approve_all(h, "approval_land", prefix="crash")
        await open_all(h, "crash")
        pid = h.id.removeprefix("project-")
        for _ in range(100):  # until every event the workflow emitted is in the store
            await settle(h)
            rows = await events(pg_pool, pid)
            if len(rows) == (await view(h)).events_emitted:
                break
            await asyncio.sleep(0.1)
        await h.terminate("test finished")
    # Batches carry everything not yet known stored (workflows/pipeline.py): one whose events an
    # earlier, crashed-after-commit batch already stored writes none of them again.
    assert crashing.crashed and any(n > 0 for n in crashing.crashed), "first attempts committed events"
    versions = [r["version"] for r in rows]
    assert versions == list(range(1, len(rows) + 1)), "each event once, in order, no gap"
    history = [e async for e in h.fetch_history_events()]
    retried = [
        e
        for e in history
        if e.HasField("activity_task_started_event_attributes") and e.activity_task_started_event_attributes.attempt > 1
    ]
    assert retried, "the appends were retried by Temporal"
    ids = await pg_pool.fetchval("SELECT count(DISTINCT event_id) FROM events WHERE stream_id = $1", pid)
    assert ids == len(rows)
