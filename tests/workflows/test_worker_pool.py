"""A pool of workers sized as a deployment sizes them, on a real Temporal dev server.

Three orchestration workers and one adapters' worker, each built by ``worker.build_workers`` from
the settings a deployed worker reads (``DAIBAN_WORKER_QUEUES``, ``DAIBAN_MAX_CACHED_WORKFLOWS``,
``DAIBAN_MAX_CONCURRENT_WORKFLOW_TASKS``, ``DAIBAN_MAX_CONCURRENT_ACTIVITIES``,
``DAIBAN_WORKER_IDENTITY``), drive six projects through two stages. Half-way, the orchestration
worker that has completed the most workflow tasks is stopped (as SIGTERM stops one). Every fact is
read afterwards from the projects' Temporal histories (each task's worker identity) and the event
store, never from timings:

- the work is spread: several workers completed workflow tasks and ran batches;
- each orchestration worker keeps 2 runs in its sticky cache for 6 open projects: the histories
  show tasks that no cache of that size could have held (``forced_replays``), and every project
  still finishes with no failed workflow task, so the runs dropped from the cache replayed
  correctly;
- the adapters' queue is served by the adapters' worker only, and it serves nothing else;
- the stopped worker's projects finished on the others, and nothing was lost: each stream is
  gap-free and holds every event the workflow emitted.

A first test checks that those ``DAIBAN_*`` variables reach each Temporal worker. Run with ``-s`` to
see the pool's throughput (printed, not asserted; README "Sizing").
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities import content
from infra.settings import ConfigError, Settings, load_settings
from infra.temporal import connect
from schemas.activities import APPLY_BATCH, DELIVER_APPLICATIONS, adapter_queue
from tests.harness import Harness, Receiver
from tests.workflows.helpers import approve_all, events, read_histories, settle, view
from worker import build_workers

ORCHESTRATION = ["orchestration-1", "orchestration-2", "orchestration-3"]
ADAPTERS = "adapters-1"
CACHE = 2  # DAIBAN_MAX_CACHED_WORKFLOWS of each orchestration worker
PROJECTS = 6  # open at once: more than any one worker's cache, and than the two left's together
DEPARTMENTS = ["market", "approval", "resources", "ecology", "water", "meteorology", "air-defence", "housing"]


def pool_settings(task_queue: str, queues: str, identity: str, webhooks: dict[str, str] | None = None) -> Settings:
    """A pool member's settings, as its environment would give them (``DAIBAN_*``)."""
    return Settings(
        task_queue=task_queue,
        worker_queues=queues,
        worker_identity=identity,
        max_cached_workflows=CACHE,
        max_concurrent_workflow_tasks=2,
        max_concurrent_activities=4,
        shutdown_grace_seconds=10,
        department_webhooks=webhooks or {},
    )


def forced_replays(runs: list[str], capacity: int) -> int:
    """The fewest times a worker that served workflow tasks of ``runs`` in this order, with a cache
    of ``capacity`` runs, must have dropped a run it served before and rebuilt it from its history.

    Belady's optimal cache (on a miss, drop the run needed again last) misses least of all caches;
    its misses beyond each run's first task are replays forced on any cache of that size.
    """
    cache: set[str] = set()
    misses = 0
    for i, run in enumerate(runs):
        if run in cache:
            continue
        misses += 1
        if len(cache) == capacity:
            later = runs[i + 1 :]
            cache.discard(max(cache, key=lambda r: later.index(r) if r in later else len(later)))
        cache.add(run)
    return misses - len(set(runs))


def test_forced_replays_counts_what_no_cache_of_that_size_could_hold() -> None:
    assert forced_replays(["a", "b", "a", "b"], 2) == 0
    assert forced_replays(["a", "b", "c", "a", "b", "c"], 2) == 1  # 3 runs in turn through 2 slots
    assert forced_replays(["a", "b", "c", "a"], 2) == 0  # the best cache kept a
    assert forced_replays(["a", "b", "c", "c", "c"], 1) == 0
    assert forced_replays(["a", "b", "a", "b"], 1) == 2


async def test_the_sizing_settings_reach_each_worker_from_the_environment(
    dev_env: WorkflowEnvironment, pg_pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "DAIBAN_WORKER_QUEUES": "orchestration,adapters",
        "DAIBAN_MAX_CACHED_WORKFLOWS": "7",
        "DAIBAN_MAX_CONCURRENT_WORKFLOW_TASKS": "3",
        "DAIBAN_MAX_CONCURRENT_ACTIVITIES": "5",
        "DAIBAN_WORKER_IDENTITY": "orchestration-a",
    }.items():
        monkeypatch.setenv(name, value)
    orchestration, adapters = (w.config() for w in build_workers(dev_env.client, pg_pool, load_settings()))
    assert orchestration.get("max_cached_workflows") == 7
    assert orchestration.get("max_concurrent_workflow_tasks") == 3
    assert orchestration.get("max_concurrent_activities") == adapters.get("max_concurrent_activities") == 5
    assert orchestration.get("identity") == adapters.get("identity") == "orchestration-a"
    monkeypatch.setenv("DAIBAN_MAX_CONCURRENT_WORKFLOW_TASKS", "1")  # the SDK needs two with a cache
    with pytest.raises(ConfigError, match="DAIBAN_MAX_CONCURRENT_WORKFLOW_TASKS"):
        load_settings()


async def drive(h: WorkflowHandle[Any, Any], stage: str, prefix: str) -> None:
    await approve_all(h, stage, prefix=prefix)
    await settle(h)


async def test_a_pool_of_workers_shares_projects_survives_a_stopped_member_and_small_caches(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool, http_receiver: Receiver
) -> None:
    content.load_shipped()
    client = dev_env.client
    address = client.service_client.config.target_host
    webhooks = dict.fromkeys(DEPARTMENTS, http_receiver.url)
    config = {name: pool_settings(task_queue, "orchestration", name) for name in ORCHESTRATION}
    config[ADAPTERS] = pool_settings(task_queue, "adapters", ADAPTERS, webhooks)
    # Each member connects on its own, as a worker process does (one client per process).
    members = {
        name: build_workers(await connect(settings, address=address), pg_pool, settings)
        for name, settings in config.items()
    }
    assert all(len(ws) == 1 for ws in members.values())
    assert [ws[0].task_queue for ws in members.values()] == [task_queue] * 3 + [adapter_queue(task_queue)]
    running = {name: contextlib.AsyncExitStack() for name in members}
    h = Harness(client, task_queue, pg_pool)
    started = time.monotonic()
    try:
        for name, (w,) in members.items():
            await running[name].enter_async_context(w)
        projects = [await h.start(zone=("tunliu", "yanhu")[i % 2]) for i in range(PROJECTS)]
        ids = [p.id for p in projects]

        await asyncio.gather(*(drive(p, "approval_land", f"pool{i}") for i, p in enumerate(projects)))
        before = await read_histories(client, ids)
        busiest, _ = Counter(t.identity for t in before.workflow_tasks).most_common(1)[0]
        await running.pop(busiest).aclose()  # as SIGTERM stops a worker: graceful, then gone
        stopped_at = datetime.now(UTC)  # the dev server's clock is this machine's
        # Its projects (sticky to it) and the others go on to construction on the two left.
        await asyncio.gather(*(drive(p, "engineering_permit", f"pool{i}b") for i, p in enumerate(projects)))
        elapsed = time.monotonic() - started
        views = [await view(p) for p in projects]
        after = await read_histories(client, ids)
    finally:
        await h.terminate_all()
        for stack in running.values():
            await stack.aclose()

    assert [v.stage for v in views] == ["engineering_permit"] * PROJECTS
    assert after.failed_workflow_tasks == [], "a run replayed differently on another worker or after eviction"

    # Spread over the pool: workflow tasks and batches on more than one orchestration worker.
    by_identity = Counter(t.identity for t in after.workflow_tasks)
    assert set(by_identity) <= set(ORCHESTRATION) and len(by_identity) >= 2, by_identity
    batches = Counter(t.identity for t in after.activities if t.name == APPLY_BATCH)
    assert set(batches) <= set(ORCHESTRATION) and len(batches) >= 2, batches

    # The adapters' queue: its worker alone, and only that.
    deliveries = [t for t in after.activities if t.name == DELIVER_APPLICATIONS]
    assert deliveries and {(t.identity, t.queue) for t in deliveries} == {(ADAPTERS, adapter_queue(task_queue))}
    assert {t.name for t in after.activities if t.identity == ADAPTERS} == {DELIVER_APPLICATIONS}
    assert {t.queue for t in after.activities if t.identity != ADAPTERS} == {task_queue}
    assert http_receiver.received, "the department systems heard of the applications"

    # The stopped worker did nothing after it stopped; the runs it last served went on elsewhere.
    assert busiest not in {t.identity for t in after.workflow_tasks if t.at > stopped_at}
    last_before = {t.workflow_id: t.identity for t in before.workflow_tasks}  # in time order: the last
    moved = {wid for wid, who in last_before.items() if who == busiest}
    assert moved and all(
        any(t.workflow_id == wid and t.at > stopped_at and t.identity != busiest for t in after.workflow_tasks)
        for wid in moved
    )

    # Small caches: runs dropped from a worker's cache were rebuilt from history, and replayed right.
    served: dict[str, list[str]] = defaultdict(list)
    for t in after.workflow_tasks:
        served[t.identity].append(t.run_id)
    replays = {who: forced_replays(runs, CACHE) for who, runs in served.items()}
    assert sum(replays.values()) >= 1, replays

    # Nothing lost or doubled: each stream gap-free, holding every event the workflow emitted.
    stored = 0
    for v in views:
        rows = await events(pg_pool, v.project_id)
        assert [r["version"] for r in rows] == list(range(1, v.events_emitted + 1)), v.project_id
        stored += len(rows)

    print(
        f"\npool: {PROJECTS} projects from registration to engineering_permit on {len(ORCHESTRATION)} orchestration "
        f"workers (cache {CACHE}; one stopped half-way) + 1 adapters' worker in {elapsed:.1f} s: "
        f"{len(after.workflow_tasks)} workflow tasks ({len(after.workflow_tasks) / elapsed:.1f}/s), "
        f"{len(after.activities)} activities ({len(after.activities) / elapsed:.1f}/s), "
        f"{stored} domain events; batches per worker {dict(sorted(batches.items()))}; "
        f"workflow tasks per worker {dict(sorted(by_identity.items()))}; forced replays {replays}"
    )
