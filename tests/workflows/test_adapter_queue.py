"""Department adapters on their own task queue: two workers, one per queue (``DAIBAN_WORKER_QUEUES``).

The orchestration worker runs the project (its batches, its decisions) without any department
system; the adapters' worker alone holds the webhooks and delivers the applications, so while it
is away the project goes on, and once it polls, the pending delivery lands there.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities import content
from infra.settings import Settings
from schemas.activities import DELIVER_APPLICATIONS, adapter_queue
from tests.harness import Harness, Receiver
from tests.workflows.helpers import apply, decide, events, settle, types, view
from worker import build_workers


def settings_for(task_queue: str, queues: str, webhooks: dict[str, str] | None = None) -> Settings:
    return Settings(task_queue=task_queue, worker_queues=queues, department_webhooks=webhooks or {})


async def test_adapter_work_runs_on_the_adapter_worker_and_orchestration_does_not_wait_for_it(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool, http_receiver: Receiver
) -> None:
    content.load_shipped()
    orchestration = build_workers(dev_env.client, pg_pool, settings_for(task_queue, "orchestration"))
    adapters = build_workers(
        dev_env.client, pg_pool, settings_for(task_queue, "adapters", {"market": http_receiver.url})
    )
    assert [w.task_queue for w in orchestration] == [task_queue]
    assert [w.task_queue for w in adapters] == [adapter_queue(task_queue)]
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(orchestration[0])
        h = await Harness(dev_env.client, task_queue, pg_pool).start(zone="tunliu")
        v = await view(h)
        await apply(h, "enterprise-registration", "standard", "apply-reg", by=v.agent)
        # No adapters' worker yet: the department's system hears nothing, the project goes on.
        await decide(h, "enterprise-registration", "market", "mr-accept", "accept", by="market-clerk")
        stored = await events(pg_pool, v.project_id, wait_for="ApplicationAccepted")
        assert "ApplicationReceived" in types(stored)
        await asyncio.sleep(1)
        assert http_receiver.received == []
        pending = (await h.describe()).raw_description.pending_activities
        assert [a.activity_type.name for a in pending] == [DELIVER_APPLICATIONS]

        await stack.enter_async_context(adapters[0])  # the adapters' worker starts polling
        for _ in range(100):
            if http_receiver.received:
                break
            await asyncio.sleep(0.1)
        await settle(h)
        scheduled = [
            e.activity_task_scheduled_event_attributes
            async for e in h.fetch_history_events()
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        ]
        queues = {a.activity_type.name: a.task_queue.name for a in scheduled}
        await h.terminate("test finished")
    assert [r["key"] for r in http_receiver.received] == [f"{v.project_id}/enterprise-registration/1"]
    assert queues[DELIVER_APPLICATIONS] == adapter_queue(task_queue)
    assert queues["apply_batch"] == task_queue


async def test_a_delivery_given_up_leaves_the_project_going(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool, http_receiver: Receiver
) -> None:
    """A department system that refuses the application (HTTP 422): the delivery fails for good,
    the operators are told, and the run drops it without failing: the project takes its next
    decision and its batches land (a delivery retried forever held them once continue-as-new was due)."""
    content.load_shipped()
    http_receiver.answers.extend([422] * 5)
    workers = build_workers(
        dev_env.client, pg_pool, settings_for(task_queue, "orchestration,adapters", {"market": http_receiver.url})
    )
    async with contextlib.AsyncExitStack() as stack:
        for w in workers:
            await stack.enter_async_context(w)
        h = await Harness(dev_env.client, task_queue, pg_pool).start(zone="tunliu")
        v = await view(h)
        await apply(h, "enterprise-registration", "standard", "apply-reg", by=v.agent)
        for _ in range(100):
            failed = [
                e async for e in h.fetch_history_events() if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
            ]
            if failed:
                break
            await asyncio.sleep(0.1)
        assert len(failed) == 1 and "DeliveryFailed" in str(failed[0].activity_task_failed_event_attributes.failure)
        await decide(h, "enterprise-registration", "market", "mr-accept", "accept", by="market-clerk")
        stored = await events(pg_pool, v.project_id, wait_for="ApplicationAccepted")
        assert "ApplicationReceived" in types(stored)
        await settle(h)
        description = await h.describe()
        assert description.status is not None and description.status.name == "RUNNING"
        assert not description.raw_description.pending_activities
        task_failures = [
            e async for e in h.fetch_history_events() if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]
        await h.terminate("test finished")
    assert task_failures == []
    assert http_receiver.received == []
    told = await pg_pool.fetchval(
        "SELECT recipients FROM notifications WHERE notification_id = $1",
        f"{v.project_id}/enterprise-registration/1:delivery",
    )
    assert list(told) == ["operators", "market"]
