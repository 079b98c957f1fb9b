"""The projector: keeps the read models (migration 0003) up to date with the event log.

Each batch of events is applied in one transaction together with the checkpoint, which only moves
forward; events no read model uses still advance it. The checkpoint row is locked for the batch,
so two projectors never apply the same event. Per project, ``rm_projects.last_version`` guards
once more: an event at or below it is not applied again.

Handlers use the event's ``occurred_at``, never the wall clock, so ``rebuild()`` gives the same
rows as the live projection.

Quarantine (migration 0071). An event the projector cannot project (a handler raises, a payload
no longer fits its type) does not stop it: the event is recorded in ``projection_quarantine``
with its error, in the transaction that moves the checkpoint past it, logged and counted
(``daiban_projection_quarantined``), and the projector goes on. Later events of the same stream
are held back in the quarantine too (reason ``held_back``) rather than applied out of order, so
that ``retry_quarantined`` re-applies the stream in order once the cause is fixed. A batch is
first applied in one savepoint; only when that fails is it applied again event by event, each in
its own savepoint, so the common case costs nothing more. Database errors (``_TRANSIENT``) are
never quarantined: they abort the batch, and ``run_forever`` waits the outage out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar

import asyncpg
import structlog
from pydantic import BaseModel, ConfigDict

from eventstore.codec import (
    matter_clock_id,
    obligation_clock_id,
    parse_clock_id,
    stage_clock_id,
    to_domain,
)
from eventstore.store import Connection, Executor, StoredEvent, read_all, read_positions
from infra.metrics import count_quarantined
from schemas import events as ev
from schemas.stages import Stage

log = structlog.get_logger(__name__)

CHECKPOINT = "read_models"  # the row of projection_checkpoints this projector owns

# Emptied by rebuild(); a fixed whitelist, the only identifiers ever put into SQL text here.
READ_MODEL_TABLES = ("rm_projects", "rm_matters", "rm_clocks", "rm_department_performance",
                     "rm_zone_totals")

# Errors of the database rather than of an event: never quarantined, waited out in run_forever.
# asyncpg reports a connection lost mid-transaction as an InterfaceError (on leaving the
# transaction) or an InternalClientError (on the next use of a pooled connection).
_TRANSIENT = (OSError, asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError,
              asyncpg.TransactionRollbackError, asyncpg.InterfaceError,
              asyncpg.InternalClientError, asyncpg.InsufficientResourcesError)

E = TypeVar("E", bound=ev.DomainEvent)
Handler = Callable[[Connection, StoredEvent, Any], Awaitable[None]]
_HANDLERS: dict[str, Handler] = {}


def _on(
    cls: type[E],
) -> Callable[[Callable[[Connection, StoredEvent, E], Awaitable[None]]], Handler]:
    def register(fn: Callable[[Connection, StoredEvent, E], Awaitable[None]]) -> Handler:
        _HANDLERS[cls.__name__] = fn
        return fn

    return register


class ProjectionError(Exception):
    """The checkpoint would move backwards: another writer changed it under our lock."""


QuarantineReason = Literal["failed", "held_back"]


class QuarantinedEvent(BaseModel):
    """One event the projector set aside (a row of ``projection_quarantine``).

    ``reason`` is ``failed`` (projecting it raised ``error``) or ``held_back`` (an earlier event
    of its stream is quarantined; ``error`` names it). ``resolved_at`` and ``resolution``
    (``retried`` or ``rebuilt``) are set once it was projected after all.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    position: int
    event_id: str
    stream_id: str
    version: int
    event_type: str
    reason: QuarantineReason
    error: str
    attempts: int = 1
    quarantined_at: datetime | None = None
    last_attempt_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None


class RetryResult(BaseModel):
    """What ``retry_quarantined`` did: events projected now, events still quarantined."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    resolved: int
    still_quarantined: int
    errors: list[QuarantinedEvent]


class Projector:
    """Applies events to the read models: ``run_once`` catches up, ``run_forever`` tails.

    Any number of projectors may run, in any processes: each batch holds the checkpoint row.

    Args:
        pool: the process's pool.
        on_batch: called with each batch after its transaction committed (metrics, lag).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        on_batch: Callable[[Sequence[StoredEvent]], None] | None = None,
    ) -> None:
        self.pool = pool
        self.on_batch = on_batch
        self.quarantined = 0  # events this projector quarantined since it was created

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
            fields = q.model_dump(include={"position", "event_id", "stream_id", "version",
                                           "event_type", "error"})
            if q.reason == "failed":
                log.error("event quarantined: the projector cannot project it", **fields)
            else:
                log.warning("event held back behind a quarantined event of its stream", **fields)
            count_quarantined(q.event_type, q.reason)

    async def run_forever(
        self,
        poll_interval: float = 0.5,
        stop_event: asyncio.Event | None = None,
        *,
        batch_size: int = 500,
    ) -> None:
        """Tail the log until ``stop_event`` is set; never ends on an error of its own.

        Database outages are waited out (backing off up to 30 s); any other error is logged with
        its traceback and retried after a back-off (up to 60 s). Events that cannot be projected
        are quarantined (module docstring) and do not stop it. Raises only when the pool is
        closed under it (a shutdown in the wrong order).
        """
        stop = stop_event or asyncio.Event()
        delay = poll_interval
        log.info("projector started")
        while not stop.is_set():
            try:
                await self.run_once(batch_size)
                delay = poll_interval
            except _TRANSIENT as exc:
                if self.pool.is_closing():
                    raise  # shutting down in the wrong order, not an outage
                delay = min(max(delay, 0.05) * 2, 30.0)
                log.warning("projector lost the database", error=str(exc), retry_in=delay)
            except Exception as exc:
                delay = min(max(delay, 0.5) * 2, 60.0)
                log.exception("projector failed; it retries", error=f"{type(exc).__name__}: {exc}",
                              retry_in=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
        log.info("projector stopped")

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
                "UPDATE projection_checkpoints SET position = 0, updated_at = now() "
                "WHERE projection = $1",
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
        return int(await conn.fetchval(
            "SELECT position FROM projection_checkpoints WHERE projection = $1 FOR UPDATE",
            CHECKPOINT,
        ))

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


async def _project(conn: Connection, stored: StoredEvent) -> None:
    """Apply one event to the read models (no bookkeeping); raise whatever its handler raises."""
    handler = _HANDLERS.get(stored.event_type)
    event = to_domain(stored)
    if handler is not None and event is not None:
        await handler(conn, stored, event)


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 2000 else text[:1997] + "..."


async def _apply(conn: Connection, batch: Sequence[StoredEvent]) -> list[QuarantinedEvent]:
    """Apply ``batch``; return the events it quarantined (already recorded in the table)."""
    streams = list({e.stream_id for e in batch})
    rows = await conn.fetch(
        """SELECT stream_id, min(position) AS position FROM projection_quarantine
           WHERE projection = $1 AND resolved_at IS NULL AND stream_id = ANY($2::text[])
           GROUP BY stream_id""",
        CHECKPOINT, streams,
    )
    blocked: dict[str, int] = {r["stream_id"]: r["position"] for r in rows}
    try:
        async with conn.transaction():  # a savepoint: one failing event undoes the whole try
            return await _apply_events(conn, batch, dict(blocked), careful=False)
    except _TRANSIENT:
        raise
    except Exception as exc:
        log.warning("projection batch failed; applying its events one by one",
                    first=batch[0].position, last=batch[-1].position, error=_describe(exc))
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
            quarantined.append(_entry(stored, "held_back",
                                      f"held back behind the quarantined event at position {blocked[pid]}"))
            continue
        if pid not in last and stored.event_type != "ProjectRegistered":
            continue  # not a project's stream, or not registered yet: nothing to show
        last.setdefault(pid, 0)
        if stored.version <= last[pid]:
            log.warning("event projected before, skipped", stream_id=pid, version=stored.version)
            continue
        if stored.version != last[pid] + 1:
            log.error("projection skipped stream versions", stream_id=pid,
                      expected=last[pid] + 1, got=stored.version)
        if careful:
            try:
                async with conn.transaction():
                    await _project(conn, stored)
            except _TRANSIENT:
                raise
            except Exception as exc:
                quarantined.append(_entry(stored, "failed", _describe(exc)))
                blocked[pid] = stored.position
                continue
        else:
            await _project(conn, stored)
        last[pid] = stored.version
        applied = progress.get(pid, (0, 0, stored.occurred_at))[1] + 1
        progress[pid] = (stored.version, applied, stored.occurred_at)
    await _record_quarantine(conn, quarantined)
    await _count_applied(conn, progress)
    return quarantined


def _entry(stored: StoredEvent, reason: QuarantineReason, error: str) -> QuarantinedEvent:
    return QuarantinedEvent(position=stored.position, event_id=stored.event_id,
                            stream_id=stored.stream_id, version=stored.version,
                            event_type=stored.event_type, reason=reason, error=error)


async def _record_quarantine(conn: Connection, entries: Sequence[QuarantinedEvent]) -> None:
    if not entries:
        return
    # A rebuild meets events quarantined before: they are quarantined again, one more attempt.
    await conn.execute(
        """INSERT INTO projection_quarantine AS q (projection, position, event_id, stream_id,
                  version, event_type, reason, error)
           SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::int[], $6::text[],
                                    $7::text[], $8::text[])
           ON CONFLICT (projection, position) DO UPDATE SET
               reason = EXCLUDED.reason, error = EXCLUDED.error, attempts = q.attempts + 1,
               last_attempt_at = now(), resolved_at = NULL, resolution = NULL""",
        CHECKPOINT,
        [q.position for q in entries], [q.event_id for q in entries],
        [q.stream_id for q in entries], [q.version for q in entries],
        [q.event_type for q in entries], [q.reason for q in entries],
        [q.error for q in entries],
    )


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


# ---- the quarantine, for operators --------------------------------------------------------------

_QUARANTINE_COLUMNS = (
    "position, event_id, stream_id, version, event_type, reason, error, attempts, quarantined_at, "
    "last_attempt_at, resolved_at, resolution"
)


async def quarantined_count(db: Executor) -> int:
    """How many events are quarantined and not resolved (0: the read models miss nothing)."""
    return int(await db.fetchval(
        "SELECT count(*) FROM projection_quarantine WHERE projection = $1 AND resolved_at IS NULL",
        CHECKPOINT,
    ))


async def list_quarantine(
    db: Executor, *, stream_id: str | None = None, include_resolved: bool = False,
    limit: int = 1000,
) -> list[QuarantinedEvent]:
    """Quarantined events in position order: unresolved only unless ``include_resolved``.

    ``stream_id`` keeps one project's; at most ``limit`` rows.
    """
    rows = await db.fetch(
        f"""SELECT {_QUARANTINE_COLUMNS} FROM projection_quarantine
            WHERE projection = $1 AND ($2 OR resolved_at IS NULL)
              AND ($3::text IS NULL OR stream_id = $3)
            ORDER BY position LIMIT $4""",
        CHECKPOINT, include_resolved, stream_id, limit,
    )
    return [QuarantinedEvent(**dict(r)) for r in rows]


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
            CHECKPOINT, stream_id,
        )
        stored = await read_positions(conn, [r["position"] for r in rows])
        failed: dict[str, int] = {}
        still: list[QuarantinedEvent] = []
        progress: dict[str, tuple[int, int, datetime]] = {}
        for event in stored:
            pid = event.stream_id
            if pid in failed:
                still.append(_entry(event, "held_back",
                                    f"held back behind the quarantined event at position {failed[pid]}"))
                continue
            try:
                async with conn.transaction():
                    await _project(conn, event)
            except _TRANSIENT:
                raise
            except Exception as exc:
                still.append(_entry(event, "failed", _describe(exc)))
                failed[pid] = event.position
                continue
            await conn.execute(
                """UPDATE projection_quarantine SET resolved_at = now(), resolution = 'retried',
                          attempts = attempts + 1, last_attempt_at = now()
                   WHERE projection = $1 AND position = $2""",
                CHECKPOINT, event.position,
            )
            resolved += 1
            applied = progress.get(pid, (0, 0, event.occurred_at))[1] + 1
            progress[pid] = (event.version, applied, event.occurred_at)
        await _record_quarantine(conn, still)
        await _count_applied(conn, progress)
    for q in still:
        log.warning("quarantined event still fails", position=q.position, stream_id=q.stream_id,
                    event_type=q.event_type, reason=q.reason, error=q.error)
    log.info("quarantine retried", resolved=resolved, still_quarantined=len(still),
             stream_id=stream_id)
    return RetryResult(resolved=resolved, still_quarantined=len(still),
                       errors=[q for q in still if q.reason == "failed"])


# Derived columns, once per batch for the projects it touched: a matter's deadline and overdue
# flag follow its current submission's clock; a project's nearest deadline is its earliest
# running open clock, and it is overdue while any open clock is breached.
_REFRESH = """
WITH matters AS (
    UPDATE rm_matters m SET deadline = c.deadline, overdue = c.open AND c.breached
    FROM rm_clocks c
    WHERE m.project_id = ANY($1::text[]) AND c.project_id = m.project_id
      AND c.scope = 'matter' AND c.matter_code = m.matter_code AND c.submission = m.submissions
      AND (m.deadline IS DISTINCT FROM c.deadline OR m.overdue <> (c.open AND c.breached))
)
UPDATE rm_projects p SET nearest_deadline = n.deadline, overdue = n.overdue
FROM (SELECT u.project_id,
             min(c.deadline) FILTER (WHERE c.open AND NOT c.stopped) AS deadline,
             coalesce(bool_or(c.open AND c.breached), false) AS overdue
      FROM unnest($1::text[]) AS u(project_id) LEFT JOIN rm_clocks c USING (project_id)
      GROUP BY u.project_id) n
WHERE p.project_id = n.project_id
  AND (p.nearest_deadline IS DISTINCT FROM n.deadline OR p.overdue <> n.overdue)
"""

# ---- helpers shared by the handlers -------------------------------------------------------------

_KEEP: Any = object()  # "leave this clock's deadline as it is"

_UPSERT_CLOCK = """
INSERT INTO rm_clocks AS c (project_id, clock_id, scope, department, matter_code, submission,
                            stage, deadline, stopped, breached, escalation, open)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, false), coalesce($10, false), $11,
        coalesce($12, true))
ON CONFLICT (project_id, clock_id) DO UPDATE SET
    department = coalesce(EXCLUDED.department, c.department),
    deadline = CASE WHEN $13 THEN EXCLUDED.deadline ELSE c.deadline END,
    stopped = coalesce($9, c.stopped),
    breached = coalesce($10, c.breached),
    -- Re-arming a clock (an extension) ends its escalation.
    escalation = coalesce($11, CASE WHEN $10 = false THEN NULL ELSE c.escalation END),
    open = coalesce($12, c.open)
"""


async def _clock(
    conn: Connection,
    project_id: str,
    clock_id: str,
    scope: str | None = None,
    *,
    department: str | None = None,
    deadline: datetime | None = _KEEP,
    stopped: bool | None = None,
    breached: bool | None = None,
    escalation: str | None = None,
    is_open: bool | None = None,
) -> None:
    """Create or update one clock; a None argument leaves that column as it is."""
    ref = parse_clock_id(clock_id)
    await conn.execute(
        _UPSERT_CLOCK, project_id, clock_id, scope or ref.scope or "process", department,
        ref.matter_code, ref.submission, ref.stage, None if deadline is _KEEP else deadline,
        stopped, breached, escalation, is_open, deadline is not _KEEP,
    )


async def _obligation_clock(conn: Connection, e: ev.MatterEvent, obligation: str) -> str:
    # Obligation events do not carry the submission their clock id names: the matter row has it.
    submission = await conn.fetchval(
        "SELECT submissions FROM rm_matters WHERE project_id = $1 AND matter_code = $2",
        e.project_id, e.matter_code,
    )
    return obligation_clock_id(e.matter_code, obligation, submission or 0)


async def _close_clocks(
    conn: Connection, project_id: str, *, scope: str | None = None,
    matter_code: str | None = None, stage: str | None = None,
) -> None:
    await conn.execute(
        """UPDATE rm_clocks SET open = false
           WHERE project_id = $1 AND open AND ($2::text IS NULL OR scope = $2)
             AND ($3::text IS NULL OR matter_code = $3) AND ($4::text IS NULL OR stage = $4)""",
        project_id, scope, matter_code, stage,
    )


_MATTER_COLUMNS = frozenset({
    "state", "approval_mode", "working_days_used", "statutory_days", "on_time", "obligation",
    "license_no", "approved_at", "decided_at",
})


async def _update_matter(
    conn: Connection, stored: StoredEvent, event: ev.MatterEvent, **values: Any
) -> asyncpg.Record | None:
    """Set ``values`` on the event's matter; return its limit in days (None: matter unknown)."""
    columns = sorted(values)
    if not set(columns) <= _MATTER_COLUMNS:
        raise ValueError(f"not a matter column: {set(columns) - _MATTER_COLUMNS}")
    assignments = "".join(f", {c} = ${i}" for i, c in enumerate(columns, start=4))
    return await conn.fetchrow(
        f"""UPDATE rm_matters SET updated_at = $3{assignments}
            WHERE project_id = $1 AND matter_code = $2
            RETURNING coalesce(promised_days, statutory_days) AS limit_days""",
        event.project_id, event.matter_code, stored.occurred_at, *(values[c] for c in columns),
    )


async def _count_decision(
    conn: Connection, department: str, *, approved: bool, on_time: bool
) -> None:
    await _department(conn, department, decided=1, approved=int(approved),
                      rejected=int(not approved), on_time=int(on_time))


async def _department(
    conn: Connection, department: str, *, decided: int = 0, approved: int = 0,
    rejected: int = 0, on_time: int = 0, breaches: int = 0,
) -> None:
    await conn.execute(
        """INSERT INTO rm_department_performance AS d (department, decided_count, approved_count,
                  rejected_count, on_time_count, breaches_count)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (department) DO UPDATE SET
               decided_count = d.decided_count + EXCLUDED.decided_count,
               approved_count = d.approved_count + EXCLUDED.approved_count,
               rejected_count = d.rejected_count + EXCLUDED.rejected_count,
               on_time_count = d.on_time_count + EXCLUDED.on_time_count,
               breaches_count = d.breaches_count + EXCLUDED.breaches_count""",
        department, decided, approved, rejected, on_time, breaches,
    )


async def _save_days(conn: Connection, project_id: str, kind: str, days: float) -> None:
    """Add ``days`` saved by ``kind`` (commitment, tolerance, regional) to the project's zone."""
    await conn.execute(
        """INSERT INTO rm_zone_totals AS z (zone, commitment_approvals, days_saved_commitment,
                  tolerance_approvals, days_saved_tolerance, regional_exemptions,
                  days_saved_regional_assessment)
           SELECT zone, ($2 = 'commitment')::int, CASE WHEN $2 = 'commitment' THEN $3 ELSE 0 END,
                  ($2 = 'tolerance')::int, CASE WHEN $2 = 'tolerance' THEN $3 ELSE 0 END,
                  ($2 = 'regional')::int, CASE WHEN $2 = 'regional' THEN $3 ELSE 0 END
           FROM rm_projects WHERE project_id = $1
           ON CONFLICT (zone) DO UPDATE SET
               commitment_approvals = z.commitment_approvals + EXCLUDED.commitment_approvals,
               days_saved_commitment = z.days_saved_commitment + EXCLUDED.days_saved_commitment,
               tolerance_approvals = z.tolerance_approvals + EXCLUDED.tolerance_approvals,
               days_saved_tolerance = z.days_saved_tolerance + EXCLUDED.days_saved_tolerance,
               regional_exemptions = z.regional_exemptions + EXCLUDED.regional_exemptions,
               days_saved_regional_assessment =
                   z.days_saved_regional_assessment + EXCLUDED.days_saved_regional_assessment""",
        project_id, kind, days,
    )


async def _set_project(conn: Connection, project_id: str, **values: Any) -> None:
    columns = sorted(values)
    if not set(columns) <= {"stage", "status", "construction_percent"}:
        raise ValueError(f"not a project column: {columns}")
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
    await conn.execute(
        f"UPDATE rm_projects SET {assignments} WHERE project_id = $1",
        project_id, *(values[c] for c in columns),
    )


# ---- one handler per event type the read models use ---------------------------------------------


@_on(ev.ProjectRegistered)
async def _registered(conn: Connection, stored: StoredEvent, e: ev.ProjectRegistered) -> None:
    items = e.checklist
    await conn.execute(
        """WITH project AS (
               INSERT INTO rm_projects (project_id, name, enterprise, zone, project_type,
                      investment_yuan, stage, status, agent, backup_agent, project_lead,
                      registered_at, updated_at, last_version, events_applied)
               VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $10, $11, $11, 0, 0)
               ON CONFLICT DO NOTHING)
           INSERT INTO rm_matters (project_id, matter_code, matter_name, department, stage, mode,
                  state, statutory_days, promised_days, updated_at)
           SELECT $1, code, name, department, stage, mode, 'waiting', statutory, promised, $11
           FROM unnest($12::text[], $13::text[], $14::text[], $15::text[], $16::text[],
                       $17::float8[], $18::float8[])
                AS i(code, name, department, stage, mode, statutory, promised)
           ON CONFLICT DO NOTHING""",
        e.project_id, e.name, e.enterprise, e.zone, e.project_type, e.investment_yuan,
        Stage.REGISTERED.value, e.agent, e.backup_agent, e.project_lead, stored.occurred_at,
        [i.matter_code for i in items], [i.matter_name for i in items],
        [i.department for i in items], [i.stage for i in items], [i.mode for i in items],
        [i.statutory_days for i in items], [i.promised_days for i in items],
    )
    if e.process_deadline is not None:
        await _clock(conn, e.project_id, "process", "process", deadline=e.process_deadline, is_open=True)


@_on(ev.AgentReassigned)
async def _reassigned(conn: Connection, stored: StoredEvent, e: ev.AgentReassigned) -> None:
    # AB岗: when the backup takes over, the agent it replaces becomes the backup.
    await conn.execute(
        """UPDATE rm_projects SET agent = $2,
                  backup_agent = CASE WHEN backup_agent = $2 THEN $3 ELSE backup_agent END
           WHERE project_id = $1""",
        e.project_id, e.to_agent, e.from_agent,
    )


@_on(ev.StageStarted)
async def _stage_started(conn: Connection, stored: StoredEvent, e: ev.StageStarted) -> None:
    await _set_project(conn, e.project_id, stage=e.stage)
    if e.deadline is not None:
        await _clock(conn, e.project_id, stage_clock_id(e.stage), "stage", deadline=e.deadline,
                     stopped=False, breached=False, is_open=True)


@_on(ev.StageCompleted)
async def _stage_completed(conn: Connection, stored: StoredEvent, e: ev.StageCompleted) -> None:
    await _close_clocks(conn, e.project_id, scope="stage", stage=e.stage)
    if e.stage == Stage.CONSTRUCTION_PERMIT:
        # The whole-process cap covers the approvals up to the construction permit; the
        # lifecycle closes that clock here without an event of its own.
        await _close_clocks(conn, e.project_id, scope="process")


@_on(ev.MatterSubmitted)
async def _submitted(conn: Connection, stored: StoredEvent, e: ev.MatterSubmitted) -> None:
    await conn.execute(
        """INSERT INTO rm_matters AS m (project_id, matter_code, department, stage, mode, state,
                  submissions, statutory_days, promised_days, submitted_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, 'submitted', $6, $7, $8, $9, $9)
           ON CONFLICT (project_id, matter_code) DO UPDATE SET
               department = EXCLUDED.department, stage = EXCLUDED.stage, mode = EXCLUDED.mode,
               state = 'submitted', submissions = greatest(m.submissions, EXCLUDED.submissions),
               statutory_days = EXCLUDED.statutory_days, promised_days = EXCLUDED.promised_days,
               submitted_at = EXCLUDED.submitted_at, updated_at = EXCLUDED.updated_at,
               -- A resubmission (after a rejection or a revocation) starts a new decision.
               approval_mode = NULL, working_days_used = NULL, on_time = NULL,
               approved_at = NULL, decided_at = NULL""",
        e.project_id, e.matter_code, e.department, e.stage, e.mode, e.submission,
        e.statutory_days, e.promised_days, stored.occurred_at,
    )
    await _clock(conn, e.project_id, matter_clock_id(e.matter_code, e.submission), "matter",
                 department=e.department, deadline=e.deadline, is_open=True)


@_on(ev.MatterExempted)
async def _exempted(conn: Connection, stored: StoredEvent, e: ev.MatterExempted) -> None:
    await conn.execute(
        """INSERT INTO rm_matters AS m (project_id, matter_code, department, stage, mode, state,
                  statutory_days, decided_at, updated_at)
           VALUES ($1, $2, $3, $4, 'regional_assessment', 'exempted', $5, $6, $6)
           ON CONFLICT (project_id, matter_code) DO UPDATE SET
               state = 'exempted', statutory_days = EXCLUDED.statutory_days,
               decided_at = EXCLUDED.decided_at, updated_at = EXCLUDED.updated_at""",
        e.project_id, e.matter_code, e.department, e.stage, e.statutory_days, stored.occurred_at,
    )
    await _close_clocks(conn, e.project_id, matter_code=e.matter_code, scope="matter")
    await _save_days(conn, e.project_id, "regional", e.statutory_days)


@_on(ev.MatterApproved)
async def _approved(conn: Connection, stored: StoredEvent, e: ev.MatterApproved) -> None:
    await _update_matter(
        conn, stored, e, state="approved", approval_mode=e.mode,
        working_days_used=e.working_days_used, statutory_days=e.statutory_days, on_time=e.on_time,
        approved_at=stored.occurred_at, decided_at=stored.occurred_at,
    )
    await _close_clocks(conn, e.project_id, matter_code=e.matter_code, scope="matter")
    await _count_decision(conn, e.department, approved=True, on_time=e.on_time)
    if e.mode in ("commitment", "tolerance"):
        await _save_days(conn, e.project_id, e.mode, e.statutory_days - e.working_days_used)


@_on(ev.MatterRejected)
async def _rejected(conn: Connection, stored: StoredEvent, e: ev.MatterRejected) -> None:
    limits = await _update_matter(conn, stored, e, state="rejected",
                                  working_days_used=e.working_days_used,
                                  decided_at=stored.occurred_at)
    await _close_clocks(conn, e.project_id, matter_code=e.matter_code, scope="matter")
    # A rejection carries no on-time verdict: judge it against the promised limit if any.
    limit = None if limits is None else limits["limit_days"]
    await _count_decision(conn, e.department, approved=False,
                          on_time=limit is None or e.working_days_used <= limit)


# The lifecycle stops and resumes the matter's clock with ClockStopped / ClockResumed.
@_on(ev.CorrectionRequested)
async def _correction(conn: Connection, stored: StoredEvent, e: ev.CorrectionRequested) -> None:
    await _update_matter(conn, stored, e, state="correction")


@_on(ev.CorrectionSupplied)
async def _supplied(conn: Connection, stored: StoredEvent, e: ev.CorrectionSupplied) -> None:
    await _update_matter(conn, stored, e, state="submitted")


# A stopped clock has no deadline (the lifecycle calls it paused), and resuming moves it by
# working days only the legal clock can count: unknown here until a DeadlineWarned, LimitExtended
# or DeadlineBreached names it again.
@_on(ev.ClockStopped)
async def _clock_stopped(conn: Connection, stored: StoredEvent, e: ev.ClockStopped) -> None:
    await _clock(conn, e.project_id, e.clock_id, e.scope, stopped=True, deadline=None)


@_on(ev.ClockResumed)
async def _clock_resumed(conn: Connection, stored: StoredEvent, e: ev.ClockResumed) -> None:
    # Events recorded before ClockResumed carried the new deadline leave it as it was.
    if e.new_deadline is None:
        await _clock(conn, e.project_id, e.clock_id, e.scope, stopped=False)
    else:
        await _clock(conn, e.project_id, e.clock_id, e.scope, stopped=False, deadline=e.new_deadline)


@_on(ev.DeadlinesRecomputed)
async def _recomputed(conn: Connection, stored: StoredEvent, e: ev.DeadlinesRecomputed) -> None:
    for clock_id, deadline in e.deadlines.items():
        # A deadline that moved into the future ends the breach, as the lifecycle re-arms it.
        rearmed = deadline is not None and deadline > stored.occurred_at
        await _clock(conn, e.project_id, clock_id, deadline=deadline, breached=False if rearmed else None)


@_on(ev.LimitExtended)
async def _extended(conn: Connection, stored: StoredEvent, e: ev.LimitExtended) -> None:
    # Like the lifecycle, only a deadline still ahead re-arms a breached clock.
    rearmed = e.new_deadline is not None and e.new_deadline > stored.occurred_at
    await _clock(conn, e.project_id, e.clock_id, e.scope, deadline=e.new_deadline,
                 breached=False if rearmed else None)


@_on(ev.ObligationOpened)
async def _obligation(conn: Connection, stored: StoredEvent, e: ev.ObligationOpened) -> None:
    await _update_matter(conn, stored, e, obligation=e.obligation)
    await _clock(conn, e.project_id, await _obligation_clock(conn, e, e.obligation), "obligation",
                 department=e.department, deadline=e.deadline, is_open=True)


@_on(ev.ObligationFulfilled)
async def _fulfilled(conn: Connection, stored: StoredEvent, e: ev.ObligationFulfilled) -> None:
    await _update_matter(conn, stored, e, obligation=None)
    await _clock(conn, e.project_id, await _obligation_clock(conn, e, e.obligation), "obligation",
                 is_open=False)


@_on(ev.ObligationMissed)
async def _missed(conn: Connection, stored: StoredEvent, e: ev.ObligationMissed) -> None:
    await _update_matter(conn, stored, e, obligation=None)
    await _clock(conn, e.project_id, await _obligation_clock(conn, e, e.obligation), "obligation",
                 breached=True, is_open=False)


@_on(ev.ApprovalSuspended)
async def _suspended(conn: Connection, stored: StoredEvent, e: ev.ApprovalSuspended) -> None:
    await _update_matter(conn, stored, e, state="suspended")


@_on(ev.ApprovalReinstated)
async def _reinstated(conn: Connection, stored: StoredEvent, e: ev.ApprovalReinstated) -> None:
    await _update_matter(conn, stored, e, state="approved")


@_on(ev.ApprovalRevoked)
async def _revoked(conn: Connection, stored: StoredEvent, e: ev.ApprovalRevoked) -> None:
    # A failed verification settles the commitment and voids the approval's e-license.
    await _update_matter(conn, stored, e, state="revoked", license_no=None, obligation=None)
    await _close_clocks(conn, e.project_id, matter_code=e.matter_code, scope="obligation")


@_on(ev.DeadlineWarned)
async def _warned(conn: Connection, stored: StoredEvent, e: ev.DeadlineWarned) -> None:
    await _clock(conn, e.project_id, e.clock_id, e.scope, department=e.department,
                 deadline=e.deadline)


@_on(ev.DeadlineBreached)
async def _breached(conn: Connection, stored: StoredEvent, e: ev.DeadlineBreached) -> None:
    await _clock(conn, e.project_id, e.clock_id, e.scope, department=e.department,
                 deadline=e.deadline, breached=True)
    if e.department is not None:
        await _department(conn, e.department, breaches=1)


@_on(ev.EscalatedToLead)
async def _escalated(conn: Connection, stored: StoredEvent, e: ev.EscalatedToLead) -> None:
    await _clock(conn, e.project_id, e.clock_id, e.scope, escalation="lead")


@_on(ev.JointMeetingConvened)
async def _meeting(conn: Connection, stored: StoredEvent, e: ev.JointMeetingConvened) -> None:
    await _clock(conn, e.project_id, e.clock_id, escalation="joint_meeting")


@_on(ev.ELicenseIssued)
async def _license(conn: Connection, stored: StoredEvent, e: ev.ELicenseIssued) -> None:
    await _update_matter(conn, stored, e, license_no=e.license_no)


@_on(ev.ConstructionProgressReported)
async def _progress(
    conn: Connection, stored: StoredEvent, e: ev.ConstructionProgressReported
) -> None:
    await _set_project(conn, e.project_id, construction_percent=e.percent)


@_on(ev.ProjectInProduction)
async def _in_production(conn: Connection, stored: StoredEvent, e: ev.ProjectInProduction) -> None:
    await _set_project(conn, e.project_id, stage=Stage.IN_PRODUCTION.value, status="in_production")
    await _close_clocks(conn, e.project_id)


@_on(ev.ProjectWithdrawn)
async def _withdrawn(conn: Connection, stored: StoredEvent, e: ev.ProjectWithdrawn) -> None:
    await _set_project(conn, e.project_id, stage=Stage.WITHDRAWN.value, status="withdrawn")
    await _close_clocks(conn, e.project_id)
    await conn.execute(
        """UPDATE rm_matters SET state = 'withdrawn', updated_at = $2
           WHERE project_id = $1 AND state NOT IN ('approved', 'exempted')""",
        e.project_id, stored.occurred_at,
    )
