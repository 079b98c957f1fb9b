"""Fixtures of the event store tests: unique streams in the session database, or a private one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from eventstore.sample import ProjectStream
from infra import migrate
from infra.db import create_pool
from tests.conftest import _with_database


def new_stream() -> ProjectStream:
    """A stream no other test writes to (the session database is shared)."""
    return ProjectStream(f"p-{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def private_pool(pg_server_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A migrated database of this test's own, for tests that need an empty store."""
    name = f"daiban_es_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_server_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    pool = await create_pool(_with_database(pg_server_dsn, name), max_size=12)
    try:
        await migrate.apply(pool)
        yield pool
    finally:
        await pool.close()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
