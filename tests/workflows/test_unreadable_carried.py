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
from temporalio.worker import Worker

from activities import content
from activities.project import ProjectActivities
from interfaces.client import DaibanClient
from schemas.project import CalendarUpdate, ResumeClock, StopClock
from tests.harness import Harness, adapter_worker
from tests.workflows.helpers import approve_all, open_all, settle, view
from tests.workflows.next_release import (
    NEXT_FIELD,
    ProjectWorkflowHandingOver,
    ProjectWorkflowNextRelease,
    handover_queue,
)
from worker import activities_of
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
    content.load_shipped()
    client = dev_env.client
    harness = Harness(client, task_queue, pg_pool)
    acts = activities_of(ProjectActivities(pg_pool))
    clocks = DaibanClient(client, task_queue)
    lab = StopClock(matter_code="eia", department="ecology", kind="testing", reason="lab", expected_days=5)

    def release(workflow: type) -> Worker:
        return Worker(client, task_queue=task_queue, workflows=[workflow], activities=acts)

    async with adapter_worker(client, task_queue, pg_pool), release(ProjectWorkflowNextRelease):
        h = await harness.start(zone="tunliu", history_limit=100)
        await approve_all(h, "approval_land", prefix="next")
        await open_all(h, "next")
        v = await view(h)
        for _ in range(15):  # ~10 history events each: the project continues as new
            await clocks.stop_clock(v.project_id, lab)
            await clocks.resume_clock(v.project_id, ResumeClock(matter_code="eia", department="ecology"))
        await settle(h)
    latest = client.get_workflow_handle(h.id)
    assert (await latest.describe()).run_id != h.first_execution_run_id, "continued as new by the next release"

    # Rolled back: this release's worker replays the run to take a signal, and cannot read its input.
    async with adapter_worker(client, task_queue, pg_pool), release(ProjectWorkflow):
        await latest.signal(ProjectWorkflow.calendar_updated, CalendarUpdate(version=v.calendar_version))
        await waiting_unread(latest)

    # Rolled forward: the next release's worker takes the waiting task, and the project goes on.
    async with adapter_worker(client, task_queue, pg_pool), release(ProjectWorkflowNextRelease):
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
    content.load_shipped()
    client = dev_env.client
    harness = Harness(client, task_queue, pg_pool)
    acts = activities_of(ProjectActivities(pg_pool))
    handover = handover_queue(task_queue)

    def release(workflow: type, queue: str) -> Worker:
        return Worker(client, task_queue=queue, workflows=[workflow], activities=acts)

    # The next release registers the project and continues it as new at once, onto a queue only this
    # release's worker polls.
    async with release(ProjectWorkflowHandingOver, task_queue), release(ProjectWorkflow, handover):
        h = await harness.start(zone="tunliu")
        latest = client.get_workflow_handle(h.id)
        await waiting_unread(latest, not_run=h.first_execution_run_id)

    # The next release polls that queue again: its registration reaches the event store.
    async with adapter_worker(client, handover, pg_pool), release(ProjectWorkflowNextRelease, handover):
        v = await open_all(h, "handed")
        await settle(h)
    assert [m.state for m in v.matters if m.code == "enterprise-registration"] == ["pending"]
    rows = await pg_pool.fetch("SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version", v.project_id)
    assert rows[0]["event_type"] == "ProjectRegistered"
    await latest.terminate("test finished")
