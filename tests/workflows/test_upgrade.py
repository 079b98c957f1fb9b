"""Upgrading running projects: projects started on the release before patch ``adapter-queue``
finish on workers of the new release, switched mid-lifecycle (README, "Upgrading running projects");
and a project the next release continued as new (its carried state in the input's metadata) goes
on on this release's workers.
A project started on the new release records one patch marker, ``consolidated-2026-12-b``
(``workflows.patches``), for all its patches.

The old workers stop, the new ones (both queues) start: each running project replays its history on
the new code (``workflow.patched`` answers False where the history has no marker, so it goes on as it
began: ``apply_batch`` calls the department systems) and goes on to production without a failed
workflow task; a project started after the switch delivers from the adapters' queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import content
from activities.project import ProjectActivities
from infra.settings import Settings
from interfaces.client import DaibanClient
from schemas.activities import DELIVER_APPLICATIONS, adapter_queue
from schemas.project import ResumeClock, StopClock
from tests.harness import Harness, Receiver, adapter_worker
from tests.workflows.helpers import apply, approve_all, decide, events, open_all, settle, types, view
from tests.workflows.next_release import ProjectWorkflowNextRelease
from tests.workflows.old_release import ProjectWorkflowBeforeAdapterQueue
from worker import activities_of, build_workers
from workflows.patches import ADAPTER_QUEUE, CONSOLIDATED, CONSOLIDATED_B
from workflows.project import ProjectWorkflow
from workflows.start import CARRIED_METADATA


async def history_facts(h: WorkflowHandle[Any, Any]) -> tuple[int, set[str], dict[str, str]]:
    """Failed workflow tasks, the patch ids of the markers, and the task queue of each activity type."""
    failed, markers, queues = 0, set(), {}
    async for e in h.fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failed += 1
        elif e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            details = e.marker_recorded_event_attributes.details
            markers |= {json.loads(p.data)["id"] for p in details["patch-data"].payloads}
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            a = e.activity_task_scheduled_event_attributes
            queues[a.activity_type.name] = a.task_queue.name
    return failed, markers, queues


async def test_projects_started_on_the_old_release_finish_on_the_new_one(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool, http_receiver: Receiver
) -> None:
    content.load_shipped()
    client, hooks = dev_env.client, {"market": http_receiver.url}
    harness = Harness(client, task_queue, pg_pool)
    old_release = Worker(
        client,
        task_queue=task_queue,
        workflows=[ProjectWorkflowBeforeAdapterQueue],
        activities=activities_of(ProjectActivities(pg_pool, hooks)),
    )
    old: list[WorkflowHandle[Any, Any]] = []
    async with old_release:
        for zone in ("yanhu", "linfen"):
            h = await harness.start(zone=zone)
            old.append(h)
            await approve_all(h, "approval_land", prefix="old")  # establishment decided on the old release
            await settle(h)
    # The switch: every old worker is gone, the new release polls both queues (during the
    # transition the orchestration workers keep the webhooks: old runs still call them from apply_batch).
    new_release = build_workers(
        client,
        pg_pool,
        Settings(task_queue=task_queue, worker_queues="orchestration,adapters", department_webhooks=hooks),
    )
    async with contextlib.AsyncExitStack() as stack:
        for w in new_release:
            await stack.enter_async_context(w)
        for h in old:
            v = await approve_all(h, "in_production", prefix="new")
            assert v.stage == "in_production"
        fresh = await harness.start(zone="yanhu")
        v = await view(fresh)
        await apply(fresh, "enterprise-registration", "standard", "fresh-apply", by=v.agent)
        await decide(fresh, "enterprise-registration", "market", "fresh-accept", "accept", by="market-clerk")
        for _ in range(100):
            if any(r["key"].startswith(f"{v.project_id}/") for r in http_receiver.received):
                break
            await asyncio.sleep(0.1)
        await settle(fresh)
        # In production: only the departments' after-the-fact checks of commitments may remain open.
        finished = [await view(h) for h in old]
        facts_fresh = await history_facts(fresh)
        # The runs the old release started (a project may have continued as new since, on the new
        # release: that run takes the patch, as every project does from its next continue-as-new).
        first_runs = [client.get_workflow_handle(h.id, run_id=h.first_execution_run_id) for h in old]
        facts_old = [await history_facts(h) for h in first_runs]
        await fresh.terminate("test finished")
    assert [f.stage for f in finished] == ["in_production", "in_production"]
    assert all(m.state in ("approved", "exempt") for f in finished for m in f.matters)
    for failed, markers, queues in facts_old:
        assert failed == 0, "the old runs replayed on the new release without a failed workflow task"
        assert (
            ADAPTER_QUEUE not in markers
            and not {CONSOLIDATED, CONSOLIDATED_B} & markers
            and DELIVER_APPLICATIONS not in queues
        )
        assert markers, "the old release asked its patches one by one"
    failed, markers, queues = facts_fresh
    assert failed == 0 and markers == {CONSOLIDATED_B}
    assert queues[DELIVER_APPLICATIONS] == adapter_queue(task_queue)
    keys = {r["key"] for r in http_receiver.received}
    projects = [h.id.removeprefix("project-") for h in old] + [v.project_id]
    assert {f"{p}/enterprise-registration/1" for p in projects} <= keys


async def test_a_run_the_next_release_continued_goes_on_here(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool
) -> None:
    # Expand, then contract (``workflows.start``): this release reads the carried state the next
    # one writes as bytes in the input payload's metadata, before any release writes it.
    content.load_shipped()
    client = dev_env.client
    harness = Harness(client, task_queue, pg_pool)
    acts = activities_of(ProjectActivities(pg_pool))
    clocks = DaibanClient(client, task_queue)
    lab = StopClock(matter_code="eia", department="ecology", kind="testing", reason="lab", expected_days=5)

    async def stop_and_resume(times: int) -> None:
        for _ in range(times):  # ~10 history events each, in the land-approval stage
            await clocks.stop_clock(pid, lab)
            await clocks.resume_clock(pid, ResumeClock(matter_code="eia", department="ecology"))

    async def runs() -> list[str]:
        return [w.run_id async for w in client.list_workflows(f"WorkflowId = '{h.id}'")]

    next_release = Worker(client, task_queue=task_queue, workflows=[ProjectWorkflowNextRelease], activities=acts)
    async with adapter_worker(client, task_queue, pg_pool), next_release:
        h = await harness.start(zone="tunliu", history_limit=100)
        await approve_all(h, "approval_land", prefix="next")
        await open_all(h, "next")
        pid = (await view(h)).project_id
        await stop_and_resume(15)
        await settle(h)
        continued = await runs()
    assert len(continued) >= 2, "the next release continued the project as new"
    this_release = Worker(client, task_queue=task_queue, workflows=[ProjectWorkflow], activities=acts)
    async with adapter_worker(client, task_queue, pg_pool), this_release:
        await stop_and_resume(3)
        v = await approve_all(h, "construction", prefix="here")
        await settle(h)
    assert v.stage == "construction"
    # The runs the next release started hold their state only in the input's metadata ...
    started_by_next = 0
    for run_id in continued:
        async for e in client.get_workflow_handle(h.id, run_id=run_id).fetch_history_events():
            started = e.workflow_execution_started_event_attributes
            payload = started.input.payloads[0]
            if started.continued_execution_run_id:
                started_by_next += 1
                assert set(json.loads(payload.data)) == {"registration", "history_limit"}
                assert CARRIED_METADATA in payload.metadata
            break
    assert started_by_next == len(continued) - 1
    # ... and this release took it on without a failed workflow task, one gap-free stream.
    for run_id in await runs():
        failed, _, _ = await history_facts(client.get_workflow_handle(h.id, run_id=run_id))
        assert failed == 0, run_id
    rows = await events(pg_pool, pid)
    assert [r["version"] for r in rows] == list(range(1, len(rows) + 1))
    assert "ClockResumed" in types(rows)
    await h.terminate("test finished")
