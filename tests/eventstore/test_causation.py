"""Causation ids: stored, read back, hashed only when set, idempotent like the rest of an event."""

from __future__ import annotations

import asyncpg
import pytest

from eventstore.store import (
    GENESIS,
    EventIdConflict,
    NewEvent,
    append,
    canonical,
    chain_hash,
    read_stream,
    verify_chain,
)
from schemas import events as ev
from schemas.events import EventEnvelope
from tests.eventstore.conftest import new_stream


def test_causation_is_hashed_only_when_set() -> None:
    s = new_stream()
    plain = s.register("zone-causation")
    assert "causation_id" not in canonical(plain)
    caused = plain.model_copy(update={"causation_id": "dec-1"})
    assert '"causation_id":"dec-1"' in canonical(caused)
    assert chain_hash(GENESIS, caused) != chain_hash(GENESIS, plain)
    # An envelope from the workflow (with or without a causation id) becomes a store event as is.
    envelope = EventEnvelope(**plain.model_dump())
    assert envelope.causation_id is None
    assert NewEvent(**envelope.model_dump()) == plain


async def test_causation_round_trips_and_the_chain_verifies(pg_pool: asyncpg.Pool) -> None:
    s = new_stream()
    registered = s.register("zone-causation")  # a command without id: no causation
    progress = s.emit(ev.ConstructionProgressReported, percent=10, note="开工").model_copy(
        update={"causation_id": "req-7"}
    )
    assert await append(pg_pool, [registered, progress]) == 2
    stored = await read_stream(pg_pool, s.project_id)
    assert [e.causation_id for e in stored] == [None, "req-7"]
    assert stored[1].hash == chain_hash(stored[0].hash, progress)
    assert await verify_chain(pg_pool, s.project_id) == []

    # Same event id, same content (causation included): a no-op.
    assert await append(pg_pool, [registered, progress]) == 0
    # Same event id with another (or a missing) causation: other content, refused.
    with pytest.raises(EventIdConflict):
        await append(pg_pool, [progress.model_copy(update={"causation_id": "req-8"})])
    with pytest.raises(EventIdConflict):
        await append(pg_pool, [progress.model_copy(update={"causation_id": None})])


async def test_rows_recorded_before_the_column_still_verify(pg_pool: asyncpg.Pool) -> None:
    # A row as an older daiban wrote it: no causation column in the INSERT, hash without it.
    s = new_stream()
    e = s.register("zone-causation")
    digest = chain_hash(GENESIS, e)
    await pg_pool.execute(
        """INSERT INTO events (stream_id, version, event_id, event_type, payload, occurred_at, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)""",
        e.stream_id,
        e.version,
        e.event_id,
        e.event_type,
        e.payload,
        e.occurred_at,
        GENESIS,
        digest,
    )
    assert await verify_chain(pg_pool, s.project_id) == []
    assert await append(pg_pool, [e]) == 0  # the same event again: still a no-op
