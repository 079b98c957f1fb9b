"""Read queries over the event store and the read models, for the CLI and the HTTP gateway.

Every function reads; each returns frozen pydantic models. Matter states are the lifecycle's
(``schemas.project.MatterStateName``). The tables' writers live with their tables: ``projector``
(read models), ``inbox``, ``outbox``, ``licences``, ``calendars``, ``content``, ``faults``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from catalog.models import ZonePolicy
from eventstore.calendars import current_calendar
from eventstore.codec import to_domain
from eventstore.store import Executor, StoredEvent, read_stream
from eventstore.versions import current_zone
from legalclock import CST, OfficeHours, OfficialCalendar, working_minutes_between
from schemas import events as ev
from schemas.stages import Stage


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TimelineEntry(_View):
    """One event of a project's stream, with a line a person can read."""

    position: int
    version: int
    event_type: str
    occurred_at: datetime
    summary: str


class MatterView(_View):
    """One row of ``rm_matters``."""

    project_id: str
    matter_code: str
    matter_name: str | None
    department: str
    stage: str
    mode: str
    approval_mode: str | None
    state: str
    submissions: int
    statutory_days: float | None
    promised_days: float | None
    deadline: datetime | None
    working_days_used: float | None
    overdue: bool
    on_time: bool | None
    obligation: str | None
    license_no: str | None
    # The licence's status when it changed (modes rule 2: suspended, valid again, lapsed).
    license_status: str | None = None
    submitted_at: datetime | None
    approved_at: datetime | None
    decided_at: datetime | None
    updated_at: datetime


class ProjectView(ev.ProjectHeader):
    """One row of ``rm_projects`` with its matters."""

    stage: str
    status: str
    nearest_deadline: datetime | None
    overdue: bool
    construction_percent: int | None
    registered_at: datetime
    updated_at: datetime
    last_version: int
    events_applied: int
    matters: list[MatterView]


class OverdueItem(_View):
    """A clock past its deadline: a matter, a stage, an obligation or the whole process."""

    project_id: str
    project_name: str
    zone: str
    agent: str
    project_lead: str
    clock_id: str
    scope: str
    department: str | None
    matter_code: str | None
    matter_name: str | None
    # The deadline the zone answers for: its promise when there is one, else the statutory one.
    deadline: datetime | None
    # The statutory limit passed (a legal breach); ``promise_missed``: the zone's promise passed.
    breached: bool
    promise_missed: bool = False
    # 督办 so far: ``lead`` (escalated to the project lead), ``joint_meeting`` (联席会议 convened),
    # ``meeting_resolved`` (the meeting decided; the clock is still overdue until it acts on it).
    escalation: str | None
    # The clock is stopped and its stop outlasted the length it declared (行政许可法 §45,
    # ``StopOverran``): escalated to the project lead; no deadline runs while stopped.
    stop_overran: bool = False
    # The breach recorded rests on a provisional deadline: one counted over a year without the State
    # Council's holiday notice (statutory holidays known, 调休 not; ``DeadlineBreached.provisional``),
    # so it may move once the notice is out. Cleared when the notice (a calendar adopted) or an
    # operator (``confirm_deadline``) confirms the deadline. False while no breach is recorded.
    provisional: bool = False
    # How late at the query's instant, past ``deadline``, in working time of the legal clock
    # (行政许可法 §82: periods count working days, statutory holidays not counted; 调休 make-up days
    # counted): in working days (a working day is the zone's office hours of one day, 7 hours by
    # default) and the same in office hours. None without a deadline (a stopped clock).
    late_working_days: float | None = None
    late_working_hours: float | None = None

    @property
    def late_by(self) -> str:
        """The lateness for a person: working days, or working hours under one working day."""
        if self.late_working_days is None or self.late_working_hours is None:
            return ""
        if self.late_working_days >= 1:
            return f"{self.late_working_days:.1f} working days"
        return f"{self.late_working_hours:.1f} working hours"


class DepartmentReport(_View):
    """A department of a zone: its decisions so far and its open work (``zone`` '': counted before
    migration 0130 and not rebuilt since)."""

    zone: str
    department: str
    decided: int
    approved: int
    rejected: int
    on_time: int
    on_time_rate: float | None
    avg_approval_days: float | None
    p90_approval_days: float | None
    open: int
    breaches: int
    # Procedural faults recorded for the department's accountability (``DepartmentFaultRecorded``,
    # e.g. a completion notice that did not list everything missing: 行政许可法 §32 ¶1(4), §72(4)).
    faults: int = 0


class ZoneReport(_View):
    """A zone's pipeline and the working days its reforms saved against the statutory limits."""

    zone: str
    projects: int
    active: int
    projects_by_stage: dict[str, int]
    total_investment_yuan: int
    commitment_approvals: int
    days_saved_commitment: float
    tolerance_approvals: int
    days_saved_tolerance: float
    regional_exemptions: int
    days_saved_regional_assessment: float
    days_saved_total: float


class InboxItem(_View):
    """An open application: to accept (``phase`` ``acceptance``) or to decide (``decision``)."""

    project_id: str
    project_name: str | None
    matter_code: str
    matter_name: str | None
    submission: int
    department: str
    payload: dict[str, Any]
    submitted_at: datetime
    phase: Literal["acceptance", "decision"] = "decision"
    accepted_at: datetime | None = None
    deadline: datetime | None


# ---- reads ---------------------------------------------------------------------------------------


async def get_project(db: Executor, project_id: str) -> ProjectView | None:
    """A project and its matters as projected, or None if the projector has not seen it."""
    row = await db.fetchrow("SELECT * FROM rm_projects WHERE project_id = $1", project_id)
    if row is None:
        return None
    matters = await db.fetch(
        """SELECT * FROM rm_matters WHERE project_id = $1
           ORDER BY array_position($2::text[], stage), matter_code""",
        project_id,
        [s.value for s in Stage],
    )
    return ProjectView(**dict(row), matters=[MatterView(**dict(m)) for m in matters])


class CreditRecord(_View):
    """One entry of the credit record: a commitment (告知承诺) found untrue on verification
    (国办发〔2020〕42号), with the project's zone."""

    enterprise: str
    project_id: str
    zone: str | None
    matter_code: str
    department: str
    findings: str
    consequence: str
    verified_by: str
    recorded_at: datetime


async def credit_records(db: Executor, zone: str | None = None, enterprise: str | None = None) -> list[CreditRecord]:
    """The credit record, oldest first; only ``zone``'s projects or ``enterprise``'s entries if given."""
    rows = await db.fetch(
        """SELECT c.enterprise, c.project_id, p.zone, c.matter_code, c.department, c.findings, c.consequence,
                  c.verified_by, c.recorded_at
           FROM rm_credit_records c LEFT JOIN rm_projects p USING (project_id)
           WHERE ($1::text IS NULL OR p.zone = $1) AND ($2::text IS NULL OR c.enterprise = $2)
           ORDER BY c.recorded_at, c.event_id""",
        zone,
        enterprise,
    )
    return [CreditRecord(**dict(r)) for r in rows]


class LicenceView(_View):
    """One row of ``e_licenses``: an e-licence and its status (valid, suspended, lapsed, revoked)."""

    license_no: str
    project_id: str
    matter_code: str
    department: str
    holder: str
    deemed: bool
    issued_at: datetime
    status: str
    status_reason: str | None
    status_changed_at: datetime | None
    # Who issued it and under which seal (None: the department's own; both None before migration 0101).
    issuing_body: str | None = None
    seal: str | None = None


async def project_licences(db: Executor, project_id: str) -> list[LicenceView]:
    """A project's e-licences, oldest first, with their status (suspension: 国办发〔2019〕11号 容缺;
    lapse: 建筑法 §9; revocation: a failed commitment verification)."""
    rows = await db.fetch(
        """SELECT license_no, project_id, matter_code, department, holder, deemed, issued_at, status,
                  status_reason, status_changed_at, issuing_body, seal
           FROM e_licenses WHERE project_id = $1 ORDER BY issued_at, license_no""",
        project_id,
    )
    return [LicenceView(**dict(r)) for r in rows]


async def project_timeline(db: Executor, project_id: str) -> list[TimelineEntry]:
    """The events of a project's stream in order, each with a one-line summary."""
    return [
        TimelineEntry(
            position=e.position,
            version=e.version,
            event_type=e.event_type,
            occurred_at=e.occurred_at,
            summary=summarize(e),
        )
        for e in await read_stream(db, project_id)
    ]


async def overdue(
    db: Executor,
    *,
    now: datetime | None = None,
    zone: str | None = None,
    department: str | None = None,
) -> list[OverdueItem]:
    """Open clocks overdue at ``now`` (default: the database's now), earliest deadline first.

    A clock is overdue when the lifecycle recorded a breach or a missed promise, or when its
    deadline (the promise when there is one) has passed and it is not stopped (the event may not
    have been written yet), or while it stays stopped past the length its stop declared
    (``stop_overran``, 行政许可法 §45); a permit's start-by date never (the permit lapses:
    ``PermitLapsed``).
    ``provisional``: the breach recorded (the statutory one, else the missed promise) rests on a
    provisional deadline.

    How late (``late_working_days``, ``late_working_hours``) is counted at ``now`` by the legal
    clock (``legalclock.working_minutes_between``: office hours on working days, 行政许可法 §82) on
    the calendar in force (``calendars.current_calendar``, the newest loaded: it holds every
    official year a project's own calendar version holds, as a calendar never drops one) and the
    office hours of the zone's policy in force on the deadline's day (``ZonePolicy.hours_on``;
    the legal clock's default hours for a zone without a policy loaded).
    """
    rows = await db.fetch(
        """SELECT c.project_id, p.name AS project_name, p.zone, p.agent, p.project_lead,
                  c.clock_id, c.scope, c.department, c.matter_code, m.matter_name,
                  coalesce(c.promised_deadline, c.deadline) AS deadline, c.breached, c.promise_missed,
                  c.escalation, c.stopped AND c.stop_overran AS stop_overran,
                  (c.breached AND c.provisional) OR (c.promise_missed AND c.promise_provisional) AS provisional,
                  coalesce($1, now()) AS as_of
           FROM rm_clocks c
           JOIN rm_projects p USING (project_id)
           LEFT JOIN rm_matters m ON m.project_id = c.project_id AND m.matter_code = c.matter_code
           WHERE c.open
             AND (c.breached OR c.promise_missed OR (c.stopped AND c.stop_overran)
                  OR (NOT c.stopped AND c.scope <> 'permit'
                      AND coalesce(c.promised_deadline, c.deadline) < coalesce($1, now())))
             AND ($2::text IS NULL OR p.zone = $2)
             AND ($3::text IS NULL OR c.department = $3)
           ORDER BY coalesce(c.promised_deadline, c.deadline) NULLS LAST, c.project_id, c.clock_id""",
        now,
        zone,
        department,
    )
    if not rows:
        return []
    calendar = await current_calendar(db)
    policies: dict[str, ZonePolicy | None] = {}
    items = []
    for r in rows:
        row = dict(r)
        as_of: datetime = row.pop("as_of")
        deadline: datetime | None = row["deadline"]
        if deadline is not None:
            if row["zone"] not in policies:
                found = await current_zone(db, row["zone"])
                policies[row["zone"]] = None if found is None else found[1]
            policy = policies[row["zone"]]
            hours = OfficeHours() if policy is None else policy.hours_on(deadline.astimezone(CST).date())
            row["late_working_days"], row["late_working_hours"] = lateness(calendar, hours, deadline, as_of)
        items.append(OverdueItem(**row))
    return items


def lateness(calendar: OfficialCalendar, hours: OfficeHours, deadline: datetime, now: datetime) -> tuple[float, float]:
    """How late ``now`` is past ``deadline``: (working days, working hours), to 0.01; (0, 0) before it.

    Working time of the legal clock (行政许可法 §82: periods count working days, statutory holidays
    not counted): office hours on the working days of ``calendar`` (a weekend or a holiday adds
    nothing, a 调休 make-up Saturday counts); a working day is ``hours``' day (7 hours by default).
    A deadline at the close of a Friday is 1 working day late at the close of Monday.
    """
    if now <= deadline:
        return 0.0, 0.0
    minutes = working_minutes_between(calendar, hours, deadline, now)
    return round(minutes / hours.day_minutes, 2), round(minutes / 60, 2)


async def department_report(
    db: Executor, department: str | None = None, zone: str | None = None
) -> list[DepartmentReport]:
    """Per zone and department: decisions, on-time rate, approval days (mean, p90; of approvals,
    not filings, which are complete on receipt), open work (applications received and not yet
    accepted, pending a decision, or awaiting correction), breaches, procedural faults; ordered by
    zone, then department."""
    rows = await db.fetch(
        """WITH m AS (
               SELECT coalesce(p.zone, '') AS zone, x.department, x.state, x.approved_at, x.working_days_used,
                      x.approval_mode
               FROM rm_matters x LEFT JOIN rm_projects p USING (project_id)),
           approvals AS (
               SELECT zone, department, avg(working_days_used) AS avg_days,
                      percentile_cont(0.9) WITHIN GROUP (ORDER BY working_days_used) AS p90_days
               FROM m WHERE approved_at IS NOT NULL AND working_days_used IS NOT NULL
                 AND approval_mode IS DISTINCT FROM 'filed'
               GROUP BY zone, department),
           open AS (
               SELECT zone, department, count(*) AS open FROM m
               WHERE state IN ('received', 'pending', 'correction') GROUP BY zone, department)
           SELECT d.zone, d.department,
                  coalesce(p.decided_count, 0) AS decided,
                  coalesce(p.approved_count, 0) AS approved,
                  coalesce(p.rejected_count, 0) AS rejected,
                  coalesce(p.on_time_count, 0) AS on_time,
                  p.on_time_count::float8 / nullif(p.decided_count, 0) AS on_time_rate,
                  a.avg_days AS avg_approval_days, a.p90_days AS p90_approval_days,
                  coalesce(o.open, 0) AS open, coalesce(p.breaches_count, 0) AS breaches,
                  coalesce(p.faults_count, 0) AS faults
           FROM (SELECT zone, department FROM rm_department_performance
                 UNION SELECT zone, department FROM m) d
           LEFT JOIN rm_department_performance p USING (zone, department)
           LEFT JOIN approvals a USING (zone, department)
           LEFT JOIN open o USING (zone, department)
           WHERE ($1::text IS NULL OR d.department = $1) AND ($2::text IS NULL OR d.zone = $2)
           ORDER BY d.zone, d.department""",
        department,
        zone,
    )
    return [DepartmentReport(**dict(r)) for r in rows]


async def zone_report(db: Executor, zone: str | None = None) -> list[ZoneReport]:
    """Per zone: projects by stage, investment in the pipeline, working days saved."""
    rows = await db.fetch(
        """WITH stages AS (
               SELECT zone, stage, count(*) AS n FROM rm_projects
               WHERE $1::text IS NULL OR zone = $1 GROUP BY zone, stage),
           projects AS (
               SELECT zone, count(*) AS projects,
                      count(*) FILTER (WHERE status = 'active') AS active,
                      coalesce(sum(investment_yuan) FILTER (WHERE status <> 'withdrawn'), 0)::bigint
                          AS total_investment_yuan
               FROM rm_projects WHERE $1::text IS NULL OR zone = $1 GROUP BY zone)
           SELECT p.zone, p.projects, p.active, p.total_investment_yuan,
                  (SELECT jsonb_object_agg(stage, n) FROM stages s WHERE s.zone = p.zone)
                      AS projects_by_stage,
                  coalesce(t.commitment_approvals, 0) AS commitment_approvals,
                  coalesce(t.days_saved_commitment, 0) AS days_saved_commitment,
                  coalesce(t.tolerance_approvals, 0) AS tolerance_approvals,
                  coalesce(t.days_saved_tolerance, 0) AS days_saved_tolerance,
                  coalesce(t.regional_exemptions, 0) AS regional_exemptions,
                  coalesce(t.days_saved_regional_assessment, 0) AS days_saved_regional_assessment
           FROM projects p LEFT JOIN rm_zone_totals t USING (zone)
           ORDER BY p.zone""",
        zone,
    )
    return [
        ZoneReport(
            **dict(r),
            days_saved_total=r["days_saved_commitment"]
            + r["days_saved_tolerance"]
            + r["days_saved_regional_assessment"],
        )
        for r in rows
    ]


async def department_inbox(db: Executor, department: str) -> list[InboxItem]:
    """A department's open applications, oldest first: ``phase`` ``acceptance`` (to accept within 5
    working days, ``deadline`` is that day) or ``decision`` (accepted, to decide by ``deadline``)."""
    rows = await db.fetch(
        """SELECT i.project_id, p.name AS project_name, i.matter_code, m.matter_name,
                  i.submission, i.department, i.payload, i.submitted_at, i.phase, i.accepted_at,
                  CASE WHEN i.phase = 'acceptance' THEN (i.payload->>'deadline')::timestamptz
                       ELSE m.deadline END AS deadline
           FROM department_inbox i
           LEFT JOIN rm_projects p USING (project_id)
           LEFT JOIN rm_matters m ON m.project_id = i.project_id AND m.matter_code = i.matter_code
           WHERE i.department = $1 AND i.closed_at IS NULL
           ORDER BY i.submitted_at, i.project_id, i.matter_code, i.submission""",
        department,
    )
    return [InboxItem(**dict(r)) for r in rows]


# ---- one line per event --------------------------------------------------------------------------


def _t(at: datetime | None) -> str:
    # Summaries show China Standard Time.
    return "no deadline" if at is None else at.astimezone(CST).strftime("%Y-%m-%d %H:%M")


def _d(days: float) -> str:
    return f"{days:.1f}".removesuffix(".0")


def _matter(e: ev.MatterEvent) -> str:
    return f"{e.matter_code} ({e.department})"


def _clock(scope: str, department: str | None) -> str:
    return f"{scope} clock" + (f" of {department}" if department else "")


def _the_clock(e: Any) -> str:
    """An event's clock by its id, e.g. ``Matter clock matter:eia:1``."""
    return f"{e.scope.capitalize()} clock {e.clock_id}"


def _moved(m: ev.DeadlineMove) -> str:
    """A clock a migration moved: its deadline the zone answers for (the promise when there is one)."""
    now, was = m.promised_deadline or m.deadline, m.promised_deadline_was or m.deadline_was
    return f"{m.label} due {_t(now)} (was {_t(was)})"


def _obligation(e: Any) -> str:
    return f"{_matter(e)}: {e.obligation.replace('_', ' ')}"


def _approval(e: Any, what: str) -> str:
    return f"Approval of {_matter(e)} {what}: {e.reason}"


_SUMMARIES: dict[type[ev.DomainEvent], Callable[[Any], str]] = {
    ev.ProjectRegistered: lambda e: (
        f"Registered {e.name} by {e.enterprise} in {e.zone}: {e.project_type}, "
        f"¥{e.investment_yuan:,}; agent {e.agent}, {len(e.checklist)} matters on the checklist"
    ),
    ev.AgentReassigned: lambda e: f"Agent {e.from_agent} → {e.to_agent} by {e.by}: {e.reason}",
    ev.StageStarted: lambda e: f"Stage {e.stage} started, due {_t(e.deadline)}",
    ev.StageCompleted: lambda e: f"Stage {e.stage} completed in {_d(e.working_days_used)} working days",
    ev.MatterSubmitted: lambda e: f"Submitted {_matter(e)}, #{e.submission}, {e.mode}, due {_t(e.deadline)}",
    ev.ApplicationOpened: lambda e: f"{_matter(e)} open for the agent's application",
    ev.ApplicationReceived: lambda e: (
        f"Application for {_matter(e)} received, #{e.submission}"
        + (" (completed after the notice)" if e.completes_notice else "")
        + f", to accept by {_t(e.acceptance_deadline)}; prepared in {_d(e.preparation_days)} working days"
        + (f"; commitment {e.commitment.text_version} signed by {e.commitment.signed_by}" if e.commitment else "")
    ),
    ev.ApplicationAccepted: lambda e: (
        f"Application for {_matter(e)} "
        + ("deemed accepted on receipt (no notice within the period to accept)" if e.deemed else "accepted")
        + f" from {_t(e.accepted_at)}, due {_t(e.promised_deadline or e.deadline)}"
        + (f" (statutory {_t(e.deadline)})" if e.promised_deadline else "")
    ),
    ev.CompletionRequested: lambda e: (
        f"Completion notice #{e.notice} for {_matter(e)}: {', '.join(e.items)}; back with the agent"
    ),
    ev.ApplicationRefused: lambda e: f"Application for {_matter(e)} not accepted: {'; '.join(e.reasons)}",
    ev.DepartmentFaultRecorded: lambda e: f"Fault of {e.department} on {e.matter_code} ({e.law}): {e.fault}",
    ev.MatterExempted: lambda e: (
        f"{_matter(e)} covered by regional assessment {e.assessment}"
        + (f", {_d(e.statutory_days)} days saved" if e.statutory_days is not None else "")
        + (f" ({_d(e.statutory_working_days)} working days)" if e.statutory_working_days is not None else "")
    ),
    ev.MatterApproved: lambda e: (
        f"Approved {_matter(e)} ({e.mode}) in {_d(e.working_days_used)}"
        + (f" of {_d(e.statutory_days)}" if e.statutory_days is not None and e.statutory_working_days is None else "")
        + (f" of {_d(e.statutory_working_days)}" if e.statutory_working_days is not None else "")
        + " working days"
        + (f" (the law's {_d(e.statutory_days)} days, 日)" if e.statutory_working_days is not None else "")
        + ("" if e.statutory_days is not None else " (no statutory limit: on the zone's promise)")
        + ("" if e.on_time else ", late")
    ),
    ev.MatterRejected: lambda e: f"Rejected {_matter(e)}: {'; '.join(e.reasons)}",
    ev.CorrectionRequested: lambda e: f"Correction requested for {_matter(e)}: {', '.join(e.items)}; clock stopped",
    ev.CorrectionSupplied: lambda e: f"Correction supplied for {_matter(e)} by {e.by}",
    ev.ClockStopped: lambda e: f"{_the_clock(e)} stopped ({e.kind}): {e.reason}",
    ev.StopOverran: lambda e: (
        f"{_the_clock(e)} stopped ({e.kind}) longer than the declared {_d(e.expected_days)} working days"
    ),
    ev.ClockResumed: lambda e: (
        f"{_the_clock(e)} resumed after {_d(e.stopped_working_days)} working days"
        + (f"; deadline now {_t(e.new_deadline)}" if e.new_deadline else "")
    ),
    ev.DeadlinesRecomputed: lambda e: (
        f"Official calendar {e.calendar_version} adopted; {len(e.deadlines)} deadlines moved"
    ),
    ev.ContentMigrated: lambda e: (
        f"Moved to {e.zone} and {e.catalog} by {e.by}: {e.reason}; {len(e.moves)} deadlines moved"
        + "".join(f"; {_moved(m)}" for m in e.moves)
    ),
    ev.LimitExtended: lambda e: (
        f"{_the_clock(e)} extended by {_d(e.days)} days to {_t(e.new_deadline)}, approved by {e.approved_by}"
    ),
    ev.ObligationOpened: lambda e: f"{_obligation(e)} due {_t(e.deadline)}",
    ev.FilingPeriodOpened: lambda e: (
        f"{_matter(e)}: the enterprise files within {_d(e.days)} "
        f"{'working days' if e.counted == 'working_days' else 'days'}, by {_t(e.deadline)}"
    ),
    ev.JointAcceptanceOpinionIssued: lambda e: (
        f"Joint acceptance opinion issued by {e.lead_department} on {len(e.results)} matters"
        + (f"; {', '.join(e.absent)} deemed by absence ({e.rule})" if e.absent else "")
    ),
    ev.ObligationFulfilled: lambda e: f"{_obligation(e)} fulfilled",
    ev.ObligationMissed: lambda e: f"{_obligation(e)} missed",
    ev.ApprovalSuspended: lambda e: _approval(e, "suspended"),
    ev.ApprovalReinstated: lambda e: _approval(e, "reinstated"),
    ev.ApprovalRevoked: lambda e: _approval(e, "revoked"),
    ev.DeadlineWarned: lambda e: (
        f"Warning: {_clock(e.scope, e.department)} due {_t(e.deadline)}, {_d(e.working_days_left)} working days left"
    ),
    ev.DeadlineBreached: lambda e: (
        f"{'Promise missed' if e.limit == 'promised' else 'Deadline breached'}: {_clock(e.scope, e.department)}, "
        f"due {_t(e.deadline)}" + (" (the zone's promise; 督办, no legal breach)" if e.limit == "promised" else "")
    ),
    ev.ProvisionalDeadlineConfirmed: lambda e: (
        f"Provisional deadline of clock {e.clock_id} confirmed by {e.by}: {e.reason}"
    ),
    ev.DeemedApprovalHeld: lambda e: (
        f"Deemed approval of {e.matter_code} ({e.department}) held: deadline {_t(e.deadline)} is provisional"
    ),
    ev.DeemedAcceptanceHeld: lambda e: (
        f"Acceptance by silence of {e.matter_code} ({e.department}) held: period to accept ending "
        f"{_t(e.deadline)} is provisional"
    ),
    ev.EscalatedToLead: lambda e: f"Escalated to project lead {e.project_lead}: {_clock(e.scope, e.department)}",
    ev.JointMeetingConvened: lambda e: f"Joint meeting {e.meeting_id} convened with {', '.join(e.attendees)}",
    ev.JointMeetingResolved: lambda e: f"Joint meeting {e.meeting_id} resolved: {e.resolution}",
    ev.DepartmentLiabilityRecorded: lambda e: (
        f"Deemed approval of {_matter(e)}: liability recorded for missing {_t(e.deadline)}"
    ),
    ev.ELicenseIssued: lambda e: f"E-license {e.license_no} issued for {_matter(e)}",
    ev.LicenseStatusChanged: lambda e: f"E-license {e.license_no} of {_matter(e)} {e.status}: {e.reason}",
    ev.CreditRecorded: lambda e: (
        f"Credit record of {e.enterprise}: commitment on {_matter(e)} failed verification ({e.findings})"
    ),
    ev.RegionalAssessmentDeclined: lambda e: (
        f"{_matter(e)} not covered by regional assessment {e.assessment} ({e.reason}): handled as {e.mode}"
    ),
    ev.CommencementPeriodStarted: lambda e: (
        f"Construction on {e.license_no} must start by {_t(e.expires_at)} ({e.extensions_allowed} extensions allowed)"
    ),
    ev.PermitExtended: lambda e: f"Permit {e.license_no} extended ({e.extension}) to {_t(e.expires_at)} by {e.by}",
    ev.ConstructionStarted: lambda e: f"Construction started on permit {e.license_no}",
    ev.PermitExpiryWarned: lambda e: (
        f"{_matter(e)} {e.license_no} lapses {_t(e.expires_at)} unless construction starts"
        + (f" or it is extended ({e.extensions_left} left)" if e.extensions_left else "")
    ),
    ev.PermitLapsed: lambda e: (
        f"Permit {e.license_no} lapsed at {_t(e.expired_at)} (construction not started, "
        f"{e.extensions_used} extensions); {e.matter_code} open for a new application"
    ),
    ev.ConstructionProgressReported: lambda e: f"Construction {e.percent}%: {e.note}",
    ev.ProjectInProduction: lambda e: f"In production after {_d(e.working_days_total)} working days of approvals",
    ev.ProjectWithdrawn: lambda e: f"Withdrawn at {e.stage} by {e.by}: {e.reason}",
    ev.RatingGiven: lambda e: (
        f"Rated {e.rating_id} {ev.GRADE_ZH[e.grade]} by {e.by}"
        + (f": {e.text}" if e.text else "")
        + ("" if e.satisfied else f"; callback by {_t(e.callback_deadline)}, fix by {_t(e.fix_deadline)}")
    ),
    ev.RatingCallbackMade: lambda e: (
        f"Callback on {e.rating_id} by {e.by}" + ("" if e.on_time else " (late)") + f": {e.note}"
    ),
    ev.RatingFixed: lambda e: f"Fix of {e.rating_id} by {e.by}" + ("" if e.on_time else " (late)") + f": {e.note}",
}


def summarize(event: StoredEvent) -> str:
    """One line describing ``event``; its type name when the type or payload is unknown."""
    try:
        domain = to_domain(event)
    except ValidationError:
        return f"{event.event_type} (payload does not fit the current vocabulary)"
    render = _SUMMARIES.get(type(domain)) if domain is not None else None
    return event.event_type if render is None else render(domain)
