"""A run continued as new by another release, whose carried state this worker cannot read (a newer
release's rule field, after a rollback), waits with its workflow task failing until a worker that
reads it comes back: the project is never ended for it (it was, refused as an invalid start)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from interfaces.client import DaibanClient
from schemas.project import CalendarUpdate
from tests.harness import Releases
from tests.workflows.helpers import approve_all, open_all, settle, stop_and_resume, view
from tests.workflows.next_release import (
    NEXT_FIELD,
    ProjectWorkflowHandingOver,
    ProjectWorkflowNextRelease,
    handover_queue,
)
from workflows.project import ProjectWorkflow


async def waiting_unread(latest: WorkflowHandle[Any, Any], not_run: str | None = None) -> None:
    """The project's latest run (not ``not_run``) once its workflow task failed on the carried state
    this worker cannot read: the failure says so and names the field, and the run keeps running."""
    failure = None
    for _ in range(100):
        if (await latest.describe()).run_id != not_run:
            async for e in latest.fetch_history_events():
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                    failure = e.workflow_task_failed_event_attributes.failure.message
            if failure:
                break
        await asyncio.sleep(0.1)
    assert failure is not None and "cannot read the state the project's previous run carried" in failure
    assert NEXT_FIELD in failure, failure
    await asyncio.sleep(1.0)
    assert (await latest.describe()).status == WorkflowExecutionStatus.RUNNING, "the project goes on waiting"


async def test_a_run_this_worker_cannot_read_waits_for_a_worker_that_can(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool
) -> None:
    releases = Releases(dev_env.client, task_queue, pg_pool)
    client, clocks = dev_env.client, DaibanClient(dev_env.client, task_queue)
    async with releases.serve(ProjectWorkflowNextRelease):
        h = await releases.harness.start(zone="tunliu", history_limit=100)
        await approve_all(h, "approval_land", prefix="next")
        await open_all(h, "next")
        v = await view(h)
        await stop_and_resume(clocks, v.project_id, 15)  # the project continues as new
        await settle(h)
    latest = client.get_workflow_handle(h.id)
    assert (await latest.describe()).run_id != h.first_execution_run_id, "continued as new by the next release"

    # Rolled back: this release's worker replays the run to take a signal, and cannot read its input.
    async with releases.serve(ProjectWorkflow):
        await latest.signal(ProjectWorkflow.calendar_updated, CalendarUpdate(version=v.calendar_version))
        await waiting_unread(latest)

    # Rolled forward: the next release's worker takes the waiting task, and the project goes on.
    async with releases.serve(ProjectWorkflowNextRelease):
        v = await approve_all(h, "construction", prefix="later")
        await settle(h)
    assert v.stage == "construction"
    assert (await latest.describe()).status == WorkflowExecutionStatus.RUNNING
    await latest.terminate("test finished")


async def test_a_continued_run_this_worker_cannot_start_is_not_ended(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool
) -> None:
    """The run's very first workflow task on a worker that cannot read its input: refused as an
    invalid start before, which failed the run and with it the project."""
    releases = Releases(dev_env.client, task_queue, pg_pool)
    client, handover = dev_env.client, handover_queue(task_queue)

    # The next release registers the project and continues it as new at once, onto a queue only this
    # release's worker polls.
    async with (
        releases.serve(ProjectWorkflowHandingOver, adapters=False),
        releases.serve(ProjectWorkflow, handover, adapters=False),
    ):
        h = await releases.harness.start(zone="tunliu")
        latest = client.get_workflow_handle(h.id)
        await waiting_unread(latest, not_run=h.first_execution_run_id)

    # The next release polls that queue again: its registration reaches the event store.
    async with releases.serve(ProjectWorkflowNextRelease, handover):
        v = await open_all(h, "handed")
        await settle(h)
    assert [m.state for m in v.matters if m.code == "enterprise-registration"] == ["pending"]
    rows = await pg_pool.fetch("SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version", v.project_id)
    assert rows[0]["event_type"] == "ProjectRegistered"
    await latest.terminate("test finished")
