"""The PostgreSQL pool: one per process, created before the worker starts, closed after it stops."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from infra.settings import ConfigError


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python objects, set once per connection.
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename,
            encoder=lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":")),
            decoder=json.loads,
            schema="pg_catalog",
        )


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10, **kwargs: Any) -> asyncpg.Pool:
    """Open a pool on ``dsn`` or raise ``ConfigError`` with one line saying what is wrong."""
    try:
        pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, init=_init_connection, timeout=10, **kwargs
        )
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"cannot reach PostgreSQL at {redact(dsn)} ({exc.__class__.__name__}: {exc}); start it or fix DATABASE_URL"
        ) from None
    except asyncpg.PostgresError as exc:
        raise ConfigError(f"PostgreSQL at {redact(dsn)} refused the connection: {exc}") from None
    assert pool is not None
    return pool


def redact(dsn: str) -> str:
    """The DSN without its password, for messages and logs."""
    if "@" not in dsn or "://" not in dsn:
        return dsn
    scheme, rest = dsn.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"
