"""``make bench``: daiban's full lifecycle against a raw Temporal baseline doing the same job, in one run.

Starts its own Temporal dev server and PostgreSQL database (``benchmarks.stack``), one worker
process per variant (``benchmarks.bench_worker``, same options), then, interleaved, for each
repetition:

1. one lifecycle of each variant alone, its Updates sent one after another: the sequential Update
   latency (and, from daiban's, the baseline's schedule: rows per Update, ``benchmarks.baseline``);
   then again with ``--pace`` seconds before each Update: the paced latency, of an Update that
   meets its project at rest (a zone's decisions on one project come minutes to days apart; sent
   back to back, the baseline's next Update usually arrives while its last row's activity runs,
   so its workflow task carries only the answer); the paced Updates are also split by what the
   workflow task that answered each one issued besides the answer (``answered_with``, from history:
   the batch, search attributes, a delivery...);
2. a daiban batch then a baseline batch of ``--lifecycles`` lifecycles driven concurrently, from
   registration to production (``benchmarks.lifecycle``): CPU seconds of the worker process, the
   Temporal server and PostgreSQL over the batch, throughput, history events and bytes (every run,
   continue-as-new included), the state query's and the workflow result's payload bytes, rows;
3. a burst: ``--burst`` open lifecycles of each variant, at rest (their registration's rows
   stored, daiban's projected), receive their first Update at once.

Then once: worker memory per open project (a fresh worker process per variant, its cache sized
to hold ``--open-projects``: RSS growth / count), and the event store's appends per second and
projector lag against plain INSERTs (``benchmarks.eventstore_bench``) per repetition.

The bench fails (exit 1) unless every daiban lifecycle wrote the same domain events (rows of the
``events`` table) as every baseline lifecycle wrote rows. Prints a table, writes JSON (``--json``,
default ``.daiban/bench/bench-<time>.json``) and the line ``lifecycle CPU ratio vs raw baseline: X.XX``.
CPU seconds come from the processes' own accounting and hold on a shared machine; throughput and
latency do not (other load on the machine slows both variants). ``--dynamic-config KEY=JSON_VALUE``
(repeatable) sets the dev server's dynamic config for both variants, e.g. its visibility queue's
pace (`docs/benchmarks.md`, "How much of it is the dev server's visibility store"); the JSON's options and the
printed header name what was set.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.common import RawValue

from benchmarks import baseline, lifecycle
from benchmarks.baseline import Schedule, Step
from benchmarks.eventstore_bench import _database
from benchmarks.eventstore_bench import measure as measure_store
from benchmarks.patience import RETRIES, patiently
from benchmarks.stack import (
    Stack,
    WorkerProc,
    add_dynamic_config_argument,
    describe_machine,
    dynamic_config_line,
    rss_settled,
)
from eventstore.projector import CHECKPOINT
from interfaces.client import DaibanClient
from schemas.project import RegisterProject, workflow_id_for
from tests.harness import registration

DAIBAN_QUEUE, BASELINE_QUEUE = "bench-daiban", "bench-baseline"


class BenchFailed(Exception):
    """The two variants did not do the same job (rows per lifecycle differ)."""


# The project every lifecycle registers (zone Tunliu): ``full`` runs every public-safety matter
# (special construction on a special lightning site); ``small`` leaves those out (the quick test).
PROJECTS: dict[str, dict[str, Any]] = {
    "full": {},
    "small": {"special_construction": False, "lightning_special_site": False},
}


def reg(project: str, tag: str, i: int) -> RegisterProject:
    """Every lifecycle registers the same facts, so every lifecycle is the same."""
    return registration(project_id=f"bench-{tag}-{i:04d}", zone="tunliu", **PROJECTS[project])


def quantile(xs: Sequence[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))] if s else float("nan")


# ---- what the event store and Temporal hold ------------------------------------------------


async def schedule_of(stack: Stack, trace: lifecycle.Trace) -> Schedule:
    """The baseline's schedule from one daiban lifecycle: its events in stream order, each counted
    for the Update that caused it (an event without a known cause, e.g. a stage opening in the main
    loop, for the Update before it; before the first Update: the registration)."""
    assert stack.pool is not None
    rows = await stack.pool.fetch(
        "SELECT causation_id, octet_length(payload::text) AS size FROM events WHERE stream_id = $1 ORDER BY version",
        trace.project_id,
    )
    step_of = {cid: (i, j) for i, step in enumerate(trace.steps) for j, (_, cid) in enumerate(step)}
    sizes: dict[str, list[int]] = {cid: [] for cid in step_of}
    start: list[int] = []
    current = None
    for r in rows:
        cid = r["causation_id"]
        if cid in step_of:
            current = cid
        (start if current is None else sizes[current]).append(int(r["size"]))
    steps = [
        [Step(name=name, rows=len(sizes[cid]), sizes=sizes[cid], arg=trace.args.get(cid, {})) for name, cid in step]
        for step in trace.steps
    ]
    suffixes = [[cid.removeprefix(trace.project_id) for _, cid in step] for step in trace.steps]
    return Schedule(
        start_rows=len(start), start_sizes=start, steps=steps, registration=trace.registration, id_suffixes=suffixes
    )


async def rows_per_lifecycle(stack: Stack, variant: str, ids: list[str]) -> tuple[list[int], list[int]]:
    """Per lifecycle: the rows written, and their payload bytes (as jsonb text)."""
    assert stack.pool is not None
    table, col = ("events", "stream_id") if variant == "daiban" else ("baseline_events", "lifecycle_id")
    q = (
        f"SELECT {col} AS id, count(*) AS n, sum(octet_length(payload::text)) AS size"
        f" FROM {table} WHERE {col} = ANY($1) GROUP BY 1"
    )
    found = {r["id"]: (int(r["n"]), int(r["size"])) for r in await stack.pool.fetch(q, ids)}
    return [found.get(i, (0, 0))[0] for i in ids], [found.get(i, (0, 0))[1] for i in ids]


async def run_histories(client: Client, workflow_id: str, first_run_id: str | None) -> AsyncIterator[WorkflowHistory]:
    """The history of every run of a workflow, from ``first_run_id`` along its continue-as-new chain."""
    run_id = first_run_id
    while True:
        hist = await patiently(client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history, "history")
        yield hist
        run_id = hist.events[-1].workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        if not run_id:
            return


async def history_of(client: Client, workflow_id: str, first_run_id: str | None) -> tuple[int, int, int, int]:
    """(runs, events, bytes, result payload bytes) over every run of a workflow (continue-as-new)."""
    runs = events = size = result = 0
    async for hist in run_histories(client, workflow_id, first_run_id):
        runs, events = runs + 1, events + len(hist.events)
        size += sum(e.ByteSize() for e in hist.events)
        done = hist.events[-1].workflow_execution_completed_event_attributes
        result = sum(p.ByteSize() for p in done.result.payloads)
    return runs, events, size, result


# The events a workflow task's commands write, as ``answered_with`` names them (activities: by type).
_ISSUED = {
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: "search attributes",
    EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: "memo",
    EventType.EVENT_TYPE_TIMER_STARTED: "timer",
    EventType.EVENT_TYPE_TIMER_CANCELED: "timer cancelled",
    EventType.EVENT_TYPE_MARKER_RECORDED: "marker",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: "activity cancelled",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continue-as-new",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "completion",
}
# What a task's answer to an Update writes, and everything a task's commands may write.
_ANSWER = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
}
_TASK_EVENTS = {*_ISSUED, *_ANSWER, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED}


def _issued_name(e: HistoryEvent) -> str:
    if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        return e.activity_task_scheduled_event_attributes.activity_type.name
    return _ISSUED[e.event_type]


def answered_with(events: Sequence[HistoryEvent]) -> dict[str, str]:
    """What the workflow task that answered each Update issued besides the answer, by update id: its
    commands' events (those right after its ``WorkflowTaskCompleted``), named (activities by type)
    and joined, e.g. ``apply_batch + deliver_applications + search attributes``; ``-`` for none."""
    tasks: list[list[HistoryEvent]] = []  # each completed task's events
    reading = False
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            tasks.append([])
            reading = True
        elif reading and e.event_type in _TASK_EVENTS:
            tasks[-1].append(e)
        else:
            reading = False
    out: dict[str, str] = {}
    for task in tasks:
        issued = " + ".join(sorted(_issued_name(e) for e in task if e.event_type not in _ANSWER)) or "-"
        out.update(
            (e.workflow_execution_update_completed_event_attributes.meta.update_id, issued)
            for e in task
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
        )
    return out


async def update_tasks(client: Client, workflow_id: str) -> dict[str, str]:
    """``answered_with`` over every run of a workflow (continue-as-new)."""
    out: dict[str, str] = {}
    async for hist in run_histories(client, workflow_id, await first_run_id(client, workflow_id)):
        out.update(answered_with(hist.events))
    return out


def by_task(latencies: list[float], ids: list[str], tasks: dict[str, str]) -> dict[str, list[float]]:
    """Latencies (ms) of Updates sent one after another (``ids`` in sending order), grouped by
    what their workflow task issued (``update_tasks``)."""
    out: dict[str, list[float]] = {}
    for lat, uid in zip(latencies, ids, strict=True):
        out.setdefault(tasks.get(uid, "?"), []).append(1000 * lat)
    return out


async def first_run_id(client: Client, workflow_id: str) -> str | None:
    desc = await patiently(client.get_workflow_handle(workflow_id).describe, "describe")
    return desc.raw_description.workflow_execution_info.first_run_id or None


async def query_bytes(client: Client, workflow_id: str, query: str) -> int:
    handle = client.get_workflow_handle(workflow_id)
    raw = await patiently(lambda: handle.query(query, result_type=RawValue), "query")
    return int(raw.payload.ByteSize())


async def at_rest(stack: Stack, variant: str, ids: list[str], start_rows: int) -> None:
    """Until every lifecycle of ``ids`` stored its registration's rows (daiban: and the projector
    applied them), then half a second for the activities' results to reach the workflows: a burst
    measures Updates on open lifecycles, not what their start left running."""
    assert stack.pool is not None
    for _ in range(600):
        rows, _ = await rows_per_lifecycle(stack, variant, ids)
        if min(rows, default=start_rows) >= start_rows:
            break
        await asyncio.sleep(0.1)
    if variant == "daiban":
        await projector_caught_up(stack)
    await asyncio.sleep(0.5)


async def projector_caught_up(stack: Stack) -> None:
    """Until the daiban worker's projector has applied every stored event (its work is daiban's)."""
    assert stack.pool is not None
    for _ in range(600):
        behind = await stack.pool.fetchval(
            "SELECT coalesce((SELECT max(position) FROM events), 0) > "
            "coalesce((SELECT position FROM projection_checkpoints WHERE projection = $1), 0)",
            CHECKPOINT,
        )
        if not behind:
            return
        await asyncio.sleep(0.1)


# ---- one batch -------------------------------------------------------------------------------


async def batch(
    stack: Stack, worker: WorkerProc, variant: str, tag: str, n: int, schedule: Schedule | None, project: str
) -> dict[str, Any]:
    """``n`` lifecycles of ``variant`` driven concurrently; the figures of the batch."""
    assert stack.client is not None
    client = stack.client
    latencies: list[float] = []
    ids = [f"bench-{tag}-{i:04d}" for i in range(n)]
    await asyncio.sleep(0.5)  # the previous batch's stragglers (replies, polls) out of the window
    before = await stack.snapshot(worker)
    t0 = time.perf_counter()
    if variant == "daiban":
        daiban = DaibanClient(client, DAIBAN_QUEUE)
        traces = await asyncio.gather(*(lifecycle.drive(daiban, reg(project, tag, i), latencies) for i in range(n)))
        await projector_caught_up(stack)
        updates = [t.updates for t in traces]
        queries = [t.queries for t in traces]
        wids = [workflow_id_for(i) for i in ids]
    else:
        assert schedule is not None
        await asyncio.gather(*(baseline.drive(client, BASELINE_QUEUE, i, schedule, latencies) for i in ids))
        updates = [schedule.updates] * n
        queries = [len(schedule.steps)] * n
        wids = [f"baseline-{i}" for i in ids]
    wall = time.perf_counter() - t0
    after = await stack.snapshot(worker)
    cpu = stack.cpu_delta(before, after)
    rows, payload_bytes = await rows_per_lifecycle(stack, variant, ids)
    hist = [await history_of(client, w, await first_run_id(client, w)) for w in wids]
    qbytes = await query_bytes(client, wids[0], "state")
    return {
        "lifecycles": n,
        "wall_seconds": wall,
        "throughput_per_s": n / wall,
        "cpu_seconds_per_lifecycle": {k: v / n for k, v in cpu.items()},
        "updates_per_lifecycle": statistics.mean(updates),
        "queries_per_lifecycle": statistics.mean(queries),
        "rows_per_lifecycle": sorted(set(rows)),
        "row_payload_bytes_per_lifecycle": sorted(set(payload_bytes)),
        "runs_per_lifecycle": statistics.mean(h[0] for h in hist),
        "history_events_per_lifecycle": statistics.mean(h[1] for h in hist),
        "history_bytes_per_lifecycle": statistics.mean(h[2] for h in hist),
        "result_payload_bytes": statistics.mean(h[3] for h in hist),
        "query_payload_bytes": qbytes,
        "update_latency_ms_in_batch": {"p50": 1000 * quantile(latencies, 0.5), "p95": 1000 * quantile(latencies, 0.95)},
    }


async def sequential(
    stack: Stack, variant: str, tag: str, schedule: Schedule | None, project: str, pace: float = 0.0
) -> tuple[list[float], Any, dict[str, list[float]]]:
    """One lifecycle alone, its Updates one after another (each ``pace`` seconds after the one
    before): latencies, daiban's trace, and when paced the latencies (ms) by what the Update's
    workflow task issued (``update_tasks``)."""
    assert stack.client is not None
    latencies: list[float] = []
    lid = f"bench-{tag}-0000"
    if variant == "daiban":
        trace = await lifecycle.drive(
            DaibanClient(stack.client, DAIBAN_QUEUE), reg(project, tag, 0), latencies, sequential=True, pace=pace
        )
        if not pace:
            return latencies, trace, {}
        ids = [cid for step in trace.steps for _, cid in step]
        tasks = await update_tasks(stack.client, workflow_id_for(trace.project_id))
        return latencies, trace, by_task(latencies, ids, tasks)
    assert schedule is not None
    await baseline.drive(stack.client, BASELINE_QUEUE, lid, schedule, latencies, sequential=True, pace=pace)
    if not pace:
        return latencies, None, {}
    ids = [lid + schedule.update_id_suffix(i, j) for i, step in enumerate(schedule.steps) for j in range(len(step))]
    tasks = await update_tasks(stack.client, f"baseline-{lid}")
    return latencies, None, by_task(latencies, ids, tasks)


async def burst(stack: Stack, variant: str, tag: str, count: int, schedule: Schedule, project: str) -> list[float]:
    """``count`` open lifecycles, then each one's first Update, all sent at once; their latencies."""
    assert stack.client is not None
    client = stack.client
    gate = asyncio.Event()
    latencies: list[float] = []
    handles: list[WorkflowHandle[Any, Any]] = []

    async def one(i: int) -> None:
        if variant == "daiban":
            r = reg(project, tag, i)
            daiban = DaibanClient(client, DAIBAN_QUEUE)
            await patiently(lambda: daiban.register(r), "register")
            h = client.get_workflow_handle(workflow_id_for(r.project_id))
            v = await lifecycle.view(h, lifecycle.Trace(r.project_id))
            update, _, arg = lifecycle.commands(v, r.project_id)[0]
        else:
            lid = f"bench-{tag}-{i:04d}"
            h = await baseline.start_open(client, BASELINE_QUEUE, lid, schedule)
            await patiently(lambda: h.query(baseline.BaselineWorkflow.state), "query")
            update, arg = schedule.steps[0][0].name, schedule.steps[0][0]
        handles.append(h)
        await gate.wait()
        t0 = time.perf_counter()
        await patiently(lambda: h.execute_update(update, arg, id=f"burst-{i}"), "update")
        latencies.append(time.perf_counter() - t0)

    tasks = [asyncio.create_task(one(i)) for i in range(count)]
    while len(handles) < count and not any(t.done() for t in tasks):  # noqa: ASYNC110 - polls the tasks
        await asyncio.sleep(0.05)
    if len(handles) == count:  # the burst meets open lifecycles at rest, in both variants
        await at_rest(stack, variant, [f"bench-{tag}-{i:04d}" for i in range(count)], schedule.start_rows)
    gate.set()
    await asyncio.gather(*tasks)
    for h in handles:
        with contextlib.suppress(Exception):
            await h.terminate("bench burst measured")
    return latencies


async def memory(stack: Stack, variant: str, count: int, schedule: Schedule, project: str) -> dict[str, Any]:
    """A fresh worker with its cache sized for ``count`` open lifecycles: RSS growth per lifecycle."""
    assert stack.client is not None and stack.pool is not None
    client = stack.client
    queue = f"mem-{variant}"
    w = await stack.spawn_worker(variant, queue, max_cached=count + 50)
    try:
        rss0 = await asyncio.to_thread(rss_settled, w, 2.0)
        sem = asyncio.Semaphore(20)

        async def one(i: int) -> None:
            async with sem:
                if variant == "daiban":
                    r = reg(project, "mem", i)
                    await patiently(lambda: DaibanClient(client, queue).register(r), "register")
                    h = client.get_workflow_handle(workflow_id_for(r.project_id))
                    await lifecycle.view(h, lifecycle.Trace(r.project_id))
                else:
                    h = await baseline.start_open(client, queue, f"bench-mem-{i:04d}", schedule)
                    await patiently(lambda: h.query(baseline.BaselineWorkflow.state), "query")

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        # Every registration's effects stored (daiban: its first batch; baseline: its start rows).
        table, col = ("events", "stream_id") if variant == "daiban" else ("baseline_events", "lifecycle_id")
        for _ in range(1200):
            stored = await stack.pool.fetchval(
                f"SELECT count(DISTINCT {col}) FROM {table} WHERE {col} LIKE 'bench-mem-%'"
            )
            if stored >= count:
                break
            await asyncio.sleep(0.25)
        opened = time.perf_counter() - t0
        rss1 = await asyncio.to_thread(rss_settled, w, 2.0)
    finally:
        await stack.stop_worker(w)
    return {
        "open_lifecycles": count,
        "rss_before_mib": rss0 / 2**20,
        "rss_after_mib": rss1 / 2**20,
        "kib_per_open_lifecycle": (rss1 - rss0) / count / 1024,
        "seconds_to_open": opened,
    }


# ---- the run ---------------------------------------------------------------------------------


def check_rows(schedule: Schedule, rep: dict[str, Any]) -> list[str]:
    """Why the two variants of a repetition did not do the same job (empty: they did).

    Every lifecycle of each batch must have written exactly the rows of daiban's lifecycle:
    daiban's domain events (its rows of ``events``), the baseline's rows of ``baseline_events``
    (one INSERT activity each), with payloads of the same bytes (within 2%: daiban's lifecycles
    differ a little among themselves, in ids and times).
    """
    want = schedule.rows
    failures = []
    for variant in ("daiban", "baseline"):
        got = rep[variant]["batch"]["rows_per_lifecycle"]
        if got != [want]:
            failures.append(f"{variant} wrote {got} rows per lifecycle; daiban's lifecycle writes {want}")
    sizes = [rep[v]["batch"].get("row_payload_bytes_per_lifecycle") for v in ("daiban", "baseline")]
    if all(sizes) and schedule.payload_bytes:
        far = [n for n in sizes[1] if abs(n - statistics.median(sizes[0])) > 0.02 * statistics.median(sizes[0])]
        if far:
            failures.append(f"baseline rows hold {far} payload bytes per lifecycle; daiban's {sizes[0]}")
    return failures


def spread(values: Sequence[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def summarize(reps: list[dict[str, Any]]) -> dict[str, Any]:
    """min / median / max over the repetitions of every figure, per variant and as daiban/baseline."""
    paths: dict[str, Any] = {
        "cpu_worker": ("batch", "cpu_seconds_per_lifecycle", "worker"),
        "cpu_server": ("batch", "cpu_seconds_per_lifecycle", "server"),
        "cpu_postgres": ("batch", "cpu_seconds_per_lifecycle", "postgres"),
        "cpu_total": ("batch", "cpu_seconds_per_lifecycle", "total"),
        "throughput": ("batch", "throughput_per_s"),
        "latency_seq_p50": ("sequential_ms", "p50"),
        "latency_seq_p95": ("sequential_ms", "p95"),
        "latency_paced_p50": ("paced_ms", "p50"),
        "latency_paced_p95": ("paced_ms", "p95"),
        "latency_burst_p50": ("burst_ms", "p50"),
        "latency_burst_p95": ("burst_ms", "p95"),
        "history_events": ("batch", "history_events_per_lifecycle"),
        "history_bytes": ("batch", "history_bytes_per_lifecycle"),
        "runs": ("batch", "runs_per_lifecycle"),
        "query_bytes": ("batch", "query_payload_bytes"),
        "result_bytes": ("batch", "result_payload_bytes"),
    }

    def get(d: dict[str, Any], path: Sequence[str]) -> float:
        for k in path:
            d = d[k]
        return float(d)  # type: ignore[arg-type]

    out: dict[str, Any] = {}
    for name, path in paths.items():
        if any(path[0] not in r[v] for r in reps for v in ("daiban", "baseline")):
            continue  # not measured (``--pace 0``)
        d = [get(r["daiban"], path) for r in reps]
        b = [get(r["baseline"], path) for r in reps]
        ratio = [x / y if y else float("nan") for x, y in zip(d, b, strict=True)]
        out[name] = {"daiban": spread(d), "baseline": spread(b), "ratio": spread(ratio)}
    return out


def pooled_by_task(reps: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """The paced latencies of every repetition, per variant and by what the Update's workflow task
    issued (``answered_with``): count, p50 and p95 in ms ({} when not measured)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for variant in ("daiban", "baseline"):
        pooled: dict[str, list[float]] = {}
        for r in reps:
            for label, lat in r[variant].get("paced_by_task_ms", {}).items():
                pooled.setdefault(label, []).extend(lat)
        if pooled:
            out[variant] = {
                label: {"n": len(lat), "p50": quantile(lat, 0.5), "p95": quantile(lat, 0.95)}
                for label, lat in sorted(pooled.items(), key=lambda kv: -len(kv[1]))
            }
    return out


async def repetition(
    stack: Stack,
    workers: dict[str, WorkerProc],
    args: argparse.Namespace,
    rep: int,
    schedule: Schedule | None,
    failures: list[str],
    console: Console,
) -> tuple[dict[str, Any], Schedule]:
    """One repetition: sequential (and paced) lifecycles, the two batches, the two bursts (interleaved)."""
    r: dict[str, Any] = {"daiban": {}, "baseline": {}}
    console.log(f"rep {rep}/{args.reps}: sequential lifecycles")
    lat, trace, _ = await sequential(stack, "daiban", f"d{rep}s", None, args.project)
    fresh = await schedule_of(stack, trace)
    if schedule is None:
        schedule = fresh
    elif fresh.shape() != schedule.shape():
        failures.append(f"rep {rep}: daiban's lifecycle differs from rep 1's ({fresh.rows} rows)")
    r["daiban"]["sequential_ms"] = {"p50": 1000 * quantile(lat, 0.5), "p95": 1000 * quantile(lat, 0.95)}
    lat, _, _ = await sequential(stack, "baseline", f"b{rep}s", schedule, args.project)
    r["baseline"]["sequential_ms"] = {"p50": 1000 * quantile(lat, 0.5), "p95": 1000 * quantile(lat, 0.95)}
    if args.pace > 0:
        console.log(f"rep {rep}/{args.reps}: paced lifecycles ({args.pace:g} s before each Update)")
        for variant in ("daiban", "baseline"):
            lat, _, tasks = await sequential(stack, variant, f"{variant[0]}{rep}p", schedule, args.project, args.pace)
            r[variant]["paced_ms"] = {"p50": 1000 * quantile(lat, 0.5), "p95": 1000 * quantile(lat, 0.95)}
            r[variant]["paced_by_task_ms"] = tasks
    for variant in ("daiban", "baseline"):
        console.log(f"rep {rep}/{args.reps}: {variant} batch of {args.lifecycles}")
        tag = f"{variant[0]}{rep}"
        r[variant]["batch"] = await batch(
            stack, workers[variant], variant, tag, args.lifecycles, schedule, args.project
        )
    for variant in ("daiban", "baseline"):
        console.log(f"rep {rep}/{args.reps}: {variant} burst of {args.burst}")
        lat = await burst(stack, variant, f"{variant[0]}{rep}u", args.burst, schedule, args.project)
        r[variant]["burst_ms"] = {"p50": 1000 * quantile(lat, 0.5), "p95": 1000 * quantile(lat, 0.95)}
    failures.extend(f"rep {rep}: {f}" for f in check_rows(schedule, r))
    return r, schedule


async def run(args: argparse.Namespace) -> dict[str, Any]:
    stack = Stack(
        database_url=None if args.embedded_pg else args.database_url,
        unsandboxed=args.unsandboxed,
        dynamic_config=tuple(args.dynamic_config),
    )
    console = Console(stderr=True)
    reps: list[dict[str, Any]] = []
    failures: list[str] = []
    try:
        console.log(f"starting Temporal and PostgreSQL in {stack.root}")
        await stack.start()
        cache = args.lifecycles + args.burst + 20
        workers = {
            "daiban": await stack.spawn_worker("daiban", DAIBAN_QUEUE, cache),
            "baseline": await stack.spawn_worker("baseline", BASELINE_QUEUE, cache),
        }
        schedule: Schedule | None = None
        for rep in range(1, args.reps + 1):
            try:
                r, schedule = await repetition(stack, workers, args, rep, schedule, failures, console)
            except Exception as exc:  # the repetitions done so far are still reported
                if not reps:
                    raise
                failures.append(f"rep {rep}: stopped by {type(exc).__name__}: {str(exc)[:300]}")
                break
            reps.append(r)
        assert schedule is not None
        for w in workers.values():
            await stack.stop_worker(w)
        mem: dict[str, Any] = {}
        if args.open_projects:
            for variant in ("daiban", "baseline"):
                console.log(f"worker memory: {args.open_projects} open {variant} lifecycles")
                try:
                    mem[variant] = await memory(stack, variant, args.open_projects, schedule, args.project)
                except Exception as exc:  # the figures measured so far are still reported
                    failures.append(f"memory ({variant}): stopped by {type(exc).__name__}: {str(exc)[:300]}")
                    mem = {}
                    break
        store: list[dict[str, Any]] = []
        if args.store_seconds > 0:
            for rep in range(1, args.reps + 1):
                console.log(f"event store and projector, rep {rep}/{args.reps}")
                async with _database(stack.server_url) as pool:
                    store.append(await measure_store(pool, args.store_seconds, 8, 1000.0))
        return {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": describe_machine(),
            "options": {k: v for k, v in vars(args).items() if k not in ("json", "database_url")},
            "postgres_measured": stack.postgres_scope(),
            "note": "CPU seconds come from each process's own accounting and hold on a shared machine; "
            "throughput and latency do not (other load slows both variants).",
            "schedule": {
                "updates": schedule.updates,
                "steps": len(schedule.steps),
                "rows_per_lifecycle": schedule.rows,
                "row_payload_bytes_per_lifecycle": schedule.payload_bytes,
                "start_rows": schedule.start_rows,
                "updates_by_name": _by_name(schedule),
            },
            "reps": reps,
            "summary": summarize(reps),
            "paced_by_task": pooled_by_task(reps),
            "memory": mem,
            "eventstore": store,
            "failures": failures,
            "retried_calls": dict(RETRIES),
        }
    finally:
        await stack.close()


def _by_name(schedule: Schedule) -> dict[str, int]:
    out: dict[str, int] = {}
    for step in schedule.steps:
        for s in step:
            out[s.name] = out.get(s.name, 0) + 1
    return out


# ---- output ----------------------------------------------------------------------------------

ROWS = [
    ("cpu_total", "CPU s / lifecycle, total", "{:.3f}"),
    ("cpu_worker", "  worker", "{:.3f}"),
    ("cpu_server", "  Temporal server", "{:.3f}"),
    ("cpu_postgres", "  PostgreSQL", "{:.3f}"),
    ("throughput", "throughput, lifecycles/s *", "{:.2f}"),
    ("latency_seq_p50", "Update latency p50 ms, sequential *", "{:.1f}"),
    ("latency_seq_p95", "Update latency p95 ms, sequential *", "{:.1f}"),
    ("latency_paced_p50", "Update latency p50 ms, paced *", "{:.1f}"),
    ("latency_paced_p95", "Update latency p95 ms, paced *", "{:.1f}"),
    ("latency_burst_p50", "Update latency p50 ms, burst *", "{:.1f}"),
    ("latency_burst_p95", "Update latency p95 ms, burst *", "{:.1f}"),
    ("history_events", "history events / lifecycle", "{:.0f}"),
    ("history_bytes", "history bytes / lifecycle", "{:,.0f}"),
    ("runs", "runs / lifecycle (continue-as-new)", "{:.1f}"),
    ("query_bytes", "state query payload bytes", "{:,.0f}"),
    ("result_bytes", "workflow result payload bytes", "{:,.0f}"),
]


def _cell(s: dict[str, float], fmt: str) -> str:
    return f"{fmt.format(s['median'])} ({fmt.format(s['min'])}-{fmt.format(s['max'])})"


def report(doc: dict[str, Any], console: Console) -> None:
    o, sched = doc["options"], doc["schedule"]
    console.print(
        f"daiban vs raw baseline: {o['reps']} reps x {o['lifecycles']} lifecycles per variant, interleaved; "
        f"{'unsandboxed' if o['unsandboxed'] else 'sandboxed'} workers; {doc['machine']['cores']} cores "
        f"(load {doc['machine']['load_average_1m']:.1f} at the end)"
    )
    if o.get("dynamic_config"):
        console.print(dynamic_config_line(o["dynamic_config"]))
    console.print(
        f"one lifecycle: {sched['updates']} Updates in {sched['steps']} steps, "
        f"{sched['rows_per_lifecycle']} rows of {sched.get('row_payload_bytes_per_lifecycle', 0):,} payload bytes "
        "(daiban: domain events; baseline: one INSERT activity each, filler of the same size); "
        "both receive the same Update arguments"
    )
    t = Table(title="median (min-max) over the repetitions")
    t.add_column("figure")
    t.add_column("daiban", justify="right")
    t.add_column("baseline", justify="right")
    t.add_column("ratio", justify="right")
    for key, label, fmt in ROWS:
        if key not in doc["summary"]:
            continue
        s = doc["summary"][key]
        t.add_row(label, _cell(s["daiban"], fmt), _cell(s["baseline"], fmt), _cell(s["ratio"], "{:.2f}"))
    mem = doc["memory"]
    if mem:
        d, b = mem["daiban"]["kib_per_open_lifecycle"], mem["baseline"]["kib_per_open_lifecycle"]
        t.add_row(
            f"worker KiB / open lifecycle ({mem['daiban']['open_lifecycles']} open, once)",
            f"{d:,.0f}",
            f"{b:,.0f}",
            f"{d / b:.2f}" if b > 0 else "-",
        )
    console.print(t)
    if doc["eventstore"]:
        s = Table(title="event store against plain INSERT (median over the repetitions)")
        s.add_column("appends per second")
        s.add_column("plain INSERT", justify="right")
        s.add_column("event store", justify="right")
        s.add_column("ratio", justify="right")
        for label in doc["eventstore"][0]["appends_per_s"]:
            rows = [e["appends_per_s"][label] for e in doc["eventstore"]]
            s.add_row(
                label,
                f"{statistics.median(r['plain_insert'] for r in rows):,.0f}",
                f"{statistics.median(r['event_store'] for r in rows):,.0f}",
                f"{statistics.median(r['ratio'] for r in rows):.2f}",
            )
        console.print(s)
        lag = [e["projector_lag_ms"] for e in doc["eventstore"]]
        console.print(
            f"projector lag at ~1,000 events/s: p50 {statistics.median(x['p50'] for x in lag):.0f} ms, "
            f"p95 {statistics.median(x['p95'] for x in lag):.0f} ms"
        )
    if doc.get("paced_by_task"):
        p = Table(title="paced Updates by what their workflow task issued besides the answer (all repetitions)")
        for col in ("variant", "the task issued", "Updates"):
            p.add_column(col)
        p.add_column("p50 ms", justify="right")
        p.add_column("p95 ms", justify="right")
        for variant, rows in doc["paced_by_task"].items():
            for label, f in rows.items():
                p.add_row(variant, label, f"{f['n']:.0f}", f"{f['p50']:.1f}", f"{f['p95']:.1f}")
        console.print(p)
    console.print(f"PostgreSQL CPU measured: {doc['postgres_measured']}")
    console.print(f"* {doc['note']}")
    for f in doc["failures"]:
        console.print(f"[red]FAILED: {f}[/red]")
    console.print(f"lifecycle CPU ratio vs raw baseline: {doc['summary']['cpu_total']['ratio']['median']:.2f}")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    import os

    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions (interleaved daiban, baseline)")
    parser.add_argument("--lifecycles", type=int, default=20, help="lifecycles per batch, driven concurrently")
    parser.add_argument("--open-projects", type=int, default=2000, help="open lifecycles for worker memory (0: skip)")
    parser.add_argument("--burst", type=int, default=50, help="concurrent Updates in the burst latency")
    parser.add_argument(
        "--pace", type=float, default=0.3, help="seconds before each Update of the paced lifecycles (0: skip them)"
    )
    parser.add_argument(
        "--unsandboxed",
        action="store_true",
        help="both variants without the workflow sandbox (default: in it, as worker.py runs: DAIBAN_WORKFLOW_SANDBOX)",
    )
    parser.add_argument("--store-seconds", type=float, default=1.0, help="per event-store measurement (0: skip)")
    parser.add_argument(
        "--project", choices=sorted(PROJECTS), default="full", help="the project every lifecycle registers"
    )
    parser.add_argument("--embedded-pg", action="store_true", help="an embedded PostgreSQL even if DATABASE_URL is set")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, default=None, help="where to write the JSON (default .daiban/bench/)")
    add_dynamic_config_argument(parser)
    args = parser.parse_args(argv)
    if args.reps < 1 or args.lifecycles < 1 or args.burst < 1:
        parser.error("--reps, --lifecycles and --burst must be at least 1")
    if not 0 <= args.pace <= 10:
        parser.error("--pace must be between 0 and 10 seconds")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    doc = asyncio.run(run(args))
    path = args.json or Path(".daiban/bench") / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
    console = Console(width=140)
    report(doc, console)
    console.print(f"JSON: {path}")
    return 1 if doc["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
