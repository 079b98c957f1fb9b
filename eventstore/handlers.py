"""The read models' handlers: one per event type they use (row writers in ``readmodels``).

A handler writes what its event says into ``rm_projects``, ``rm_matters``, ``rm_clocks``,
``rm_department_performance`` and ``rm_zone_totals`` (migrations 0003, 0004, 0082), with the
event's ``occurred_at``, never the wall clock. Matter states are the lifecycle's
(``schemas.project.MatterStateName``). Where an event says what the lifecycle decided (the agent
who becomes the backup, a rejection's on-time verdict, the clock an obligation runs on), the
handler reads it from the event; only events recorded before those fields existed fall back to
working it out here. A breach on a provisional deadline is marked (``rm_clocks.provisional``,
``promise_provisional``: migration 0240) until the deadline is confirmed; a calendar adopted
(``DeadlinesRecomputed``) is read by the version it names (``eventstore.calendars``; a version's
content never changes, so a rebuild projects the same).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import structlog

from eventstore import readmodels as rm
from eventstore.calendars import stored_calendar
from eventstore.codec import acceptance_clock_id, matter_clock_id, permit_clock_id, stage_clock_id, to_domain
from eventstore.figures import project_figures
from eventstore.store import Connection, StoredEvent, columns
from legalclock import CST
from schemas import events as ev
from schemas.events import ClockScope
from schemas.project import MatterStateName
from schemas.stages import Stage

log = structlog.get_logger(__name__)
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


class UnknownEventType(Exception):
    """An event of a type this release does not know: written by a newer release (a rolling
    upgrade's old projector still holding the lock) or by hand. It is quarantined, not skipped,
    so a release that knows it projects it (``Projector`` retries such events when it leads)."""


async def project(conn: Connection, stored: StoredEvent) -> None:
    """Apply one event to the read models (no bookkeeping); raise whatever its handler raises.

    Raises:
        UnknownEventType: ``stored.event_type`` is not in this release's vocabulary.
    """
    if stored.event_type not in ev.EVENT_TYPES:
        raise UnknownEventType(
            f"{stored.event_type} is not an event type of this release: a newer release wrote it, "
            "and its projector projects it"
        )
    handler = HANDLERS.get(stored.event_type)
    event = to_domain(stored)
    if handler is not None and event is not None:
        await handler(conn, stored, event)
    await project_figures(conn, stored)  # ratings and the figures' facts (eventstore.figures)


async def _open_clock(
    conn: Connection, e: ev.MatterSubmitted | ev.ObligationOpened, clock_id: str, scope: ClockScope
) -> None:
    """Open the clock an event starts: its department's, due at the event's deadline."""
    promised = e.promised_deadline if isinstance(e, ev.MatterSubmitted) else None
    await rm.clock(
        conn,
        e.project_id,
        clock_id,
        scope,
        department=e.department,
        deadline=e.deadline,
        is_open=True,
        promised_deadline=promised,
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
        *columns(items, "matter_code", "matter_name", "department", "stage", "mode", "statutory_days", "promised_days"),
    )
    if e.process_deadline is not None:
        await rm.clock(conn, e.project_id, "process", "process", deadline=e.process_deadline, is_open=True)


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
    await rm.set_project(conn, e.project_id, stage=e.stage)
    if e.deadline is not None:
        # Its lead department answers for it from the start (filing rule 2): ``overdue --department``
        # finds it before a warning or breach names the department.
        await rm.start_clock(conn, e.project_id, stage_clock_id(e.stage), "stage", e.deadline, e.lead_department)


@_on(ev.StageCompleted)
async def _stage_completed(conn: Connection, stored: StoredEvent, e: ev.StageCompleted) -> None:
    await rm.close_clocks(conn, e.project_id, scope="stage", stage=e.stage)
    if e.stage == Stage.CONSTRUCTION_PERMIT:
        # The whole-process cap covers the approvals up to the construction permit; the
        # lifecycle closes that clock here without an event of its own.
        await rm.close_clocks(conn, e.project_id, scope="process")


@_on(ev.ApplicationReceived)
async def _received(conn: Connection, stored: StoredEvent, e: ev.ApplicationReceived) -> None:
    """An application to accept: the matter is ``received`` and the department's 5 days run (§32)."""
    await conn.execute(
        """UPDATE rm_matters SET state = 'received', submissions = greatest(submissions, $3),
                  submitted_at = $4, updated_at = $4
           WHERE project_id = $1 AND matter_code = $2""",
        e.project_id,
        e.matter_code,
        e.submission,
        stored.occurred_at,
    )
    await rm.clock(
        conn,
        e.project_id,
        acceptance_clock_id(e.matter_code, e.submission),
        "acceptance",
        department=e.department,
        deadline=e.acceptance_deadline,
        is_open=True,
    )
    # The enterprise's own period to file ends with the receipt (filing rule 2).
    await rm.close_clocks(conn, e.project_id, matter_code=e.matter_code, scope="enterprise")


@_on(ev.FilingPeriodOpened)
async def _filing_period(conn: Connection, stored: StoredEvent, e: ev.FilingPeriodOpened) -> None:
    """The enterprise's period to file: its clock, no department's (a late filing is the enterprise's)."""
    await rm.clock(conn, e.project_id, e.clock_id, "enterprise", deadline=e.deadline, is_open=True)


async def _acceptance_ends(conn: Connection, e: ev.MatterEvent) -> None:
    await rm.close_clocks(conn, e.project_id, matter_code=e.matter_code, scope="acceptance")


@_on(ev.CompletionRequested)
async def _completion_requested(conn: Connection, stored: StoredEvent, e: ev.CompletionRequested) -> None:
    await rm.update_matter(conn, stored, e, state="incomplete")
    await _acceptance_ends(conn, e)


@_on(ev.ApplicationRefused)
async def _refused(conn: Connection, stored: StoredEvent, e: ev.ApplicationRefused) -> None:
    await rm.update_matter(conn, stored, e, state="to_apply")
    await _acceptance_ends(conn, e)


@_on(ev.ApplicationAccepted)
async def _accepted(conn: Connection, stored: StoredEvent, e: ev.ApplicationAccepted) -> None:
    """受理: the decision clock opens as on a submission (the fields are ``MatterSubmitted``'s)."""
    await _acceptance_ends(conn, e)
    await _submitted(conn, stored, e)


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
    await _open_clock(conn, e, matter_clock_id(e.matter_code, e.submission), "matter")


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
    await rm.close_clocks(conn, e.project_id, matter_code=e.matter_code, scope="matter")
    # An exemption from a matter the law sets no period for (promise-only rule 2) saves no legal days.
    # A limit the law states in days (日) saved the working days it would have spanned.
    await rm.save_days(conn, e.project_id, "regional", e.statutory_in_working_days or 0.0)


@_on(ev.MatterApproved)
async def _approved(conn: Connection, stored: StoredEvent, e: ev.MatterApproved) -> None:
    await rm.update_matter(
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
    await rm.close_clocks(conn, e.project_id, matter_code=e.matter_code, scope="matter")
    await _acceptance_ends(conn, e)  # a filing approved on receipt has no ApplicationAccepted
    await rm.count_decision(conn, e.department, project_id=e.project_id, approved=True, on_time=e.on_time)
    await _count_saving(conn, e.project_id, e.mode, e.statutory_in_working_days, e.working_days_used)


async def _count_saving(
    conn: Connection, project_id: str, mode: str | None, statutory: float | None, used: float | None, sign: int = 1
) -> None:
    """The working days an approval by commitment or tolerance saved against its statutory limit,
    added to the zone's totals with its count (``sign`` -1: taken back, the approval revoked)."""
    if mode in ("commitment", "tolerance") and statutory is not None:
        await rm.save_days(conn, project_id, mode, sign * (statutory - (used or 0)), approvals=sign)


@_on(ev.MatterRejected)
async def _rejected(conn: Connection, stored: StoredEvent, e: ev.MatterRejected) -> None:
    limits = await rm.update_matter(
        conn, stored, e, state="rejected", working_days_used=e.working_days_used, decided_at=stored.occurred_at
    )
    await rm.close_clocks(conn, e.project_id, matter_code=e.matter_code, scope="matter")
    on_time = e.on_time
    if on_time is None:  # recorded before rejections carried their verdict: judge it by the limit
        limit = None if limits is None else limits["limit_days"]
        on_time = limit is None or e.working_days_used <= limit
    await rm.count_decision(conn, e.department, project_id=e.project_id, approved=False, on_time=on_time)


# Events that only move their matter to another state. (The lifecycle stops and resumes the
# matter's clock around a correction with ClockStopped / ClockResumed.)
MATTER_STATES: dict[type[ev.MatterEvent], MatterStateName] = {
    ev.ApplicationOpened: "to_apply",
    ev.CorrectionRequested: "correction",
    ev.CorrectionSupplied: "pending",
    ev.ApprovalSuspended: "suspended",
    ev.ApprovalReinstated: "approved",
}


def _moves_matter_to(state: MatterStateName) -> Callable[[Connection, StoredEvent, ev.MatterEvent], Awaitable[None]]:
    async def handler(conn: Connection, stored: StoredEvent, e: ev.MatterEvent) -> None:
        await rm.update_matter(conn, stored, e, state=state)

    return handler


for _event, _state in MATTER_STATES.items():
    _on(_event)(_moves_matter_to(_state))


# A stopped clock has no deadline (the lifecycle calls it paused), and resuming moves it by
# working days only the legal clock can count: unknown here until a DeadlineWarned, LimitExtended
# or DeadlineBreached names it again.
@_on(ev.ClockStopped)
async def _clock_stopped(conn: Connection, stored: StoredEvent, e: ev.ClockStopped) -> None:
    await rm.clock(conn, e.project_id, e.clock_id, e.scope, stopped=True, deadline=None, promised_deadline=None)


@_on(ev.ClockResumed)
async def _clock_resumed(conn: Connection, stored: StoredEvent, e: ev.ClockResumed) -> None:
    # Events recorded before ClockResumed carried the new deadline leave it as it was.
    await _deadlines_moved(conn, e, e.new_deadline, e.new_promised_deadline, stopped=False)


async def _deadlines_moved(
    conn: Connection,
    e: ev.ClockResumed | ev.LimitExtended,
    deadline: datetime | None,
    promised: datetime | None,
    *,
    rearm_after: datetime | None = None,
    stopped: bool | None = None,
) -> None:
    """A clock's deadlines moved; a deadline the event does not name stays as it was. Like the
    lifecycle, a deadline still ahead of ``rearm_after`` re-arms its breach (or missed promise)."""

    def rearmed(at: datetime | None) -> bool | None:
        return False if rearm_after is not None and at is not None and at > rearm_after else None

    await rm.clock(
        conn,
        e.project_id,
        e.clock_id,
        e.scope,
        stopped=stopped,
        deadline=rm.KEEP if deadline is None else deadline,
        breached=rearmed(deadline),
        promised_deadline=rm.KEEP if promised is None else promised,
        promise_missed=rearmed(promised),
    )


@_on(ev.DeadlinesRecomputed)
async def _recomputed(conn: Connection, stored: StoredEvent, e: ev.DeadlinesRecomputed) -> None:
    # A deadline that moved into the future ends the breach (or the missed promise), as the
    # lifecycle re-arms it.
    for clock_id, deadline in e.deadlines.items():
        rearmed = deadline is not None and deadline > stored.occurred_at
        await rm.clock(conn, e.project_id, clock_id, deadline=deadline, breached=False if rearmed else None)
    for clock_id, deadline in e.promised_deadlines.items():
        rearmed = deadline is not None and deadline > stored.occurred_at
        await rm.clock(
            conn, e.project_id, clock_id, promised_deadline=deadline, promise_missed=False if rearmed else None
        )
    await _confirm_provisional(conn, e)


async def _confirm_provisional(conn: Connection, e: ev.DeadlinesRecomputed) -> None:
    """Clear the provisional mark of the breaches whose deadline the adopted calendar confirms.

    The lifecycle calls a deadline provisional when a year from the clock's start to the deadline
    lacks the State Council's notice (``legalclock``: statutory holidays known, 调休 not). The read
    models do not keep a clock's start, so the project's registration stands for it (no clock
    starts before): a mark is cleared when the calendar of ``e.calendar_version`` holds the official
    data of every year from the registration to the deadline (as it is now). It never sets a mark:
    a calendar only adds or corrects official years (``ProjectMachine.check_calendar``). A version
    this database does not hold, or a stopped clock (no deadline), leaves the mark as it is.
    """
    rows = await conn.fetch(
        """SELECT c.clock_id, c.deadline, c.promised_deadline, c.provisional, c.promise_provisional,
                  p.registered_at
           FROM rm_clocks c JOIN rm_projects p USING (project_id)
           WHERE c.project_id = $1 AND (c.provisional OR c.promise_provisional)""",
        e.project_id,
    )
    if not rows:
        return
    calendar = await stored_calendar(conn, e.calendar_version)
    if calendar is None:
        log.warning(
            "provisional breaches kept: calendar version not stored",
            project_id=e.project_id,
            calendar_version=e.calendar_version,
        )
        return
    index = calendar.day_index

    def confirmed(deadline: datetime | None, since: datetime) -> bool:
        first = since.astimezone(CST).date()
        return deadline is not None and not index.provisional(first, deadline.astimezone(CST).date())

    for r in rows:
        statutory = r["provisional"] and confirmed(r["deadline"], r["registered_at"])
        promise = r["promise_provisional"] and confirmed(r["promised_deadline"] or r["deadline"], r["registered_at"])
        if statutory or promise:
            await rm.clock(
                conn,
                e.project_id,
                r["clock_id"],
                provisional=False if statutory else None,
                promise_provisional=False if promise else None,
            )


@_on(ev.ContentMigrated)
async def _migrated(conn: Connection, stored: StoredEvent, e: ev.ContentMigrated) -> None:
    # The moved clocks' deadlines, re-armed as the lifecycle re-arms them (a deadline now ahead).
    for move in e.moves:
        ahead = move.deadline is not None and move.deadline > stored.occurred_at
        promise = move.promised_days is not None or move.promised_days_was is not None
        promised_ahead = move.promised_deadline is not None and move.promised_deadline > stored.occurred_at
        await rm.clock(
            conn,
            e.project_id,
            move.clock_id,
            deadline=move.deadline,
            breached=False if ahead and move.deadline != move.deadline_was else None,
            promised_deadline=move.promised_deadline if promise else rm.KEEP,
            promise_missed=False if promise and promised_ahead else None,
            is_open=False if move.limit_days is None else None,  # a stage limit the new policy removed
        )
    # The checklist's new limits (and names) on the matters still open; a decided matter keeps the
    # limits it was decided under, and a resubmission takes the new ones from its own event.
    if e.checklist is not None:
        await conn.execute(
            """UPDATE rm_matters m SET matter_name = i.name, statutory_days = i.statutory,
                      promised_days = i.promised, updated_at = $2
               FROM unnest($3::text[], $4::text[], $5::float8[], $6::float8[]) AS i(code, name, statutory, promised)
               WHERE m.project_id = $1 AND m.matter_code = i.code
                 AND m.state IN ('waiting', 'to_apply', 'received', 'incomplete', 'pending', 'correction',
                                 'suspended')""",
            e.project_id,
            stored.occurred_at,
            *columns(e.checklist, "matter_code", "matter_name", "statutory_days", "promised_days"),
        )


@_on(ev.LimitExtended)
async def _extended(conn: Connection, stored: StoredEvent, e: ev.LimitExtended) -> None:
    await _deadlines_moved(conn, e, e.new_deadline, e.new_promised_deadline, rearm_after=stored.occurred_at)
    # The decision on this clock is judged against the extended limit (eventstore.figures).
    await conn.execute(
        "UPDATE rm_clocks SET extension_days = $3 WHERE project_id = $1 AND clock_id = $2",
        e.project_id,
        e.clock_id,
        e.days,
    )


@_on(ev.ObligationOpened)
async def _obligation(conn: Connection, stored: StoredEvent, e: ev.ObligationOpened) -> None:
    await rm.update_matter(conn, stored, e, obligation=e.obligation)
    await _open_clock(conn, e, await rm.obligation_clock(conn, e), "obligation")


@_on(ev.ObligationFulfilled)
async def _fulfilled(conn: Connection, stored: StoredEvent, e: ev.ObligationFulfilled) -> None:
    await rm.update_matter(conn, stored, e, obligation=None)
    await rm.clock(conn, e.project_id, await rm.obligation_clock(conn, e), "obligation", is_open=False)


@_on(ev.ObligationMissed)
async def _missed(conn: Connection, stored: StoredEvent, e: ev.ObligationMissed) -> None:
    await rm.update_matter(conn, stored, e, obligation=None)
    await rm.clock(conn, e.project_id, await rm.obligation_clock(conn, e), "obligation", breached=True, is_open=False)


@_on(ev.ApprovalRevoked)
async def _revoked(conn: Connection, stored: StoredEvent, e: ev.ApprovalRevoked) -> None:
    # A failed verification settles the commitment and voids the approval's e-license; the
    # lifecycle resubmits the matter at once (the MatterSubmitted that follows makes it pending).
    # The approval saved nothing after all: its days and its count leave the zone's totals.
    # The days it saved as counted then: a limit in days (日) as the working days it spanned, which
    # the zone's savings row keeps (``eventstore.figures``), the matter's statutory days otherwise.
    row = await conn.fetchrow(
        """SELECT m.approval_mode, coalesce(s.statutory_days, m.statutory_days) AS statutory_days,
                  m.working_days_used
           FROM rm_matters m LEFT JOIN rm_savings s USING (project_id, matter_code)
           WHERE m.project_id = $1 AND m.matter_code = $2""",
        e.project_id,
        e.matter_code,
    )
    if row is not None:
        await _count_saving(
            conn, e.project_id, row["approval_mode"], row["statutory_days"], row["working_days_used"], sign=-1
        )
    await rm.update_matter(conn, stored, e, approval_mode=None, license_no=None, obligation=None)
    await rm.close_clocks(conn, e.project_id, matter_code=e.matter_code, scope="obligation")


@_on(ev.DeadlineWarned)
async def _warned(conn: Connection, stored: StoredEvent, e: ev.DeadlineWarned) -> None:
    await rm.clock(conn, e.project_id, e.clock_id, e.scope, department=e.department)
    await rm.warned_deadline(conn, e.project_id, e.clock_id, e.deadline)


@_on(ev.DeadlineBreached)
async def _breached(conn: Connection, stored: StoredEvent, e: ev.DeadlineBreached) -> None:
    # ``provisional``: the deadline was counted over a year without the State Council's notice; the
    # overdue board marks the breach until the deadline is confirmed (_confirmed, _recomputed).
    if e.limit == "promised":  # the zone's promise, not a legal breach: 督办, counted apart
        await rm.clock(
            conn,
            e.project_id,
            e.clock_id,
            e.scope,
            department=e.department,
            promise_missed=True,
            promise_provisional=e.provisional,
        )
        return
    await _mark_breached(conn, e, provisional=e.provisional)
    if e.department is not None and _departments_breach(e):
        await rm.add_department_counts(conn, e.department, project_id=e.project_id, breaches=1)


async def _mark_breached(
    conn: Connection, e: ev.DeadlineBreached | ev.DeemedAcceptanceHeld, *, provisional: bool
) -> None:
    """The clock's statutory deadline passed at ``e.deadline`` (``provisional``: on uncertain data)."""
    await rm.clock(
        conn,
        e.project_id,
        e.clock_id,
        e.scope,
        department=e.department,
        deadline=e.deadline,
        breached=True,
        provisional=provisional,
    )


def _departments_breach(e: ev.DeadlineBreached) -> bool:
    """Whether the breach is the department's own (``report departments``: its decisions and
    acceptances past the statutory limit, 行政许可法 §32 and §42, and a commitment approval's
    verification it owes); not a stage's (its lead answers for it), a rating's callback or fix, the
    enterprise's own period to file, nor the materials the enterprise owes under tolerance (容缺)."""
    if e.scope in ("matter", "acceptance"):
        return True
    return e.scope == "obligation" and ":verification:" in e.clock_id


@_on(ev.ProvisionalDeadlineConfirmed)
async def _confirmed(conn: Connection, stored: StoredEvent, e: ev.ProvisionalDeadlineConfirmed) -> None:
    # An operator confirmed the clock's provisional deadline (``confirm_deadline``): its breach no
    # longer rests on uncertain data; the promise, counted over the same days, neither.
    await rm.clock(conn, e.project_id, e.clock_id, provisional=False, promise_provisional=False)


@_on(ev.DeemedAcceptanceHeld)
async def _acceptance_held(conn: Connection, stored: StoredEvent, e: ev.DeemedAcceptanceHeld) -> None:
    # The department was silent past a provisional period to accept (行政许可法 §32 ¶1(4)): on the
    # overdue board, marked provisional until the notice or an operator confirms it (_confirmed,
    # _recomputed, which also re-arms it when the notice moves its end later); it leaves the board
    # when the application is accepted, deemed accepted, sent back or refused (_acceptance_ends).
    await _mark_breached(conn, e, provisional=True)


@_on(ev.EscalatedToLead)
async def _escalated(conn: Connection, stored: StoredEvent, e: ev.EscalatedToLead) -> None:
    await rm.clock(conn, e.project_id, e.clock_id, e.scope, escalation="lead")


@_on(ev.JointMeetingConvened)
async def _meeting(conn: Connection, stored: StoredEvent, e: ev.JointMeetingConvened) -> None:
    await rm.clock(conn, e.project_id, e.clock_id, escalation="joint_meeting", meeting_id=e.meeting_id)


@_on(ev.JointMeetingResolved)
async def _meeting_resolved(conn: Connection, stored: StoredEvent, e: ev.JointMeetingResolved) -> None:
    # The meeting decided (its resolution is in the timeline); the clock stays on the board while
    # still breached, its escalation now saying so, until the resolution's extension or decision.
    await conn.execute(
        """UPDATE rm_clocks SET escalation = 'meeting_resolved'
           WHERE project_id = $1 AND meeting_id = $2 AND escalation = 'joint_meeting'""",
        e.project_id,
        e.meeting_id,
    )


@_on(ev.StopOverran)
async def _stop_overran(conn: Connection, stored: StoredEvent, e: ev.StopOverran) -> None:
    # 行政许可法 §45: the stop outlasted the length it declared; the lifecycle escalated it (督办) to
    # the project lead. The stopped clock has no deadline, so only this puts it on the board.
    await rm.clock(conn, e.project_id, e.clock_id, e.scope, department=e.department, stop_overran=True)


@_on(ev.DepartmentFaultRecorded)
async def _department_fault(conn: Connection, stored: StoredEvent, e: ev.DepartmentFaultRecorded) -> None:
    # A procedural fault recorded for the department's accountability (e.g. 行政许可法 §72(4)).
    await rm.add_department_counts(conn, e.department, project_id=e.project_id, faults=1)


@_on(ev.ELicenseIssued)
async def _license(conn: Connection, stored: StoredEvent, e: ev.ELicenseIssued) -> None:
    await rm.update_matter(conn, stored, e, license_no=e.license_no, license_status=None)


@_on(ev.LicenseStatusChanged)
async def _license_status(conn: Connection, stored: StoredEvent, e: ev.LicenseStatusChanged) -> None:
    await rm.update_matter(conn, stored, e, license_status=e.status)


@_on(ev.CommencementPeriodStarted)
async def _permit_issued(conn: Connection, stored: StoredEvent, e: ev.CommencementPeriodStarted) -> None:
    # Construction must start by ``expires_at`` (建筑法 §9): the project's nearest deadline and the
    # dashboard show it, as the lifecycle's ``nearest_deadline`` does. The enterprise's period, not a
    # department's limit (no department): it lapses, it is never breached nor overdue.
    await rm.start_clock(conn, e.project_id, permit_clock_id(e.matter_code), "permit", e.expires_at)


@_on(ev.PermitExtended)
async def _permit_extended(conn: Connection, stored: StoredEvent, e: ev.PermitExtended) -> None:
    await rm.clock(conn, e.project_id, permit_clock_id(e.matter_code), "permit", deadline=e.expires_at)


@_on(ev.ConstructionStarted)
async def _construction_started(conn: Connection, stored: StoredEvent, e: ev.ConstructionStarted) -> None:
    await rm.clock(conn, e.project_id, permit_clock_id(e.matter_code), "permit", is_open=False)


@_on(ev.PermitLapsed)
async def _permit_lapsed(conn: Connection, stored: StoredEvent, e: ev.PermitLapsed) -> None:
    # The lapsed permit no longer stands for the matter; the lifecycle reopens it for a new
    # application (the events that follow make it to apply or pending).
    await rm.update_matter(conn, stored, e, approval_mode=None, license_no=None, license_status="lapsed")
    await rm.clock(conn, e.project_id, permit_clock_id(e.matter_code), "permit", is_open=False)
    if e.obligations_ended:  # owed for the lapsed approval (permit rule 2): ended with it
        await rm.update_matter(conn, stored, e, obligation=None)
        for clock_id in e.obligations_ended:
            await rm.clock(conn, e.project_id, clock_id, "obligation", is_open=False)


@_on(ev.ConstructionProgressReported)
async def _progress(conn: Connection, stored: StoredEvent, e: ev.ConstructionProgressReported) -> None:
    await rm.set_project(conn, e.project_id, construction_percent=e.percent)


@_on(ev.ProjectInProduction)
async def _in_production(conn: Connection, stored: StoredEvent, e: ev.ProjectInProduction) -> None:
    await rm.set_project(conn, e.project_id, stage=Stage.IN_PRODUCTION.value, status="in_production")
    # As the lifecycle (``workflows.lifecycle.stages``): the clocks the event names keep running, with
    # their escalation (verifications owed; under production rule 2 a bad rating's callback and fix);
    # an event written before that rule names none, and its project kept the obligations' clocks.
    if e.clocks_running is None:
        await rm.close_clocks(conn, e.project_id, keep_scope="obligation")
    else:
        await rm.close_clocks(conn, e.project_id, keep=e.clocks_running)


@_on(ev.ProjectWithdrawn)
async def _withdrawn(conn: Connection, stored: StoredEvent, e: ev.ProjectWithdrawn) -> None:
    await rm.set_project(conn, e.project_id, stage=Stage.WITHDRAWN.value, status="withdrawn")
    await rm.close_clocks(conn, e.project_id)
    await conn.execute(
        """UPDATE rm_matters SET state = 'withdrawn', updated_at = $2
           WHERE project_id = $1 AND state NOT IN ('approved', 'exempt')""",
        e.project_id,
        stored.occurred_at,
    )


@_on(ev.CreditRecorded)
async def _credit(conn: Connection, stored: StoredEvent, e: ev.CreditRecorded) -> None:
    """A failed commitment in the enterprise's credit record (国办发〔2020〕42号)."""
    await conn.execute(
        """INSERT INTO rm_credit_records (event_id, project_id, enterprise, matter_code, department, findings,
                  consequence, verified_by, recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (event_id) DO NOTHING""",
        stored.event_id,
        e.project_id,
        e.enterprise,
        e.matter_code,
        e.department,
        e.findings,
        e.consequence,
        e.verified_by,
        stored.occurred_at,
    )
