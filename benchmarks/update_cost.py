"""What each command in an Update's workflow task adds to the Update's latency, on the bench's server.

``python -m benchmarks.update_cost [--samples N] [--pace S] [--dynamic-config KEY=JSON_VALUE ...]``
starts its own dev server (given those dynamic config values, if any; and
PostgreSQL, unused: ``benchmarks.stack``), then one ``UpdateCost`` workflow per shape below, and
sends them Updates in turn, each ``--pace`` seconds after the one before (so each meets its
workflow at rest, as the bench's paced Updates do). Every Update's handler only queues; the
workflow's loop then issues the shape's commands in the same workflow task as the answer:

- ``answer``: nothing;
- ``activity``: one activity (the baseline's Update: ``insert_row``);
- ``activity + search attributes``: and one upsert of a keyword (daiban's ``publish``);
- ``activity + memo``: and one memo upsert (a visibility write as well, without search attributes);
- ``activity + timer``: and a timer (one more history event, no visibility write);
- ``activity + second queue``: and an activity on another task queue (daiban's ``deliver_applications``);
- ``activity + search attributes + second queue``: both (daiban's heaviest Update task).

It prints, per shape, the Update latency p25 / p50 / p75 in ms and the p50 above ``activity``'s.
The workflow code is the same for every shape, and the worker runs in this process, unsandboxed:
what differs is what the server does for the commands. A figure, not a test: on a loaded 2-core
machine the spread is a few ms.

A search attribute or memo change also queues a visibility task, which the dev server's history
service writes to the visibility store at once, in the same SQLite database as the histories (a
cluster keeps visibility in a database of its own, ``infra/deploy``). With the visibility queue
slowed down (``--dynamic-config history.visibilityProcessorMaxPollRPS=1 --dynamic-config
history.visibilityProcessorMaxPollHostRPS=1``) those writes leave the Updates' path, deferred up to
a second (`docs/benchmarks.md`, "How much of it is the dev server's visibility store").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from benchmarks.bench import quantile
from benchmarks.stack import Stack, add_dynamic_config_argument, dynamic_config_line
from schemas import visibility

QUEUE, SECOND_QUEUE = "update-cost", "update-cost-second"
SHAPES = (
    "answer",
    "activity",
    "activity + search attributes",
    "activity + memo",
    "activity + timer",
    "activity + second queue",
    "activity + search attributes + second queue",
)


@activity.defn(name="update_cost_noop")
async def noop(n: int) -> int:
    return n


@workflow.defn(name="UpdateCost")
class UpdateCost:
    """Issues ``shape``'s commands (module docstring) after each Update, until ``stop``."""

    def __init__(self) -> None:
        self._queued: list[int] = []
        self._stopped = False
        self._timers: list[asyncio.Task[None]] = []

    @workflow.run
    async def run(self, shape: str) -> int:
        done = 0
        while True:
            await workflow.wait_condition(lambda: bool(self._queued) or self._stopped)
            if not self._queued:
                return done
            n = self._queued.pop(0)
            handles = []
            if shape != "answer":
                handles.append(workflow.start_activity(noop, n, start_to_close_timeout=timedelta(seconds=30)))
            if "search attributes" in shape:
                workflow.upsert_search_attributes([visibility.STAGE.value_set(f"step-{n}")])
            if "memo" in shape:
                workflow.upsert_memo({"step": n})
            if "timer" in shape:  # started, never awaited: a command like the others
                self._timers.append(asyncio.create_task(workflow.sleep(timedelta(days=1))))
            if "second queue" in shape:
                handles.append(
                    workflow.start_activity(
                        noop, n, task_queue=SECOND_QUEUE, start_to_close_timeout=timedelta(seconds=30)
                    )
                )
            for h in handles:
                await h
            done += 1

    @workflow.update
    def step(self, n: int) -> int:
        self._queued.append(n)
        return n

    @workflow.signal
    def stop(self) -> None:
        self._stopped = True


async def measure(stack: Stack, samples: int, pace: float) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Update latencies (ms) per shape, the shapes taken in turn ``samples`` times; and each
    shape's workflow id."""
    client = stack.client
    assert client is not None
    latencies: dict[str, list[float]] = {shape: [] for shape in SHAPES}
    runner = UnsandboxedWorkflowRunner()
    async with (
        Worker(client, task_queue=QUEUE, workflows=[UpdateCost], activities=[noop], workflow_runner=runner),
        Worker(client, task_queue=SECOND_QUEUE, activities=[noop]),
    ):
        run = uuid.uuid4().hex[:8]
        handles = {
            shape: await client.start_workflow(UpdateCost.run, shape, id=f"update-cost-{run}-{i}", task_queue=QUEUE)
            for i, shape in enumerate(SHAPES)
        }
        for n in range(samples):
            for shape, h in handles.items():
                await asyncio.sleep(pace)
                t0 = time.perf_counter()
                await h.execute_update(UpdateCost.step, n)
                latencies[shape].append(1000 * (time.perf_counter() - t0))
        for h in handles.values():
            await h.signal(UpdateCost.stop)
            await h.result()
    return latencies, {shape: h.id for shape, h in handles.items()}


def report(latencies: dict[str, list[float]]) -> list[str]:
    """One line per shape: p25 / p50 / p75 ms and the p50 above ``activity``'s."""
    base = quantile(latencies["activity"], 0.5)
    lines = [f"{'the Update task issues':46} {'p25':>6} {'p50':>6} {'p75':>6}  p50 vs activity"]
    for shape, lat in latencies.items():
        p25, p50, p75 = (quantile(lat, q) for q in (0.25, 0.5, 0.75))
        lines.append(f"{shape:46} {p25:6.1f} {p50:6.1f} {p75:6.1f}  {p50 - base:+6.1f}")
    return lines


async def main(args: argparse.Namespace) -> None:
    stack = Stack(database_url=args.database_url, unsandboxed=True, dynamic_config=tuple(args.dynamic_config))
    try:
        await stack.start()
        latencies, _ = await measure(stack, args.samples, args.pace)
    finally:
        await stack.close()
    print(f"Update latency by what its workflow task issues ({args.samples} Updates each, {args.pace:g} s apart):")
    if args.dynamic_config:
        print(dynamic_config_line(args.dynamic_config))
    print("\n".join(report(latencies)))


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.update_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60, help="Updates per shape")
    parser.add_argument("--pace", type=float, default=0.15, help="seconds before each Update")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help=argparse.SUPPRESS)
    add_dynamic_config_argument(parser)
    args = parser.parse_args(argv)
    if not 1 <= args.samples <= 10_000 or not 0 <= args.pace <= 10:
        parser.error("--samples must be 1-10000 and --pace 0-10 seconds")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse(sys.argv[1:])))
