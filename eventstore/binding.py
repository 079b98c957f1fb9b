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

First use binds, unless the event store is empty while Temporal already runs projects: then the
events of those projects are elsewhere (or lost; ``daiban repair PROJECT`` re-appends them from
their histories) and binding would hide it.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import structlog
from pydantic import BaseModel, ConfigDict
from temporalio.api.workflowservice.v1 import GetClusterInfoRequest
from temporalio.client import Client

from infra.settings import ConfigError

log = structlog.get_logger(__name__)

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
    pool: asyncpg.Pool, cluster_id: str, namespace: str, running_projects: int
) -> Binding:
    """Check that this event store belongs to Temporal cluster ``cluster_id`` / ``namespace``.

    Binds the store on first use (no binding recorded yet), unless the store holds no event
    while Temporal runs ``running_projects`` > 0 projects. Safe from several workers at once
    (an advisory lock serialises the first binding).

    Returns:
        the binding, recorded now or before.

    Raises:
        ConfigError: one line naming both sides and the fix: the store is bound to another
            cluster or namespace, or it is empty while Temporal runs projects.
    """
    if not cluster_id:
        raise ValueError("cluster_id is empty")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        row = await conn.fetchrow("SELECT cluster_id, namespace, bound_at FROM temporal_binding")
        if row is None:
            if running_projects > 0 and not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM events)"):
                raise ConfigError(
                    f"DATABASE_URL holds no events, but Temporal cluster {cluster_id} (namespace "
                    f"{namespace}) runs {running_projects} project(s) whose events are elsewhere: "
                    "point DATABASE_URL at the database that holds them, or re-append each "
                    "project's events here with `daiban repair PROJECT` before starting a worker"
                )
            row = await conn.fetchrow(
                """INSERT INTO temporal_binding (cluster_id, namespace) VALUES ($1, $2)
                   RETURNING cluster_id, namespace, bound_at""",
                cluster_id, namespace,
            )
            log.info("event store bound to Temporal", cluster_id=cluster_id, namespace=namespace)
            return Binding(**dict(row), newly_bound=True)
    bound = Binding(**dict(row))
    if (bound.cluster_id, bound.namespace) != (cluster_id, namespace):
        raise ConfigError(
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


async def check_client_binding(pool: asyncpg.Pool, client: Client) -> Binding:
    """``check_binding`` for the cluster and namespace of ``client``, counting its running projects.

    Raises:
        ConfigError: as ``check_binding``, or Temporal did not answer the cluster info or the
            visibility count.
    """
    try:
        cluster_id = await temporal_cluster_id(client)
        running = (await client.count_workflows(RUNNING_PROJECTS_QUERY)).count
    except ConfigError:
        raise
    except Exception as exc:  # RPCError, or RuntimeError from the core when the connection broke
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"cannot ask Temporal (namespace {client.namespace}) which cluster it is: {detail}; "
            "check DAIBAN_TEMPORAL_ADDRESS and DAIBAN_TEMPORAL_NAMESPACE"
        ) from None
    return await check_binding(pool, cluster_id, client.namespace, running)
