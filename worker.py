"""The daiban worker: runs project workflows and their activities.

Settings come from the environment (see ``infra.settings``). One asyncpg pool is created before
the worker starts and closed after it stops; SIGTERM/SIGINT stop polling, give running
activities ``DAIBAN_SHUTDOWN_GRACE_SECONDS`` to finish, then exit. If Temporal stops answering
for ``DAIBAN_TEMPORAL_LOST_EXIT_SECONDS`` (when set), the worker exits at once with code 75 for
its supervisor to start a fresh one with an empty workflow cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import Worker, WorkerDeploymentConfig

from activities import content
from activities.adapters import DepartmentAdapters
from activities.duties import ZoneDuties
from activities.notifications import NotificationSender
from activities.project import ProjectActivities
from eventstore.binding import BindingError, check_client_binding
from eventstore.projector import Projector
from infra import migrate
from infra.cluster import serve_readiness
from infra.db import create_pool
from infra.logs import configure_logging
from infra.metrics import EventMetricsInterceptor, observe_quarantined, prometheus_runtime
from infra.process import TEMPORAL_LOST, exit_now
from infra.sandbox import workflow_runner
from infra.settings import ConfigError, Settings, load_settings
from infra.telemetry import LogContextInterceptor
from infra.temporal import connect, watch_health
from schemas.activities import HEARTBEAT_THROTTLE, adapter_queue
from workflows.duties import ZoneDutyWorkflow
from workflows.project import ProjectWorkflow

log = structlog.get_logger("daiban.worker")

WORKFLOWS = [ProjectWorkflow, ZoneDutyWorkflow]


def activities_of(acts: ProjectActivities) -> list[Callable[..., Any]]:
    """Every activity of the orchestration queue: the project's and the zone duties' (``activities.duties``)."""
    return [acts.resolve_versions, acts.apply_batch, acts.record_fault, ZoneDuties(acts.pool).perform_zone_duty]


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run the worker until ``stop`` is set."""
    if not settings.database_url:
        raise ConfigError("DATABASE_URL is not set; point it at PostgreSQL (make run sets it for you)")
    # Prometheus: SDK metrics and daiban's counters on DAIBAN_METRICS_PORT (unset or 0: off).
    client = await connect(settings, runtime=prometheus_runtime(settings.metrics_port, settings.metrics_host))
    pool = await create_pool(settings.database_url)
    try:
        await migrate.require_current(pool)
        # Temporal and this event store must belong together; one line saying how to fix it if not.
        try:
            await check_client_binding(pool, client)
        except BindingError as exc:
            raise ConfigError(str(exc)) from exc
        # Content versions workflows look up: shipped data and every stored calendar, then new ones.
        content.load_shipped()
        await content.load_stored(pool)
        refresher = asyncio.create_task(content.refresh_forever(pool, stop))
        workers = build_workers(client, pool, settings)
        # The read models follow the event store (DAIBAN_RUN_PROJECTOR): woken by the appends' NOTIFY,
        # polled every 5 s as a safety net, and projected by one worker of the deployment at a time
        # (an advisory lock; the others stand by).
        projector = Projector(pool, on_quarantine=observe_quarantined)
        projecting = asyncio.create_task(projector.run_forever(5.0, stop)) if settings.run_projector else None
        sender = (
            asyncio.create_task(NotificationSender(pool, settings.notify_webhook).run_forever(stop))
            if settings.notify_webhook
            else None
        )
        async with contextlib.AsyncExitStack() as running:
            for w in workers:
                await running.enter_async_context(w)
            log.info(
                "worker started",
                task_queues=[w.task_queue for w in workers],
                temporal=client.service_client.config.target_host,
                namespace=client.namespace,
                metrics_port=settings.metrics_port or None,
            )
            # DAIBAN_READY_FILE: written once this worker serves (with versioning: once its build is
            # current), removed when it stops; a readiness probe gates a rolling update on it.
            ready = (
                asyncio.create_task(
                    serve_readiness(client, settings.worker_deployment, settings.build_id, settings.ready_file, stop)
                )
                if settings.ready_file is not None
                else None
            )
            try:
                await _until_stopped_or_temporal_lost(client, settings, stop)
            finally:
                if ready is not None:
                    ready.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await ready
                if settings.ready_file is not None:
                    settings.ready_file.unlink(missing_ok=True)
            log.info("worker stopping", grace_seconds=settings.shutdown_grace_seconds)
        if projecting is not None:
            await projecting
        await refresher
        if sender is not None:
            await sender
    finally:
        await pool.close()
    log.info("worker stopped")


def build_workers(client: Any, pool: Any, settings: Settings) -> list[Worker]:
    """One Temporal worker per queue this process polls (``DAIBAN_WORKER_QUEUES``).

    ``orchestration``: the project workflow and its activities on ``DAIBAN_TASK_QUEUE``;
    ``adapters``: the department adapters (``activities.adapters``) on ``adapter_queue`` of it.
    """
    common: dict[str, Any] = {
        "interceptors": [LogContextInterceptor(), EventMetricsInterceptor()],
        "graceful_shutdown_timeout": timedelta(seconds=settings.shutdown_grace_seconds),
        "max_concurrent_activities": settings.max_concurrent_activities,
        "identity": settings.worker_identity,
        "max_heartbeat_throttle_interval": HEARTBEAT_THROTTLE,  # each beat sent as made (schemas.activities)
    }
    if settings.worker_deployment and settings.build_id:
        # Projects live for years and every release replays the histories before it (patches,
        # tests/replay): each run moves to the current version at its next task (AUTO_UPGRADE)
        # rather than keeping every old release's workers alive (PINNED).
        common["deployment_config"] = WorkerDeploymentConfig(
            version=WorkerDeploymentVersion(deployment_name=settings.worker_deployment, build_id=settings.build_id),
            use_worker_versioning=True,
            default_versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
        )
    queues = settings.polled_queues()
    workers = []
    if "orchestration" in queues:
        acts = ProjectActivities(pool, settings.department_webhooks)
        # DAIBAN_WORKFLOW_SANDBOX: on by default, measured (README "Workflow sandbox"); the tests run
        # sandboxed with the same runner (``infra.sandbox``: the workflow modules shared by the runs).
        runner = workflow_runner(settings.workflow_sandbox)
        workers.append(
            Worker(
                client,
                task_queue=settings.task_queue,
                workflows=WORKFLOWS,
                activities=activities_of(acts),
                workflow_runner=runner,
                max_cached_workflows=settings.max_cached_workflows,
                max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
                **common,
            ),
        )
    if "adapters" in queues:
        adapters = DepartmentAdapters(pool, settings.department_webhooks)
        workers.append(
            Worker(
                client,
                task_queue=adapter_queue(settings.task_queue),
                activities=[adapters.deliver_applications],
                **common,
            )
        )
    return workers


async def _until_stopped_or_temporal_lost(client: Any, settings: Settings, stop: asyncio.Event) -> None:
    """Wait for ``stop``; exit at once (``TEMPORAL_LOST``) if Temporal stops answering meanwhile.

    A server restart can lose a workflow task completion this worker sent; its cached copy of the
    workflow would then be ahead of the history the server hands out next, and what it sends from
    that copy can stall the project for good (tests/faults/evidence). A fresh process replays from
    the history instead. Activities in flight are retried by Temporal (they are idempotent).
    """
    lost_after = settings.temporal_lost_exit_seconds
    if not lost_after:
        await stop.wait()
        return
    if await watch_health(client, lost_after, stop):
        log.error("Temporal stopped answering; exiting so a fresh worker replays from history", seconds=lost_after)
        exit_now(TEMPORAL_LOST)


async def main() -> int:
    try:
        settings = load_settings()
        configure_logging(settings.log_format, settings.log_level)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)
    except ConfigError as exc:
        print(f"daiban worker: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    code = 130
    with contextlib.suppress(KeyboardInterrupt):
        code = asyncio.run(main())
    exit_now(code)
