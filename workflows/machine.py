"""The project lifecycle as a pure state machine: no Temporal, no I/O, no clock of its own.

``ProjectWorkflow`` feeds it commands (updates) and the current instant, and carries out the
effects it asks for (activities). Every state change appends a domain event with a deterministic
id (``{project_id}:{stream version}``) to ``pending_events``; the workflow flushes them.

Keeping it pure means every rule here is tested without a server, replays deterministically, and
the whole state crosses continue-as-new as one pydantic model.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from catalog.content import ContentVersions
from catalog.models import Catalog, MatterSpec, ZonePolicy
from schemas import effects as fx
from schemas import events as ev
from schemas.effects import Effect
from schemas.events import ApprovalMode, ChecklistItem, ClockScope, EventEnvelope, HandlingMode
from schemas.project import (
    Ack,
    ClockView,
    Decision,
    DecisionRecord,
    DecisionResult,
    ExtendLimit,
    MatterStateName,
    MatterView,
    MeetingView,
    ObligationView,
    ProgressReport,
    ProjectView,
    ReassignAgent,
    RegisterProject,
    ResolveMeeting,
    Resubmit,
    ResumeClock,
    StopClock,
    SupplyMaterials,
    Verification,
    Withdraw,
)
from schemas.stages import APPROVAL_STAGES, Stage
from workflows import clocks
from workflows.clocks import CalendarData, LegalClock


class Rejected(Exception):
    """A command that is not allowed in the current state; the message says why."""


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrackedClock(_State):
    """A legal clock with the escalation ladder's progress on it."""

    clock_id: str
    scope: ClockScope
    label: str
    department: str | None = None
    matter_code: str | None = None
    clock: LegalClock
    warned: bool = False
    breached: bool = False
    meeting_id: str | None = None
    closed: bool = False
    # Working days used, frozen when the clock closes.
    final_used_days: float | None = None


class Obligation(_State):
    kind: Literal["supply_materials", "verification"]
    items: list[str]
    clock_id: str
    state: Literal["open", "fulfilled", "missed"] = "open"


class MatterState(_State):
    code: str
    mode: HandlingMode
    state: MatterStateName = "waiting"
    approval_mode: ApprovalMode | None = None
    submissions: int = 0
    clock_id: str | None = None
    obligations: list[Obligation] = []
    decisions: list[DecisionRecord] = []
    license_no: str | None = None


class Meeting(_State):
    meeting_id: str
    clock_id: str
    department: str | None
    resolution: str | None = None


class ProjectContext:
    """The immutable content a project runs under, looked up by its content versions.

    Not part of the state: only ``ProjectState.versions`` travels through Temporal.
    """

    __slots__ = ("calendar", "catalog", "specs", "zone")

    def __init__(self, catalog: Catalog, zone: ZonePolicy, calendar: CalendarData) -> None:
        self.catalog = catalog
        self.zone = zone
        self.calendar = calendar
        self.specs: dict[str, MatterSpec] = {m.code: m for m in catalog.matters}


class Answer(_State):
    """The first answer to a command, kept under its request id (or decision id).

    ``fingerprint`` is the SHA-256 of the command's canonical JSON: the same id with another body is
    refused instead of being answered as if it were the same command.
    """

    fingerprint: str
    result: DecisionResult | Ack


def request_id_of(command: BaseModel) -> str:
    """The command's request id: ``decision_id`` for decisions and verifications, else ``request_id``."""
    rid = getattr(command, "decision_id", None) or getattr(command, "request_id", None)
    if not rid:
        raise Rejected("request_id: every command needs a request id (retries with the same id are answered once)")
    return str(rid)


def fingerprint(command: BaseModel) -> str:
    """SHA-256 of a command's canonical JSON (its fields in declaration order)."""
    return hashlib.sha256(command.model_dump_json().encode()).hexdigest()


class ProjectState(_State):
    """Everything a project is; carried whole across continue-as-new.

    It never repeats what can be looked up: the catalog, zone policy and calendar are named by
    ``versions`` (see ``catalog.content``).
    """

    registration: RegisterProject
    versions: ContentVersions
    stage: Stage = Stage.REGISTERED
    agent: str
    backup_agent: str
    matters: dict[str, MatterState] = {}
    clocks: dict[str, TrackedClock] = {}
    meetings: dict[str, Meeting] = {}
    checklist: list[ChecklistItem] = []
    # First answers by request id (decision id for decisions and verifications).
    answers: dict[str, Answer] = {}
    construction_percent: int = 0
    version: int = 0
    # The outbox: events and effects not yet handed to ``apply_batch``.
    pending_events: list[EventEnvelope] = []
    effects: list[Effect] = []


class ProjectMachine:
    """Rules of the lifecycle over a ``ProjectState`` and the content it runs under."""

    def __init__(self, state: ProjectState, ctx: ProjectContext) -> None:
        self.s = state
        self.ctx = ctx
        # The request id of the command being applied; events it causes carry it.
        self._cause: str | None = None

    # ---- small helpers ---------------------------------------------------------------------

    @property
    def pid(self) -> str:
        return self.s.registration.project_id

    @property
    def zone(self) -> ZonePolicy:
        return self.ctx.zone

    def _spec(self, m: MatterState) -> MatterSpec:
        return self.ctx.specs[m.code]

    def _emit(self, event: ev.DomainEvent, now: datetime) -> None:
        self.s.version += 1
        self.s.pending_events.append(
            EventEnvelope(
                event_id=f"{self.pid}:{self.s.version}",
                stream_id=self.pid,
                version=self.s.version,
                event_type=type(event).__name__,
                occurred_at=now,
                payload=event.model_dump(mode="json"),
                causation_id=self._cause,
            )
        )

    def _notify(self, kind: str, recipients: list[str], message: str, now: datetime) -> None:
        # The notification id follows the event that caused it, so a retry writes nothing twice.
        self.s.effects.append(
            fx.Notify(
                notification_id=f"{self.pid}:{self.s.version}:{kind}",
                project_id=self.pid,
                notice=kind,
                recipients=recipients,
                message=message,
            )
        )

    def _close_submission(self, m: MatterState, outcome: str, now: datetime) -> None:
        self.s.effects.append(
            fx.CloseSubmission(
                project_id=self.pid, matter_code=m.code, submission=m.submissions, outcome=outcome, closed_at=now
            )
        )

    def _matter_fields(self, m: MatterState) -> dict[str, Any]:
        spec = self._spec(m)
        return {"project_id": self.pid, "matter_code": m.code, "department": spec.department, "stage": spec.stage}

    def matter(self, code: str) -> MatterState:
        m = self.s.matters.get(code)
        if m is None:
            raise Rejected(f"matter_code: {code!r} is not a matter of project {self.pid}")
        return m

    def _new_clock(
        self,
        clock_id: str,
        scope: ClockScope,
        label: str,
        limit_days: float,
        now: datetime,
        department: str | None = None,
        matter_code: str | None = None,
    ) -> TrackedClock:
        tc = TrackedClock(
            clock_id=clock_id,
            scope=scope,
            label=label,
            department=department,
            matter_code=matter_code,
            clock=clocks.start(now, limit_days),
        )
        self.s.clocks[clock_id] = tc
        return tc

    def deadline(self, tc: TrackedClock) -> clocks.DeadlineInfo:
        return clocks.deadline(tc.clock, self.ctx.calendar, self.zone)

    def _close_clock(self, clock_id: str | None, now: datetime) -> float:
        """Close a clock; return the working days it used."""
        tc = self.s.clocks.get(clock_id or "")
        if tc is None:
            return 0.0
        if not tc.closed:
            tc.closed = True
            tc.final_used_days = self._used(tc, now)
        return tc.final_used_days or 0.0

    def _used(self, tc: TrackedClock, now: datetime) -> float:
        if tc.final_used_days is not None:
            return tc.final_used_days
        return clocks.used_days(tc.clock, self.ctx.calendar, self.zone, now)

    def _require_active(self) -> None:
        if self.s.stage in (Stage.WITHDRAWN, Stage.IN_PRODUCTION):
            raise Rejected(f"project {self.pid} is {self.s.stage}; nothing can change")

    # ---- registration and stages -----------------------------------------------------------

    def register(self, checklist: list[ChecklistItem], now: datetime) -> None:
        """Enter the pipeline: checklist, matters, the whole-process clock, the first stage."""
        r = self.s.registration
        self.s.checklist = checklist
        cap = self.zone.process_caps.get(r.project_type)
        process = self._new_clock("process", "process", "whole approval process", cap, now) if cap else None
        for item in checklist:
            spec = self.ctx.catalog.matter(item.matter_code)
            self.s.matters[spec.code] = MatterState(code=spec.code, mode=item.mode)
        self._emit(
            ev.ProjectRegistered(
                project_id=self.pid,
                name=r.name,
                enterprise=r.enterprise,
                zone=r.zone,
                project_type=r.project_type,
                investment_yuan=r.investment_yuan,
                agent=r.agent,
                backup_agent=r.backup_agent,
                project_lead=r.project_lead,
                checklist=checklist,
                process_deadline=self.deadline(process).at if process else None,
            ),
            now,
        )
        self._notify(
            "checklist",
            [r.agent, r.backup_agent],
            f"{r.name}: one-time notification checklist issued with {len(checklist)} matters",
            now,
        )

    def _stage_matters(self, stage: Stage) -> list[MatterState]:
        return [m for m in self.s.matters.values() if self._spec(m).stage == stage]

    def _start_stage(self, stage: Stage, now: datetime) -> None:
        self.s.stage = stage
        limit = self.zone.stage_limits.get(stage)
        deadline = None
        if limit and stage in APPROVAL_STAGES:
            tc = self._new_clock(f"stage:{stage}", "stage", f"stage {stage}", limit, now)
            deadline = self.deadline(tc).at
        self._emit(ev.StageStarted(project_id=self.pid, stage=stage, limit_days=limit, deadline=deadline), now)
        for m in self._stage_matters(stage):
            if m.mode == "regional_assessment":
                m.state = "exempt"
                self._emit(
                    ev.MatterExempted(
                        **self._matter_fields(m),
                        assessment=self._spec(m).regional_assessment or "",
                        statutory_days=self._spec(m).statutory_days,
                    ),
                    now,
                )

    def _satisfied(self, m: MatterState) -> bool:
        return m.state in ("approved", "exempt")

    def _stage_done(self, stage: Stage) -> bool:
        # A suspended approval (容缺 materials not supplied) holds whatever stage the project is in.
        if any(m.state == "suspended" for m in self.s.matters.values()):
            return False
        return all(self._satisfied(m) for m in self._stage_matters(stage))

    def advance(self, now: datetime) -> None:
        """Submit what may be submitted, close finished stages, open the next ones."""
        while True:
            stage = self.s.stage
            if stage == Stage.REGISTERED:
                self._start_stage(Stage.ESTABLISHMENT, now)
                continue
            if stage in APPROVAL_STAGES:
                for m in self._stage_matters(stage):
                    if m.state == "waiting" and all(
                        self._satisfied(self.s.matters[r]) for r in self._spec(m).requires if r in self.s.matters
                    ):
                        self._submit(m, now)
                if not self._stage_done(stage):
                    return
                used = self._close_clock(f"stage:{stage}", now)
                self._emit(ev.StageCompleted(project_id=self.pid, stage=stage, working_days_used=used), now)
                if stage == Stage.CONSTRUCTION_PERMIT:
                    self._close_clock("process", now)
                    self._start_stage(Stage.CONSTRUCTION, now)
                elif stage == Stage.COMPLETION_ACCEPTANCE:
                    return self._finish(now)
                else:
                    self._start_stage(APPROVAL_STAGES[APPROVAL_STAGES.index(stage) + 1], now)
                continue
            if stage == Stage.CONSTRUCTION and self.s.construction_percent >= 100:
                self._start_stage(Stage.COMPLETION_ACCEPTANCE, now)
                continue
            return

    def _finish(self, now: datetime) -> None:
        total = sum(self._used(tc, now) for tc in self.s.clocks.values() if tc.scope == "stage")
        self.s.stage = Stage.IN_PRODUCTION
        self._emit(ev.ProjectInProduction(project_id=self.pid, working_days_total=total), now)
        # Verifications still owed keep their clocks (and escalation) after production starts.
        owed = {o.clock_id for m in self.s.matters.values() for o in m.obligations if o.state == "open"}
        for clock_id in self.s.clocks:
            if clock_id not in owed:
                self._close_clock(clock_id, now)

    def _close_all(self, now: datetime) -> None:
        for clock_id in self.s.clocks:
            self._close_clock(clock_id, now)

    @property
    def done(self) -> bool:
        """The lifecycle has ended and nothing is owed any more."""
        if self.s.stage == Stage.WITHDRAWN:
            return True
        return self.s.stage == Stage.IN_PRODUCTION and not any(
            o.state == "open" for m in self.s.matters.values() for o in m.obligations
        )

    # ---- matters ---------------------------------------------------------------------------

    def _submit(self, m: MatterState, now: datetime) -> None:
        m.submissions += 1
        m.state = "pending"
        spec = self._spec(m)
        tc = self._new_clock(
            f"matter:{spec.code}:{m.submissions}",
            "matter",
            f"{spec.name_zh} ({spec.department})",
            spec.limit_days,
            now,
            department=spec.department,
            matter_code=spec.code,
        )
        m.clock_id = tc.clock_id
        deadline = self.deadline(tc).at
        self._emit(
            ev.MatterSubmitted(
                **self._matter_fields(m),
                submission=m.submissions,
                mode=m.mode,
                statutory_days=spec.statutory_days,
                promised_days=spec.promised_days,
                deadline=deadline,
            ),
            now,
        )
        self.s.effects.append(
            fx.SubmitApplication(
                project_id=self.pid,
                matter_code=spec.code,
                submission=m.submissions,
                department=spec.department,
                payload={
                    "project_name": self.s.registration.name,
                    "enterprise": self.s.registration.enterprise,
                    "matter_name": spec.name_zh,
                    "mode": m.mode,
                    "materials": spec.main_materials,
                    "deadline": deadline.isoformat() if deadline else None,
                    "agent": self.s.agent,
                },
                submitted_at=now,
            )
        )
        if m.mode == "commitment":
            # 告知承诺: the signed commitment is the application; approval is granted at once.
            self._approve(m, "commitment", "commitment", "enterprise commitment", now)

    def _approve(self, m: MatterState, decision_id: str, mode: ApprovalMode, by: str, now: datetime) -> None:
        tc = self.s.clocks[m.clock_id] if m.clock_id else None
        on_time = tc is None or not self._overdue(tc, now)
        used = self._close_clock(m.clock_id, now)
        m.state = "approved"
        m.approval_mode = mode
        self._emit(
            ev.MatterApproved(
                **self._matter_fields(m),
                decision_id=decision_id,
                mode=mode,
                decided_by=by,
                working_days_used=used,
                statutory_days=self._spec(m).statutory_days,
                on_time=on_time,
            ),
            now,
        )
        self._close_submission(m, f"approved:{mode}", now)
        spec = self._spec(m)
        if spec.issues_license and m.license_no is None:
            # The number is a pure function of the approval: nothing to wait for.
            m.license_no = fx.license_number(self.pid, m.code, m.submissions)
            self.s.effects.append(
                fx.IssueLicense(
                    project_id=self.pid,
                    license_no=m.license_no,
                    matter_code=m.code,
                    department=spec.department,
                    enterprise=self.s.registration.enterprise,
                    submission=m.submissions,
                )
            )
            self._emit(ev.ELicenseIssued(**self._matter_fields(m), license_no=m.license_no), now)
        if mode == "commitment":
            self._open_obligation(m, "verification", [], self._spec(m).commitment_verification_days, now)

    def _open_obligation(
        self,
        m: MatterState,
        kind: Literal["supply_materials", "verification"],
        items: list[str],
        days: float,
        now: datetime,
    ) -> None:
        clock_id = f"obligation:{self._spec(m).code}:{kind}:{m.submissions}"
        label = "materials owed (容缺)" if kind == "supply_materials" else "verification (告知承诺)"
        tc = self._new_clock(
            clock_id,
            "obligation",
            f"{self._spec(m).name_zh}: {label}",
            days,
            now,
            department=self._spec(m).department,
            matter_code=self._spec(m).code,
        )
        m.obligations.append(Obligation(kind=kind, items=items, clock_id=clock_id))
        self._emit(
            ev.ObligationOpened(**self._matter_fields(m), obligation=kind, items=items, deadline=self.deadline(tc).at),
            now,
        )

    # ---- commands (updates) ----------------------------------------------------------------
    #
    # Every command is an update ``X`` with a validator ``validate_X`` and a transition ``X`` here.
    # ``check`` and ``execute`` wrap them with the request-id rule: a command's request id (its
    # decision id for decisions and verifications) is answered once; the same id again gets the
    # first answer (``duplicate``), the same id with another body is refused.

    def check(self, name: str, cmd: BaseModel) -> None:
        """Validator of update ``name``: raise ``Rejected`` unless ``cmd`` may be applied."""
        rid = request_id_of(cmd)
        known = self.s.answers.get(rid)
        if known is not None:
            if known.fingerprint != fingerprint(cmd):
                raise Rejected(f"request_id: {rid} was already used for a different command")
            return
        getattr(self, f"validate_{name}")(cmd)

    def execute(self, name: str, cmd: BaseModel, now: datetime) -> DecisionResult | Ack:
        """Apply update ``name`` (validated again), advance the stages, remember the answer."""
        rid = request_id_of(cmd)
        known = self.s.answers.get(rid)
        if known is not None:
            if known.fingerprint != fingerprint(cmd):
                raise Rejected(f"request_id: {rid} was already used for a different command")
            return known.result.model_copy(update={"duplicate": True})
        self._cause = rid
        try:
            result: DecisionResult | Ack = getattr(self, name)(cmd, now)
            # Advance right away, so the next query or update sees the stage move this one caused.
            self.advance(now)
        finally:
            self._cause = None
        if isinstance(result, Ack):
            result = result.model_copy(update={"stage": self.s.stage, "request_id": rid})
        self.s.answers[rid] = Answer(fingerprint=fingerprint(cmd), result=result)
        return result

    def validate_decide(self, d: Decision) -> None:
        """Raise ``Rejected`` unless ``d`` may be applied."""
        self._require_active()
        m = self.matter(d.matter_code)
        if d.department != self._spec(m).department:
            raise Rejected(
                f"department: matter {d.matter_code} belongs to {self._spec(m).department}, not {d.department}"
            )
        if m.state != "pending":
            raise Rejected(f"matter_code: matter {d.matter_code} is not pending a decision (state: {m.state})")
        needs = {"accept_with_tolerance": "tolerance", "approve_on_commitment": "commitment"}.get(d.kind)
        if needs and needs not in self._spec(m).modes:
            raise Rejected(f"kind: matter {d.matter_code} cannot be handled by {needs}")
        if d.instant and "instant" not in self._spec(m).modes:
            raise Rejected(f"instant: matter {d.matter_code} is not an instant matter (即办件)")

    def decide(self, d: Decision, now: datetime) -> DecisionResult:
        """Apply a department's decision."""
        self.validate_decide(d)
        m = self.matter(d.matter_code)
        m.decisions.append(
            DecisionRecord(
                decision_id=d.decision_id,
                kind=d.kind,
                decided_by=d.decided_by,
                at=now,
                reasons=d.reasons,
                items=d.items,
            )
        )
        if d.kind == "approve":
            self._approve(m, d.decision_id, "instant" if d.instant else "standard", d.decided_by, now)
        elif d.kind == "accept_with_tolerance":
            self._approve(m, d.decision_id, "tolerance", d.decided_by, now)
            self._open_obligation(m, "supply_materials", d.items, self._spec(m).tolerance_supply_days, now)
            self._notify("tolerance", [self.s.agent], f"{self._spec(m).name_zh}: supply {', '.join(d.items)}", now)
        elif d.kind == "approve_on_commitment":
            self._approve(m, d.decision_id, "commitment", d.decided_by, now)
        elif d.kind == "reject":
            used = self._close_clock(m.clock_id, now)
            m.state = "rejected"
            self._emit(
                ev.MatterRejected(
                    **self._matter_fields(m),
                    decision_id=d.decision_id,
                    decided_by=d.decided_by,
                    reasons=d.reasons,
                    working_days_used=used,
                ),
                now,
            )
            self._close_submission(m, "rejected", now)
            self._notify("rejected", [self.s.agent], f"{self._spec(m).name_zh} rejected: {'; '.join(d.reasons)}", now)
        else:  # request_correction: the clock stops until the agent supplies the materials.
            assert m.clock_id is not None
            m.state = "correction"
            self._stop(m.clock_id, "correction", "; ".join(d.items), now)
            self._emit(
                ev.CorrectionRequested(
                    **self._matter_fields(m), decision_id=d.decision_id, decided_by=d.decided_by, items=d.items
                ),
                now,
            )
            self._notify(
                "correction", [self.s.agent], f"{self._spec(m).name_zh}: correction needed: {', '.join(d.items)}", now
            )
        return DecisionResult(decision_id=d.decision_id, matter_code=m.code, state=m.state)

    def _stop(self, clock_id: str, kind: str, reason: str, now: datetime) -> None:
        tc = self.s.clocks[clock_id]
        tc.clock = clocks.stop(tc.clock, kind, reason, now)
        self._emit(
            ev.ClockStopped(project_id=self.pid, clock_id=clock_id, scope=tc.scope, kind=kind, reason=reason), now
        )

    def _resume(self, clock_id: str, now: datetime) -> None:
        tc = self.s.clocks[clock_id]
        tc.clock, stopped = clocks.resume(tc.clock, self.ctx.calendar, self.zone, now)
        self._emit(
            ev.ClockResumed(
                project_id=self.pid,
                clock_id=clock_id,
                scope=tc.scope,
                stopped_working_days=stopped,
                new_deadline=self.deadline(tc).at,
            ),
            now,
        )

    def validate_supply_materials(self, cmd: SupplyMaterials) -> MatterState:
        self._require_active()
        m = self.matter(cmd.matter_code)
        if m.state == "correction" or self._open_supply(m):
            return m
        raise Rejected(f"matter_code: nothing is owed on matter {cmd.matter_code} (state: {m.state})")

    def _open_supply(self, m: MatterState) -> Obligation | None:
        return next((o for o in m.obligations if o.kind == "supply_materials" and o.state != "fulfilled"), None)

    def supply_materials(self, cmd: SupplyMaterials, now: datetime) -> Ack:
        m = self.validate_supply_materials(cmd)
        if m.state == "correction":
            m.state = "pending"
            assert m.clock_id is not None
            self._emit(ev.CorrectionSupplied(**self._matter_fields(m), by=cmd.by, items=cmd.items), now)
            self._resume(m.clock_id, now)
            return self._ack(f"correction supplied; {self._spec(m).code} is pending again")
        o = self._open_supply(m)
        assert o is not None
        o.state = "fulfilled"
        self._close_clock(o.clock_id, now)
        self._emit(ev.ObligationFulfilled(**self._matter_fields(m), obligation="supply_materials"), now)
        if m.state == "suspended":
            m.state = "approved"
            self._emit(ev.ApprovalReinstated(**self._matter_fields(m), reason="materials supplied"), now)
        return self._ack(f"materials owed on {self._spec(m).code} supplied")

    def validate_resubmit(self, cmd: Resubmit) -> MatterState:
        self._require_active()
        m = self.matter(cmd.matter_code)
        if m.state != "rejected":
            raise Rejected(f"matter_code: only a rejected matter is resubmitted ({cmd.matter_code} is {m.state})")
        return m

    def resubmit(self, cmd: Resubmit, now: datetime) -> Ack:
        m = self.validate_resubmit(cmd)
        self._submit(m, now)
        return self._ack(f"{self._spec(m).code} resubmitted (submission {m.submissions})")

    def validate_verify(self, v: Verification) -> MatterState:
        if self.s.stage == Stage.WITHDRAWN:  # verification outlives production, not withdrawal
            raise Rejected(f"project {self.pid} is withdrawn; nothing can change")
        m = self.matter(v.matter_code)
        if v.department != self._spec(m).department:
            raise Rejected(
                f"department: matter {v.matter_code} belongs to {self._spec(m).department}, not {v.department}"
            )
        if not any(o.kind == "verification" and o.state == "open" for o in m.obligations):
            raise Rejected(f"matter_code: matter {v.matter_code} has no commitment awaiting verification")
        return m

    def verify(self, v: Verification, now: datetime) -> DecisionResult:
        m = self.validate_verify(v)
        o = next(o for o in m.obligations if o.kind == "verification" and o.state == "open")
        self._close_clock(o.clock_id, now)
        m.decisions.append(
            DecisionRecord(
                decision_id=v.decision_id,
                kind="verification_passed" if v.passed else "verification_failed",
                decided_by=v.by,
                at=now,
                reasons=[v.findings] if v.findings else [],
            )
        )
        if v.passed:
            o.state = "fulfilled"
            self._emit(ev.ObligationFulfilled(**self._matter_fields(m), obligation="verification"), now)
        else:
            # A failed verification revokes the approval and reopens the matter as a standard one.
            o.state = "missed"
            self._emit(ev.ApprovalRevoked(**self._matter_fields(m), reason=v.findings or "verification failed"), now)
            self._notify(
                "revoked",
                [self.s.agent, self.s.registration.project_lead],
                f"{self._spec(m).name_zh}: approval revoked after verification",
                now,
            )
            if m.license_no:
                self.s.effects.append(
                    fx.RevokeLicense(
                        project_id=self.pid, license_no=m.license_no, reason=v.findings or "verification failed"
                    )
                )
            m.mode = "standard"
            m.approval_mode = None
            m.license_no = None
            o.state = "fulfilled"  # the obligation is settled; the matter itself reopens
            self._submit(m, now)
        return DecisionResult(decision_id=v.decision_id, matter_code=m.code, state=m.state)

    def _pending_matter_of(self, code: str, department: str) -> MatterState:
        self._require_active()
        m = self.matter(code)
        if department != self._spec(m).department:
            raise Rejected(f"department: matter {code} belongs to {self._spec(m).department}, not {department}")
        return m

    def validate_stop_clock(self, cmd: StopClock) -> MatterState:
        m = self._pending_matter_of(cmd.matter_code, cmd.department)
        tc = self.s.clocks.get(m.clock_id or "")
        if m.state != "pending" or tc is None or clocks.is_stopped(tc.clock):
            raise Rejected(f"matter_code: the clock of {cmd.matter_code} is not running (state: {m.state})")
        return m

    def stop_clock(self, cmd: StopClock, now: datetime) -> Ack:
        m = self.validate_stop_clock(cmd)
        assert m.clock_id is not None
        self._stop(m.clock_id, cmd.kind, cmd.reason, now)
        return self._ack(f"clock of {self._spec(m).code} stopped for {cmd.kind}")

    def validate_resume_clock(self, cmd: ResumeClock) -> MatterState:
        m = self._pending_matter_of(cmd.matter_code, cmd.department)
        tc = self.s.clocks.get(m.clock_id or "")
        if m.state != "pending" or tc is None or not clocks.is_stopped(tc.clock):
            raise Rejected(f"matter_code: the clock of {cmd.matter_code} is not stopped by its department")
        return m

    def resume_clock(self, cmd: ResumeClock, now: datetime) -> Ack:
        m = self.validate_resume_clock(cmd)
        assert m.clock_id is not None
        self._resume(m.clock_id, now)
        return self._ack(f"clock of {self._spec(m).code} running again")

    def validate_extend_limit(self, cmd: ExtendLimit) -> MatterState:
        m = self._pending_matter_of(cmd.matter_code, cmd.department)
        tc = self.s.clocks.get(m.clock_id or "")
        if m.state not in ("pending", "correction") or tc is None:
            raise Rejected(f"matter_code: {cmd.matter_code} has no running clock to extend")
        if clocks.is_extended(tc.clock):
            raise Rejected(f"matter_code: the limit of {cmd.matter_code} was already extended once")
        return m

    def extend_limit(self, cmd: ExtendLimit, now: datetime) -> Ack:
        m = self.validate_extend_limit(cmd)
        assert m.clock_id is not None
        tc = self.s.clocks[m.clock_id]
        tc.clock = clocks.extend(tc.clock, cmd.days, cmd.approved_by, cmd.reason, now)
        info = self.deadline(tc)
        if info.at is not None and info.at > now:
            # A later deadline re-arms the ladder.
            tc.warned = tc.breached = False
        self._emit(
            ev.LimitExtended(
                project_id=self.pid,
                clock_id=tc.clock_id,
                scope=tc.scope,
                days=cmd.days,
                approved_by=cmd.approved_by,
                reason=cmd.reason,
                new_deadline=info.at,
            ),
            now,
        )
        return self._ack(f"limit of {self._spec(m).code} extended by {cmd.days:g} working days")

    def validate_reassign_agent(self, cmd: ReassignAgent) -> None:
        self._require_active()
        if cmd.to_agent == self.s.agent:
            raise Rejected(f"to_agent: {cmd.to_agent} is already the agent of {self.pid}")

    def reassign_agent(self, cmd: ReassignAgent, now: datetime) -> Ack:
        self.validate_reassign_agent(cmd)
        old = self.s.agent
        if cmd.to_agent == self.s.backup_agent:
            self.s.backup_agent = old  # AB岗: the backup takes over, the first agent backs up
        self.s.agent = cmd.to_agent
        self._emit(
            ev.AgentReassigned(
                project_id=self.pid, from_agent=old, to_agent=cmd.to_agent, by=cmd.by, reason=cmd.reason
            ),
            now,
        )
        self._notify("reassigned", [old, cmd.to_agent], f"{self.s.registration.name}: agent is now {cmd.to_agent}", now)
        return self._ack(f"agent is now {cmd.to_agent}")

    def validate_report_progress(self, cmd: ProgressReport) -> None:
        self._require_active()
        if self.s.stage != Stage.CONSTRUCTION:
            raise Rejected(f"stage: progress is reported during construction, the project is in {self.s.stage}")
        if cmd.percent < self.s.construction_percent:
            raise Rejected(f"percent: progress cannot go back from {self.s.construction_percent}% to {cmd.percent}%")

    def report_progress(self, cmd: ProgressReport, now: datetime) -> Ack:
        self.validate_report_progress(cmd)
        self.s.construction_percent = cmd.percent
        self._emit(ev.ConstructionProgressReported(project_id=self.pid, percent=cmd.percent, note=cmd.note), now)
        return self._ack(f"construction at {cmd.percent}%")

    def validate_resolve_meeting(self, cmd: ResolveMeeting) -> Meeting:
        meeting = self.s.meetings.get(cmd.meeting_id)
        if meeting is None:
            raise Rejected(f"meeting_id: no joint meeting {cmd.meeting_id} in project {self.pid}")
        if meeting.resolution is not None:
            raise Rejected(f"meeting_id: joint meeting {cmd.meeting_id} is already resolved")
        return meeting

    def resolve_meeting(self, cmd: ResolveMeeting, now: datetime) -> Ack:
        meeting = self.validate_resolve_meeting(cmd)
        meeting.resolution = cmd.resolution
        self._emit(
            ev.JointMeetingResolved(
                project_id=self.pid, meeting_id=cmd.meeting_id, resolution=cmd.resolution, by=cmd.by
            ),
            now,
        )
        return self._ack(f"joint meeting {cmd.meeting_id} resolved")

    def validate_withdraw(self, cmd: Withdraw) -> None:
        self._require_active()

    def withdraw(self, cmd: Withdraw, now: datetime) -> Ack:
        self.validate_withdraw(cmd)
        stage = self.s.stage
        for m in self.s.matters.values():
            if m.state in ("pending", "correction"):
                self._close_submission(m, "withdrawn", now)
            if m.state not in ("approved", "exempt"):
                m.state = "withdrawn"
            for o in m.obligations:
                if o.state == "open":
                    o.state = "fulfilled"
        self._close_all(now)
        self.s.stage = Stage.WITHDRAWN
        self._emit(ev.ProjectWithdrawn(project_id=self.pid, stage=stage, reason=cmd.reason, by=cmd.by), now)
        self._notify(
            "withdrawn",
            [self.s.agent, self.s.registration.project_lead],
            f"{self.s.registration.name} withdrawn: {cmd.reason}",
            now,
        )
        return self._ack("project withdrawn")

    def calendar_changed(self, calendar: CalendarData, now: datetime) -> bool:
        """Adopt a new official calendar; running deadlines recompute from it. True if changed.

        A clock whose deadline moved to the future re-arms its ladder; ``DeadlinesRecomputed``
        records the deadlines that moved.
        """
        if calendar.version == self.s.versions.calendar:
            return False
        open_clocks = [tc for tc in self.s.clocks.values() if not tc.closed]
        before = {tc.clock_id: self.deadline(tc).at for tc in open_clocks}
        self.ctx = ProjectContext(self.ctx.catalog, self.ctx.zone, calendar)
        self.s.versions = self.s.versions.model_copy(update={"calendar": calendar.version})
        moved: dict[str, datetime | None] = {}
        for tc in open_clocks:
            at = self.deadline(tc).at
            if at != before[tc.clock_id]:
                moved[tc.clock_id] = at
                if at is not None and at > now:
                    tc.warned = tc.breached = False
        self._emit(ev.DeadlinesRecomputed(project_id=self.pid, calendar_version=calendar.version, deadlines=moved), now)
        return True

    def _ack(self, message: str) -> Ack:
        return Ack(stage=self.s.stage, message=message)

    # ---- the escalation ladder -------------------------------------------------------------

    def _overdue(self, tc: TrackedClock, now: datetime) -> bool:
        at = self.deadline(tc).at
        return at is not None and now >= at

    def _alarms(self, tc: TrackedClock) -> list[tuple[datetime, str]]:
        """The instants at which ``tc`` still has something to do, with what."""
        if tc.closed:
            return []
        info = self.deadline(tc)
        if info.at is None:  # stopped: nothing fires until it runs again
            return []
        out: list[tuple[datetime, str]] = []
        if not tc.breached:
            warn = clocks.warning_at(tc.clock, self.ctx.calendar, self.zone)
            if not tc.warned and warn is not None and warn < info.at:
                out.append((warn, "warn"))
            out.append((info.at, "breach"))
        elif tc.meeting_id is None and tc.scope != "obligation":
            meet = clocks.add_days(info.at, self.zone.escalation.joint_meeting_after_days, self.ctx.calendar, self.zone)
            out.append((meet, "meeting"))
        return out

    def next_alarm(self) -> datetime | None:
        """The nearest instant at which the ladder must act, or None."""
        times = [at for tc in self.s.clocks.values() for at, _ in self._alarms(tc)]
        return min(times) if times else None

    def next_alarm_summary(self) -> str:
        """What the next alarm does, for the timer's summary in the UI: action, clock(s), when."""
        words = {"warn": "warning", "breach": "deadline", "meeting": "joint meeting"}
        alarms = [
            (at, f"{words[what]} for {tc.label}") for tc in self.s.clocks.values() for at, what in self._alarms(tc)
        ]
        if not alarms:
            return "no deadline pending"
        due = min(at for at, _ in alarms)
        return f"{'; '.join(text for at, text in alarms if at == due)} at {clocks.local_text(due)}"

    def fire_alarms(self, now: datetime) -> None:
        """Act on every alarm due at ``now``: warn, breach, escalate, deem, convene."""
        for tc in list(self.s.clocks.values()):
            for at, what in self._alarms(tc):
                if at > now:
                    continue
                if what == "warn":
                    self._warn(tc, now)
                elif what == "breach":
                    self._breach(tc, now)
                else:
                    self._convene(tc, now)

    def _recipients(self, tc: TrackedClock) -> list[str]:
        return [self.s.agent] + ([f"dept:{tc.department}"] if tc.department else [])

    def _warn(self, tc: TrackedClock, now: datetime) -> None:
        tc.warned = True
        info = self.deadline(tc)
        assert info.at is not None
        left = clocks.left_days(tc.clock, self.ctx.calendar, self.zone, now)
        self._emit(
            ev.DeadlineWarned(
                project_id=self.pid,
                clock_id=tc.clock_id,
                scope=tc.scope,
                department=tc.department,
                deadline=info.at,
                working_days_left=left,
            ),
            now,
        )
        self._notify(
            "warning",
            self._recipients(tc),
            f"预警 {tc.label}: {left:g} working days left, deadline {info.at.isoformat()}",
            now,
        )

    def _breach(self, tc: TrackedClock, now: datetime) -> None:
        tc.breached = True
        tc.warned = True
        info = self.deadline(tc)
        assert info.at is not None
        self._emit(
            ev.DeadlineBreached(
                project_id=self.pid, clock_id=tc.clock_id, scope=tc.scope, department=tc.department, deadline=info.at
            ),
            now,
        )
        m = self.s.matters.get(tc.matter_code or "")
        if tc.scope == "matter" and m is not None and m.state == "pending" and self._deemed(m):
            # 超时默认: the department is deemed to agree and bears the consequences.
            self._approve(m, f"deemed:{tc.clock_id}", "deemed", self._spec(m).department, now)
            self._emit(ev.DepartmentLiabilityRecorded(**self._matter_fields(m), deadline=info.at), now)
            self._notify(
                "deemed_approval",
                [*self._recipients(tc), self.s.registration.project_lead],
                f"{tc.label}: limit missed, deemed approved; liability recorded",
                now,
            )
            return
        if tc.scope == "obligation" and m is not None:
            o = next(o for o in m.obligations if o.clock_id == tc.clock_id)
            if o.kind == "supply_materials":
                o.state = "missed"
                m.state = "suspended"
                self._close_clock(tc.clock_id, now)
                self._emit(ev.ObligationMissed(**self._matter_fields(m), obligation="supply_materials"), now)
                self._emit(
                    ev.ApprovalSuspended(
                        **self._matter_fields(m), reason="materials owed under tolerance not supplied"
                    ),
                    now,
                )
                self._notify(
                    "suspended",
                    [self.s.agent, self.s.registration.project_lead],
                    f"{self._spec(m).name_zh}: approval suspended, owed materials missing",
                    now,
                )
                return
        lead = self.s.registration.project_lead
        self._emit(
            ev.EscalatedToLead(
                project_id=self.pid, clock_id=tc.clock_id, scope=tc.scope, department=tc.department, project_lead=lead
            ),
            now,
        )
        self._notify(
            "escalation", [*self._recipients(tc), lead], f"督办 {tc.label}: deadline {info.at.isoformat()} missed", now
        )

    def _deemed(self, m: MatterState) -> bool:
        return self.zone.deemed_approval and self._spec(m).timeout_policy == "deemed_approval"

    def _still_unresolved(self, tc: TrackedClock) -> bool:
        m = self.s.matters.get(tc.matter_code or "")
        if tc.scope == "matter":
            return m is not None and m.clock_id == tc.clock_id and m.state in ("pending", "correction")
        if tc.scope == "obligation":
            return False
        return not tc.closed

    def _convene(self, tc: TrackedClock, now: datetime) -> None:
        if not self._still_unresolved(tc):
            tc.meeting_id = "none"
            return
        meeting_id = f"jm-{len(self.s.meetings) + 1}"
        tc.meeting_id = meeting_id
        self.s.meetings[meeting_id] = Meeting(meeting_id=meeting_id, clock_id=tc.clock_id, department=tc.department)
        attendees = [*self.zone.escalation.joint_meeting_attendees, self.s.registration.project_lead]
        if tc.department:
            attendees.append(f"dept:{tc.department}")
        self._emit(
            ev.JointMeetingConvened(
                project_id=self.pid,
                meeting_id=meeting_id,
                clock_id=tc.clock_id,
                department=tc.department,
                attendees=attendees,
            ),
            now,
        )
        self._notify("joint_meeting", attendees, f"联席会议 {meeting_id} on {tc.label}", now)

    # ---- what operators see ----------------------------------------------------------------

    def clock_view(self, tc: TrackedClock, now: datetime) -> ClockView:
        info = self.deadline(tc)
        cal, zone = self.ctx.calendar, self.zone
        return ClockView(
            clock_id=tc.clock_id,
            scope=tc.scope,
            limit_days=clocks.limit_days(tc.clock),
            accepted_at=clocks.accepted_at(tc.clock),
            deadline=info.at,
            provisional=info.provisional,
            paused=info.paused,
            working_days_used=self._used(tc, now),
            working_days_left=None if tc.closed else clocks.left_days(tc.clock, cal, zone, now),
            overdue=not tc.closed and self._overdue(tc, now),
            extended=clocks.is_extended(tc.clock),
        )

    def open_departments(self) -> list[str]:
        return sorted(
            {self._spec(m).department for m in self.s.matters.values() if m.state in ("pending", "correction")}
        )

    def overdue(self, now: datetime) -> bool:
        return any(not tc.closed and self._overdue(tc, now) for tc in self.s.clocks.values())

    def nearest_deadline(self) -> datetime | None:
        times = [self.deadline(tc).at for tc in self.s.clocks.values() if not tc.closed]
        return min((t for t in times if t is not None), default=None)

    def waiting_for(self, now: datetime) -> str:
        """One line: what the project waits for, and until when."""
        s = self.s
        if s.stage == Stage.WITHDRAWN:
            return "Withdrawn."
        if s.stage == Stage.IN_PRODUCTION:
            return "In production." + (" Commitment verifications still open." if not self.done else "")
        if s.stage == Stage.CONSTRUCTION:
            return f"Construction at {s.construction_percent}%: waiting for progress reports until completion."
        parts = []
        held = [m for m in s.matters.values() if m.state == "suspended" and self._spec(m).stage != s.stage]
        for m in self._stage_matters(s.stage) + held:
            tc = s.clocks.get(m.clock_id or "")
            until = ""
            if tc is not None and not tc.closed:
                at = self.deadline(tc).at
                until = " (clock stopped)" if at is None else f" until {clocks.local_text(at)}"
            if m.state == "pending":
                parts.append(f"{self._spec(m).department} to decide {self._spec(m).code}{until}")
            elif m.state == "correction":
                parts.append(f"agent {s.agent} to supply correction for {self._spec(m).code}{until}")
            elif m.state == "rejected":
                parts.append(f"agent {s.agent} to resubmit {self._spec(m).code}")
            elif m.state == "suspended":
                parts.append(f"agent {s.agent} to supply owed materials for {self._spec(m).code}")
        overdue = " OVERDUE." if self.overdue(now) else ""
        return f"Stage {s.stage}: waiting for " + ("; ".join(parts) or "the next step") + "." + overdue

    def view(self, now: datetime) -> ProjectView:
        s, r = self.s, self.s.registration
        return ProjectView(
            project_id=r.project_id,
            name=r.name,
            enterprise=r.enterprise,
            zone=r.zone,
            project_type=r.project_type,
            investment_yuan=r.investment_yuan,
            agent=s.agent,
            backup_agent=s.backup_agent,
            project_lead=r.project_lead,
            stage=s.stage,
            waiting_for=self.waiting_for(now),
            construction_percent=s.construction_percent,
            clocks=[self.clock_view(tc, now) for tc in s.clocks.values() if tc.scope in ("process", "stage")],
            matters=[
                MatterView(
                    code=self._spec(m).code,
                    name=self._spec(m).name_zh,
                    department=self._spec(m).department,
                    stage=self._spec(m).stage,
                    mode=m.mode,
                    state=m.state,
                    approval_mode=m.approval_mode,
                    submissions=m.submissions,
                    clock=self.clock_view(s.clocks[m.clock_id], now) if m.clock_id else None,
                    obligations=[
                        ObligationView(
                            kind=o.kind, items=o.items, state=o.state, clock=self.clock_view(s.clocks[o.clock_id], now)
                        )
                        for o in m.obligations
                    ],
                    decisions=m.decisions,
                    license_no=m.license_no,
                )
                for m in s.matters.values()
            ],
            meetings=[
                MeetingView(
                    meeting_id=x.meeting_id, clock_id=x.clock_id, department=x.department, resolution=x.resolution
                )
                for x in s.meetings.values()
            ],
            checklist=s.checklist,
            calendar_version=s.versions.calendar,
            events_emitted=s.version,
        )
