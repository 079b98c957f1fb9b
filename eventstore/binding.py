"""Temporal and the event store belong together: which cluster and namespace this store serves.

A project lives in two places: its workflow history in Temporal and its event stream here, and
each append continues the stream at the version the workflow holds. A worker started on a
database of another Temporal cluster (a new ``DATABASE_URL`` beside the Temporal state of an
earlier run, a restored backup of one side only) fails every append of every running project
(``stream ... has no version 45``), forever. So the event store records the cluster id and
namespace it belongs to (table ``temporal_binding``, migration 0072), and every worker checks it
on start (``worker.serve``), stopping with one line that says what is wrong and how to fix it.

The cluster id is Temporal's own (``GetClusterInfo``): it is created with the cluster's
persistence, stays the same across restarts on the same database (for the dev server: the same
``--db-filename``) and differs for a new one.

First use binds, unless the event store is empty while Temporal already runs projects that
recorded events: then those events are elsewhere (or lost; ``daiban repair PROJECT`` re-appends
them from their histories) and binding would hide it. A project counts when its history shows an
event-carrying activity completed (or it continued a previous run); projects registered but not
flushed yet (the first worker starting while the first projects are registered) do not, so
starting a new platform never races with its first registrations.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
import structlog
from pydantic import BaseModel, ConfigDict
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import GetClusterInfoRequest
from temporalio.client import Client, WorkflowHandle

from eventstore.repair import EVENT_ACTIVITIES

log = structlog.get_logger(__name__)


class BindingError(Exception):
    """This event store belongs to another Temporal cluster or namespace, or Temporal is unreachable.

    Its message is one line naming both sides and the fix; the worker reports it as a
    configuration error.
    """


# Serialises the first binding of workers starting at once; differs from daiban's other locks.
_LOCK_KEY = 0x0DA1B1D

# Projects Temporal runs: the workflow type of schemas.project / workflows.project.
RUNNING_PROJECTS_QUERY = "WorkflowType = 'ProjectWorkflow' AND ExecutionStatus = 'Running'"


class Binding(BaseModel):
    """The Temporal cluster and namespace an event store belongs to.

    ``newly_bound`` is true when this check wrote the binding (first use of the store).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cluster_id: str
    namespace: str
    bound_at: datetime
    newly_bound: bool = False


async def check_binding(
    pool: asyncpg.Pool,
    cluster_id: str,
    namespace: str,
    running_projects: int | Callable[[], Awaitable[int]],
) -> Binding:
    """Check that this event store belongs to Temporal cluster ``cluster_id`` / ``namespace``.

    Binds the store on first use (no binding recorded yet), unless the store holds no event
    while Temporal runs ``running_projects`` > 0 projects whose events should be in a store
    (``running_projects_with_events``). It may be given as a coroutine function, called only
    then (first use of an empty store). Safe from several workers at once (an advisory lock
    serialises the first binding).

    Returns:
        the binding, recorded now or before.

    Raises:
        BindingError: one line naming both sides and the fix: the store is bound to another
            cluster or namespace, or it is empty while Temporal runs projects.
    """
    if not cluster_id:
        raise ValueError("cluster_id is empty")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        row = await conn.fetchrow("SELECT cluster_id, namespace, bound_at FROM temporal_binding")
        if row is None:
            empty = not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM events)")
            running = 0
            if empty:
                running = running_projects if isinstance(running_projects, int) else await running_projects()
            if running > 0:
                raise BindingError(
                    f"DATABASE_URL holds no events, but Temporal cluster {cluster_id} (namespace "
                    f"{namespace}) runs {running} project(s) whose events are elsewhere: "
                    "point DATABASE_URL at the database that holds them, or re-append each "
                    "project's events here with `daiban repair PROJECT` before starting a worker"
                )
            row = await conn.fetchrow(
                """INSERT INTO temporal_binding (cluster_id, namespace) VALUES ($1, $2)
                   RETURNING cluster_id, namespace, bound_at""",
                cluster_id,
                namespace,
            )
            log.info("event store bound to Temporal", cluster_id=cluster_id, namespace=namespace)
            return Binding(**dict(row), newly_bound=True)
    bound = Binding(**dict(row))
    if (bound.cluster_id, bound.namespace) != (cluster_id, namespace):
        raise BindingError(
            f"DATABASE_URL holds the events of Temporal cluster {bound.cluster_id} (namespace "
            f"{bound.namespace}); this worker is connected to cluster {cluster_id} (namespace "
            f"{namespace}): point DATABASE_URL at that cluster's database (or "
            "DAIBAN_TEMPORAL_ADDRESS / DAIBAN_TEMPORAL_NAMESPACE at the cluster of this one), "
            "or start both Temporal and the database from empty"
        )
    return bound


async def temporal_cluster_id(client: Client) -> str:
    """The id of the Temporal cluster ``client`` is connected to (``GetClusterInfo``).

    Raises:
        temporalio.service.RPCError: Temporal did not answer.
    """
    info = await client.workflow_service.get_cluster_info(GetClusterInfoRequest())
    return str(info.cluster_id)


async def running_projects_with_events(client: Client, limit: int = 200) -> int:
    """How many running projects (of the first ``limit``) have events that a store should hold.

    A project counts when its current run continued an earlier one, or its history shows an
    ``apply_batch`` / ``record_events`` activity completed. Reads histories: call it only when
    it matters (first use of an empty store).

    Raises:
        temporalio.service.RPCError: Temporal failed.
    """
    found = 0
    async for execution in client.list_workflows(RUNNING_PROJECTS_QUERY, limit=limit):
        found += await _recorded_events(client.get_workflow_handle(execution.id, run_id=execution.run_id))
    return found


async def _recorded_events(handle: WorkflowHandle[Any, Any]) -> bool:
    scheduled: set[int] = set()
    async for event in handle.fetch_history_events():
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            if event.workflow_execution_started_event_attributes.continued_execution_run_id:
                return True
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            if event.activity_task_scheduled_event_attributes.activity_type.name in EVENT_ACTIVITIES:
                scheduled.add(event.event_id)
        elif (
            kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
            and event.activity_task_completed_event_attributes.scheduled_event_id in scheduled
        ):
            return True
    return False


async def check_client_binding(pool: asyncpg.Pool, client: Client) -> Binding:
    """``check_binding`` for the cluster and namespace of ``client`` (what ``worker.serve`` calls).

    Raises:
        BindingError: as ``check_binding``, or Temporal did not answer (cluster info, visibility,
            histories).
    """

    def unreachable(exc: Exception) -> BindingError:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return BindingError(
            f"cannot ask Temporal (namespace {client.namespace}) which cluster it is and what it runs: "
            f"{detail}; check DAIBAN_TEMPORAL_ADDRESS and DAIBAN_TEMPORAL_NAMESPACE"
        )

    async def running() -> int:
        try:
            return await running_projects_with_events(client)
        except Exception as exc:  # RPCError, or RuntimeError from the core
            raise unreachable(exc) from None

    try:
        cluster_id = await temporal_cluster_id(client)
    except Exception as exc:  # RPCError, or RuntimeError from the core when the connection broke
        raise unreachable(exc) from None
    return await check_binding(pool, cluster_id, client.namespace, running)
