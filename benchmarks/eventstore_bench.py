"""Benchmark of the event store and the projector: ``python -m benchmarks.eventstore_bench``.

Appends per second, single events and batches, against a plain asyncpg INSERT into a table like
``events`` (no append lock, no hash chain, no idempotence check) in the same run; then the
projector's lag under a steady load and its replay speed. Runs in a throwaway database on
``DATABASE_URL``'s server, or on an embedded PostgreSQL when it is not set; about 30 seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.sample import random_lifecycle
from eventstore.projector import Projector
from eventstore.store import StoredEvent, append, columns
from infra import migrate
from infra.db import create_pool
from infra.devstack.pgserver import EmbeddedPostgres
from schemas.events import EventEnvelope

_PLAIN_INSERT = """
    INSERT INTO plain_events (stream_id, version, event_id, event_type, payload, occurred_at,
                              prev_hash, hash)
    SELECT stream_id, version, event_id, event_type, payload, occurred_at, '', ''
    FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[])
         AS b(stream_id, version, event_id, event_type, payload, occurred_at)
"""


@asynccontextmanager
async def _database(url: str | None = None) -> AsyncIterator[asyncpg.Pool]:
    """A fresh, migrated database on ``url``'s server (default ``DATABASE_URL``, else an embedded
    PostgreSQL), dropped afterwards."""
    url = url or os.environ.get("DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="daiban-bench-") as tmp:
        server = None
        if not url:
            server = EmbeddedPostgres(Path(tmp) / "data", _free_port())
            server.start()
            url = server.dsn
        name = f"daiban_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(url)
        await admin.execute(f'CREATE DATABASE "{name}"')
        base, _, query = url.partition("?")
        scheme, rest = base.split("://", 1)
        dsn = f"{scheme}://{rest.split('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
        pool = await create_pool(dsn, max_size=20)
        try:
            await migrate.apply(pool)
            await pool.execute(
                "CREATE TABLE plain_events (LIKE events INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES)"
            )
            yield pool
        finally:
            await pool.close()
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await admin.close()
            if server is not None:
                server.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _batches(template: Sequence[EventEnvelope], size: int, tag: str) -> Iterator[list[EventEnvelope]]:
    """Endless batches: copies of ``template`` on fresh streams, ``size`` events at a time."""
    for n in range(10**9):
        stream = f"{tag}-{n}"
        copies = [
            e.model_copy(update={"stream_id": stream, "version": v, "event_id": f"{stream}:{v}"})
            for v, e in enumerate(template, start=1)
        ]
        for i in range(0, len(copies) - size + 1, size):
            yield copies[i : i + size]


async def _throughput(
    write: Callable[[list[EventEnvelope]], Awaitable[object]],
    template: Sequence[EventEnvelope],
    size: int,
    writers: int,
    seconds: float,
) -> float:
    """Events per second that ``writers`` concurrent loops of ``write`` achieve."""
    tag = uuid.uuid4().hex[:8]
    done = [0] * writers

    async def loop(w: int, until: float) -> None:
        for batch in _batches(template, size, f"{tag}-{w}"):
            if time.perf_counter() >= until:
                return
            await write(batch)
            done[w] += len(batch)

    start = time.perf_counter()
    await asyncio.gather(*(loop(w, start + seconds) for w in range(writers)))
    return sum(done) / (time.perf_counter() - start)


async def _plain_insert(pool: asyncpg.Pool, batch: list[EventEnvelope]) -> None:
    await pool.execute(
        _PLAIN_INSERT, *columns(batch, "stream_id", "version", "event_id", "event_type", "payload", "occurred_at")
    )


async def _lag(pool: asyncpg.Pool, rate: float, writers: int, seconds: float) -> tuple[list[float], int]:
    """Projector lag (commit of its batch minus recorded_at) under ``rate`` events/s."""
    rng = random.Random(5)
    projects = [
        random_lifecycle(f"lag-{i}", rng, zone=rng.choice(["太谷", "榆次", "襄垣"]))
        for i in range(int(rate * seconds / 40) + writers)
    ]
    lags: list[float] = []

    def measure(batch: Sequence[StoredEvent]) -> None:
        now = datetime.now(UTC)
        lags.extend((now - e.recorded_at).total_seconds() for e in batch)

    projector = Projector(pool, on_batch=measure)
    await projector.run_once()
    stop = asyncio.Event()
    tail = asyncio.create_task(projector.run_forever(0.02, stop))
    per_writer = rate / writers
    written = [0] * writers

    async def write(w: int, until: float) -> None:
        # One workflow task appends a handful of events; writers pace themselves to the rate.
        for events in projects[w::writers]:
            for i in range(0, len(events), 5):
                if time.perf_counter() >= until:
                    return
                chunk = events[i : i + 5]
                await append(pool, chunk)
                written[w] += len(chunk)
                await asyncio.sleep(len(chunk) / per_writer)

    start = time.perf_counter()
    await asyncio.gather(*(write(w, start + seconds) for w in range(writers)))
    stop.set()
    await tail
    await projector.run_once()  # whatever the last poll missed
    return lags, sum(written)


async def measure(pool: asyncpg.Pool, seconds: float, writers: int, rate: float) -> dict[str, Any]:
    """Every measurement on a migrated database with ``plain_events`` (``_database``): projector
    lag and replay speed, then appends per second of the event store against plain INSERTs."""
    figures: dict[str, Any] = {"seconds": seconds, "writers": writers, "rate": rate}
    # The projector first, on lifecycle events only; then raw append throughput.
    lags, written = await _lag(pool, rate, writers, seconds * 2)
    lags.sort()
    figures["projector_lag_ms"] = {
        "events": written,
        "p50": 1000 * lags[int(0.5 * (len(lags) - 1))],
        "p95": 1000 * lags[int(0.95 * (len(lags) - 1))],
        "max": 1000 * lags[-1],
        "mean": 1000 * statistics.fmean(lags),
    }
    projector = Projector(pool)
    start = time.perf_counter()
    replayed = await projector.rebuild()
    figures["projector_replay_events_per_s"] = replayed / (time.perf_counter() - start)

    # Plans as in a long-running system: a fresh table's first plans would scan it whole.
    await pool.execute("ANALYZE events; ANALYZE plain_events")
    # Not a registered project's events (no ProjectRegistered): the store does the same work.
    template = random_lifecycle("template", random.Random(1), zone="太谷")[1:41]
    figures["appends_per_s"] = {}
    for label, size, n in [
        ("single event, 1 writer", 1, 1),
        (f"single event, {writers} writers", 1, writers),
        (f"batches of 20, {writers} writers", 20, writers),
    ]:
        plain = await _throughput(lambda b: _plain_insert(pool, b), template, size, n, seconds)
        store = await _throughput(lambda b: append(pool, b), template, size, n, seconds)
        figures["appends_per_s"][label] = {"plain_insert": plain, "event_store": store, "ratio": store / plain}
    return figures


async def run(seconds: float, writers: int, rate: float) -> None:
    """Run every measurement and print the results."""
    async with _database() as pool:
        version = await pool.fetchval("SHOW server_version")
        sync, fsync = await pool.fetchval("SHOW synchronous_commit"), await pool.fetchval("SHOW fsync")
        print(f"PostgreSQL {version} (synchronous_commit={sync}, fsync={fsync}); {seconds:g} s per measurement")
        f = await measure(pool, seconds, writers, rate)
        lag = f["projector_lag_ms"]
        print(
            f"\nprojector lag, {lag['events']:,} lifecycle events at ~{rate:,.0f}/s from {writers} "
            f"writers, polling every 20 ms:\n  p50 {lag['p50']:.0f} ms, p95 {lag['p95']:.0f} ms, "
            f"max {lag['max']:.0f} ms (mean {lag['mean']:.0f} ms)"
        )
        print(f"projector replay (rebuild, one transaction): {f['projector_replay_events_per_s']:,.0f} events/s")
        print(f"\n{'appends per second':32}{'plain INSERT':>14}{'event store':>14}{'ratio':>8}")
        for label, row in f["appends_per_s"].items():
            print(f"{label:32}{row['plain_insert']:>14,.0f}{row['event_store']:>14,.0f}{row['ratio']:>8.2f}")


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput measurement")
    parser.add_argument("--writers", type=int, default=8, help="concurrent appenders")
    parser.add_argument("--rate", type=float, default=1000.0, help="events/s in the lag test")
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.writers, args.rate))


if __name__ == "__main__":
    main()
