"""What an Update's workflow task issued, read from history (``benchmarks.bench.answered_with``),
and ``python -m benchmarks.update_cost`` at its smallest: every shape's workflow issues, in the
Update's own task, exactly the commands its name says. Timings are printed, never asserted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from google.protobuf import json_format
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.service import RPCError

from benchmarks import update_cost
from benchmarks.bench import answered_with, update_tasks
from benchmarks.stack import Stack, dynamic_config_value

HISTORIES = Path(__file__).parents[1] / "replay" / "histories"


def _event(kind: EventType.ValueType, **attrs: Mapping[str, object]) -> HistoryEvent:
    e = HistoryEvent(event_type=kind)
    for field, value in attrs.items():
        json_format.ParseDict(dict(value), getattr(e, field))
    return e


def test_each_update_is_named_with_what_its_task_issued() -> None:
    completed = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    scheduled = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    answered = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
    accepted = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    batch = {"activity_task_scheduled_event_attributes": {"activityType": {"name": "apply_batch"}}}
    events = [
        _event(completed),
        _event(scheduled, **batch),
        _event(accepted),
        _event(answered, workflow_execution_update_completed_event_attributes={"meta": {"updateId": "u1"}}),
        _event(EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES),
        # the batch runs: not the task's commands
        _event(EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED),
        _event(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED),
        _event(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
        _event(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED),
        _event(completed),
        _event(accepted),
        _event(answered, workflow_execution_update_completed_event_attributes={"meta": {"updateId": "u2"}}),
        _event(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
        _event(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED),
        _event(completed),
        _event(scheduled, **batch),  # a task that answered no Update names nothing
    ]
    assert answered_with(events) == {"u1": "apply_batch + search attributes", "u2": "-"}


def test_every_update_of_a_committed_lifecycle_is_found() -> None:
    doc = json.loads((HISTORIES / "lifecycle_to_production.json").read_text(encoding="utf-8"))
    hist = json_format.ParseDict(doc, History(), ignore_unknown_fields=True)
    tasks = answered_with(hist.events)
    updates = [e for e in hist.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED]
    assert len(tasks) == len(updates) >= 10  # its first run (a run continues as new at 200 events)
    named = {part for label in tasks.values() for part in label.split(" + ")}
    assert named <= {"-", "apply_batch", "deliver_applications", "search attributes", "timer", "continue-as-new"}
    assert "apply_batch" in named and "search attributes" in named


@pytest.mark.timeout(180)
async def test_each_shape_issues_what_it_names(pg_server_dsn: str) -> None:
    stack = Stack(database_url=pg_server_dsn, unsandboxed=True)
    try:
        await stack.start()
        latencies, ids = await update_cost.measure(stack, samples=2, pace=0.0)
        assert stack.client is not None
        issued = {shape: set((await update_tasks(stack.client, wid)).values()) for shape, wid in ids.items()}
    finally:
        await stack.close()
    assert {shape: len(lat) for shape, lat in latencies.items()} == dict.fromkeys(update_cost.SHAPES, 2)
    noop = "update_cost_noop"
    assert issued == {
        "answer": {"-"},
        "activity": {noop},
        "activity + search attributes": {f"search attributes + {noop}"},
        "activity + memo": {f"memo + {noop}"},
        "activity + timer": {f"timer + {noop}"},
        "activity + second queue": {f"{noop} + {noop}"},
        "activity + search attributes + second queue": {f"search attributes + {noop} + {noop}"},
    }
    lines = update_cost.report(latencies)
    assert len(lines) == 1 + len(update_cost.SHAPES)
    assert lines[2].startswith("activity ") and lines[2].endswith("+0.0")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("history.visibilityProcessorMaxPollRPS=1", None),
        ('frontend.namespaceRPS="x"', None),
        ("history.visibilityProcessorMaxPollRPS", "expected KEY=JSON_VALUE"),
        ("visibility=1", "expected KEY=JSON_VALUE"),
        ("history.x=abc", "not JSON"),
        ("history.x=", "not JSON"),
        ("history.x=" + "1" * 1000, "longer than 1000 characters"),
    ],
)
def test_a_dynamic_config_value_is_checked(text: str, error: str | None, tmp_path: Path) -> None:
    if error is None:
        assert dynamic_config_value(text) == text
        assert update_cost.parse(["--dynamic-config", text]).dynamic_config == [text]
    else:
        with pytest.raises(ValueError, match=error):
            dynamic_config_value(text)
        with pytest.raises(SystemExit):
            update_cost.parse(["--dynamic-config", text])
        with pytest.raises(ValueError, match=error):
            Stack(database_url=None, unsandboxed=True, dynamic_config=(text,), root=tmp_path)


@pytest.mark.timeout(120)
async def test_the_dev_server_runs_with_the_dynamic_config_given(pg_server_dsn: str) -> None:
    stack = Stack(database_url=pg_server_dsn, unsandboxed=True, dynamic_config=("limit.maxIDLength=40",))
    try:
        await stack.start()
        assert stack.client is not None
        with pytest.raises(RPCError, match="WorkflowId exceeds maximum allowed length"):
            await stack.client.start_workflow("UpdateCost", "answer", id="w" * 41, task_queue="nowhere")
        await stack.client.start_workflow("UpdateCost", "answer", id="w" * 40, task_queue="nowhere")
    finally:
        await stack.close()
