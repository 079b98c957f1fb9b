"""A worker process of ``make bench``: daiban's or the baseline's, with the same options.

``python -m benchmarks.bench_worker VARIANT --address HOST:PORT --dsn DSN --task-queue Q
[--max-cached N] [--unsandboxed]``. It prints ``ready`` on stdout once it polls, and stops on
SIGTERM. The bench reads its CPU and memory from the process's own accounting (psutil).

- ``daiban`` runs what ``worker.py`` runs (``worker.serve``): the project workflows and their
  activities on the queue, the department adapters on its adapter queue, the projector tailing the
  event store (woken by NOTIFY, polling every 5 s as a safety net) and the content refresh (every
  2 s); only the worker options below are the bench's. Keep it in step with ``worker.serve``.
- ``baseline`` runs ``benchmarks.baseline``: its workflow and its one INSERT activity.

Both take the same worker options: the pydantic data converter, the workflow runner (the sandbox
as ``worker.py`` runs it, ``infra.sandbox``, or none with ``--unsandboxed``), the cache size and
the concurrency limits; both log as ``worker.py`` does, at the level ``DAIBAN_LOG_LEVEL`` names
(the bench sets ``warning``). The sandbox shares daiban's ``workflows`` package between runs; the
baseline's own module (``benchmarks.baseline``) is not in it and is re-imported per run, as the
sandbox does by default.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from infra.db import create_pool
from infra.logs import configure_logging
from infra.sandbox import workflow_runner
from infra.settings import Settings
from schemas.activities import HEARTBEAT_THROTTLE

MAX_CONCURRENT = 100  # workflow tasks and activities (the SDK's defaults, named for both variants)


def worker_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "workflow_runner": workflow_runner(not args.unsandboxed),
        "max_cached_workflows": args.max_cached,
        "max_concurrent_workflow_tasks": MAX_CONCURRENT,
        "max_concurrent_activities": MAX_CONCURRENT,
        "max_heartbeat_throttle_interval": HEARTBEAT_THROTTLE,  # as worker.py
    }


async def _daiban(client: Client, pool: Any, args: argparse.Namespace, stop: asyncio.Event) -> None:
    from activities import content
    from activities.adapters import DepartmentAdapters
    from activities.project import ProjectActivities
    from eventstore.projector import Projector
    from infra.metrics import EventMetricsInterceptor
    from infra.telemetry import LogContextInterceptor
    from schemas.activities import adapter_queue
    from worker import WORKFLOWS, activities_of

    content.load_shipped()
    await content.load_stored(pool)
    interceptors = [LogContextInterceptor(), EventMetricsInterceptor()]
    background = [asyncio.create_task(content.refresh_forever(pool, stop))]
    if not args.no_projector:
        background.append(asyncio.create_task(Projector(pool).run_forever(5.0, stop)))
    opts = worker_options(args)
    workers = [
        Worker(
            client,
            task_queue=args.task_queue,
            workflows=WORKFLOWS,
            activities=activities_of(ProjectActivities(pool)),
            interceptors=interceptors,
            **opts,
        ),
        Worker(
            client,
            task_queue=adapter_queue(args.task_queue),
            activities=[DepartmentAdapters(pool).deliver_applications],
            interceptors=interceptors,
            max_concurrent_activities=MAX_CONCURRENT,
        ),
    ]
    await _run(workers, stop)
    await asyncio.gather(*background)


async def _baseline(client: Client, pool: Any, args: argparse.Namespace, stop: asyncio.Event) -> None:
    from benchmarks.baseline import BaselineActivities, BaselineWorkflow

    acts = BaselineActivities(pool)
    worker = Worker(
        client,
        task_queue=args.task_queue,
        workflows=[BaselineWorkflow],
        activities=[acts.insert_row],
        **worker_options(args),
    )
    await _run([worker], stop)


async def _run(workers: list[Worker], stop: asyncio.Event) -> None:
    async with contextlib.AsyncExitStack() as running:
        for w in workers:
            await running.enter_async_context(w)
        print("ready", flush=True)
        await stop.wait()


async def main(args: argparse.Namespace) -> None:
    # Logs as ``worker.py`` configures them (``DAIBAN_LOG_LEVEL``, ``DAIBAN_LOG_FORMAT``), to stderr:
    # the bench starts its workers at ``warning`` (``benchmarks.stack``).
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    client = await Client.connect(args.address, data_converter=pydantic_data_converter)
    pool = await create_pool(args.dsn, max_size=20)
    try:
        await (_daiban if args.variant == "daiban" else _baseline)(client, pool, args, stop)
    finally:
        await pool.close()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", choices=["daiban", "baseline"])
    parser.add_argument("--address", required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--max-cached", type=int, default=1000)
    parser.add_argument("--unsandboxed", action="store_true")
    parser.add_argument("--no-projector", action="store_true", help="daiban: leave the projector out")
    return parser.parse_args(argv)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parse(sys.argv[1:])))
