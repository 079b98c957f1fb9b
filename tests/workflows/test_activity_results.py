"""Every activity's result is something a person can read in the Temporal UI.

A ``None`` result is stored as a ``binary/null`` payload, which the UI shows as base64 metadata;
``record_fault`` used to return one. It now returns the fault it recorded (``FaultRecorded``), and
the workflow takes both (``workflows.faulting``; the histories recorded before replay in
``tests/replay``: ``faulted_and_retried_before_fault_result``).
"""

from __future__ import annotations

from typing import Any

import asyncpg
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter

from schemas.activities import APPLY_BATCH, DELIVER_APPLICATIONS, RECORD_FAULT, RESOLVE_VERSIONS, FaultRecorded
from schemas.project import RetryFaulted
from tests.harness import Harness
from tests.support import rid
from tests.workflows.helpers import decide, open_all, search_attributes, settle, storage_refusing
from workflows.project import ProjectWorkflow


async def completed_results(h: WorkflowHandle[Any, Any]) -> list[tuple[str, Payload]]:
    """(activity name, result payload) of each completed activity, in history order."""
    names: dict[int, str] = {}
    out = []
    async for e in h.fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            names[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = e.activity_task_completed_event_attributes
            (payload,) = done.result.payloads
            out.append((names[done.scheduled_event_id], payload))
    return out


async def test_a_recorded_fault_is_the_activity_result_and_no_result_is_null(
    dev: Harness, pg_pool: asyncpg.Pool
) -> None:
    h = await dev.start(zone="tunliu")
    v = await open_all(h, "res")
    pending = next(m for m in v.matters if m.state == "pending")
    async with storage_refusing(pg_pool, v.project_id):
        await decide(h, pending.code, pending.department, "res-refused", by="clerk")
        await search_attributes(h, DaibanFaulted=True)
        await settle(h)
    await h.execute_update(ProjectWorkflow.retry_faulted, RetryFaulted(request_id=rid(), by="operator-li"))
    await search_attributes(h, DaibanFaulted=False)
    await settle(h)

    results = await completed_results(h)
    assert {RESOLVE_VERSIONS, APPLY_BATCH, DELIVER_APPLICATIONS, RECORD_FAULT} <= {name for name, _ in results}
    # JSON the UI shows as it is: a number of events (a batch, a delivery) or a model; never null.
    assert {p.metadata["encoding"] for _, p in results} == {b"json/plain"}, results
    (fault,) = [p for name, p in results if name == RECORD_FAULT]
    (recorded,) = pydantic_data_converter.payload_converter.from_payloads([fault], [FaultRecorded])
    assert isinstance(recorded, FaultRecorded)
    assert recorded.project_id == v.project_id and recorded.error_type == "StorageRefused" and recorded.new
    assert "refused for the test" in recorded.refused
    # The id names the stored row and the operators' notification.
    row = await pg_pool.fetchrow(
        "SELECT run_id, first_event_version FROM project_faults WHERE project_id = $1", v.project_id
    )
    assert row is not None
    assert recorded.fault_id == f"{v.project_id}:fault:{row['run_id']}:{row['first_event_version']}"
    found = await pg_pool.fetchval("SELECT count(*) FROM notifications WHERE notification_id = $1", recorded.fault_id)
    assert found == 1
    await h.terminate("test finished")
