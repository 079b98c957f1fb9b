"""A worker with the real activities on a real PostgreSQL, and a default registration."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import content
from activities.adapters import DepartmentAdapters
from activities.project import ProjectActivities
from infra.sandbox import workflow_runner
from schemas.activities import adapter_queue
from schemas.project import ProjectResult, RegisterProject, workflow_id_for
from worker import WORKFLOWS, activities_of
from workflows.project import ProjectInput


@dataclass
class Harness:
    client: Client
    task_queue: str
    pool: asyncpg.Pool
    started: list[WorkflowHandle[Any, Any]] = field(default_factory=list)
    # The projects' history_limit unless a start names one (None: the workflow's own).
    history_limit: int | None = None

    async def start(self, history_limit: int | None = None, **overrides: object) -> WorkflowHandle[Any, Any]:
        reg = registration(**overrides)
        inp = ProjectInput(registration=reg, history_limit=history_limit or self.history_limit)
        handle = await self.client.start_workflow(
            "ProjectWorkflow",
            inp,
            result_type=ProjectResult,
            id=workflow_id_for(reg.project_id),
            task_queue=self.task_queue,
        )
        self.started.append(handle)
        return handle

    async def terminate_all(self) -> None:
        # A project left running without a worker would block the time-skipping server's clock
        # for the next test in the module.
        for handle in self.started:
            with contextlib.suppress(RPCError):
                await self.client.get_workflow_handle(handle.id).terminate("test finished")


def registration(**overrides: object) -> RegisterProject:
    data: dict[str, object] = {
        "project_id": f"p-{uuid.uuid4().hex[:10]}",
        "name": "年产4亿件卫生材料及医疗器械生产线",
        "enterprise": "山西百特辉医疗科技有限公司",
        "zone": "tunliu",
        "project_type": "general",
        "investment_yuan": 80_000_000,
        "standard_land_parcel": True,
        # Special construction on a special lightning site: every public-safety matter runs.
        "special_construction": True,
        "lightning_special_site": True,
        "agent": "agent-li",
        "backup_agent": "agent-wang",
        "project_lead": "lead-zhao",
        # Fits the regional assessments of a zone that has them (Yanhu: energy, soil & water) and
        # commits to their conditions, so those matters stay exempt (modes rule 2).
        "regional_assessments": [
            {
                "assessment": key,
                "area": "开发区规划范围",
                "project_kind": "industrial",
                "commitment": "按区域评估结论及其管控要求建设",
                "signed_by": "法定代表人",
            }
            for key in ("energy", "soil-water")
        ],
    }
    data.update(overrides)
    return RegisterProject.model_validate(data)


def adapter_worker(
    client: Client, task_queue: str, pool: asyncpg.Pool, webhooks: dict[str, str] | None = None
) -> Worker:
    """The department adapters' worker beside a test's orchestration worker on ``task_queue``
    (``DAIBAN_WORKER_QUEUES=adapters``): projects deliver their applications from there."""
    adapters = DepartmentAdapters(pool, webhooks)
    return Worker(client, task_queue=adapter_queue(task_queue), activities=[adapters.deliver_applications])


async def running_worker(env: WorkflowEnvironment, task_queue: str, pool: asyncpg.Pool) -> AsyncIterator[Harness]:
    # As worker.py does: the content registry follows what is stored (a calendar loaded by the CLI).
    content.load_shipped()
    stop = asyncio.Event()
    refresher = asyncio.create_task(content.refresh_forever(pool, stop, poll_interval=0.5))
    async with (
        adapter_worker(env.client, task_queue, pool),
        Worker(
            env.client,
            task_queue=task_queue,
            workflows=WORKFLOWS,
            activities=activities_of(ProjectActivities(pool)),
            workflow_runner=workflow_runner(sandboxed=True),  # as worker.py runs them
        ),
    ):
        harness = Harness(env.client, task_queue, pool)
        try:
            yield harness
        finally:
            await harness.terminate_all()
            stop.set()
            await refresher


@dataclass
class Receiver:
    """A system of the zone on loopback (a department system, the messaging gateway).

    ``received`` holds each accepted POST (its ``Idempotency-Key`` as ``key``, and the JSON body);
    ``answers`` holds status codes to give first, in order (then 204).
    """

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)


class Releases:
    """Workers of different releases of ``ProjectWorkflow`` taking turns on a test's task queue (an
    upgrade, a rollback): ``serve`` runs one release's workflow class, with the adapters' worker."""

    def __init__(self, client: Client, task_queue: str, pool: asyncpg.Pool) -> None:
        content.load_shipped()
        self.client, self.task_queue, self.pool = client, task_queue, pool
        self.harness = Harness(client, task_queue, pool)
        self._activities = activities_of(ProjectActivities(pool))

    @contextlib.asynccontextmanager
    async def serve(self, workflow: type, queue: str | None = None, *, adapters: bool = True) -> AsyncIterator[None]:
        """``workflow``'s worker polling ``queue`` (the test's by default) while the block runs."""
        queue = queue or self.task_queue
        async with contextlib.AsyncExitStack() as stack:
            if adapters:
                await stack.enter_async_context(adapter_worker(self.client, queue, self.pool))
            worker = Worker(self.client, task_queue=queue, workflows=[workflow], activities=self._activities)
            await stack.enter_async_context(worker)
            yield
