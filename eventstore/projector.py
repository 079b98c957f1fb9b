"""The projector: keeps the read models (migration 0003) up to date with the event log.

Each batch of events is applied in one transaction together with the checkpoint, which only moves
forward; events no read model uses still advance it. The checkpoint row is locked for the batch,
so two projectors never apply the same event. Per project, ``rm_projects.last_version`` guards
once more: an event at or below it is not applied again.

Handlers use the event's ``occurred_at``, never the wall clock, so ``rebuild()`` gives the same
rows as the live projection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
import structlog

from eventstore.codec import (
    matter_clock_id,
    obligation_clock_id,
    parse_clock_id,
    stage_clock_id,
    to_domain,
)
from eventstore.store import Connection, StoredEvent, read_all
from schemas import events as ev
from schemas.stages import Stage

log = structlog.get_logger(__name__)

CHECKPOINT = "read_models"  # the row of projection_checkpoints this projector owns

# Emptied by rebuild(); a fixed whitelist, the only identifiers ever put into SQL text here.
READ_MODEL_TABLES = ("rm_projects", "rm_matters", "rm_clocks", "rm_department_performance",
                     "rm_zone_totals")

# Errors worth waiting out in run_forever; anything else is a bug and stops the projector.
# asyncpg reports a connection lost mid-transaction as an InterfaceError (on leaving the
# transaction) or an InternalClientError (on the next use of a pooled connection).
_TRANSIENT = (OSError, asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError,
              asyncpg.TransactionRollbackError, asyncpg.InterfaceError,
              asyncpg.InternalClientError)

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

    async def position(self) -> int:
        """The position of the last event applied (0 before the first)."""
        value = await self.pool.fetchval(
            "SELECT position FROM projection_checkpoints WHERE projection = $1", CHECKPOINT
        )
        return int(value or 0)

    async def run_once(self, batch_size: int = 500) -> int:
        """Apply every event committed so far, a transaction per batch; return how many."""
        total = 0
        while True:
            async with self.pool.acquire() as conn, conn.transaction():
                batch = await self._apply_next(conn, batch_size)
            if batch and self.on_batch is not None:
                self.on_batch(batch)
            total += len(batch)
            if len(batch) < batch_size:
                return total

    async def run_forever(
        self,
        poll_interval: float = 0.5,
        stop_event: asyncio.Event | None = None,
        *,
        batch_size: int = 500,
    ) -> None:
        """Tail the log until ``stop_event`` is set, waiting out database outages."""
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
                delay = min(delay * 2, 30.0)
                log.warning("projector lost the database", error=str(exc), retry_in=delay)
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
        async with self.pool.acquire() as conn, conn.transaction():
            await self._lock_checkpoint(conn)
            for table in READ_MODEL_TABLES:
                await conn.execute(f"DELETE FROM {table}")
            await conn.execute(
                "UPDATE projection_checkpoints SET position = 0, updated_at = now() "
                "WHERE projection = $1",
                CHECKPOINT,
            )
            while batch := await self._apply_next(conn, batch_size):
                total += len(batch)
        log.info("read models rebuilt", events=total)
        return total

    @staticmethod
    async def _lock_checkpoint(conn: Connection) -> int:
        # Migration 0003 creates the row; FOR UPDATE makes other projectors wait for this batch.
        return int(await conn.fetchval(
            "SELECT position FROM projection_checkpoints WHERE projection = $1 FOR UPDATE",
            CHECKPOINT,
        ))

    async def _apply_next(self, conn: Connection, batch_size: int) -> list[StoredEvent]:
        """Apply the next batch within ``conn``'s transaction and move the checkpoint past it."""
        position = await self._lock_checkpoint(conn)
        batch = await read_all(conn, position, batch_size)
        if not batch:
            return batch
        await _apply(conn, batch)
        moved = await conn.execute(
            """UPDATE projection_checkpoints SET position = $2, updated_at = now()
               WHERE projection = $1 AND position < $2""",
            CHECKPOINT,
            batch[-1].position,
        )
        if moved != "UPDATE 1":
            raise ProjectionError(f"checkpoint would not move forward to {batch[-1].position}")
        return batch


async def _apply(conn: Connection, batch: Sequence[StoredEvent]) -> None:
    streams = list({e.stream_id for e in batch})
    rows = await conn.fetch(
        "SELECT project_id, last_version FROM rm_projects WHERE project_id = ANY($1::text[])",
        streams,
    )
    last: dict[str, int] = {r["project_id"]: r["last_version"] for r in rows}
    progress: dict[str, tuple[int, int, datetime]] = {}  # project -> version, applied, at
    for stored in batch:
        pid = stored.stream_id
        if pid not in last and stored.event_type != "ProjectRegistered":
            continue  # not a project's stream, or not registered yet: nothing to show
        event = to_domain(stored)
        last.setdefault(pid, 0)
        if stored.version <= last[pid]:
            log.warning("event projected before, skipped", stream_id=pid, version=stored.version)
            continue
        if stored.version != last[pid] + 1:
            log.error("projection skipped stream versions", stream_id=pid,
                      expected=last[pid] + 1, got=stored.version)
        handler = _HANDLERS.get(stored.event_type)
        if handler is not None and event is not None:
            await handler(conn, stored, event)
        last[pid] = stored.version
        applied = progress.get(pid, (0, 0, stored.occurred_at))[1] + 1
        progress[pid] = (stored.version, applied, stored.occurred_at)
    if not progress:
        return
    await conn.execute(
        """UPDATE rm_projects p SET last_version = u.version,
                  events_applied = p.events_applied + u.applied, updated_at = u.at
           FROM unnest($1::text[], $2::int[], $3::int[], $4::timestamptz[])
                AS u(project_id, version, applied, at)
           WHERE p.project_id = u.project_id""",
        list(progress),
        [v for v, _, _ in progress.values()],
        [n for _, n, _ in progress.values()],
        [at for _, _, at in progress.values()],
    )
    await conn.execute(_REFRESH, list(progress))


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
