"""The read models' handlers: one per event type they use, and the row helpers they share.

A handler writes what its event says into ``rm_projects``, ``rm_matters``, ``rm_clocks``,
``rm_department_performance`` and ``rm_zone_totals`` (migrations 0003, 0004, 0082), with the
event's ``occurred_at``, never the wall clock. Matter states are the lifecycle's
(``schemas.project.MatterStateName``). Where an event says what the lifecycle decided (the agent
who becomes the backup, a rejection's on-time verdict, the clock an obligation runs on), the
handler reads it from the event; only events recorded before those fields existed fall back to
working it out here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

from eventstore.codec import matter_clock_id, obligation_clock_id, parse_clock_id, stage_clock_id, to_domain
from eventstore.store import Connection, StoredEvent
from schemas import events as ev
from schemas.stages import Stage

E = TypeVar("E", bound=ev.DomainEvent)
Handler = Callable[[Connection, StoredEvent, Any], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}


def _on(
    cls: type[E],
) -> Callable[[Callable[[Connection, StoredEvent, E], Awaitable[None]]], Handler]:
    def register(fn: Callable[[Connection, StoredEvent, E], Awaitable[None]]) -> Handler:
        HANDLERS[cls.__name__] = fn
        return fn

    return register


async def project(conn: Connection, stored: StoredEvent) -> None:
    """Apply one event to the read models (no bookkeeping); raise whatever its handler raises."""
    handler = HANDLERS.get(stored.event_type)
    event = to_domain(stored)
    if handler is not None and event is not None:
        await handler(conn, stored, event)


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
        _UPSERT_CLOCK,
        project_id,
        clock_id,
        scope or ref.scope or "process",
        department,
        ref.matter_code,
        ref.submission,
        ref.stage,
        None if deadline is _KEEP else deadline,
        stopped,
        breached,
        escalation,
        is_open,
        deadline is not _KEEP,
    )


async def _obligation_clock(
    conn: Connection, e: ev.ObligationOpened | ev.ObligationFulfilled | ev.ObligationMissed
) -> str:
    """The obligation's clock: named by the event, or (events recorded before it named it) the
    id of the obligation of the matter's current submission."""
    if e.clock_id is not None:
        return e.clock_id
    submission = await conn.fetchval(
        "SELECT submissions FROM rm_matters WHERE project_id = $1 AND matter_code = $2",
        e.project_id,
        e.matter_code,
    )
    return obligation_clock_id(e.matter_code, e.obligation, submission or 0)


async def _close_clocks(
    conn: Connection,
    project_id: str,
    *,
    scope: str | None = None,
    matter_code: str | None = None,
    stage: str | None = None,
) -> None:
    await conn.execute(
        """UPDATE rm_clocks SET open = false
           WHERE project_id = $1 AND open AND ($2::text IS NULL OR scope = $2)
             AND ($3::text IS NULL OR matter_code = $3) AND ($4::text IS NULL OR stage = $4)""",
        project_id,
        scope,
        matter_code,
        stage,
    )


_MATTER_COLUMNS = frozenset(
    {
        "state",
        "approval_mode",
        "working_days_used",
        "statutory_days",
        "on_time",
        "obligation",
        "license_no",
        "approved_at",
        "decided_at",
    }
)


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
        event.project_id,
        event.matter_code,
        stored.occurred_at,
        *(values[c] for c in columns),
    )


async def _count_decision(conn: Connection, department: str, *, approved: bool, on_time: bool) -> None:
    await _department(
        conn, department, decided=1, approved=int(approved), rejected=int(not approved), on_time=int(on_time)
    )


async def _department(
    conn: Connection,
    department: str,
    *,
    decided: int = 0,
    approved: int = 0,
    rejected: int = 0,
    on_time: int = 0,
    breaches: int = 0,
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
        department,
        decided,
        approved,
        rejected,
        on_time,
        breaches,
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
        project_id,
        kind,
        days,
    )


async def _set_project(conn: Connection, project_id: str, **values: Any) -> None:
    columns = sorted(values)
    if not set(columns) <= {"stage", "status", "construction_percent"}:
        raise ValueError(f"not a project column: {columns}")
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
    await conn.execute(
        f"UPDATE rm_projects SET {assignments} WHERE project_id = $1",
        project_id,
        *(values[c] for c in columns),
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
        e.project_id,
        e.name,
        e.enterprise,
        e.zone,
        e.project_type,
        e.investment_yuan,
        Stage.REGISTERED.value,
        e.agent,
        e.backup_agent,
        e.project_lead,
        stored.occurred_at,
        [i.matter_code for i in items],
        [i.matter_name for i in items],
        [i.department for i in items],
        [i.stage for i in items],
        [i.mode for i in items],
        [i.statutory_days for i in items],
        [i.promised_days for i in items],
    )
    if e.process_deadline is not None:
        await _clock(conn, e.project_id, "process", "process", deadline=e.process_deadline, is_open=True)


@_on(ev.AgentReassigned)
async def _reassigned(conn: Connection, stored: StoredEvent, e: ev.AgentReassigned) -> None:
    if e.backup_agent is not None:
        await conn.execute(
            "UPDATE rm_projects SET agent = $2, backup_agent = $3 WHERE project_id = $1",
            e.project_id,
            e.to_agent,
            e.backup_agent,
        )
        return
    # Recorded before the event named the backup. AB岗: when the backup takes over, the agent it
    # replaces becomes the backup.
    await conn.execute(
        """UPDATE rm_projects SET agent = $2,
                  backup_agent = CASE WHEN backup_agent = $2 THEN $3 ELSE backup_agent END
           WHERE project_id = $1""",
        e.project_id,
        e.to_agent,
        e.from_agent,
    )


@_on(ev.StageStarted)
async def _stage_started(conn: Connection, stored: StoredEvent, e: ev.StageStarted) -> None:
    await _set_project(conn, e.project_id, stage=e.stage)
    if e.deadline is not None:
        await _clock(
            conn,
            e.project_id,
            stage_clock_id(e.stage),
            "stage",
            deadline=e.deadline,
            stopped=False,
            breached=False,
            is_open=True,
        )


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
           VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $9)
           ON CONFLICT (project_id, matter_code) DO UPDATE SET
               department = EXCLUDED.department, stage = EXCLUDED.stage, mode = EXCLUDED.mode,
               state = 'pending', submissions = greatest(m.submissions, EXCLUDED.submissions),
               statutory_days = EXCLUDED.statutory_days, promised_days = EXCLUDED.promised_days,
               submitted_at = EXCLUDED.submitted_at, updated_at = EXCLUDED.updated_at,
               -- A resubmission (after a rejection or a revocation) starts a new decision.
               approval_mode = NULL, working_days_used = NULL, on_time = NULL,
               approved_at = NULL, decided_at = NULL""",
        e.project_id,
        e.matter_code,
        e.department,
        e.stage,
        e.mode,
        e.submission,
        e.statutory_days,
        e.promised_days,
        stored.occurred_at,
    )
    await _clock(
        conn,
        e.project_id,
        matter_clock_id(e.matter_code, e.submission),
        "matter",
        department=e.department,
        deadline=e.deadline,
        is_open=True,
    )


@_on(ev.MatterExempted)
async def _exempted(conn: Connection, stored: StoredEvent, e: ev.MatterExempted) -> None:
    await conn.execute(
        """INSERT INTO rm_matters AS m (project_id, matter_code, department, stage, mode, state,
                  statutory_days, decided_at, updated_at)
           VALUES ($1, $2, $3, $4, 'regional_assessment', 'exempt', $5, $6, $6)
           ON CONFLICT (project_id, matter_code) DO UPDATE SET
               state = 'exempt', statutory_days = EXCLUDED.statutory_days,
               decided_at = EXCLUDED.decided_at, updated_at = EXCLUDED.updated_at""",
        e.project_id,
        e.matter_code,
        e.department,
        e.stage,
        e.statutory_days,
        stored.occurred_at,
    )
    await _close_clocks(conn, e.project_id, matter_code=e.matter_code, scope="matter")
    await _save_days(conn, e.project_id, "regional", e.statutory_days)


@_on(ev.MatterApproved)
async def _approved(conn: Connection, stored: StoredEvent, e: ev.MatterApproved) -> None:
    await _update_matter(
        conn,
        stored,
        e,
        state="approved",
        approval_mode=e.mode,
        working_days_used=e.working_days_used,
        statutory_days=e.statutory_days,
        on_time=e.on_time,
        approved_at=stored.occurred_at,
        decided_at=stored.occurred_at,
    )
    await _close_clocks(conn, e.project_id, matter_code=e.matter_code, scope="matter")
    await _count_decision(conn, e.department, approved=True, on_time=e.on_time)
    if e.mode in ("commitment", "tolerance"):
        await _save_days(conn, e.project_id, e.mode, e.statutory_days - e.working_days_used)


@_on(ev.MatterRejected)
async def _rejected(conn: Connection, stored: StoredEvent, e: ev.MatterRejected) -> None:
    limits = await _update_matter(
        conn, stored, e, state="rejected", working_days_used=e.working_days_used, decided_at=stored.occurred_at
    )
    await _close_clocks(conn, e.project_id, matter_code=e.matter_code, scope="matter")
    on_time = e.on_time
    if on_time is None:  # recorded before rejections carried their verdict: judge it by the limit
        limit = None if limits is None else limits["limit_days"]
        on_time = limit is None or e.working_days_used <= limit
    await _count_decision(conn, e.department, approved=False, on_time=on_time)


# The lifecycle stops and resumes the matter's clock with ClockStopped / ClockResumed.
@_on(ev.CorrectionRequested)
async def _correction(conn: Connection, stored: StoredEvent, e: ev.CorrectionRequested) -> None:
    await _update_matter(conn, stored, e, state="correction")


@_on(ev.CorrectionSupplied)
async def _supplied(conn: Connection, stored: StoredEvent, e: ev.CorrectionSupplied) -> None:
    await _update_matter(conn, stored, e, state="pending")


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
    await _clock(conn, e.project_id, e.clock_id, e.scope, deadline=e.new_deadline, breached=False if rearmed else None)


@_on(ev.ObligationOpened)
async def _obligation(conn: Connection, stored: StoredEvent, e: ev.ObligationOpened) -> None:
    await _update_matter(conn, stored, e, obligation=e.obligation)
    await _clock(
        conn,
        e.project_id,
        await _obligation_clock(conn, e),
        "obligation",
        department=e.department,
        deadline=e.deadline,
        is_open=True,
    )


@_on(ev.ObligationFulfilled)
async def _fulfilled(conn: Connection, stored: StoredEvent, e: ev.ObligationFulfilled) -> None:
    await _update_matter(conn, stored, e, obligation=None)
    await _clock(conn, e.project_id, await _obligation_clock(conn, e), "obligation", is_open=False)


@_on(ev.ObligationMissed)
async def _missed(conn: Connection, stored: StoredEvent, e: ev.ObligationMissed) -> None:
    await _update_matter(conn, stored, e, obligation=None)
    await _clock(conn, e.project_id, await _obligation_clock(conn, e), "obligation", breached=True, is_open=False)


@_on(ev.ApprovalSuspended)
async def _suspended(conn: Connection, stored: StoredEvent, e: ev.ApprovalSuspended) -> None:
    await _update_matter(conn, stored, e, state="suspended")


@_on(ev.ApprovalReinstated)
async def _reinstated(conn: Connection, stored: StoredEvent, e: ev.ApprovalReinstated) -> None:
    await _update_matter(conn, stored, e, state="approved")


@_on(ev.ApprovalRevoked)
async def _revoked(conn: Connection, stored: StoredEvent, e: ev.ApprovalRevoked) -> None:
    # A failed verification settles the commitment and voids the approval's e-license; the
    # lifecycle resubmits the matter at once (the MatterSubmitted that follows makes it pending).
    await _update_matter(conn, stored, e, approval_mode=None, license_no=None, obligation=None)
    await _close_clocks(conn, e.project_id, matter_code=e.matter_code, scope="obligation")


@_on(ev.DeadlineWarned)
async def _warned(conn: Connection, stored: StoredEvent, e: ev.DeadlineWarned) -> None:
    await _clock(conn, e.project_id, e.clock_id, e.scope, department=e.department, deadline=e.deadline)


@_on(ev.DeadlineBreached)
async def _breached(conn: Connection, stored: StoredEvent, e: ev.DeadlineBreached) -> None:
    await _clock(conn, e.project_id, e.clock_id, e.scope, department=e.department, deadline=e.deadline, breached=True)
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
async def _progress(conn: Connection, stored: StoredEvent, e: ev.ConstructionProgressReported) -> None:
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
           WHERE project_id = $1 AND state NOT IN ('approved', 'exempt')""",
        e.project_id,
        stored.occurred_at,
    )
