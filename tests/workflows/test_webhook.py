"""A department with its own system receives each application on its webhook, once per submission."""

from __future__ import annotations

import asyncio

import asyncpg
from temporalio.testing import WorkflowEnvironment

from activities.project import ProjectActivities
from tests.harness import Harness, Receiver, adapter_worker, registration
from tests.workflows.helpers import apply, settle, view
from worker import WORKFLOWS, activities_of


async def test_applications_reach_the_department_webhook(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    pg_pool: asyncpg.Pool,
    http_receiver: Receiver,
) -> None:
    from temporalio.worker import Worker

    received = http_receiver.received
    acts = ProjectActivities(pg_pool, webhooks={"market": http_receiver.url})
    async with (
        adapter_worker(dev_env.client, task_queue, pg_pool, {"market": http_receiver.url}),
        Worker(dev_env.client, task_queue=task_queue, workflows=WORKFLOWS, activities=activities_of(acts)),
    ):
        h = await Harness(dev_env.client, task_queue, pg_pool).start(zone="tunliu")
        v = await view(h)
        await apply(h, "enterprise-registration", "standard", "apply-reg", by=v.agent)
        await settle(h)
        for _ in range(50):
            if received:
                break
            await asyncio.sleep(0.1)
        await h.terminate("test finished")
    assert len(received) == 1, "only the market department has a webhook, and one matter is submitted"
    call = received[0]
    assert call["key"] == f"{v.project_id}/enterprise-registration/1"
    assert call["body"]["department"] == "market" and call["body"]["matter_code"] == "enterprise-registration"
    assert call["body"]["payload"]["enterprise"] == registration().enterprise
