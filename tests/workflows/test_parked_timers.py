"""A project parked after a fault lets its alarm timers fire without spinning (time skipping).

One time-skipping test per module: the test server keeps a module's earlier projects around.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from tests.harness import Harness
from tests.workflows.helpers import decide, open_all, search_attributes, storage_refusing


async def test_a_parked_project_outlives_its_alarms(ts: Harness, ts_env: WorkflowEnvironment) -> None:
    h = await ts.start(zone="tunliu")
    v = await open_all(h)
    pending = next(m for m in v.matters if m.state == "pending")
    # PostgreSQL refuses its events for good: this batch can never be written, the project parks.
    async with storage_refusing(ts.pool, v.project_id):
        await decide(h, pending.code, pending.department, "refused-2", by="clerk")
        await search_attributes(h, DaibanFaulted=True)
        # Weeks pass: every alarm timer it had armed fires while it waits for an operator.
        await ts_env.sleep(timedelta(days=40))
    desc = await h.describe()
    assert desc.status is not None and desc.status.name == "RUNNING"
    failures = [
        e.workflow_task_failed_event_attributes.failure.message
        async for e in h.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    assert failures == []
    fired = [e async for e in h.fetch_history_events() if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED]
    assert fired, "its alarm timers fired while it was parked"
    with contextlib.suppress(Exception):
        await h.terminate("test finished")
