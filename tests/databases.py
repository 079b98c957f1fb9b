"""Throwaway PostgreSQL databases for tests and benchmarks: created, migrated, dropped.

``fresh_database(server_dsn, prefix)`` yields the DSN of a new database on ``server_dsn``'s server
(``DATABASE_URL`` or an embedded server), with every migration applied (``infra.migrate``: the
shipped zones and catalog are the first content versions in force) unless ``migrated=False``, and
drops it on exit, even while sessions are still connected (``WITH (FORCE)``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from infra import migrate
from infra.db import create_pool


def with_database(dsn: str, database: str) -> str:
    """``dsn`` pointing at ``database`` on the same server (query parameters kept)."""
    base, _, query = dsn.partition("?")
    scheme, rest = base.split("://", 1)
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/{database}" + (f"?{query}" if query else "")


@asynccontextmanager
async def fresh_database(server_dsn: str, prefix: str, *, migrated: bool = True) -> AsyncIterator[str]:
    """A new database named ``{prefix}_{12 hex}`` (migrated unless told not): its DSN; dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = with_database(server_dsn, name)
    try:
        if migrated:
            pool = await create_pool(dsn)
            try:
                await migrate.apply(pool)
            finally:
                await pool.close()
        yield dsn
    finally:
        admin = await asyncpg.connect(server_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
