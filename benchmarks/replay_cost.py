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
import base64
import json
import statistics
import time
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from catalog.content import REGISTRY
from infra.sandbox import RESTRICTIONS, Sandbox
from schemas.project import workflow_id_for
from worker import WORKFLOWS

HISTORIES = Path(__file__).parent.parent / "tests" / "replay" / "histories"
CONTENT = HISTORIES.parent / "content"
RECORDED = ("lifecycle_to_production.json", "lifecycle_to_production_last_run.json")


def _histories() -> tuple[list[WorkflowHistory], int]:
    """The recorded lifecycles, and how many workflow tasks they hold."""
    out, tasks = [], 0
    for name in RECORDED:
        text = (HISTORIES / name).read_text(encoding="utf-8")
        events = json.loads(text)["events"]
        first = events[0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]["data"]
        pid = json.loads(base64.b64decode(first))["registration"]["project_id"]
        out.append(WorkflowHistory.from_json(workflow_id_for(pid), text))
        tasks += sum(1 for e in events if e["eventType"] in ("EVENT_TYPE_WORKFLOW_TASK_COMPLETED", 6))
    return out, tasks


async def _round(runner: WorkflowRunner, histories: list[WorkflowHistory]) -> float:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter, workflow_runner=runner)
    t0 = time.perf_counter()
    for h in histories:
        await replayer.replay_workflow(h)
    return time.perf_counter() - t0


async def main(reps: int) -> None:
    for path in sorted(CONTENT.glob("*.json")):
        entry = json.loads(path.read_text(encoding="utf-8"))
        REGISTRY.add(entry["kind"], entry["content"], path.stem)
    histories, tasks = _histories()
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
