"""Append-only, idempotent, hash-chained domain event store.

One stream per project. ``PRIMARY KEY (stream_id, version)`` is the optimistic concurrency check
and the unique ``event_id`` (derived from business keys by the caller) makes a retried append a
no-op. Events are never updated or deleted (triggers of migrations 0001 and 0002).

Gap-free reading. Insert order is not commit order: a transaction can draw position 10, stay
open, and commit after position 11 was committed and read, so a reader tailing ``position`` would
skip it for good. We serialise appends from the moment a row draws its position until its
transaction ends, so positions are handed out in commit order and ``read_all(after=checkpoint)``
is safe for any reader, with a single integer checkpoint. The lock is a transaction-scoped
advisory lock taken by a statement trigger on ``events`` (migration 0002), not ``LOCK TABLE events
IN EXCLUSIVE MODE``: EXCLUSIVE also conflicts with autovacuum, which would stall appends behind the
vacuums of this insert-only table, and the trigger covers every writer, not only this module.

We prefer it to the ``xid8`` / ``pg_snapshot_xmin`` alternative (appends run concurrently, readers
only read below the oldest running transaction). That one must order readers by (xid, position)
rather than by position, so a transaction that took its xid early and appended to a stream after
another one committed would be read first and one stream's versions could come out of order;
every reader in every process must know the rule; and any long writing transaction on the server
(a rebuild, a migration) holds every reader back. Serialising costs throughput: commits no longer
group, so appends top out near one per commit flush (about 1,000 appends/s, or 10,000 events/s
in batches of 20, on the development machine: ``python -m benchmarks.eventstore_bench``), far above what a
zone needs (about a thousand matters a year). The lock is held only for the INSERT and the
COMMIT: the idempotence check and the hash chain are computed before it (see ``append``).

Tamper evidence. Each event's ``hash`` chains a canonical form of the event to the previous event
of its stream; ``verify_chain`` recomputes the chains. Rewriting a stream's tail consistently up to
its head is not detectable from inside the database: anchor stream heads elsewhere for that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, TypeAlias

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy
from pydantic import BaseModel, ConfigDict

from schemas.events import EventEnvelope

log = structlog.get_logger(__name__)

GENESIS = "0" * 64

Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy
Executor: TypeAlias = asyncpg.Pool | Connection


# One type between the lifecycle and the store: the workflow's ``EventEnvelope`` is what is
# appended (``codec.to_envelope`` builds one from a domain event). ``NewEvent`` is its old name.
NewEvent: TypeAlias = EventEnvelope


class StoredEvent(EventEnvelope):
    """An event as read back: its global ``position`` and the chain it is part of."""

    position: int
    recorded_at: datetime
    prev_hash: str
    hash: str


class ChainBreak(BaseModel):
    """One place where a stream's hash chain does not hold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stream_id: str
    version: int
    position: int
    kind: Literal["missing_version", "prev_hash_mismatch", "hash_mismatch"]
    detail: str


class EventStoreError(Exception):
    """Base of the event store's own errors; only ``PredecessorNotStored`` may heal by waiting."""


class EventIdConflict(EventStoreError):
    """An event id was appended before with a different content."""


class StreamVersionConflict(EventStoreError):
    """The stream version is taken by another event, or the one before it does not exist."""


class PredecessorNotStored(StreamVersionConflict):
    """The batch follows a version the stream does not hold (yet): an earlier batch of the same
    project may still be on its way (batches are dispatched without waiting for each other), or the
    store does not belong to this Temporal (the worker's binding check refuses that at start)."""


def columns(rows: Sequence[Any], *names: str) -> list[list[Any]]:
    """The attributes ``names`` of ``rows``, one list per name: the arrays an ``unnest($n::...)`` takes."""
    return [[getattr(r, name) for r in rows] for name in names]


async def insert_once(db: Executor, table: str, row: dict[str, Any], *, conflict: str = "") -> bool:
    """Insert ``row`` (column -> value) into ``table`` unless it is there already; True if it was new.

    The writers of business-keyed tables (inbox, outbox, licences, faults, calendars) use it, so a
    retried batch writes nothing twice. ``conflict`` names the conflict target, e.g. ``(version)``;
    by default any unique key counts.
    """
    names = ", ".join(row)
    values = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    target = f"{conflict} " if conflict else ""
    status = await db.execute(
        f"INSERT INTO {table} ({names}) VALUES ({values}) ON CONFLICT {target}DO NOTHING", *row.values()
    )
    return bool(status == "INSERT 0 1")


def _normalized(value: Any) -> Any:
    # The value as it reads back from jsonb, which keeps a float's repr() digits as a numeric and
    # so may return an integral float (5.0, 1e20) as an int: hashes made before storage then
    # verify after it.
    if isinstance(value, float):
        return int(Decimal(repr(value))) if value.is_integer() else value
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("jsonb cannot store the NUL character")
        return value
    if isinstance(value, dict):
        return {_normalized(k): _normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def canonical(event: EventEnvelope) -> str:
    """The text hashed for ``event``: identical before and after a round trip through PostgreSQL.

    ``causation_id`` is part of it only when set, so the chains of events recorded before it
    existed still verify.

    Raises:
        ValueError: the payload holds NaN, an infinity or a NUL character, which jsonb refuses.
    """
    form: dict[str, Any] = {
        "event_id": event.event_id,
        "stream_id": event.stream_id,
        "version": event.version,
        "event_type": event.event_type,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "payload": _normalized(event.payload),
    }
    if event.causation_id is not None:
        form["causation_id"] = _normalized(event.causation_id)
    return json.dumps(
        form,
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    )


def chain_hash(prev_hash: str, event: EventEnvelope) -> str:
    """The hash of ``event`` chained to the previous event of its stream."""
    return hashlib.sha256((prev_hash + canonical(event)).encode()).hexdigest()


_COLUMNS = (
    "position, stream_id, version, event_id, event_type, payload, occurred_at, recorded_at, "
    "prev_hash, hash, causation_id"
)

# The rows a batch may collide with: same event ids, same (stream, version) slots, and the event
# just before each stream's first version in the batch (whose hash the chain continues from).
# Two index scans; an OR of the two conditions would scan the whole table.
_EXISTING = f"""
    SELECT {_COLUMNS} FROM events WHERE event_id = ANY($1::text[])
    UNION ALL
    SELECT {_COLUMNS} FROM events
    JOIN unnest($2::text[], $3::int[]) AS slot(slot_stream, slot_version)
      ON stream_id = slot_stream AND version = slot_version
"""

# One round trip per batch. The statement trigger takes the append lock before any row draws its
# position; ON CONFLICT DO NOTHING turns a row committed by a racing writer since the check into
# a row missing from RETURNING instead of an error that would abort the caller's transaction.
_INSERT = """
    INSERT INTO events (stream_id, version, event_id, event_type, payload, occurred_at,
                        prev_hash, hash, causation_id)
    SELECT stream_id, version, event_id, event_type, payload::jsonb, occurred_at, prev_hash, hash,
           causation_id
    FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                $7::text[], $8::text[], $9::text[])
         WITH ORDINALITY AS b(stream_id, version, event_id, event_type, payload, occurred_at,
                              prev_hash, hash, causation_id, ord)
    ORDER BY ord
    ON CONFLICT DO NOTHING
    RETURNING event_id
"""


def _check_batch(events: Sequence[EventEnvelope]) -> None:
    ids: set[str] = set()
    last: dict[str, int] = {}
    for e in events:
        if e.event_id in ids:
            raise ValueError(f"event id {e.event_id} appears twice in the batch")
        if e.occurred_at.utcoffset() is None:
            raise ValueError(f"event {e.event_id}: occurred_at must carry a time zone")
        if e.version <= last.get(e.stream_id, 0):
            raise ValueError(f"stream {e.stream_id}: versions must increase within a batch")
        ids.add(e.event_id)
        last[e.stream_id] = e.version


async def _plan(conn: Connection, events: Sequence[EventEnvelope]) -> list[tuple[EventEnvelope, str, str]]:
    """The events not stored yet, each with its prev_hash and hash; raise on any conflict."""
    first: dict[str, int] = {}
    for e in events:
        first.setdefault(e.stream_id, e.version)
    before = [(s, v - 1) for s, v in first.items() if v > 1]
    rows = await conn.fetch(
        _EXISTING,
        [e.event_id for e in events],
        [e.stream_id for e in events] + [s for s, _ in before],
        [e.version for e in events] + [v for _, v in before],
    )
    by_id = {r["event_id"]: r for r in rows}
    hashes = {(r["stream_id"], r["version"]): r["hash"] for r in rows}
    new: list[tuple[EventEnvelope, str, str]] = []
    for e in events:
        row = by_id.get(e.event_id)
        if row is not None:
            if canonical(StoredEvent(**dict(row))) != canonical(e):
                raise EventIdConflict(f"event {e.event_id} was recorded with other content")
            continue
        if (e.stream_id, e.version) in hashes:
            raise StreamVersionConflict(f"stream {e.stream_id} version {e.version} is taken by another event")
        prev = GENESIS if e.version == 1 else hashes.get((e.stream_id, e.version - 1))
        if prev is None:
            raise PredecessorNotStored(f"stream {e.stream_id} has no version {e.version - 1}")
        hashes[(e.stream_id, e.version)] = digest = chain_hash(prev, e)
        new.append((e, prev, digest))
    return new


async def append_in_transaction(conn: Connection, events: Sequence[EventEnvelope]) -> int:
    """Append ``events`` within the caller's open transaction; return how many were new.

    For a caller that writes other rows atomically with the events. On an error the transaction
    holds part of the batch: roll it back. The append lock is held from the INSERT until the
    caller's transaction ends, so keep that short.

    Raises:
        EventIdConflict: an event id exists with other content.
        StreamVersionConflict: a version is taken by another event, or would leave a gap.
        ValueError: the batch repeats an event id, a stream's versions do not increase, or a
            payload holds what jsonb refuses (NaN, infinities, NUL characters).
    """
    if not conn.is_in_transaction():
        raise RuntimeError("append_in_transaction needs an open transaction")
    if not events:
        return 0
    _check_batch(events)
    # Reading before the lock is safe: stored events never change, and a racing writer's rows
    # show up as conflicts of the INSERT below.
    new = await _plan(conn, events)
    if not new:
        return 0
    inserted = await conn.fetch(
        _INSERT,
        [e.stream_id for e, _, _ in new],
        [e.version for e, _, _ in new],
        [e.event_id for e, _, _ in new],
        [e.event_type for e, _, _ in new],
        [json.dumps(e.payload, ensure_ascii=False, separators=(",", ":")) for e, _, _ in new],
        [e.occurred_at for e, _, _ in new],
        [prev for _, prev, _ in new],
        [digest for _, _, digest in new],
        [e.causation_id for e, _, _ in new],
    )
    # Fewer rows: a racing writer committed some of these slots or ids first. We hold the lock
    # now, so a fresh check sees all of them: identical events are fine, anything else raises.
    if len(inserted) < len(new) and await _plan(conn, events):
        raise EventStoreError("events neither inserted nor found; please report this")
    return len(inserted)


async def require_version(conn: Connection, stream_id: str, version: int) -> None:
    """Raise ``PredecessorNotStored`` unless stream ``stream_id`` holds ``version`` (an int >= 1)."""
    held = await conn.fetchval("SELECT 1 FROM events WHERE stream_id = $1 AND version = $2", stream_id, version)
    if held is None:
        raise PredecessorNotStored(f"stream {stream_id} has no version {version}")


async def append(pool: asyncpg.Pool, events: Sequence[EventEnvelope]) -> int:
    """Append ``events`` in one transaction, all or nothing; return how many were new.

    Idempotent: a retried batch, or one whose first events are stored already, writes only the
    missing events. Costs four round trips (begin, check, insert, commit) whatever the batch size.

    Raises:
        EventIdConflict: an event id exists with other content.
        StreamVersionConflict: a version is taken by another event, or would leave a gap.
        ValueError: the batch repeats an event id, a stream's versions do not increase, or a
            payload holds what jsonb refuses (NaN, infinities, NUL characters).
    """
    if not events:
        return 0
    async with pool.acquire() as conn, conn.transaction():
        return await append_in_transaction(conn, events)


async def read_stream(db: Executor, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
    """The events of one stream after ``after_version``, in version order."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND version > $2 ORDER BY version",
        stream_id,
        after_version,
    )
    return [StoredEvent(**dict(r)) for r in rows]


async def read_all(db: Executor, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
    """Up to ``limit`` events after ``after_position``, in position (= commit) order.

    A reader that checkpoints the last position it read never skips an event (module docstring).
    """
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2",
        after_position,
        limit,
    )
    return [StoredEvent(**dict(r)) for r in rows]


async def read_positions(db: Executor, positions: Sequence[int]) -> list[StoredEvent]:
    """The events at ``positions`` (those that exist), in position order."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE position = ANY($1::bigint[]) ORDER BY position",
        list(positions),
    )
    return [StoredEvent(**dict(r)) for r in rows]


async def verify_chain(pool: asyncpg.Pool, stream_id: str | None = None) -> list[ChainBreak]:
    """Recompute the hash chain of one stream, or of all; return every break found.

    An edited payload shows as a ``hash_mismatch`` on its row; an edited hash as a
    ``hash_mismatch`` on its row and a ``prev_hash_mismatch`` on the next; a deleted event as a
    ``missing_version`` on the next row.
    """
    breaks: list[ChainBreak] = []
    current: str | None = None
    expected, prev_hash = 1, GENESIS
    # Two fixed texts rather than "$1 IS NULL OR ...", which would not use the primary key.
    where, args = ("", ()) if stream_id is None else ("WHERE stream_id = $1", (stream_id,))
    query = f"SELECT {_COLUMNS} FROM events {where} ORDER BY stream_id, version"
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        async for row in conn.cursor(query, *args):
            event = StoredEvent(**dict(row))
            if event.stream_id != current:
                current, expected, prev_hash = event.stream_id, 1, GENESIS

            found: list[tuple[Any, str]] = []
            if event.version != expected:
                missing = f"versions {expected}..{event.version - 1} missing"
                found.append(("missing_version", missing))
            elif event.prev_hash != prev_hash:
                found.append(("prev_hash_mismatch", "prev_hash is not the previous event's hash"))
            if chain_hash(event.prev_hash, event) != event.hash:
                found.append(("hash_mismatch", "content or hash altered after it was recorded"))
            breaks += [
                ChainBreak(
                    stream_id=event.stream_id, version=event.version, position=event.position, kind=kind, detail=detail
                )
                for kind, detail in found
            ]
            expected, prev_hash = event.version + 1, event.hash
    if breaks:
        log.warning("hash chain broken", breaks=len(breaks), stream_id=stream_id)
    return breaks
