"""Worker versioning on a real Temporal dev server: a project's tasks go to the current version.

A cluster runs daiban's workers as versions of one worker deployment (``DAIBAN_WORKER_DEPLOYMENT``
and ``DAIBAN_BUILD_ID``, README "Upgrading running projects"): a release is rolled out by starting
its workers and making their version current. Here two releases' workers, each built by
``worker.build_workers`` from those settings, poll the same task queue at once. A project runs on
release ``r1`` while it is current; once ``r2`` is made current (``r1``'s workers still polling),
every later workflow task and batch of the project runs on ``r2`` (AUTO_UPGRADE: the run moves at
its next task, replaying its history there), with no failed workflow task and a gap-free stream.
The setup step's call (``infra.cluster.make_current_version``) makes a deployment's first
versioned release current before any of its workers polls; over a current release it waits for
the new release's workers and refuses, naming the build, when they do not come. A worker's ready
file (``DAIBAN_READY_FILE``, the pods' readiness probe) appears only once its build is current. A
zone's first versioned release takes over the runs of its unversioned workers once those stop.
Every fact comes from the project's history (each task's worker identity, build id and versioning
behaviour) and the event store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from asyncio.subprocess import PIPE
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.api.enums.v1 import RoutingConfigUpdateState as UpdateState
from temporalio.api.enums.v1 import VersioningBehavior
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
)
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities import content
from infra.cluster import current_build_id, make_current_version, serve_readiness
from infra.settings import ConfigError, Settings, load_settings
from infra.temporal import connect
from schemas.activities import APPLY_BATCH
from tests.harness import Harness
from tests.workflows.helpers import Task, approve_all, events, open_all, read_histories, settle
from worker import build_workers

DAIBAN = str(Path(sys.executable).parent / "daiban")
# The checkout under test: the script's editable install may point at another worktree sharing the venv.
ROOT = str(Path(__file__).resolve().parents[2])


def release(task_queue: str, deployment: str, build_id: str) -> Settings:
    """One worker process of a release, as its environment would give it (``DAIBAN_*``)."""
    return Settings(
        task_queue=task_queue,
        worker_identity=f"worker-{build_id}",
        worker_deployment=deployment,
        build_id=build_id,
        shutdown_grace_seconds=5,
    )


async def routed_to(client: Client, deployment: str, build_id: str) -> None:
    """Make ``build_id`` current as the setup step does (``make_current_version``), and wait until
    the task queues have taken the change."""
    await make_current_version(client, deployment, build_id)
    for _ in range(240):
        info = (
            await client.workflow_service.describe_worker_deployment(
                DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=deployment)
            )
        ).worker_deployment_info
        current = info.routing_config.current_deployment_version.build_id
        if (
            current == build_id
            and info.routing_config_update_state != UpdateState.ROUTING_CONFIG_UPDATE_STATE_IN_PROGRESS
        ):
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"{deployment}.{build_id} never became current everywhere")


def builds(ts: list[Task]) -> set[tuple[str, str]]:
    """The (worker identity, build id) pairs of workflow tasks."""
    return {(t.identity, t.build_id) for t in ts}


async def test_the_deployment_settings_go_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAIBAN_WORKER_DEPLOYMENT", "daiban")
    with pytest.raises(ConfigError, match="DAIBAN_BUILD_ID"):
        load_settings()
    monkeypatch.setenv("DAIBAN_WORKER_DEPLOYMENT", "dai.ban")  # Temporal writes a version <name>.<build id>
    monkeypatch.setenv("DAIBAN_BUILD_ID", "2026.12.2")
    with pytest.raises(ConfigError, match="DAIBAN_WORKER_DEPLOYMENT"):
        load_settings()
    monkeypatch.delenv("DAIBAN_WORKER_DEPLOYMENT")
    with pytest.raises(ConfigError, match="DAIBAN_BUILD_ID"):
        load_settings()


async def test_tasks_go_to_the_current_version_while_the_old_one_still_polls(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    content.load_shipped()
    ready_file, stopping = tmp_path / "r2-ready", asyncio.Event()
    client = dev_env.client
    address = client.service_client.config.target_host
    deployment = f"daiban-{uuid.uuid4().hex[:8]}"
    versions = {b: release(task_queue, deployment, b) for b in ("r1", "r2")}
    running: dict[str, contextlib.AsyncExitStack] = {}
    h = Harness(client, task_queue, pg_pool)

    async def start(build_id: str) -> None:
        settings = versions[build_id]
        workers = build_workers(await connect(settings, address=address), pg_pool, settings)
        config: dict[str, Any] = dict(workers[0].config())
        assert config["deployment_config"].version.build_id == build_id
        running[build_id] = contextlib.AsyncExitStack()
        for w in workers:  # orchestration and adapters, as make run's one worker polls both
            await running[build_id].enter_async_context(w)

    try:
        await start("r1")
        await routed_to(client, deployment, "r1")
        p = await h.start(zone="tunliu")
        await open_all(p, prefix="r1")  # applications and acceptances (受理) on r1
        await settle(p)
        on_r1 = (await read_histories(client, [p.id])).workflow_tasks

        # Before r2's workers poll, the switch waits for them (r1 serving meanwhile), then refuses.
        with pytest.raises(ConfigError, match="DAIBAN_BUILD_ID r2: its workers have not polled"):
            await make_current_version(client, deployment, "r2", wait=timedelta(seconds=2))
        await start("r2")  # r1's workers go on polling
        # r2's pods are not ready (DAIBAN_READY_FILE) while r1 is current, so a rolling update keeps
        # r1's pods; they are once the switch is made.
        r2_ready = asyncio.create_task(serve_readiness(client, deployment, "r2", ready_file, stopping, every=0.2))
        await asyncio.sleep(1.5)
        assert not r2_ready.done() and not ready_file.exists()
        await routed_to(client, deployment, "r2")
        assert await asyncio.wait_for(r2_ready, 10) and ready_file.read_text() == "r2\n"
        v = await approve_all(p, "approval_land", prefix="r2")
        await settle(p)
        seen = await read_histories(client, [p.id])
    finally:
        await h.terminate_all()
        for stack in running.values():
            await stack.aclose()

    assert v.stage == "approval_land"
    assert seen.failed_workflow_tasks == [], "the run did not replay on the new release"
    done = seen.workflow_tasks
    assert on_r1 and builds(on_r1) == {("worker-r1", "r1")}
    after = done[len(on_r1) :]
    assert done[: len(on_r1)] == on_r1 and after and builds(after) == {("worker-r2", "r2")}, after
    assert {t.behavior for t in done} == {VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE}
    # The batches followed: those started after the switch ran on r2's workers only.
    batches = [t for t in seen.activities if t.name == APPLY_BATCH and t.at > after[0].at]
    assert batches and {t.identity for t in batches} == {"worker-r2"}, batches
    rows = await events(pg_pool, v.project_id)
    assert [r["version"] for r in rows] == list(range(1, v.events_emitted + 1))


async def test_the_setup_step_makes_a_release_current_before_its_workers_poll(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool
) -> None:
    content.load_shipped()
    client = dev_env.client
    deployment = f"daiban-{uuid.uuid4().hex[:8]}"
    assert await make_current_version(client, deployment, "r1")  # no worker of it has polled yet
    assert not await make_current_version(client, deployment, "r1")  # again: nothing to do
    h = Harness(client, task_queue, pg_pool)
    p = await h.start(zone="tunliu")  # waits on its queue for r1's workers
    settings = release(task_queue, deployment, "r1")
    async with contextlib.AsyncExitStack() as running:
        for w in build_workers(client, pg_pool, settings):
            await running.enter_async_context(w)
        try:
            v = await open_all(p, prefix="setup")
            await settle(p)
            seen = await read_histories(client, [p.id])
        finally:
            await h.terminate_all()
    assert seen.failed_workflow_tasks == [] and any(m.state == "pending" for m in v.matters)
    assert seen.workflow_tasks and builds(seen.workflow_tasks) == {("worker-r1", "r1")}


async def test_the_first_versioned_release_takes_over_once_the_unversioned_workers_stop(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool
) -> None:
    """A zone's first release with versioning: its projects ran on unversioned workers (an earlier
    release). Its setup step makes it current and its workers start, but a run that began on an
    unversioned worker keeps to the unversioned workers while any polls (the dev server, Temporal
    1.32: the run is not versioned); once they stop, as a rolling update stops them, the next task
    goes to the new release and every task after it stays there."""
    content.load_shipped()
    client = dev_env.client
    deployment = f"daiban-{uuid.uuid4().hex[:8]}"
    unversioned = Settings(task_queue=task_queue, worker_identity="worker-before", shutdown_grace_seconds=5)
    h = Harness(client, task_queue, pg_pool)
    old, new = contextlib.AsyncExitStack(), contextlib.AsyncExitStack()
    try:
        for w in build_workers(client, pg_pool, unversioned):
            await old.enter_async_context(w)
        p = await h.start(zone="tunliu")
        await open_all(p, prefix="before")
        await settle(p)
        await routed_to(client, deployment, "r1")  # the setup step, then the workers
        for w in build_workers(client, pg_pool, release(task_queue, deployment, "r1")):
            await new.enter_async_context(w)
        await old.aclose()  # the rolling update stops the old pods
        v = await approve_all(p, "approval_land", prefix="r1")
        await settle(p)
        seen = await read_histories(client, [p.id])
    finally:
        await h.terminate_all()
        await new.aclose()
        await old.aclose()
    assert seen.failed_workflow_tasks == [] and v.stage == "approval_land"
    done = seen.workflow_tasks
    first = next(i for i, t in enumerate(done) if t.identity != "worker-before")
    assert first > 0 and builds(done[first:]) == {("worker-r1", "r1")}, done[first:]


async def test_a_worker_stopped_before_its_version_is_current_never_says_ready(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    deployment, stop = f"daiban-{uuid.uuid4().hex[:8]}", asyncio.Event()
    waiting = asyncio.create_task(
        serve_readiness(dev_env.client, deployment, "r9", tmp_path / "ready", stop, every=0.2)
    )
    await asyncio.sleep(0.5)
    stop.set()
    assert await asyncio.wait_for(waiting, 5) is False
    assert not (tmp_path / "ready").exists()


async def test_the_cli_switches_to_a_named_release_from_a_worker_pods_settings(dev_env: WorkflowEnvironment) -> None:
    """``daiban setup current-version --build-id V`` as README's rollback runs it, in a worker pod
    (``kubectl exec``): the pod's settings name the deployment and its own build; the option names
    the release to make current."""
    deployment = f"daiban-{uuid.uuid4().hex[:8]}"
    env = dict(
        os.environ,
        DAIBAN_TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        DAIBAN_TEMPORAL_NAMESPACE=dev_env.client.namespace,
        DAIBAN_WORKER_DEPLOYMENT=deployment,
        DAIBAN_BUILD_ID="r2",
        PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p),
    )

    async def daiban(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            DAIBAN, "setup", "current-version", *args, env=env, stdout=PIPE, stderr=PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode or 0, out.decode(), err.decode()

    code, out, err = await daiban("--build-id", "r1", "--json")
    assert code == 0, err
    assert json.loads(out) == {"deployment": deployment, "build_id": "r1", "changed": True}
    code, out, err = await daiban("--build-id", "r1")
    assert code == 0 and out.strip() == f"{deployment}.r1 is current already", (out, err)
    assert await current_build_id(dev_env.client, deployment) == "r1"
    code, out, err = await daiban("--build-id", "r 1")
    assert code == 2 and "--build-id" in err and "not a build id" in err, err
    assert await current_build_id(dev_env.client, deployment) == "r1"
