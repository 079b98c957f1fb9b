"""Row writers of the read models (``rm_*``), shared by the projector's handlers.

Each writes what one event says into ``rm_projects``, ``rm_matters``, ``rm_clocks``,
``rm_department_performance`` or ``rm_zone_totals``; column names are checked against fixed
whitelists before they reach SQL text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from eventstore.codec import obligation_clock_id, parse_clock_id
from eventstore.store import Connection, StoredEvent
from schemas import events as ev

KEEP: Any = object()  # "leave this clock's deadline as it is"


_UPSERT_CLOCK = """
INSERT INTO rm_clocks AS c (project_id, clock_id, scope, department, matter_code, submission,
                            stage, deadline, stopped, breached, escalation, open,
                            promised_deadline, promise_missed, provisional, promise_provisional,
                            stop_overran, meeting_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, false), coalesce($10, false), $11,
        coalesce($12, true), $14, coalesce($16, false), coalesce($17, false), coalesce($18, false),
        coalesce($19, false), $20)
ON CONFLICT (project_id, clock_id) DO UPDATE SET
    department = coalesce(EXCLUDED.department, c.department),
    deadline = CASE WHEN $13 THEN EXCLUDED.deadline ELSE c.deadline END,
    stopped = coalesce($9, c.stopped),
    breached = coalesce($10, c.breached),
    -- Re-arming a clock (an extension) ends its escalation.
    escalation = coalesce($11, CASE WHEN $10 = false THEN NULL ELSE c.escalation END),
    open = coalesce($12, c.open),
    -- The zone's promise on the same clock (two limits per matter).
    promised_deadline = CASE WHEN $15 THEN EXCLUDED.promised_deadline ELSE c.promised_deadline END,
    -- On a clock without a promise beside its limit, a missed promise is its breach (a contract
    -- under promise-only rule 2: ``DeadlineBreached.limit`` "promised"): re-arming ends both.
    promise_missed = coalesce($16, CASE WHEN $10 = false AND $21 THEN false ELSE c.promise_missed END),
    -- Whether each breach rests on a provisional deadline (migration 0240); re-arming ends it too.
    provisional = coalesce($17, CASE WHEN $10 = false THEN false ELSE c.provisional END),
    promise_provisional = coalesce(
        $18, CASE WHEN $16 = false OR ($10 = false AND $21) THEN false ELSE c.promise_provisional END),
    -- A stop that outlasted its declared length (migration 0250); it ends when the clock resumes.
    stop_overran = coalesce($19, CASE WHEN $9 = false THEN false ELSE c.stop_overran END),
    meeting_id = coalesce($20, c.meeting_id)
"""
# $21: the clock has no promised deadline beside its limit after this update.
_ONE_LIMIT = "(CASE WHEN $15 THEN EXCLUDED.promised_deadline ELSE c.promised_deadline END) IS NULL"
_UPSERT_CLOCK = _UPSERT_CLOCK.replace("$21", _ONE_LIMIT)


async def clock(
    conn: Connection,
    project_id: str,
    clock_id: str,
    scope: str | None = None,
    *,
    department: str | None = None,
    deadline: datetime | None = KEEP,
    stopped: bool | None = None,
    breached: bool | None = None,
    escalation: str | None = None,
    is_open: bool | None = None,
    promised_deadline: datetime | None = KEEP,
    promise_missed: bool | None = None,
    provisional: bool | None = None,
    promise_provisional: bool | None = None,
    stop_overran: bool | None = None,
    meeting_id: str | None = None,
) -> None:
    """Create or update one clock; a None argument (``KEEP`` for deadlines) leaves that column as it is.

    ``provisional`` / ``promise_provisional``: the statutory breach / the missed promise was recorded
    on a provisional deadline (``DeadlineBreached.provisional``); re-arming a breach
    (``breached=False``, ``promise_missed=False``) clears its flag unless given, and
    ``breached=False`` on a clock without a promised deadline also ends its missed promise (a
    contract's breach under promise-only rule 2 is its promise's). ``stop_overran``:
    the clock's stop outlasted its declared length (``StopOverran``); resuming (``stopped=False``)
    clears it. ``meeting_id``: the joint meeting convened on the clock.
    """
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
        None if deadline is KEEP else deadline,
        stopped,
        breached,
        escalation,
        is_open,
        deadline is not KEEP,
        None if promised_deadline is KEEP else promised_deadline,
        promised_deadline is not KEEP,
        promise_missed,
        provisional,
        promise_provisional,
        stop_overran,
        meeting_id,
    )


async def start_clock(
    conn: Connection,
    project_id: str,
    clock_id: str,
    scope: str,
    deadline: datetime,
    department: str | None = None,
) -> None:
    """Open (or open again) a clock running to ``deadline``: not stopped, not breached."""
    await clock(
        conn,
        project_id,
        clock_id,
        scope,
        department=department,
        deadline=deadline,
        stopped=False,
        breached=False,
        is_open=True,
    )


async def warned_deadline(conn: Connection, project_id: str, clock_id: str, deadline: datetime) -> None:
    """A warning names the deadline it warns of: the statutory one only on a clock without a promise."""
    await conn.execute(
        """UPDATE rm_clocks SET deadline = $3
           WHERE project_id = $1 AND clock_id = $2 AND promised_deadline IS NULL""",
        project_id,
        clock_id,
        deadline,
    )


async def obligation_clock(
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


async def close_clocks(
    conn: Connection,
    project_id: str,
    *,
    scope: str | None = None,
    matter_code: str | None = None,
    stage: str | None = None,
    keep_scope: str | None = None,
    keep: list[str] | None = None,
) -> None:
    """Close the project's open clocks (those of ``scope``, ``matter_code``, ``stage`` where given),
    all but those of ``keep_scope`` and those whose clock id ``keep`` lists."""
    await conn.execute(
        """UPDATE rm_clocks SET open = false
           WHERE project_id = $1 AND open AND ($2::text IS NULL OR scope = $2)
             AND ($3::text IS NULL OR matter_code = $3) AND ($4::text IS NULL OR stage = $4)
             AND ($5::text IS NULL OR scope <> $5)
             AND NOT (clock_id = ANY(coalesce($6::text[], '{}')))""",
        project_id,
        scope,
        matter_code,
        stage,
        keep_scope,
        keep,
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
        "license_status",
        "approved_at",
        "decided_at",
    }
)


async def update_matter(
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


async def count_decision(conn: Connection, department: str, *, project_id: str, approved: bool, on_time: bool) -> None:
    await add_department_counts(
        conn,
        department,
        project_id=project_id,
        decided=1,
        approved=int(approved),
        rejected=int(not approved),
        on_time=int(on_time),
    )


async def add_department_counts(
    conn: Connection,
    department: str,
    *,
    project_id: str,
    decided: int = 0,
    approved: int = 0,
    rejected: int = 0,
    on_time: int = 0,
    breaches: int = 0,
    faults: int = 0,
) -> None:
    # Counted under the project's zone (migration 0130): a zone's departments are its own rows.
    await conn.execute(
        """INSERT INTO rm_department_performance AS d (zone, department, decided_count, approved_count,
                  rejected_count, on_time_count, breaches_count, faults_count)
           VALUES (coalesce((SELECT zone FROM rm_projects WHERE project_id = $7), ''), $1, $2, $3, $4, $5, $6, $8)
           ON CONFLICT (zone, department) DO UPDATE SET
               decided_count = d.decided_count + EXCLUDED.decided_count,
               approved_count = d.approved_count + EXCLUDED.approved_count,
               rejected_count = d.rejected_count + EXCLUDED.rejected_count,
               on_time_count = d.on_time_count + EXCLUDED.on_time_count,
               breaches_count = d.breaches_count + EXCLUDED.breaches_count,
               faults_count = d.faults_count + EXCLUDED.faults_count""",
        department,
        decided,
        approved,
        rejected,
        on_time,
        breaches,
        project_id,
        faults,
    )


async def save_days(conn: Connection, project_id: str, kind: str, days: float, approvals: int = 1) -> None:
    """Add ``days`` saved by ``kind`` (commitment, tolerance, regional) and ``approvals`` (-1 with
    negative ``days``: an approval revoked) to the project's zone."""
    await conn.execute(
        """INSERT INTO rm_zone_totals AS z (zone, commitment_approvals, days_saved_commitment,
                  tolerance_approvals, days_saved_tolerance, regional_exemptions,
                  days_saved_regional_assessment)
           SELECT zone, ($2 = 'commitment')::int * $4, CASE WHEN $2 = 'commitment' THEN $3 ELSE 0 END,
                  ($2 = 'tolerance')::int * $4, CASE WHEN $2 = 'tolerance' THEN $3 ELSE 0 END,
                  ($2 = 'regional')::int * $4, CASE WHEN $2 = 'regional' THEN $3 ELSE 0 END
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
        approvals,
    )


async def set_project(conn: Connection, project_id: str, **values: Any) -> None:
    columns = sorted(values)
    if not set(columns) <= {"stage", "status", "construction_percent"}:
        raise ValueError(f"not a project column: {columns}")
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
    await conn.execute(
        f"UPDATE rm_projects SET {assignments} WHERE project_id = $1",
        project_id,
        *(values[c] for c in columns),
    )
