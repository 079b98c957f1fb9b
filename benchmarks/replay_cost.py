"""What a workflow task costs the worker under each workflow runner: replays of committed histories.

``python -m benchmarks.replay_cost [--reps N]`` replays the recorded lifecycles
(``tests/replay/histories``) with the SDK's default sandbox, with daiban's (``infra.sandbox``:
the ``workflows`` package shared, the per-payload context question answered directly) and with
no sandbox, and prints the wall time per workflow task, median over ``--reps`` rounds. A replay
does what a worker does for a task (decode the activation, run the workflow code in its runner,
encode the completion) without the server round trips, so the differences are the runners' own.
No server is needed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from infra.sandbox import RESTRICTIONS, Sandbox
from tests.replay.test_replay import HISTORIES, load, load_content
from worker import WORKFLOWS

RECORDED = ("lifecycle_to_production.json", "lifecycle_to_production_last_run.json")


def _tasks(name: str) -> int:
    """How many workflow tasks the recorded history ``name`` completed."""
    events = json.loads((HISTORIES / name).read_text(encoding="utf-8"))["events"]
    return sum(1 for e in events if e["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_COMPLETED")


async def _round(runner: WorkflowRunner, histories: list[WorkflowHistory]) -> float:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter, workflow_runner=runner)
    t0 = time.perf_counter()
    for h in histories:
        await replayer.replay_workflow(h)
    return time.perf_counter() - t0


async def main(reps: int) -> None:
    load_content()
    histories = [load(HISTORIES / name) for name in RECORDED]
    tasks = sum(_tasks(name) for name in RECORDED)
    runners: dict[str, WorkflowRunner] = {
        "SDK sandbox (workflows shared)": SandboxedWorkflowRunner(restrictions=RESTRICTIONS),
        "daiban sandbox (infra.sandbox)": Sandbox(restrictions=RESTRICTIONS),
        "no sandbox": UnsandboxedWorkflowRunner(),
    }
    for runner in runners.values():  # warm: imports, the sandbox's module copies
        await _round(runner, histories)
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(reps):  # interleaved, so that a busy moment of the machine hits all three
        for name, runner in runners.items():
            times[name].append(await _round(runner, histories))
    print(f"{tasks} workflow tasks replayed per round, {reps} rounds; ms per workflow task (median):")
    for name, t in times.items():
        print(f"  {name:32} {1000 * statistics.median(t) / tasks:6.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    asyncio.run(main(parser.parse_args().reps))
