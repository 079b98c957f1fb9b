"""Plain-SQL migrations applied in file-name order and recorded in ``schema_migrations``.

Applying is an explicit step (``daiban db migrate``; ``make run`` and a deployment's setup job call
it); workers and gateways only check, read-only, that the database is current, and refuse to start
with one line otherwise. Safe to run twice (applied files are skipped) and from two processes at
once (a transaction-level advisory lock serialises them). An applied file whose content changed is
an error: migrations are append-only, a fix is a new file. Once the tables exist, the shipped
catalog and zone policies are recorded as the first version of every key not loaded yet
(``eventstore.versions.seed_shipped``), in the same transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

import asyncpg
import structlog

log = structlog.get_logger(__name__)

# Any constant works; it only has to be the same for every daiban process.
_LOCK_KEY = 0x0DA1BA4


@dataclass(frozen=True)
class Migration:
    """One SQL file of ``infra/migrations``."""

    version: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(Exception):
    """A migration file was edited after it was applied."""


def available() -> list[Migration]:
    """The migrations shipped with this version of daiban, in order."""
    folder = resources.files("infra") / "migrations"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [Migration(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in files]


async def apply(pool: asyncpg.Pool) -> list[str]:
    """Apply every migration not applied yet; return the versions applied by this call."""
    applied_now: list[str] = []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["version"]: r["checksum"] for r in await conn.fetch("SELECT * FROM schema_migrations")}
        for m in available():
            if m.version in done:
                if done[m.version] != m.checksum:
                    raise MigrationError(f"migration {m.version} changed after it was applied; add a new file instead")
                continue
            await conn.execute(m.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)", m.version, m.checksum
            )
            applied_now.append(m.version)
        # The shipped catalog and zone policies are the first version of each (``eventstore.versions``).
        if "0100_content_loads" in done or "0100_content_loads" in applied_now:
            from eventstore.versions import seed_shipped

            seeded = await seed_shipped(conn)
            if seeded:
                log.info("shipped catalog and zone policies recorded as their first version", versions=seeded)
    if applied_now:
        log.info("migrations applied", versions=applied_now)
    return applied_now


async def pending(pool: asyncpg.Pool) -> list[str]:
    """The versions not applied yet (read-only); raise ``MigrationError`` if an applied file changed."""
    exists = await pool.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    done: dict[str, str] = {}
    if exists:
        done = {
            r["version"]: r["checksum"] for r in await pool.fetch("SELECT version, checksum FROM schema_migrations")
        }
    out = []
    for m in available():
        if m.version not in done:
            out.append(m.version)
        elif done[m.version] != m.checksum:
            raise MigrationError(f"migration {m.version} changed after it was applied; add a new file instead")
    return out


async def require_current(pool: asyncpg.Pool) -> None:
    """Raise ``ConfigError`` (one line) unless every shipped migration is applied."""
    from infra.settings import ConfigError

    try:
        missing = await pending(pool)
    except MigrationError as exc:
        raise ConfigError(str(exc)) from None
    if missing:
        raise ConfigError(
            f"the database lacks {len(missing)} migration(s) ({missing[0]} ... {missing[-1]}): "
            "run `daiban db migrate` first"
        )
