"""Append-only, idempotent, hash-chained domain event store."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict

GENESIS = "0" * 64


class NewEvent(BaseModel):
    """An event as the lifecycle emits it; ``version`` is its place in the project's stream."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    stream_id: str
    version: int
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any]


class EventStoreError(Exception):
    """Base of the event store's own errors."""


class EventIdConflict(EventStoreError):
    """An event id was appended before with a different content."""


class StreamVersionConflict(EventStoreError):
    """Another writer appended this stream version first."""


def _canonical(event: NewEvent) -> str:
    return json.dumps(
        {
            "event_id": event.event_id,
            "stream_id": event.stream_id,
            "version": event.version,
            "event_type": event.event_type,
            "occurred_at": event.occurred_at.isoformat(),
            "payload": event.payload,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def chain_hash(prev_hash: str, event: NewEvent) -> str:
    """The hash of ``event`` chained to the previous event of its stream."""
    return hashlib.sha256((prev_hash + _canonical(event)).encode()).hexdigest()


async def append(pool: asyncpg.Pool, events: Sequence[NewEvent]) -> int:
    """Append ``events`` in one transaction; return how many were new.

    Retrying the same batch is a no-op. The table lock makes commit order equal position order,
    so a reader tailing ``position`` never skips an event that commits late.
    """
    if not events:
        return 0
    written = 0
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
        for event in events:
            existing = await conn.fetchrow(
                "SELECT stream_id, version, event_type, payload, occurred_at FROM events WHERE event_id = $1",
                event.event_id,
            )
            if existing is not None:
                same = NewEvent(event_id=event.event_id, **dict(existing))
                if _canonical(same) != _canonical(event):
                    raise EventIdConflict(f"event {event.event_id} was recorded with other content")
                continue
            prev = await conn.fetchval(
                "SELECT hash FROM events WHERE stream_id = $1 AND version = $2",
                event.stream_id,
                event.version - 1,
            )
            try:
                await conn.execute(
                    """INSERT INTO events (stream_id, version, event_id, event_type, payload,
                                           occurred_at, prev_hash, hash)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
                    event.stream_id,
                    event.version,
                    event.event_id,
                    event.event_type,
                    event.payload,
                    event.occurred_at,
                    prev or GENESIS,
                    chain_hash(prev or GENESIS, event),
                )
            except asyncpg.UniqueViolationError as exc:
                raise StreamVersionConflict(
                    f"stream {event.stream_id} already has version {event.version}"
                ) from exc
            written += 1
    return written
