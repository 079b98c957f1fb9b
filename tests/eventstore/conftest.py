"""Fixtures of the event store tests: unique streams in the session database, or a private one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from benchmarks.sample import ProjectStream
from infra.db import create_pool
from tests.databases import fresh_database


def new_stream() -> ProjectStream:
    """A stream no other test writes to (the session database is shared)."""
    return ProjectStream(f"p-{uuid.uuid4().hex[:12]}")


@dataclass
class PrivateDb:
    """A migrated database of one test's own: its DSN and a pool on it."""

    dsn: str
    pool: asyncpg.Pool


async def _private_db(server_dsn: str, *, migrated: bool = True) -> AsyncIterator[PrivateDb]:
    async with fresh_database(server_dsn, "daiban_es", migrated=migrated) as dsn:
        pool = await create_pool(dsn, max_size=12)
        try:
            yield PrivateDb(dsn, pool)
        finally:
            await pool.close()


@pytest.fixture
async def private_db(pg_server_dsn: str) -> AsyncIterator[PrivateDb]:
    """A migrated database of this test's own, with its DSN (for subprocesses)."""
    async for db in _private_db(pg_server_dsn):
        yield db


@pytest.fixture
async def private_pool(private_db: PrivateDb) -> asyncpg.Pool:
    """A migrated database of this test's own, for tests that need an empty store."""
    return private_db.pool
