"""``apply_batch`` heartbeats in the background (``activities.heartbeat``), so a worker that dies
in the middle of a batch is noticed after the heartbeat timeout, not the start-to-close timeout.

Two parts: the beats themselves, run in an ``ActivityEnvironment`` (no server); then, on the dev
server, what only a server shows: an attempt that works longer than its heartbeat timeout lives on
(the beats reach the server), and the predecessor misses an attempt heartbeats before it fails
still reach the next attempt with the background beats on (the SDK throttles heartbeats).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.heartbeat import beating
from activities.project import ProjectActivities
from eventstore.batches import apply_batch
from schemas.activities import PREDECESSOR_ATTEMPTS, PREDECESSOR_NOT_STORED
from tests import support as sp
from tests.workflows.heartbeat_probe import HeartbeatProbe, OneBatch

# The probes' 1 s heartbeat timeout throttled as worker.py throttles its 10 s (HEARTBEAT_THROTTLE).
THROTTLE = timedelta(milliseconds=333)


def _env(
    heartbeat_timeout: timedelta | None, details: list[object] | None = None
) -> tuple[ActivityEnvironment, list[tuple[object, ...]]]:
    """An activity environment with ``heartbeat_timeout`` and carried ``details``; its beats."""
    env, beats = ActivityEnvironment(), []
    env.on_heartbeat = lambda *d: beats.append(d)
    env.info = dataclasses.replace(env.info, heartbeat_timeout=heartbeat_timeout, heartbeat_details=details or [])
    return env, beats


# ---- the beats, no server ------------------------------------------------------------------------


async def test_a_long_block_beats_with_its_details() -> None:
    env, beats = _env(timedelta(seconds=0.15))

    async def work() -> None:
        async with beating(lambda: ["seen"]):
            await asyncio.sleep(0.4)

    await env.run(work)
    assert len(beats) >= 2 and set(beats) == {("seen",)}


@pytest.mark.parametrize(
    ("heartbeat_timeout", "block_seconds"),
    [(timedelta(seconds=3), 0.0), (None, 0.2)],
    ids=["a block within the first third", "no heartbeat timeout"],
)
async def test_no_beats(heartbeat_timeout: timedelta | None, block_seconds: float) -> None:
    """The first beat comes after a third of the timeout (a batch that lands at once costs no
    call), and none without a heartbeat timeout."""
    env, beats = _env(heartbeat_timeout)

    async def work() -> None:
        async with beating():
            await asyncio.sleep(block_seconds)

    await env.run(work)
    assert beats == []


async def test_no_beat_after_the_block() -> None:
    env, beats = _env(timedelta(seconds=0.6))  # a beat every 0.2 s

    async def work() -> int:
        async with beating():
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        return len(beats)

    assert await env.run(work) == 0


async def test_apply_batch_beats_keep_the_misses_and_a_miss_beats_the_new_count(pg_pool: asyncpg.Pool) -> None:
    """An attempt that waited for its predecessor in vain: its background beats carry the count it
    started with, its last heartbeat the count with its own miss (what the next attempt reads)."""
    _, second = sp.lean_split()
    env, beats = _env(timedelta(seconds=0.6), details=[5])
    with pytest.raises(ApplicationError) as refused:
        await env.run(ProjectActivities(pg_pool).apply_batch, second)
    assert refused.value.type == PREDECESSOR_NOT_STORED
    assert beats[-1] == (6,) and len(beats) >= 2 and set(beats[:-1]) == {(5,)}


# ---- on the dev server ---------------------------------------------------------------------------


async def _attempts(handle: WorkflowHandle[Any, Any]) -> tuple[list[int], list[str], int]:
    """The batch's started attempts (a closed activity's history keeps only its last), their last
    failures' messages, and its timeouts."""
    attempts, failures, timeouts = [], [], 0
    async for e in handle.fetch_history_events():
        if e.HasField("activity_task_started_event_attributes"):
            a = e.activity_task_started_event_attributes
            attempts.append(a.attempt)
            if a.HasField("last_failure"):
                failures.append(a.last_failure.message)
        if e.HasField("activity_task_timed_out_event_attributes"):
            timeouts += 1
    return attempts, failures, timeouts


async def test_an_attempt_longer_than_its_heartbeat_timeout_lives_on(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool
) -> None:
    """The batch waits 1.4 s for its predecessor, past a 1 s heartbeat timeout: it lands in its
    first attempt, so its beats reached the server (without them, the attempt times out)."""
    first, second = sp.lean_split()
    acts = ProjectActivities(pg_pool)
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=[HeartbeatProbe],
        activities=[acts.apply_batch],
        max_heartbeat_throttle_interval=THROTTLE,
    ):
        handle = await dev_env.client.start_workflow(
            HeartbeatProbe.run,
            OneBatch(batch=second, heartbeat_ms=1000),
            id=f"hb-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )
        await asyncio.sleep(1.4)
        await apply_batch(pg_pool, first)
        assert await handle.result() == 0  # effects only
    attempts, _, timeouts = await _attempts(handle)
    assert (attempts, timeouts) == ([1], 0)


async def test_the_misses_reach_the_next_attempt_with_the_beats_on(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool
) -> None:
    """Three attempts miss the predecessor (each waits 2 s, beating), the fourth finds it: the
    fourth attempt's last failure is the third miss, counted from the heartbeat details."""
    first, second = sp.lean_split()
    acts = ProjectActivities(pg_pool)
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=[HeartbeatProbe],
        activities=[acts.apply_batch],
        max_heartbeat_throttle_interval=THROTTLE,
    ):
        handle = await dev_env.client.start_workflow(
            HeartbeatProbe.run,
            OneBatch(batch=second, heartbeat_ms=1000),  # beats within each 2 s attempt, throttled
            id=f"hb-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )
        for _ in range(300):  # until the fourth attempt started (history shows only the last one)
            pending = (await handle.describe()).raw_description.pending_activities
            if pending and pending[0].attempt >= 4:
                break
            await asyncio.sleep(0.1)
        await apply_batch(pg_pool, first)
        assert await handle.result() == 0
    attempts, failures, timeouts = await _attempts(handle)
    assert attempts[-1] >= 4 and timeouts == 0
    assert f"(attempt {attempts[-1] - 1} of {PREDECESSOR_ATTEMPTS} to find it)" in failures[-1]
