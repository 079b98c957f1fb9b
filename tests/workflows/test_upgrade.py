"""Upgrading running projects: projects started on the release before patch ``adapter-queue``
finish on workers of the new release, switched mid-lifecycle (README, "Upgrading running projects");
and a project passes between the release before and this one and back, each continuing it as new
in its own form of the carried state (``carried_zlib``; bytes in the input's metadata).
A project started on the new release records one patch marker, ``consolidated-2026-12-f``
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
from tests.harness import Harness, Receiver, Releases
from tests.workflows.helpers import apply, approve_all, decide, events, open_all, settle, types, view
from tests.workflows.helpers import stop_and_resume as stop_clocks
from tests.workflows.old_release import ProjectWorkflowBeforeAdapterQueue
from tests.workflows.release_before import ProjectWorkflowReleaseBefore
from worker import activities_of, build_workers
from workflows.patches import (
    ADAPTER_QUEUE,
    CONSOLIDATED,
    CONSOLIDATED_B,
    CONSOLIDATED_C,
    CONSOLIDATED_D,
    CONSOLIDATED_E,
    CONSOLIDATED_F,
)
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
            and not {CONSOLIDATED, CONSOLIDATED_B, CONSOLIDATED_C, CONSOLIDATED_D, CONSOLIDATED_E, CONSOLIDATED_F}
            & markers
            and DELIVER_APPLICATIONS not in queues
        )
        assert markers, "the old release asked its patches one by one"
    failed, markers, queues = facts_fresh
    assert failed == 0 and markers == {CONSOLIDATED_F}
    assert queues[DELIVER_APPLICATIONS] == adapter_queue(task_queue)
    keys = {r["key"] for r in http_receiver.received}
    projects = [h.id.removeprefix("project-") for h in old] + [v.project_id]
    assert {f"{p}/enterprise-registration/1" for p in projects} <= keys


async def test_both_forms_of_the_carried_state_go_on_either_release(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool
) -> None:
    # Expand, then contract (``workflows.start``): the release before read the carried state as
    # bytes in the input payload's metadata and wrote ``carried_zlib``; this one writes the bytes.
    # A rolling deploy lets both poll, and a project may pass from one to the other and back.
    releases = Releases(dev_env.client, task_queue, pg_pool)
    client, clocks = dev_env.client, DaibanClient(dev_env.client, task_queue)

    async def stop_and_resume(times: int) -> None:
        await stop_clocks(clocks, pid, times)

    async def runs() -> list[str]:
        """The project's runs, first to last (along the continue-as-new chain)."""
        chain: list[str] = []
        run_id = h.first_execution_run_id
        while run_id:
            chain.append(run_id)
            last = [e async for e in client.get_workflow_handle(h.id, run_id=run_id).fetch_history_events()][-1]
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        return chain

    async with releases.serve(ProjectWorkflowReleaseBefore):
        h = await releases.harness.start(zone="tunliu", history_limit=100)
        await approve_all(h, "approval_land", prefix="before")
        await open_all(h, "before")
        pid = (await view(h)).project_id
        await stop_and_resume(15)
        await settle(h)
    by_release_before = await runs()
    async with releases.serve(ProjectWorkflow):
        await stop_and_resume(15)
        await settle(h)
    by_this_release = (await runs())[len(by_release_before) :]
    async with releases.serve(ProjectWorkflowReleaseBefore):
        await stop_and_resume(3)
        await settle(h)
    async with releases.serve(ProjectWorkflow):
        v = await approve_all(h, "construction", prefix="here")
        await settle(h)
    assert v.stage == "construction"
    assert len(by_release_before) >= 2 and by_this_release, "each release continued the project as new"

    async def started_with(run_id: str) -> tuple[set[str], bool]:
        """The fields of a run's input as the UI shows it, and whether its metadata carries the state."""
        async for e in client.get_workflow_handle(h.id, run_id=run_id).fetch_history_events():
            payload = e.workflow_execution_started_event_attributes.input.payloads[0]
            return set(json.loads(payload.data)), CARRIED_METADATA in payload.metadata
        raise AssertionError(run_id)

    # The runs each release started hold the state in its own form (the first run: the registration) ...
    assert await started_with(by_release_before[0]) == ({"registration", "history_limit"}, False)
    for run_id in by_release_before[1:]:
        assert await started_with(run_id) == ({"registration", "carried_zlib", "history_limit"}, False)
    for run_id in by_this_release:
        assert await started_with(run_id) == ({"registration", "history_limit"}, True)
    # ... and each took the other's on without a failed workflow task, one gap-free stream.
    for run_id in await runs():
        failed, _, _ = await history_facts(client.get_workflow_handle(h.id, run_id=run_id))
        assert failed == 0, run_id
    rows = await events(pg_pool, pid)
    assert [r["version"] for r in rows] == list(range(1, len(rows) + 1))
    assert "ClockResumed" in types(rows)
    await h.terminate("test finished")
