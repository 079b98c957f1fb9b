"""``daiban repair PROJECT``: re-append a project's missing events from its Temporal history.

The workflow hands every event to the store through an activity, so the history holds each of
them as that activity's input: ``apply_batch`` (``{"project_id", "events": [EventEnvelope...],
"effects": [...]}``) or the legacy ``record_events`` (``{"events": [...]}``). When the event
store lost events that Temporal still has (a database restored from an older backup, a worker
that wrote to another database, a new empty database beside an existing Temporal), ``repair``
reads every run of the project's workflow (continue-as-new makes several), collects those
events and appends the ones the store lacks, in version order, with the store's idempotent
append: running it again appends nothing, and an event stored with other content is refused,
never overwritten.

Runs are found twice over: by visibility (``WorkflowId = 'project-...'``, every run the cluster
still keeps) and by following the continue-as-new chain back from the current run, which does
not depend on visibility being up to date.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import asyncpg
import structlog
from pydantic import BaseModel, ConfigDict, model_validator
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode

from eventstore.store import EventStoreError, append
from schemas.effects import events_filled_in
from schemas.events import EventEnvelope

log = structlog.get_logger(__name__)

# Activities whose input carries events for the store: the flush and its predecessor.
EVENT_ACTIVITIES = ("apply_batch", "record_events")


class _Batch(BaseModel):
    """What repair reads of an event-carrying activity's input; other fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    events: list[EventEnvelope]

    @model_validator(mode="before")
    @classmethod
    def _filled_in(cls, data: Any) -> Any:
        return events_filled_in(data)  # a batch leaves out what it implies (``schemas.effects.Batch``)


class RepairResult(BaseModel):
    """What ``repair_project`` found and did.

    ``events_in_history`` distinct events were found in ``batches`` activity inputs over ``runs``
    runs; ``appended`` of them were missing from the store and written now, ``already_present``
    were there already (with the same content).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    project_id: str
    workflow_id: str
    runs: int
    batches: int
    events_in_history: int
    appended: int
    already_present: int


class RepairError(EventStoreError):
    """The history cannot be repaired into this store: no such workflow, or it conflicts."""


def workflow_id_of(project_id: str) -> str:
    """The workflow id of a project (``schemas.project.workflow_id_for``'s rule)."""
    return f"project-{project_id}"


async def run_ids(client: Client, workflow_id: str) -> list[str]:
    """Every run of ``workflow_id`` the cluster keeps: visibility's, plus the continue-as-new chain.

    Raises:
        RepairError: no run of that workflow id exists.
    """
    if "'" in workflow_id or "\\" in workflow_id:
        raise RepairError(f"project_id: {workflow_id!r} cannot be queried (quote or backslash)")
    found: dict[str, None] = {}  # ordered set
    seen: set[str] = set()
    async for execution in client.list_workflows(f"WorkflowId = '{workflow_id}'"):
        found.setdefault(execution.run_id)
    # Follow the chain back from the newest run; visibility may lag behind a fresh run.
    run_id = await _current_run_id(client, workflow_id)
    while run_id is not None and run_id not in seen:
        seen.add(run_id)
        found.setdefault(run_id)
        first = await _first_event(client, workflow_id, run_id)
        if first is None:
            break
        run_id = first.workflow_execution_started_event_attributes.continued_execution_run_id or None
    if not found:
        raise RepairError(f"project_id: Temporal has no workflow {workflow_id}")
    return list(found)


async def _current_run_id(client: Client, workflow_id: str) -> str | None:
    try:
        return (await client.get_workflow_handle(workflow_id).describe()).run_id
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def _first_event(client: Client, workflow_id: str, run_id: str) -> HistoryEvent | None:
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    try:
        async for event in handle.fetch_history_events(page_size=1):
            return event
    except RPCError as exc:  # NOT_FOUND: no such run (or its history expired)
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return None


async def history_events(
    client: Client, workflow_id: str, run_id: str, converter: DataConverter = pydantic_data_converter
) -> tuple[int, list[EventEnvelope]]:
    """The events handed to the store by one run: (number of batches, events in history order).

    Raises:
        pydantic.ValidationError: an event-carrying input does not decode into events.
    """
    batches = 0
    found: list[EventEnvelope] = []
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    async for event in handle.fetch_history_events():
        if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        attrs = event.activity_task_scheduled_event_attributes
        if attrs.activity_type.name not in EVENT_ACTIVITIES or not attrs.input.payloads:
            continue
        (batch,) = await converter.decode(attrs.input.payloads, [_Batch])
        assert isinstance(batch, _Batch)
        batches += 1
        found += batch.events
    return batches, found


def _in_version_order(project_id: str, events: Sequence[EventEnvelope]) -> list[EventEnvelope]:
    """The distinct events of the project's stream, by version; raise on two versions of one."""
    by_id: dict[str, EventEnvelope] = {}
    for e in events:
        if e.stream_id != project_id:
            continue
        known = by_id.setdefault(e.event_id, e)
        if known != e:
            raise RepairError(f"event {e.event_id} appears in the history with two contents")
    ordered = sorted(by_id.values(), key=lambda e: e.version)
    for a, b in itertools.pairwise(ordered):
        if a.version == b.version:
            raise RepairError(f"stream {project_id} version {a.version} is two events in the history")
    return ordered


async def repair_project(
    pool: asyncpg.Pool, client: Client, project_id: str, *, converter: DataConverter = pydantic_data_converter
) -> RepairResult:
    """Append the events of ``project_id`` that its Temporal history has and the store lacks.

    All or nothing, in one transaction; idempotent (a second run appends 0).

    Raises:
        RepairError: Temporal has no such workflow, or the history holds one event id (or one
            version) with two contents.
        EventIdConflict: an event is stored with other content than the history's.
        StreamVersionConflict: a version is stored as another event, or the history starts
            after the store ends (runs expired from Temporal), which would leave a gap.
        temporalio.service.RPCError: Temporal failed.
    """
    workflow_id = workflow_id_of(project_id)
    runs = await run_ids(client, workflow_id)
    batches, collected = 0, list[EventEnvelope]()
    for run_id in runs:
        n, found = await history_events(client, workflow_id, run_id, converter)
        batches += n
        collected += found
    events = _in_version_order(project_id, collected)
    appended = await append(pool, events)
    result = RepairResult(
        project_id=project_id,
        workflow_id=workflow_id,
        runs=len(runs),
        batches=batches,
        events_in_history=len(events),
        appended=appended,
        already_present=len(events) - appended,
    )
    log.info("project repaired from its Temporal history", **result.model_dump())
    return result


def describe(result: RepairResult) -> str:
    """One line for people: how many appended and how many were there already."""
    return (
        f"{result.project_id}: appended {result.appended} event(s), {result.already_present} already "
        f"present ({result.events_in_history} in {result.batches} batch(es) over {result.runs} run(s))"
    )
