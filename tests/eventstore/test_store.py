"""The event store on a real PostgreSQL: idempotent, conflict-typed, gap-free, tamper-evident."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.sample import ProjectStream
from eventstore.codec import to_domain, to_envelope
from eventstore.store import (
    GENESIS,
    EventIdConflict,
    NewEvent,
    StreamVersionConflict,
    _normalized,
    append,
    append_in_transaction,
    read_all,
    read_stream,
    verify_chain,
)
from infra.db import create_pool
from schemas import events as ev
from tests.databases import fresh_database
from tests.eventstore.conftest import new_stream


def progress(s: ProjectStream, percent: int) -> NewEvent:
    return s.emit(ev.ConstructionProgressReported, percent=percent, note="主体施工")


async def count(pool: asyncpg.Pool, stream_id: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", stream_id))


async def test_a_retried_batch_writes_nothing(pg_pool: asyncpg.Pool) -> None:
    s = new_stream()
    batch = [s.register("zone-a"), progress(s, 10), progress(s, 20)]
    assert await append(pg_pool, batch) == 3
    assert await append(pg_pool, batch) == 0
    stored = await read_stream(pg_pool, s.project_id)
    assert [e.event_id for e in stored] == [e.event_id for e in batch]
    assert stored[0].prev_hash == GENESIS
    assert [e.prev_hash for e in stored[1:]] == [e.hash for e in stored[:-1]]
    assert isinstance(to_domain(stored[0]), ev.ProjectRegistered)


async def test_a_partly_stored_batch_writes_only_the_missing_events(pg_pool: asyncpg.Pool) -> None:
    s = new_stream()
    batch = [s.register("zone-a"), progress(s, 10), progress(s, 20), progress(s, 30)]
    assert await append(pg_pool, batch[:2]) == 2
    assert await append(pg_pool, batch) == 2
    assert await count(pg_pool, s.project_id) == 4
    assert await verify_chain(pg_pool, s.project_id) == []


async def test_same_id_with_other_content_is_a_conflict_and_writes_nothing(
    pg_pool: asyncpg.Pool,
) -> None:
    s = new_stream()
    first = [s.register("zone-a"), progress(s, 10)]
    await append(pg_pool, first)
    edited = first[1].model_copy(update={"payload": {**first[1].payload, "percent": 11}})
    with pytest.raises(EventIdConflict, match=first[1].event_id):
        await append(pg_pool, [edited, progress(s, 20)])
    assert await count(pg_pool, s.project_id) == 2  # the batch's new event was not kept either


async def test_a_taken_version_or_a_gap_is_a_version_conflict(pg_pool: asyncpg.Pool) -> None:
    s = new_stream()
    await append(pg_pool, [s.register("zone-a")])
    other = s.emit(ev.ConstructionProgressReported, percent=1, note="x")
    rival = other.model_copy(update={"event_id": f"{s.project_id}/rival"})
    await append(pg_pool, [other])
    with pytest.raises(StreamVersionConflict, match="taken"):
        await append(pg_pool, [rival])
    s.version += 1  # skip a version
    with pytest.raises(StreamVersionConflict, match="has no version"):
        await append(pg_pool, [progress(s, 5)])


async def test_a_malformed_batch_or_payload_is_refused(
    pg_pool: asyncpg.Pool,
) -> None:
    s = new_stream()
    a, b = s.register("zone-a"), progress(s, 1)
    with pytest.raises(ValueError, match="twice"):
        await append(pg_pool, [a, a])
    with pytest.raises(ValueError, match="increase"):
        await append(pg_pool, [b, a])
    with pytest.raises(ValueError, match="NUL"):
        await append(pg_pool, [a.model_copy(update={"payload": {"note": "a\x00b"}})])
    with pytest.raises(ValueError, match="Out of range float"):
        await append(pg_pool, [a.model_copy(update={"payload": {"x": float("nan")}})])
    with pytest.raises(ValueError, match="cannot go to stream"):
        to_envelope(
            "other",
            1,
            "x",
            datetime.now(UTC),
            ev.ProjectWithdrawn(project_id=s.project_id, stage="registered", reason="r", by="b"),
        )


async def test_concurrent_appends_to_one_stream_one_wins(pg_pool: asyncpg.Pool) -> None:
    s = new_stream()
    await append(pg_pool, [s.register("zone-a")])
    contender = progress(s, 50)
    rivals = [contender.model_copy(update={"event_id": f"{contender.event_id}/{i}"}) for i in range(8)]
    results = await asyncio.gather(*(append(pg_pool, [r]) for r in rivals), return_exceptions=True)
    assert results.count(1) == 1
    assert sum(isinstance(r, StreamVersionConflict) for r in results) == 7
    assert await count(pg_pool, s.project_id) == 2


async def test_racing_retries_of_one_batch_write_it_once(pg_pool: asyncpg.Pool) -> None:
    s = new_stream()
    batch = [s.register("zone-a"), *(progress(s, p) for p in range(1, 6))]
    results = await asyncio.gather(*(append(pg_pool, batch) for _ in range(6)))
    assert sorted(results) == [0] * 5 + [6]
    assert await verify_chain(pg_pool, s.project_id) == []


async def test_an_append_killed_at_any_point_and_retried_writes_nothing_twice(
    pg_pool: asyncpg.Pool,
) -> None:
    # The activity's process dies at some point of the append, possibly just after COMMIT
    # (so Temporal never heard of it), and the retry appends the same batch again.
    for step in range(16):
        s = new_stream()
        batch = [s.register("zone-a"), progress(s, 10), progress(s, 20)]
        attempt = asyncio.create_task(append(pg_pool, batch))
        await asyncio.sleep(step * 0.0001)  # an append takes about a millisecond here
        attempt.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await attempt
        assert await append(pg_pool, batch) in (0, 3)  # never a part: all or nothing
        assert await count(pg_pool, s.project_id) == 3
        assert await verify_chain(pg_pool, s.project_id) == []


async def test_killed_right_after_commit_then_retried(pg_pool: asyncpg.Pool) -> None:
    s = new_stream()
    batch = [s.register("zone-a"), progress(s, 10)]
    attempt = asyncio.create_task(append(pg_pool, batch))
    for _ in range(10_000):  # until committed, as another connection sees it
        if await count(pg_pool, s.project_id) == 2:
            break
    attempt.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await attempt
    assert await append(pg_pool, batch) == 0
    assert await count(pg_pool, s.project_id) == 2


async def _tail(pool: asyncpg.Pool, after: int, streams: set[str]) -> tuple[int, list[str]]:
    """One poll of a reader that checkpoints the last position it read."""
    batch = await read_all(pool, after)
    return (batch[-1].position if batch else after), [e.stream_id for e in batch if e.stream_id in streams]


async def test_an_event_committed_late_is_not_skipped(pg_pool: asyncpg.Pool) -> None:
    first, second = new_stream(), new_stream()
    streams = {first.project_id, second.project_id}
    checkpoint = int(await pg_pool.fetchval("SELECT coalesce(max(position), 0) FROM events"))
    seen: list[str] = []
    async with pg_pool.acquire() as t1:
        tx = t1.transaction()
        await tx.start()
        await append_in_transaction(t1, [first.register("zone-a")])  # T1 holds, uncommitted
        t2 = asyncio.create_task(append(pg_pool, [second.register("zone-a")]))
        await asyncio.sleep(0.3)
        # T2 cannot take a position that would commit before T1's: it waits for T1.
        assert not t2.done()
        checkpoint, got = await _tail(pg_pool, checkpoint, streams)
        seen += got
        await tx.commit()
        assert await t2 == 1
    checkpoint, got = await _tail(pg_pool, checkpoint, streams)
    seen += got
    assert seen == [first.project_id, second.project_id]


async def test_without_the_append_lock_a_late_commit_would_be_skipped(
    pg_pool: asyncpg.Pool,
) -> None:
    # The control for the test above: a plain identity table shows the hazard is real here.
    await pg_pool.execute(
        "DROP TABLE IF EXISTS plain_log; "
        "CREATE TABLE plain_log (position bigint GENERATED ALWAYS AS IDENTITY, body text)"
    )
    try:
        async with pg_pool.acquire() as t1, pg_pool.acquire() as t2:
            tx = t1.transaction()
            await tx.start()
            await t1.execute("INSERT INTO plain_log (body) VALUES ('late')")
            await t2.execute("INSERT INTO plain_log (body) VALUES ('early')")
            read = await pg_pool.fetch("SELECT position, body FROM plain_log ORDER BY position")
            checkpoint = read[-1]["position"]
            await tx.commit()
        after = await pg_pool.fetch("SELECT body FROM plain_log WHERE position > $1", checkpoint)
        assert [r["body"] for r in read] == ["early"]
        assert after == []  # 'late' is never read
    finally:
        await pg_pool.execute("DROP TABLE plain_log")


async def test_read_all_returns_batches_in_position_order(pg_pool: asyncpg.Pool) -> None:
    a, b = new_stream(), new_stream()
    await append(pg_pool, [a.register("z"), b.register("z"), progress(a, 1), progress(b, 1)])
    before = int(await pg_pool.fetchval("SELECT max(position) FROM events")) - 4
    got = await read_all(pg_pool, before, limit=3)
    assert [(e.stream_id, e.version) for e in got] == [(a.project_id, 1), (b.project_id, 1), (a.project_id, 2)]
    assert [e.version for e in await read_stream(pg_pool, b.project_id, after_version=1)] == [2]


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (
            "UPDATE events SET payload = jsonb_set(payload, '{percent}', '99') WHERE stream_id = $1 AND version = 2",
            [(2, "hash_mismatch")],
        ),
        (
            "UPDATE events SET hash = repeat('f', 64) WHERE stream_id = $1 AND version = 2",
            [(2, "hash_mismatch"), (3, "prev_hash_mismatch")],
        ),
        ("DELETE FROM events WHERE stream_id = $1 AND version = 2", [(3, "missing_version")]),
    ],
    ids=["edited-payload", "edited-hash", "deleted-event"],
)
async def test_verify_chain_reports_tampering(
    pg_pool: asyncpg.Pool, tamper: str, expected: list[tuple[int, str]]
) -> None:
    # Not a registered project, so the projector of other tests ignores the damaged stream.
    s = new_stream()
    await append(pg_pool, [progress(s, 10), progress(s, 20), progress(s, 30)])
    assert await verify_chain(pg_pool, s.project_id) == []
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await pg_pool.execute(tamper, s.project_id)
    async with pg_pool.acquire() as conn, conn.transaction():
        # What a superuser can do: skip the append-only triggers for this transaction.
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(tamper, s.project_id)
    breaks = await verify_chain(pg_pool, s.project_id)
    assert [(b.version, b.kind) for b in breaks] == expected
    everywhere = await verify_chain(pg_pool)
    assert [(b.version, b.kind) for b in everywhere if b.stream_id == s.project_id] == expected


async def test_events_cannot_be_truncated(pg_pool: asyncpg.Pool) -> None:
    async with pg_pool.acquire() as conn:
        with pytest.raises(asyncpg.RaiseError, match="TRUNCATE"):
            await conn.execute("TRUNCATE events")


def _text(max_size: int | None = None) -> st.SearchStrategy[str]:
    return st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=max_size)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text(5), inner, max_size=4),
    max_leaves=10,
)
_offsets = st.integers(-14 * 3600, 14 * 3600).map(lambda s: timezone(timedelta(seconds=s)))


@pytest.fixture(scope="module")
async def probe_dsn(pg_server_dsn: str) -> AsyncIterator[str]:
    """A database of this module's own for events of no type of daiban's (``PayloadProbe``): a
    projector on the session database would quarantine them (``handlers.UnknownEventType``)."""
    async with fresh_database(pg_server_dsn, "daiban_probe") as dsn:
        yield dsn


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payloads=st.lists(st.dictionaries(_text(8), _json, max_size=5), min_size=1, max_size=4),
    at=st.datetimes(datetime(1970, 1, 1), datetime(2200, 1, 1)),
    offset=_offsets,
)
def test_any_json_payload_round_trips_to_the_same_hash(
    probe_dsn: str, payloads: list[dict[str, object]], at: datetime, offset: timezone
) -> None:
    # The hash is computed before PostgreSQL normalises the payload (jsonb numbers, UTC times),
    # and checked after: a retry must still be recognised as the same event.
    async def check() -> None:
        pool = await create_pool(probe_dsn, max_size=1)
        try:
            stream = f"probe-{uuid.uuid4().hex[:12]}"
            batch = [
                NewEvent(
                    event_id=f"{stream}/{i}",
                    stream_id=stream,
                    version=i,
                    event_type="PayloadProbe",
                    occurred_at=at.replace(tzinfo=offset),
                    payload=p,
                )
                for i, p in enumerate(payloads, start=1)
            ]
            assert await append(pool, batch) == len(batch)
            assert await append(pool, batch) == 0
            assert await verify_chain(pool, stream) == []
            stored = [e.payload for e in await read_stream(pool, stream)]
            assert [_normalized(p) for p in stored] == [_normalized(p) for p in payloads]
        finally:
            await pool.close()

    asyncio.run(check())
