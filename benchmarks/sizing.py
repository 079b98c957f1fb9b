"""Sizing figures: what one project's whole lifecycle costs in the event store and in Temporal.

Drives N projects (Yanhu and Linfen, every matter applied for, accepted and approved; construction
reported done) from registration to production on a dev server and a throwaway database, then
prints, per project: domain events and their bytes in PostgreSQL (events table rows, with
``pg_column_size``), the bytes of the read models (projected once the projects are done),
notifications and inbox rows, and Temporal's history: runs (continue-as-new), history events and
their serialized bytes over all runs, and the workflow tasks and activity tasks they record (the
work a worker pool does per project lifecycle; README "Sizing").
Not a test: ``python -m benchmarks.sizing [N]`` (``DATABASE_URL``: a server to create the database on).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from eventstore.projector import Projector
from infra.db import create_pool
from schemas import visibility
from tests.databases import fresh_database
from tests.harness import running_worker
from tests.workflows.helpers import approve_all

BIN = Path(sys.executable).parent
TABLES = ("events", "rm_projects", "rm_matters", "rm_clocks", "notifications", "department_inbox", "licenses")


async def measure(n: int, dsn: str) -> None:
    """On a fresh database of ``dsn``'s server (``tests.databases``), dropped at the end."""
    async with fresh_database(dsn, "daiban_sizing") as db:
        await _measure(n, db)


async def _measure(n: int, dsn: str) -> None:
    pool = await create_pool(dsn)
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=visibility.ALL,
        dev_server_log_level="error",
    )
    workers = running_worker(env, "sizing", pool)
    try:
        async for h in workers:
            handles = [await h.start(zone="yanhu" if i % 2 == 0 else "linfen") for i in range(n)]
            for handle in handles:
                await approve_all(handle, "in_production", prefix="size")
            await asyncio.sleep(2)
            runs, events, sizes, workflow_tasks, activities = [], [], [], [], []
            for handle in handles:
                r = e = b = w = a = 0
                run_id: str | None = handle.first_execution_run_id
                while run_id:
                    hist = await env.client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
                    r, e, b = r + 1, e + len(hist.events), b + sum(ev.ByteSize() for ev in hist.events)
                    kinds = [ev.event_type for ev in hist.events]
                    w += kinds.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
                    a += kinds.count(EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
                    last = hist.events[-1]
                    run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id or None
                runs.append(r)
                events.append(e)
                sizes.append(b)
                workflow_tasks.append(w)
                activities.append(a)
            print(
                f"temporal: runs {statistics.mean(runs):.1f}, history events {statistics.mean(events):.0f}, "
                f"history bytes {statistics.mean(sizes):.0f}, workflow tasks {statistics.mean(workflow_tasks):.0f}, "
                f"activity tasks {statistics.mean(activities):.0f} per project (mean of {n})"
            )
            await Projector(pool).run_once()  # the read models, as the workers' projector keeps them
            for table in TABLES:
                exists = await pool.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
                if not exists:
                    continue
                rows = await pool.fetchval(f"SELECT count(*) FROM {table}")
                data = await pool.fetchval(f"SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM {table} t")
                total = await pool.fetchval("SELECT pg_total_relation_size($1::regclass)", table)
                print(
                    f"postgres {table}: {rows / n:.0f} rows, {data / n:.0f} bytes of row data, "
                    f"{total / n:.0f} bytes with indexes and pages, per project"
                )
            break
    finally:
        await workers.aclose()  # type: ignore[attr-defined]  # the worker stops before its server
        await env.shutdown()
        await pool.close()


if __name__ == "__main__":
    asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 4, os.environ["DATABASE_URL"]))
