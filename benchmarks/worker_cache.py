"""Memory a worker's sticky cache costs per project run kept (``DAIBAN_MAX_CACHED_WORKFLOWS``).

Starts a dev server and a throwaway database, runs one orchestration worker and one adapters'
worker in this process (``worker.build_workers``, the cache size given), drives N projects
(Tunliu and Yanhu) to the land-approval stage, and prints the process's resident memory with
every project still open. Run it twice, with a cache that holds every run and one that holds two:
the difference over N is what one cached run costs.
Not a test: ``python -m benchmarks.worker_cache N CACHE`` (``DATABASE_URL``: a server to create
the database on).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

import psutil
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities import content
from infra.db import create_pool
from infra.settings import Settings
from schemas import visibility
from tests.databases import fresh_database
from tests.harness import Harness
from tests.workflows.helpers import approve_all, settle
from worker import build_workers

BIN = Path(sys.executable).parent


async def measure(n: int, cache: int, dsn: str) -> None:
    """On a fresh database of ``dsn``'s server (``tests.databases``), dropped at the end."""
    async with fresh_database(dsn, "daiban_cache") as db:
        await _measure(n, cache, db)


async def _measure(n: int, cache: int, dsn: str) -> None:
    pool = await create_pool(dsn)
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=visibility.ALL,
        dev_server_log_level="error",
    )
    content.load_shipped()
    settings = Settings(task_queue="cache", max_cached_workflows=cache, max_concurrent_workflow_tasks=2)
    me = psutil.Process()
    try:
        async with contextlib.AsyncExitStack() as running:
            for w in build_workers(env.client, pool, settings):
                await running.enter_async_context(w)
            h = Harness(env.client, "cache", pool)
            before = me.memory_info().rss
            for i in range(n):
                p = await h.start(zone="tunliu" if i % 2 == 0 else "yanhu")
                await approve_all(p, "approval_land", prefix="cache")
                await settle(p)
            after = me.memory_info().rss
            print(
                f"worker cache {cache}: {n} open projects at approval_land, resident memory "
                f"{after / 2**20:.0f} MiB ({(after - before) / 2**20:.0f} MiB more than before the first)"
            )
            await h.terminate_all()
    finally:
        await env.shutdown()
        await pool.close()


if __name__ == "__main__":
    asyncio.run(measure(int(sys.argv[1]), int(sys.argv[2]), os.environ["DATABASE_URL"]))
