"""The projector: keeps the read models (migration 0003) up to date with the event log.

Each batch of events is applied in one transaction together with the checkpoint, which only moves
forward; events no read model uses still advance it. The checkpoint row is locked for the batch,
so two projectors never apply the same event. Per project, ``rm_projects.last_version`` guards
once more: an event at or below it is not applied again.

Handlers use the event's ``occurred_at``, never the wall clock, so ``rebuild()`` gives the same
rows as the live projection.

The handlers, one per event type, are in ``handlers``; the quarantine's table in ``quarantine``.

Quarantine (migration 0071). An event the projector cannot project (a handler raises, a payload no
longer fits its type, a type this release does not know) does not stop it: the event is recorded in
``projection_quarantine`` with its error, in the transaction that moves the checkpoint past it,
logged and reported to ``on_quarantine`` (the worker counts ``daiban_projection_quarantined``), and
the projector goes on. Later events of the same stream are held back in the quarantine too (reason
``held_back``) rather than applied out of order, so that ``retry_quarantined`` re-applies the stream
in order once the cause is fixed. A batch is first applied in one savepoint; only when that fails is
it applied again event by event, each in its own savepoint, so the common case costs nothing more.
Database errors (``_TRANSIENT``) are never quarantined: they abort the batch, and ``run_forever``
waits the outage out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import structlog

from eventstore.figures import FIGURE_TABLES
from eventstore.handlers import project as _project
from eventstore.quarantine import (
    CHECKPOINT,
    QuarantinedEvent,
    RetryResult,
    entry,
    held_back,
    list_quarantine,
    quarantined_count,
    record_quarantine,
)
from eventstore.store import Connection, StoredEvent, read_all, read_positions
from schemas.events import EVENT_TYPES

__all__ = [  # the quarantine's queries stay importable from here (the CLI and the gateway use them)
    "CHECKPOINT",
    "READ_MODEL_TABLES",
    "ProjectionError",
    "Projector",
    "QuarantinedEvent",
    "RetryResult",
    "list_quarantine",
    "quarantined_count",
    "retry_quarantined",
]

log = structlog.get_logger(__name__)

# Emptied by rebuild(); a fixed whitelist, the only identifiers ever put into SQL text here.
READ_MODEL_TABLES = (
    "rm_projects",
    "rm_matters",
    "rm_clocks",
    "rm_department_performance",
    "rm_zone_totals",
    "rm_credit_records",
    *FIGURE_TABLES,
)

# Every append notifies this channel in its transaction (migration 0200): the projector wakes at once.
NOTIFY_CHANNEL = "daiban_events"
# The session-level advisory lock of the one projector that projects (``run_forever(exclusive=True)``).
PROJECTOR_LOCK = 0x0DA1BA5

# Errors of the database rather than of an event: never quarantined, waited out in run_forever.
# asyncpg reports a connection lost mid-transaction as an InterfaceError (on leaving the
# transaction) or an InternalClientError (on the next use of a pooled connection).
_TRANSIENT = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.TransactionRollbackError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.InsufficientResourcesError,
)


class ProjectionError(Exception):
    """The checkpoint would move backwards: another writer changed it under our lock."""


class Projector:
    """Applies events to the read models: ``run_once`` catches up, ``run_forever`` tails.

    Any number of projectors may run, in any processes: each batch holds the checkpoint row, and
    ``run_forever`` projects from one process at a time (the advisory lock ``PROJECTOR_LOCK``).

    Args:
        pool: the process's pool.
        on_batch: called with each batch after its transaction committed (metrics, lag).
        on_quarantine: called with each event quarantined, once its transaction committed.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        on_batch: Callable[[Sequence[StoredEvent]], None] | None = None,
        on_quarantine: Callable[[QuarantinedEvent], None] | None = None,
    ) -> None:
        self.pool = pool
        self.on_batch = on_batch
        self.on_quarantine = on_quarantine
        self.quarantined = 0  # events this projector quarantined since it was created
        self.leading = False  # run_forever(exclusive=True): this one holds the lock and projects
        self.lock_attempts = 0  # run_forever(exclusive=True): times it tried the advisory lock
        self._woken: Callable[..., None] = lambda *_: None  # its listener on ``NOTIFY_CHANNEL``

    async def position(self) -> int:
        """The position of the last event applied (0 before the first)."""
        value = await self.pool.fetchval(
            "SELECT position FROM projection_checkpoints WHERE projection = $1", CHECKPOINT
        )
        return int(value or 0)

    async def run_once(self, batch_size: int = 500) -> int:
        """Apply every event committed so far, a transaction per batch; return how many.

        Events quarantined on the way count as handled (the checkpoint moves past them).

        Raises:
            ProjectionError: the checkpoint was moved under this projector's lock.
            asyncpg errors: the database failed (nothing of the failing batch is applied).
        """
        total = 0
        while True:
            quarantined: list[QuarantinedEvent] = []
            async with self.pool.acquire() as conn, conn.transaction():
                batch = await self._apply_next(conn, batch_size, quarantined)
            self._report(quarantined)
            if batch and self.on_batch is not None:
                self.on_batch(batch)
            total += len(batch)
            if len(batch) < batch_size:
                return total

    def _report(self, quarantined: Sequence[QuarantinedEvent]) -> None:
        """Log and count events quarantined by a committed transaction."""
        self.quarantined += len(quarantined)
        for q in quarantined:
            fields = q.model_dump(include={"position", "event_id", "stream_id", "version", "event_type", "error"})
            if q.reason == "failed":
                log.error("event quarantined: the projector cannot project it", **fields)
            else:
                log.warning("event held back behind a quarantined event of its stream", **fields)
            if self.on_quarantine is not None:
                self.on_quarantine(q)

    async def run_forever(
        self,
        poll_interval: float = 5.0,
        stop_event: asyncio.Event | None = None,
        *,
        batch_size: int = 500,
        exclusive: bool = True,
    ) -> None:
        """Tail the log until ``stop_event`` is set; never ends on an error of its own.

        Woken by PostgreSQL's ``NOTIFY`` on ``NOTIFY_CHANNEL`` (sent by every append, migration
        0200), with a poll every ``poll_interval`` seconds as a safety net. ``exclusive``: only the
        process holding the advisory lock ``PROJECTOR_LOCK`` projects; the others stand by, trying
        it every ``poll_interval`` (a leader that dies releases it with its session).

        Database outages are waited out (backing off up to 30 s); any other error is logged with
        its traceback and retried after a back-off (up to 60 s). Events that cannot be projected
        are quarantined (module docstring) and do not stop it. Raises only when the pool is
        closed under it (a shutdown in the wrong order).
        """
        stop = stop_event or asyncio.Event()
        delay = poll_interval
        wake = asyncio.Event()
        session: Any = None  # the pool connection held to LISTEN (and to hold the lock)
        known = False  # rebuild_if_required and retry_now_known ran since this process began to lead
        self.leading = False
        log.info("projector started", exclusive=exclusive)
        try:
            while not stop.is_set():
                try:
                    if session is None or session.is_closed():
                        session = await self._listen(session, wake)
                    if exclusive and not self.leading:
                        self.lock_attempts += 1
                        self.leading = bool(await session.fetchval("SELECT pg_try_advisory_lock($1)", PROJECTOR_LOCK))
                        if self.leading:
                            log.info("projector leads: it alone projects")
                            known = False
                    wake.clear()
                    if self.leading or not exclusive:
                        if not known:  # what a migration or an older release left to whoever leads next
                            await self.rebuild_if_required()
                            await self.retry_now_known()
                            known = True
                        await self.run_once(batch_size)
                    delay = poll_interval
                except _TRANSIENT as exc:
                    if self.pool.is_closing():
                        raise  # shutting down in the wrong order, not an outage
                    await self._drop(session)
                    session, self.leading = None, False
                    delay = min(max(delay, 0.05) * 2, 30.0)
                    log.warning("projector lost the database", error=str(exc), retry_in=delay)
                except Exception as exc:
                    delay = min(max(delay, 0.5) * 2, 60.0)
                    log.exception("projector failed; it retries", error=f"{type(exc).__name__}: {exc}", retry_in=delay)
                # A standby is not woken by appends (the leader projects them): it tries the lock
                # again after ``delay`` (a wake it ignored would make this loop spin).
                await _first_of(stop, wake if self.leading or not exclusive else None, delay)
        finally:
            await self._drop(session)
            self.leading = False
        log.info("projector stopped")

    async def rebuild_if_required(self) -> int | None:
        """Rebuild the read models if a migration asked for it (``projection_checkpoints.rebuild_reason``,
        migration 0220); return how many events were replayed, or None if none was asked for.

        ``run_forever`` calls it each time it begins to lead, so a release whose migration adds to
        the read models has them complete, history included, without an operator's step.
        """
        reason = await self.pool.fetchval(
            "SELECT rebuild_reason FROM projection_checkpoints WHERE projection = $1", CHECKPOINT
        )
        if reason is None:
            return None
        log.warning("read models rebuilt from the events, as a migration asked", reason=reason)
        replayed = await self.rebuild()
        log.info("read models rebuilt", events=replayed)
        return replayed

    async def retry_now_known(self) -> int:
        """Retry the events quarantined as of a type their projector did not know
        (``handlers.UnknownEventType``) that this release knows; return how many were projected.

        ``run_forever`` calls it each time it begins to lead, so after a rolling upgrade the new
        release projects what an older projector, still leading, could not (in stream order, with
        whatever its streams held back). The others stay for ``daiban projector retry``.
        """
        rows = await self.pool.fetch(
            """SELECT DISTINCT stream_id FROM projection_quarantine
               WHERE projection = $1 AND resolved_at IS NULL AND reason = 'failed'
                 AND error LIKE 'UnknownEventType:%' AND event_type = ANY($2::text[])""",
            CHECKPOINT,
            list(EVENT_TYPES),
        )
        resolved = 0
        for r in rows:
            result = await retry_quarantined(self.pool, stream_id=r["stream_id"])
            resolved += result.resolved
            log.info(
                "events quarantined as unknown projected by this release",
                stream_id=r["stream_id"],
                resolved=result.resolved,
                still_quarantined=result.still_quarantined,
            )
        return resolved

    async def _listen(self, old: Any, wake: asyncio.Event) -> Any:
        """A connection of the pool held as the projector's session: it LISTENs (and holds the lock)."""
        await self._drop(old)
        session = await self.pool.acquire()
        self._woken = lambda *_: wake.set()
        try:
            await session.add_listener(NOTIFY_CHANNEL, self._woken)
        except BaseException:
            await self._drop(session)
            raise
        return session

    async def _drop(self, session: Any) -> None:
        """Give the session back (the pool's reset unlistens and releases the advisory lock)."""
        if session is not None:
            with contextlib.suppress(Exception):
                if not session.is_closed():
                    await session.remove_listener(NOTIFY_CHANNEL, self._woken)
            with contextlib.suppress(Exception):
                await self.pool.release(session, timeout=5)

    async def rebuild(self, batch_size: int = 1000) -> int:
        """Empty the read models and replay every event; return how many were replayed.

        One transaction: readers keep seeing the old rows until it commits, then the new ones
        (DELETE rather than TRUNCATE, whose ACCESS EXCLUSIVE lock would block them meanwhile);
        live projectors wait on the checkpoint row and carry on from where the rebuild stopped.
        Sized for this domain (a zone's events, up to a few million rows).
        """
        total = 0
        quarantined: list[QuarantinedEvent] = []
        async with self.pool.acquire() as conn, conn.transaction():
            await self._lock_checkpoint(conn)
            for table in READ_MODEL_TABLES:
                await conn.execute(f"DELETE FROM {table}")
            await conn.execute(
                """UPDATE projection_checkpoints SET position = 0, rebuild_reason = NULL, updated_at = now()
                   WHERE projection = $1""",
                CHECKPOINT,
            )
            # Every event is tried again; those that still fail are quarantined again below.
            await conn.execute(
                """UPDATE projection_quarantine SET resolved_at = now(), resolution = 'rebuilt'
                   WHERE projection = $1 AND resolved_at IS NULL""",
                CHECKPOINT,
            )
            while batch := await self._apply_next(conn, batch_size, quarantined):
                total += len(batch)
        self._report(quarantined)
        log.info("read models rebuilt", events=total, quarantined=len(quarantined))
        return total

    @staticmethod
    async def _lock_checkpoint(conn: Connection) -> int:
        # Migration 0003 creates the row; FOR UPDATE makes other projectors wait for this batch.
        return int(
            await conn.fetchval(
                "SELECT position FROM projection_checkpoints WHERE projection = $1 FOR UPDATE",
                CHECKPOINT,
            )
        )

    async def _apply_next(
        self, conn: Connection, batch_size: int, quarantined: list[QuarantinedEvent]
    ) -> list[StoredEvent]:
        """Apply the next batch within ``conn``'s transaction and move the checkpoint past it.

        Appends the events it quarantined to ``quarantined`` (to report once committed).
        """
        position = await self._lock_checkpoint(conn)
        batch = await read_all(conn, position, batch_size)
        if not batch:
            return batch
        quarantined += await _apply(conn, batch)
        moved = await conn.execute(
            """UPDATE projection_checkpoints SET position = $2, updated_at = now()
               WHERE projection = $1 AND position < $2""",
            CHECKPOINT,
            batch[-1].position,
        )
        if moved != "UPDATE 1":
            raise ProjectionError(f"checkpoint would not move forward to {batch[-1].position}")
        return batch


async def _first_of(stop: asyncio.Event, wake: asyncio.Event | None, seconds: float) -> None:
    """Wait until ``stop`` or ``wake`` (if any) is set, or ``seconds`` passed."""
    waits = [asyncio.ensure_future(e.wait()) for e in (stop, wake) if e is not None]
    _, pending = await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for w in pending:
        w.cancel()


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 2000 else text[:1997] + "..."


async def _try_project(conn: Connection, event: StoredEvent) -> str | None:
    """Project ``event`` in a transaction of its own: None, or why it failed (transient errors raise)."""
    try:
        async with conn.transaction():
            await _project(conn, event)
    except _TRANSIENT:
        raise
    except Exception as exc:
        return _describe(exc)
    return None


async def _apply(conn: Connection, batch: Sequence[StoredEvent]) -> list[QuarantinedEvent]:
    """Apply ``batch``; return the events it quarantined (already recorded in the table)."""
    streams = list({e.stream_id for e in batch})
    rows = await conn.fetch(
        """SELECT stream_id, min(position) AS position FROM projection_quarantine
           WHERE projection = $1 AND resolved_at IS NULL AND stream_id = ANY($2::text[])
           GROUP BY stream_id""",
        CHECKPOINT,
        streams,
    )
    blocked: dict[str, int] = {r["stream_id"]: r["position"] for r in rows}
    try:
        async with conn.transaction():  # a savepoint: one failing event undoes the whole try
            return await _apply_events(conn, batch, dict(blocked), careful=False)
    except _TRANSIENT:
        raise
    except Exception as exc:
        log.warning(
            "projection batch failed; applying its events one by one",
            first=batch[0].position,
            last=batch[-1].position,
            error=_describe(exc),
        )
    return await _apply_events(conn, batch, blocked, careful=True)


async def _apply_events(
    conn: Connection, batch: Sequence[StoredEvent], blocked: dict[str, int], *, careful: bool
) -> list[QuarantinedEvent]:
    """Apply ``batch``, each event in a savepoint of its own when ``careful``.

    ``blocked`` maps a stream to the position of its first quarantined event; events of those
    streams are held back, and a stream whose event fails (``careful`` only; otherwise the
    error propagates) joins them.
    """
    rows = await conn.fetch(
        "SELECT project_id, last_version FROM rm_projects WHERE project_id = ANY($1::text[])",
        list({e.stream_id for e in batch}),
    )
    last: dict[str, int] = {r["project_id"]: r["last_version"] for r in rows}
    progress: dict[str, tuple[int, int, datetime]] = {}  # project -> version, applied, at
    quarantined: list[QuarantinedEvent] = []
    for stored in batch:
        pid = stored.stream_id
        if pid in blocked:
            quarantined.append(held_back(stored, blocked[pid]))
            continue
        if pid not in last and stored.event_type != "ProjectRegistered":
            continue  # not a project's stream, or not registered yet: nothing to show
        last.setdefault(pid, 0)
        if stored.version <= last[pid]:
            log.warning("event projected before, skipped", stream_id=pid, version=stored.version)
            continue
        if stored.version != last[pid] + 1:
            log.error("projection skipped stream versions", stream_id=pid, expected=last[pid] + 1, got=stored.version)
        if careful:
            if (failure := await _try_project(conn, stored)) is not None:
                quarantined.append(entry(stored, "failed", failure))
                blocked[pid] = stored.position
                continue
        else:
            await _project(conn, stored)
        last[pid] = stored.version
        _count(progress, stored)
    await record_quarantine(conn, quarantined)
    await _count_applied(conn, progress)
    return quarantined


def _count(progress: dict[str, tuple[int, int, datetime]], stored: StoredEvent) -> None:
    """One more event of ``stored``'s project applied: its version, the count, its time."""
    applied = progress.get(stored.stream_id, (0, 0, stored.occurred_at))[1] + 1
    progress[stored.stream_id] = (stored.version, applied, stored.occurred_at)


async def _count_applied(conn: Connection, progress: dict[str, tuple[int, int, datetime]]) -> None:
    """Move each project's ``last_version`` forward and refresh its derived columns."""
    if not progress:
        return
    await conn.execute(
        """UPDATE rm_projects p SET last_version = greatest(p.last_version, u.version),
                  events_applied = p.events_applied + u.applied,
                  updated_at = greatest(p.updated_at, u.at)
           FROM unnest($1::text[], $2::int[], $3::int[], $4::timestamptz[])
                AS u(project_id, version, applied, at)
           WHERE p.project_id = u.project_id""",
        list(progress),
        [v for v, _, _ in progress.values()],
        [n for _, n, _ in progress.values()],
        [at for _, _, at in progress.values()],
    )
    await conn.execute(_REFRESH, list(progress))


async def retry_quarantined(pool: asyncpg.Pool, *, stream_id: str | None = None) -> RetryResult:
    """Project the unresolved quarantined events again (one stream's, or all), in order.

    Run it once the cause is fixed (a code fix deployed, a row repaired). One transaction that
    holds the checkpoint row, so live projectors wait for it. Each stream is re-applied in
    position order; an event that fails again stays quarantined with its new error (one more
    attempt), and so do the later events of its stream (held back). Events re-applied are
    marked resolved (``resolution = 'retried'``) and counted in their project's
    ``events_applied``.

    Raises:
        asyncpg errors: the database failed; nothing changed.
    """
    resolved = 0
    async with pool.acquire() as conn, conn.transaction():
        await Projector._lock_checkpoint(conn)
        rows = await conn.fetch(
            """SELECT position FROM projection_quarantine
               WHERE projection = $1 AND resolved_at IS NULL AND ($2::text IS NULL OR stream_id = $2)
               ORDER BY position FOR UPDATE""",
            CHECKPOINT,
            stream_id,
        )
        stored = await read_positions(conn, [r["position"] for r in rows])
        failed: dict[str, int] = {}
        still: list[QuarantinedEvent] = []
        progress: dict[str, tuple[int, int, datetime]] = {}
        for event in stored:
            pid = event.stream_id
            if pid in failed:
                still.append(held_back(event, failed[pid]))
                continue
            if (failure := await _try_project(conn, event)) is not None:
                still.append(entry(event, "failed", failure))
                failed[pid] = event.position
                continue
            await conn.execute(
                """UPDATE projection_quarantine SET resolved_at = now(), resolution = 'retried',
                          attempts = attempts + 1, last_attempt_at = now()
                   WHERE projection = $1 AND position = $2""",
                CHECKPOINT,
                event.position,
            )
            resolved += 1
            _count(progress, event)
        await record_quarantine(conn, still)
        await _count_applied(conn, progress)
    for q in still:
        log.warning(
            "quarantined event still fails",
            position=q.position,
            stream_id=q.stream_id,
            event_type=q.event_type,
            reason=q.reason,
            error=q.error,
        )
    log.info("quarantine retried", resolved=resolved, still_quarantined=len(still), stream_id=stream_id)
    return RetryResult(
        resolved=resolved, still_quarantined=len(still), errors=[q for q in still if q.reason == "failed"]
    )


# Derived columns, once per batch for the projects it touched: a matter's deadline and overdue
# flag follow the clock it runs now, as the lifecycle's ``_current_clock_id``: the department's 5
# days to accept while received (行政许可法 §32), none while the agent prepares or completes the
# application, else its current submission's decision clock, at the limit the zone answers for
# (its promise when there is one, as the lifecycle shows it); a project's nearest deadline is its earliest running
# open clock, and it is overdue while any open clock is breached or has missed its promise.
# Every table is read through the touched project ids (its primary key's leading column): a round
# costs the rows of its projects, whatever plan PostgreSQL keeps for the prepared statement. Joined
# on ``c.project_id = m.project_id`` alone, a plan made while the tables were small scanned all of
# ``rm_clocks`` every round, for good where no ANALYZE comes (autovacuum off).
_REFRESH = """
WITH current AS (
    SELECT m.project_id, m.matter_code, coalesce(c.promised_deadline, c.deadline) AS deadline,
           coalesce(c.open AND (c.breached OR c.promise_missed), false) AS overdue
    FROM rm_matters m
    LEFT JOIN rm_clocks c
      ON c.project_id = ANY($1::text[]) AND c.project_id = m.project_id AND c.matter_code = m.matter_code
     AND c.submission = m.submissions AND m.state NOT IN ('to_apply', 'incomplete')
     AND c.scope = CASE WHEN m.state = 'received' THEN 'acceptance' ELSE 'matter' END
    WHERE m.project_id = ANY($1::text[])
), matters AS (
    UPDATE rm_matters m SET deadline = x.deadline, overdue = x.overdue
    FROM current x
    WHERE m.project_id = ANY($1::text[]) AND m.project_id = x.project_id AND m.matter_code = x.matter_code
      AND (m.deadline IS DISTINCT FROM x.deadline OR m.overdue <> x.overdue)
)
UPDATE rm_projects p SET nearest_deadline = n.deadline, overdue = n.overdue
FROM unnest($1::text[]) AS u(project_id)
CROSS JOIN LATERAL (
    SELECT min(coalesce(c.promised_deadline, c.deadline)) FILTER (WHERE c.open AND NOT c.stopped) AS deadline,
           coalesce(bool_or(c.open AND (c.breached OR c.promise_missed)), false) AS overdue
    FROM rm_clocks c WHERE c.project_id = u.project_id) n
WHERE p.project_id = u.project_id
  AND (p.nearest_deadline IS DISTINCT FROM n.deadline OR p.overdue <> n.overdue)
"""
