"""Migrations against a real PostgreSQL: in order, recorded, idempotent, concurrent-safe."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from infra import migrate
from infra.db import create_pool
from infra.settings import ConfigError
from tests.databases import fresh_database


@pytest.fixture
async def empty_db(pg_server_dsn: str) -> AsyncIterator[str]:
    async with fresh_database(pg_server_dsn, "daiban_mig", migrated=False) as dsn:
        pool = await create_pool(dsn, max_size=4)
        try:
            yield pool
        finally:
            await pool.close()


async def test_applies_all_in_order_and_records_them(empty_db: asyncpg.Pool) -> None:
    versions = [m.version for m in migrate.available()]
    assert versions == sorted(versions) and versions
    applied = await migrate.apply(empty_db)
    assert applied == versions
    recorded = await empty_db.fetch("SELECT version FROM schema_migrations ORDER BY version")
    assert [r["version"] for r in recorded] == versions
    assert await migrate.apply(empty_db) == []


async def test_two_processes_at_once_apply_each_file_once(empty_db: asyncpg.Pool) -> None:
    first, second = await asyncio.gather(migrate.apply(empty_db), migrate.apply(empty_db))
    assert sorted(first + second) == [m.version for m in migrate.available()]


async def test_an_edited_applied_migration_is_refused(empty_db: asyncpg.Pool) -> None:
    await migrate.apply(empty_db)
    await empty_db.execute(
        "UPDATE schema_migrations SET checksum = 'edited' WHERE version = $1",
        migrate.available()[0].version,
    )
    with pytest.raises(migrate.MigrationError, match="changed after it was applied"):
        await migrate.apply(empty_db)


async def test_unreachable_database_is_one_clear_line() -> None:
    with pytest.raises(ConfigError, match=r"cannot reach PostgreSQL at postgresql://u@127\.0\.0\.1:1/x"):
        await create_pool("postgresql://u:secret@127.0.0.1:1/x")
