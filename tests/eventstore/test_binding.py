"""Temporal and the event store belong together: checked for real, with real dev servers.

Each test has a database of its own; the Temporal side is a ``temporal server start-dev`` on a
SQLite file of the test's own, restarted on the same file or started on a new one.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from benchmarks.sample import ProjectStream
from eventstore.binding import (
    BindingError,
    check_binding,
    check_client_binding,
    running_projects_with_events,
    temporal_cluster_id,
)
from eventstore.store import append
from infra.devstack.temporalserver import dev_server_command
from tests.conftest import _free_port
from tests.eventstore.conftest import PrivateDb

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def dev_server(db_file: Path) -> AsyncIterator[Client]:
    """A Temporal dev server on ``db_file`` (kept between starts), and a client on it."""
    port = _free_port()
    ports = ("--http-port", str(_free_port()), "--metrics-port", str(_free_port()))
    proc = await asyncio.create_subprocess_exec(
        *dev_server_command(db_file, port, "--headless", *ports, log_level="error"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        # Ready once it answers for its cluster id (a connection alone is not enough); up to 60 s
        # on a loaded machine.
        ready: Client | None = None
        for _ in range(300):
            try:
                client = await Client.connect(f"127.0.0.1:{port}")
                await temporal_cluster_id(client)
                ready = client
                break
            except Exception:
                await asyncio.sleep(0.2)
        assert ready is not None, f"dev server on port {port} did not answer within 60 s"
        yield ready
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)


async def test_binds_on_first_use_and_refuses_another_cluster_or_namespace(private_pool: asyncpg.Pool) -> None:
    first = await check_binding(private_pool, "cluster-a", "default", running_projects=0)
    assert (first.cluster_id, first.namespace, first.newly_bound) == ("cluster-a", "default", True)
    again = await check_binding(private_pool, "cluster-a", "default", running_projects=7)
    assert again.newly_bound is False and again.bound_at == first.bound_at

    with pytest.raises(BindingError) as other_cluster:
        await check_binding(private_pool, "cluster-b", "default", running_projects=0)
    message = str(other_cluster.value)
    assert "\n" not in message
    assert message.startswith(
        "DATABASE_URL holds the events of Temporal cluster cluster-a (namespace default); "
        "this worker is connected to cluster cluster-b (namespace default)"
    )
    assert "point DATABASE_URL at that cluster's database" in message

    with pytest.raises(BindingError, match="connected to cluster cluster-a \\(namespace zone-b\\)"):
        await check_binding(private_pool, "cluster-a", "zone-b", running_projects=0)


async def test_an_empty_store_is_not_bound_to_a_temporal_that_runs_projects(private_pool: asyncpg.Pool) -> None:
    with pytest.raises(BindingError) as refused:
        await check_binding(private_pool, "cluster-a", "default", running_projects=3)
    assert "\n" not in str(refused.value)
    assert "DATABASE_URL holds no events, but Temporal cluster cluster-a (namespace default) runs 3" in str(
        refused.value
    )
    assert await private_pool.fetchval("SELECT count(*) FROM temporal_binding") == 0
    # A store that has events (an upgrade of a running deployment) is bound on first use.
    s = ProjectStream(f"p-{uuid.uuid4().hex[:8]}")
    await append(private_pool, [s.register("zone-b")])
    assert (await check_binding(private_pool, "cluster-a", "default", running_projects=3)).newly_bound


async def test_workers_starting_at_once_bind_once(private_pool: asyncpg.Pool) -> None:
    results = await asyncio.gather(
        *(check_binding(private_pool, f"cluster-{i}", "default", 0) for i in range(6)), return_exceptions=True
    )
    bound = [r for r in results if not isinstance(r, BaseException)]
    assert len(bound) == 1 and bound[0].newly_bound
    assert all(isinstance(r, BindingError) for r in results if r not in bound)


async def test_the_cluster_id_of_a_real_dev_server(private_db: PrivateDb, tmp_path: Path) -> None:
    # Same SQLite file: same cluster after a restart. New file: another cluster, refused.
    async with dev_server(tmp_path / "temporal.db") as client:
        first_id = await temporal_cluster_id(client)
        bound = await check_client_binding(private_db.pool, client)
        assert bound.newly_bound and bound.cluster_id == first_id and bound.namespace == "default"
    async with dev_server(tmp_path / "temporal.db") as client:
        assert await temporal_cluster_id(client) == first_id
        assert not (await check_client_binding(private_db.pool, client)).newly_bound
    async with dev_server(tmp_path / "other.db") as client:
        other_id = await temporal_cluster_id(client)
        assert other_id != first_id
        with pytest.raises(BindingError, match=f"cluster {first_id} .*connected to cluster {other_id}"):
            await check_client_binding(private_db.pool, client)

        # A project registered but not flushed yet (the first worker starts while the first projects
        # register): an empty store is bound to it all the same.
        await private_db.pool.execute("DELETE FROM temporal_binding")
        await client.start_workflow(
            "ProjectWorkflow", {"registration": {}}, id=f"project-{uuid.uuid4().hex[:8]}", task_queue="nobody-polls"
        )
        assert await running_projects_with_events(client) == 0
        assert (await check_client_binding(private_db.pool, client)).newly_bound

        # A project that recorded events (its apply_batch completed), and an empty store: refused.
        await private_db.pool.execute("DELETE FROM temporal_binding")
        queue = f"tq-{uuid.uuid4().hex[:8]}"
        async with Worker(
            client,
            task_queue=queue,
            workflows=[FlushedProject],
            activities=[apply_batch],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            await client.start_workflow("ProjectWorkflow", id=f"project-{uuid.uuid4().hex[:8]}", task_queue=queue)
            for _ in range(100):
                if await running_projects_with_events(client) == 1:
                    break
                await asyncio.sleep(0.1)
        assert await private_db.pool.fetchval("SELECT count(*) FROM events") == 0
        no_events = r"holds no events, but Temporal cluster \S+ \(namespace default\) runs 1 project"
        with pytest.raises(BindingError, match=no_events):
            await check_client_binding(private_db.pool, client)


@activity.defn(name="apply_batch")
async def apply_batch(inp: dict[str, Any]) -> int:
    return 0


@workflow.defn(name="ProjectWorkflow")
class FlushedProject:
    """A project after its first flush, waiting (the shape of history the binding check reads)."""

    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(
            "apply_batch",
            {"project_id": "p", "events": [], "effects": []},
            start_to_close_timeout=timedelta(seconds=10),
        )
        await workflow.wait_condition(lambda: False)


async def test_the_worker_stops_with_one_line_on_a_foreign_event_store(private_db: PrivateDb, tmp_path: Path) -> None:
    await check_binding(private_db.pool, "the-cluster-of-an-earlier-run", "default", 0)
    async with dev_server(tmp_path / "temporal.db") as client:
        env = {
            **os.environ,
            "DAIBAN_TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "DATABASE_URL": private_db.dsn,
            "DAIBAN_TASK_QUEUE": f"tq-{uuid.uuid4().hex[:8]}",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "worker.py",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2, err.decode()
    lines = [line for line in err.decode().splitlines() if line.startswith("daiban worker:")]
    assert len(lines) == 1 and lines[0].startswith(
        "daiban worker: DATABASE_URL holds the events of Temporal cluster the-cluster-of-an-earlier-run"
    ), err
