"""The projector: checkpointed, exactly once under concurrency, rebuildable to the same rows."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest

from benchmarks.sample import ProjectStream, checklist, random_lifecycle
from eventstore.projector import READ_MODEL_TABLES, Projector, list_quarantine, quarantined_count
from eventstore.store import NewEvent, StoredEvent, append
from infra import migrate
from infra.db import create_pool
from schemas import events as ev
from tests.databases import fresh_database
from tests.eventstore.conftest import new_stream


def progress(s: ProjectStream, percent: int) -> NewEvent:
    return s.emit(ev.ConstructionProgressReported, percent=percent, note="主体施工")


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[dict[str, Any]]]:
    """Every read model's rows, in an order of their whole content (``ORDER BY 1, 2`` left ties:
    a department's rows of two zones with the same first counts came back in either order)."""
    return {
        table: sorted(
            (dict(r) for r in await pool.fetch(f"SELECT * FROM {table}")), key=lambda r: repr(sorted(r.items()))
        )
        for table in READ_MODEL_TABLES
    }


async def test_events_no_read_model_uses_still_move_the_checkpoint(private_pool: asyncpg.Pool) -> None:
    """A known event no read model uses is applied (counted) and passed; one of a type this release
    does not know is quarantined, not skipped: the release that wrote it projects it."""
    pg_pool = private_pool  # the quarantine it makes must not reach the tests sharing the session database
    projector = Projector(pg_pool)
    s, stray = new_stream(), new_stream()
    await append(pg_pool, [s.register("zone-x")])
    await append(pg_pool, [progress(stray, 5)])  # a stream that is no registered project
    await append(
        pg_pool,
        [
            NewEvent(
                event_id=f"{s.project_id}/x",
                stream_id=s.project_id,
                version=2,
                event_type="SomethingNewer",
                payload={},
                occurred_at=s.at,
            )
        ],
    )
    await projector.run_once()
    last = await pg_pool.fetchval("SELECT max(position) FROM events")
    assert await projector.position() == last
    row = await pg_pool.fetchrow(
        "SELECT last_version, events_applied FROM rm_projects WHERE project_id = $1", s.project_id
    )
    assert tuple(row) == (1, 1)
    (held,) = await list_quarantine(pg_pool)
    assert (held.stream_id, held.version, held.reason) == (s.project_id, 2, "failed")
    assert held.error.startswith("UnknownEventType: SomethingNewer is not an event type of this release")
    assert await projector.run_once() == 0


async def test_a_newer_release_projects_what_an_older_one_quarantined_as_unknown(private_pool: asyncpg.Pool) -> None:
    """A rolling upgrade: the old release's projector, still leading, meets an event type the new
    release added (here: progress reports, hidden from the vocabulary), and a later event of the
    stream; the new release's projector, once it leads, projects both in order."""
    s = new_stream()
    await append(private_pool, [s.register("zone-upgrade")])
    await append(private_pool, [progress(s, 40)])
    await append(private_pool, [progress(s, 60)])
    added = ev.EVENT_TYPES.pop("ConstructionProgressReported")  # the old release's vocabulary
    try:
        await Projector(private_pool).run_once()
    finally:
        ev.EVENT_TYPES["ConstructionProgressReported"] = added  # the new release's
    assert [(q.version, q.reason) for q in await list_quarantine(private_pool)] == [(2, "failed"), (3, "held_back")]
    new, stop = Projector(private_pool), asyncio.Event()
    tail = asyncio.create_task(new.run_forever(3600.0, stop))
    try:
        for _ in range(250):
            if not await quarantined_count(private_pool):
                break
            await asyncio.sleep(0.02)
        assert await quarantined_count(private_pool) == 0
        row = await private_pool.fetchrow(
            "SELECT last_version, construction_percent FROM rm_projects WHERE project_id = $1", s.project_id
        )
        assert tuple(row) == (3, 60)
    finally:
        stop.set()
        await tail


async def test_concurrent_writers_and_projectors_apply_each_event_once(
    pg_pool: asyncpg.Pool,
) -> None:
    delivered: list[int] = []

    def record(batch: Sequence[StoredEvent]) -> None:
        delivered.extend(e.position for e in batch)

    projectors = [Projector(pg_pool, on_batch=record) for _ in range(2)]
    stop = asyncio.Event()
    tails = [asyncio.create_task(p.run_forever(0.002, stop, batch_size=16)) for p in projectors]
    streams = [new_stream() for _ in range(12)]

    async def write(s: ProjectStream) -> None:
        await append(pg_pool, [s.register("zone-concurrent")])
        for k in range(15):
            await append(pg_pool, [progress(s, k) for _ in range(1 + k % 3)])

    await asyncio.gather(*(write(s) for s in streams))
    stop.set()
    await asyncio.gather(*tails)
    await projectors[0].run_once()

    mine = await pg_pool.fetch(
        "SELECT position FROM events WHERE stream_id = ANY($1::text[])",
        [s.project_id for s in streams],
    )
    counts = Counter(delivered)
    assert all(counts[r["position"]] == 1 for r in mine)  # none skipped, none twice
    assert max(counts.values()) == 1
    rows = await pg_pool.fetch(
        "SELECT project_id, last_version, events_applied FROM rm_projects WHERE project_id = ANY($1::text[])",
        [s.project_id for s in streams],
    )
    assert {(r["project_id"], r["last_version"], r["events_applied"]) for r in rows} == {
        (s.project_id, s.version, s.version) for s in streams
    }


async def _append_interleaved(pool: asyncpg.Pool, rng: random.Random, projects: int, projector: Projector) -> int:
    """Append many lifecycles in random interleaved slices, projecting now and then."""
    histories = [random_lifecycle(f"p{i}", rng, zone=rng.choice(["太谷", "榆次", "襄垣"])) for i in range(projects)]
    cursors = [0] * projects
    while open_ := [i for i in range(projects) if cursors[i] < len(histories[i])]:
        i = rng.choice(open_)
        step = rng.randint(1, 6)
        await append(pool, histories[i][cursors[i] : cursors[i] + step])
        cursors[i] += step
        if rng.random() < 0.3:
            await projector.run_once(batch_size=rng.choice([1, 7, 50]))
    await projector.run_once()
    return sum(len(h) for h in histories)


async def test_rebuild_gives_the_live_read_models_and_nobody_sees_it_half_done(
    private_pool: asyncpg.Pool,
) -> None:
    projector = Projector(private_pool)
    total = await _append_interleaved(private_pool, random.Random(7), 25, projector)
    live = await snapshot(private_pool)
    assert len(live["rm_matters"]) == 25 * len(checklist())
    assert live["rm_department_performance"]

    seen: list[tuple[int, int]] = []
    rebuilding = asyncio.Event()

    async def read_meanwhile() -> None:
        while not rebuilding.is_set():
            row = await private_pool.fetchrow(
                "SELECT (SELECT count(*) FROM rm_projects), (SELECT count(*) FROM rm_matters)"
            )
            seen.append(tuple(row))

    reader = asyncio.create_task(read_meanwhile())
    tail = asyncio.create_task(Projector(private_pool).run_forever(0.001, rebuilding))
    await asyncio.sleep(0.01)
    assert await projector.rebuild(batch_size=64) == total  # the tail waits meanwhile
    rebuilding.set()
    await asyncio.gather(reader, tail)
    assert await snapshot(private_pool) == live
    assert len(seen) > 2  # the reader ran during the rebuild
    assert set(seen) == {(25, 25 * len(checklist()))}
    assert await projector.position() == await private_pool.fetchval("SELECT max(position) FROM events")


async def test_a_redelivered_event_is_not_applied_twice(private_pool: asyncpg.Pool) -> None:
    projector = Projector(private_pool)
    await _append_interleaved(private_pool, random.Random(11), 6, projector)
    before = await snapshot(private_pool)
    # As if the checkpoint were lost: every event comes again, and each project's version guard
    # refuses it.
    await private_pool.execute("UPDATE projection_checkpoints SET position = 0")
    assert await projector.run_once() > 0
    assert await snapshot(private_pool) == before


async def test_run_forever_waits_out_a_lost_connection(pg_pool: asyncpg.Pool, pg_dsn: str) -> None:
    own = await create_pool(pg_dsn, max_size=2, server_settings={"application_name": "tail-test"})
    stop = asyncio.Event()
    tail = asyncio.create_task(Projector(own).run_forever(0.001, stop))
    try:
        # Kill the projector's connections again and again, idle or mid-query, as failovers or
        # an operator would.
        for _ in range(40):
            await pg_pool.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tail-test'"
            )
            await asyncio.sleep(0.005)
        s = new_stream()
        await append(pg_pool, [s.register(f"zone-{uuid.uuid4().hex[:6]}")])
        for _ in range(200):
            if tail.done() or await pg_pool.fetchval("SELECT 1 FROM rm_projects WHERE project_id = $1", s.project_id):
                break
            await asyncio.sleep(0.02)
        assert not tail.done(), tail
        assert await pg_pool.fetchval("SELECT 1 FROM rm_projects WHERE project_id = $1", s.project_id)
    finally:
        stop.set()
        await tail
        await own.close()


async def test_an_append_wakes_the_projector_and_one_process_projects(private_pool: asyncpg.Pool) -> None:
    """NOTIFY on append (migration 0200) wakes the tailing projector long before its safety-net poll;
    of two tailing projectors, one holds the advisory lock and projects, the other takes over when it stops."""
    await Projector(private_pool).run_once()
    first, second = Projector(private_pool), Projector(private_pool)
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    hour = 3600.0  # the safety-net poll never fires within this test
    tail_first = asyncio.create_task(first.run_forever(hour, stop_first))
    for _ in range(200):
        if first.leading:
            break
        await asyncio.sleep(0.02)
    assert first.leading
    tail_second = asyncio.create_task(second.run_forever(0.2, stop_second))  # stands by, tries the lock
    try:

        async def projected(s: ProjectStream) -> bool:
            for _ in range(250):
                if await private_pool.fetchval("SELECT 1 FROM rm_projects WHERE project_id = $1", s.project_id):
                    return True
                await asyncio.sleep(0.02)
            return False

        s = new_stream()
        await append(private_pool, [s.register("zone-notify")])
        assert await projected(s), "the append's NOTIFY woke the leader (its poll is an hour away)"
        tried = second.lock_attempts
        for _ in range(20):  # appends NOTIFY the standby too: it must not spin on them
            await append(private_pool, [progress(s, 10)])
        await asyncio.sleep(0.5)
        assert not second.leading, "one projector projects at a time"
        # Every 0.2 s over about 0.5 s plus the appends: a handful of tries, not one per loop turn
        # (a wake it ignored made it spin: thousands a second).
        assert second.lock_attempts - tried <= 10, second.lock_attempts - tried

        stop_first.set()
        await tail_first
        t = new_stream()
        await append(private_pool, [t.register("zone-notify")])
        assert await projected(t), "the standby took the lock over and projected"
        assert second.leading
    finally:
        stop_first.set()
        stop_second.set()
        await asyncio.gather(tail_first, tail_second)


async def test_a_migration_that_extends_the_read_models_has_them_rebuilt_by_the_next_leader(
    pg_server_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade: a store projected under the migrations before 0220 (here missing its
    decisions' rows, as a store projected before 0150 added them), then 0220 applied; the
    projector that leads next rebuilds the read models, history included, and clears the mark."""
    shipped = migrate.available()
    async with fresh_database(pg_server_dsn, "daiban_es", migrated=False) as dsn:
        pool = await create_pool(dsn, max_size=6)
        try:
            monkeypatch.setattr(migrate, "available", lambda: [m for m in shipped if m.version < "0220"])
            await migrate.apply(pool)
            # This release's handlers write the breaches' provisional marks (migration 0240), the
            # stop overruns, meetings and department faults (0250): the columns for them to project
            # with, taken away again below as the store before had none.
            await pool.execute(
                "ALTER TABLE rm_clocks ADD COLUMN provisional boolean NOT NULL DEFAULT false,"
                " ADD COLUMN promise_provisional boolean NOT NULL DEFAULT false,"
                " ADD COLUMN stop_overran boolean NOT NULL DEFAULT false, ADD COLUMN meeting_id text;"
                " ALTER TABLE rm_department_performance ADD COLUMN faults_count integer NOT NULL DEFAULT 0;"
                " ALTER TABLE rm_clocks DROP CONSTRAINT rm_clocks_escalation_check;"
                " ALTER TABLE rm_clocks ADD CONSTRAINT rm_clocks_escalation_check"
                " CHECK (escalation IN ('lead', 'joint_meeting', 'meeting_resolved'))"
            )
            await _append_interleaved(pool, random.Random(5), 4, Projector(pool))
            complete = await snapshot(pool)
            assert complete["rm_decisions"]
            await pool.execute("DELETE FROM rm_decisions")  # what a read model added later lacks
            await pool.execute(
                "ALTER TABLE rm_clocks DROP COLUMN provisional, DROP COLUMN promise_provisional,"
                " DROP COLUMN stop_overran, DROP COLUMN meeting_id;"
                " ALTER TABLE rm_department_performance DROP COLUMN faults_count"
            )
            monkeypatch.setattr(migrate, "available", lambda: shipped)
            assert await migrate.apply(pool) == [m.version for m in shipped if m.version >= "0220"]
            reason = "SELECT rebuild_reason FROM projection_checkpoints WHERE projection = 'read_models'"
            assert (await pool.fetchval(reason)).startswith("migrations 0084, 0130, 0150 and 0210")

            projector, stop = Projector(pool), asyncio.Event()
            tail = asyncio.create_task(projector.run_forever(3600.0, stop))
            try:
                for _ in range(250):
                    if await pool.fetchval(reason) is None:
                        break
                    await asyncio.sleep(0.02)
                assert await pool.fetchval(reason) is None
                assert await snapshot(pool) == complete
            finally:
                stop.set()
                await tail
        finally:
            await pool.close()


async def test_a_fresh_store_needs_no_rebuild(private_pool: asyncpg.Pool) -> None:
    assert await private_pool.fetchval("SELECT rebuild_reason FROM projection_checkpoints") is None
    assert await Projector(private_pool).rebuild_if_required() is None
