"""How long a batch stalls when its worker dies mid-attempt: with the heartbeat timeout, and without.

``python -m benchmarks.worker_loss`` starts its own dev server and PostgreSQL (``benchmarks.stack``;
``DATABASE_URL``'s server when set), then, for the heartbeat timeout daiban schedules
``apply_batch`` with (``schemas.activities.HEARTBEAT_TIMEOUT``) and for none (the start-to-close
timeout alone, as before): a worker process takes a lean batch whose predecessor is not stored yet
(so its attempt waits), is SIGKILLed half a second into the attempt, the predecessor lands, a fresh
worker starts at once; it prints the seconds from the kill to the batch's result. The batch runs in
``tests.workflows.heartbeat_probe.HeartbeatProbe``: one ``apply_batch``, scheduled as the project
workflow schedules it. A figure, not a test: the server's timers set it, within a second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
import uuid
from datetime import timedelta

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.project import ProjectActivities
from benchmarks.stack import Stack
from eventstore.batches import apply_batch
from infra.db import create_pool
from schemas.activities import HEARTBEAT_TIMEOUT
from tests import support as sp
from tests.workflows.heartbeat_probe import HeartbeatProbe, OneBatch

QUEUE = "worker-loss"


async def serve(address: str, dsn: str) -> None:
    """The worker process: ``HeartbeatProbe`` and the real ``apply_batch``, until killed."""
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    pool = await create_pool(dsn, max_size=2)
    acts = ProjectActivities(pool)
    async with Worker(client, task_queue=QUEUE, workflows=[HeartbeatProbe], activities=[acts.apply_batch]):
        print("ready", flush=True)
        await asyncio.Event().wait()


async def spawn(stack: Stack) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.worker_loss", "--serve", stack.address, stack.dsn,
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.getcwd()},
    )  # fmt: skip
    assert proc.stdout is not None
    if not await asyncio.wait_for(proc.stdout.readline(), 60):
        raise RuntimeError("the worker process exited before it was ready")
    return proc


async def stall(stack: Stack, heartbeat: timedelta | None) -> float:
    """Seconds from the worker's SIGKILL mid-attempt to the batch's result on a fresh worker."""
    assert stack.client is not None and stack.pool is not None
    first, second = sp.lean_split()
    doomed = await spawn(stack)
    ms = int(heartbeat.total_seconds() * 1000) if heartbeat else 0
    handle = await stack.client.start_workflow(
        HeartbeatProbe.run, OneBatch(batch=second, heartbeat_ms=ms), id=f"loss-{uuid.uuid4().hex[:8]}", task_queue=QUEUE
    )
    for _ in range(600):  # until the attempt runs on the doomed worker
        pending = (await handle.describe()).raw_description.pending_activities
        if pending and pending[0].state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    doomed.send_signal(signal.SIGKILL)
    killed = time.perf_counter()
    await doomed.wait()
    await apply_batch(stack.pool, first)  # the next attempt finds its predecessor at once
    fresh = await spawn(stack)
    try:
        await handle.result()
        return time.perf_counter() - killed
    finally:
        fresh.kill()
        await fresh.wait()


async def run() -> None:
    stack = Stack(database_url=os.environ.get("DATABASE_URL"), unsandboxed=False)
    try:
        await stack.start()
        for heartbeat in (HEARTBEAT_TIMEOUT, None):
            seconds = await stall(stack, heartbeat)
            label = f"heartbeat timeout {heartbeat.total_seconds():.0f} s" if heartbeat else "no heartbeat timeout"
            print(f"{label}: the batch landed {seconds:.1f} s after its worker was killed", flush=True)
    finally:
        await stack.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", nargs=2, metavar=("ADDRESS", "DSN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    asyncio.run(serve(*args.serve) if args.serve else run())


if __name__ == "__main__":
    main()
