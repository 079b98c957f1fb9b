"""Benchmark: many projects through the lifecycle on a real dev server, one worker, real PostgreSQL.

Prints registrations and decisions per second, the time to bring every project to construction,
the worker process's memory per cached project, and history and state sizes per project.
Not a test (pytest does not collect it): run ``python -m benchmarks.lifecycle [N]``.
Uses ``DATABASE_URL`` (a throwaway database on that server) or an embedded PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import psutil
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.adapters import DepartmentAdapters
from activities.project import ProjectActivities
from infra import migrate
from infra.db import create_pool
from infra.devstack.pgserver import EmbeddedPostgres
from interfaces.client import DaibanClient
from schemas import visibility
from schemas.activities import adapter_queue
from schemas.project import Decision
from tests.harness import registration
from worker import WORKFLOWS, activities_of
from workflows.project import ProjectWorkflow

BIN = Path(sys.executable).parent


async def drive(client: DaibanClient, project_id: str, latencies: list[float]) -> int:
    """Approve every pending matter until the project is under construction; return updates sent."""
    sent = 0
    while True:
        view = await client.state(project_id)
        if view.stage == "construction":
            return sent
        for m in [m for m in view.matters if m.state == "pending"]:
            t0 = time.perf_counter()
            await client.decide(
                project_id,
                Decision(
                    decision_id=f"b-{m.code}-{m.submissions}",
                    department=m.department,
                    matter_code=m.code,
                    kind="approve",
                    decided_by="bench",
                ),
            )
            latencies.append(time.perf_counter() - t0)
            sent += 1


async def run(n: int, dsn: str) -> None:
    admin = await asyncpg.connect(dsn)
    name = f"daiban_bench_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = dsn.rpartition("/")
    pool = await create_pool(f"{base}/{name}", max_size=20)
    await migrate.apply(pool)
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=visibility.ALL,
        dev_server_log_level="error",
    )
    proc = psutil.Process(os.getpid())
    try:
        runner = UnsandboxedWorkflowRunner() if os.environ.get("BENCH_UNSANDBOXED") else SandboxedWorkflowRunner()
        adapters = DepartmentAdapters(pool)
        async with (
            Worker(env.client, task_queue=adapter_queue("bench"), activities=[adapters.deliver_applications]),
            Worker(
                env.client,
                task_queue="bench",
                workflows=WORKFLOWS,
                activities=activities_of(ProjectActivities(pool)),
                max_cached_workflows=n + 10,
                workflow_runner=runner,
            ),
        ):
            client = DaibanClient(env.client, "bench")
            regs = [registration(zone="yanhu" if i % 2 else "tunliu") for i in range(n)]
            rss0 = proc.memory_info().rss
            t0 = time.perf_counter()
            await asyncio.gather(*(client.register(r) for r in regs))
            t_reg = time.perf_counter() - t0
            latencies: list[float] = []
            t0 = time.perf_counter()
            sent = sum(await asyncio.gather(*(drive(client, r.project_id, latencies) for r in regs)))
            t_drive = time.perf_counter() - t0
            # Until every domain event the projects emitted is in PostgreSQL (the worker drains
            # its activity backlog after the last update returned).
            emitted = sum(v.events_emitted for v in await asyncio.gather(*(client.state(r.project_id) for r in regs)))
            while await pool.fetchval("SELECT count(*) FROM events") < emitted:  # noqa: ASYNC110 - polls PostgreSQL
                await asyncio.sleep(0.2)
            t_drain = time.perf_counter() - t0
            rss1 = proc.memory_info().rss
            sample = regs[0].project_id
            history = await env.client.get_workflow_handle(f"project-{sample}").fetch_history()
            view = await client.state(sample)
            events = await pool.fetchval("SELECT count(*) FROM events")
            state_bytes = len(
                (
                    await env.client.get_workflow_handle(f"project-{sample}").query(ProjectWorkflow.state)
                ).model_dump_json()
            )
    finally:
        await env.shutdown()
        await pool.close()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
    lat = sorted(latencies)
    print(f"{n} projects, one worker (worker, dev server and PostgreSQL on this machine, {os.cpu_count()} cores)")
    print(f"  registration: {n / t_reg:,.0f} projects/s ({t_reg:.2f} s)")
    print(
        f"  registration to construction: {t_drive:.1f} s for {sent:,} decisions by Update "
        f"({sent / t_drive:,.0f}/s; latency p50 {statistics.median(lat) * 1000:.0f} ms, "
        f"p95 {lat[int(len(lat) * 0.95)] * 1000:.0f} ms)"
    )
    print(f"  domain events recorded: {events:,} ({events / n:.0f} per project), all stored after {t_drain:.1f} s")
    print(
        f"  history of one project at construction: {len(history.events)} events, "
        f"{len(history.to_json()) / 1024:.0f} KiB JSON; query result {state_bytes / 1024:.0f} KiB; "
        f"{view.events_emitted} domain events"
    )
    print(
        f"  bench process RSS (worker + client): +{(rss1 - rss0) / n / 1024:.0f} KiB per cached project "
        f"({rss0 / 2**20:.0f} -> {rss1 / 2**20:.0f} MiB)"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    dsn = os.environ.get("DATABASE_URL")
    if dsn:
        asyncio.run(run(n, dsn))
        return
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedPostgres(Path(tmp) / "data", 55432, durable=False)
        server.start()
        try:
            asyncio.run(run(n, server.dsn))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
