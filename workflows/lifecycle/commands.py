"""The commands: each Temporal update ``X`` has ``validate_X`` (refuse before history) and ``X`` here.

``check`` and ``execute`` wrap them with the request-id rule.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from legalclock import LegalClockError
from schemas import effects as fx
from schemas import events as ev
from schemas import project as p
from schemas.stages import Stage
from workflows import clocks
from workflows.clocks import LegalClock
from workflows.lifecycle.acceptance import Acceptance
from workflows.lifecycle.state import (
    ANSWERS_KEPT,
    OPEN,
    SATISFIED,
    Answer,
    MatterState,
    Meeting,
    Obligation,
    Rejected,
    TrackedClock,
    answer_key,
    fingerprint,
    request_id_of,
)


class Commands(Acceptance):
    """The commands: each Temporal update ``X`` has ``validate_X`` (refuse before history) and ``X`` here."""

    def check(self, name: str, cmd: BaseModel, now: datetime | None = None) -> None:
        """Validator of update ``name``: raise ``Rejected`` unless ``cmd`` may be applied at ``now``.

        ``now`` matters to the rules that depend on time (an extension only within the limit);
        without it those are checked when the command is applied.
        """
        if self.remembered(cmd) is not None:
            return
        if name in ("extend_limit", "decide"):
            getattr(self, f"validate_{name}")(cmd, now)
        else:
            getattr(self, f"validate_{name}")(cmd)
        if isinstance(cmd, p.SupplyMaterials):
            self.check_completion_size(cmd)

    def execute(self, name: str, cmd: BaseModel, now: datetime) -> p.DecisionResult | p.Ack:
        """Apply update ``name`` (validated again), advance the stages, remember the answer."""
        rid = request_id_of(cmd)
        known = self.remembered(cmd)
        if known is not None:
            return self._answered(known.result.model_copy(update={"duplicate": True}))
        self._cause = rid
        try:
            result: p.DecisionResult | p.Ack = getattr(self, name)(cmd, now)
            # Advance right away, so the next query or update sees the stage move this one caused.
            self.advance(now)
        finally:
            self._cause = None
        if isinstance(result, p.Ack):
            result = result.model_copy(update={"stage": self.state.stage, "request_id": rid})
        else:
            result = result.model_copy(update={"stage": self.state.stage})
        self.remember(cmd, result)
        return self._answered(result)

    def remembered(self, cmd: BaseModel) -> Answer | None:
        """The first answer kept under ``cmd``'s request id, or None.

        Raises:
            Rejected: the id was used for another command (another body).
        """
        known = self.state.answers.get(answer_key(cmd, self.state.decision_scope == 2))
        if known is not None and known.fingerprint != fingerprint(cmd):
            raise Rejected(f"request_id: {request_id_of(cmd)} was already used for a different command")
        return known

    def remember(self, cmd: BaseModel, result: p.DecisionResult | p.Ack) -> None:
        """Keep ``result`` as ``cmd``'s first answer (the newest ``ANSWERS_KEPT``, carried across runs)."""
        answers = self.state.answers
        answers[answer_key(cmd, self.state.decision_scope == 2)] = Answer(fingerprint=fingerprint(cmd), result=result)
        for old in list(answers)[: max(0, len(answers) - ANSWERS_KEPT)]:
            del answers[old]  # dicts keep insertion order, across continue-as-new too

    def _answered(self, result: p.DecisionResult | p.Ack) -> p.DecisionResult | p.Ack:
        """``result`` with the steps the project waits for now: answered, never kept (the kept first
        answer stays small; a repeat gets the first answer with what is pending at the repeat)."""
        pending, more = self.pending()
        return result.model_copy(update={"pending": pending, "pending_more": more})

    def validate_decide(self, d: p.Decision, now: datetime | None = None) -> None:
        """Raise ``Rejected`` unless ``d`` may be applied (at ``now``, for the acceptance window)."""
        m = self.matter(d.matter_code)
        self._require_active(m)
        if d.department != self._spec(m).department:
            raise Rejected(
                f"department: matter {d.matter_code} belongs to {self._spec(m).department}, not {d.department}"
            )
        if m.state == "received":
            self._check_acceptance(m, d, now)
        elif d.kind in p.ACCEPTANCE_KINDS:
            raise Rejected(f"kind: {d.kind} is decided on a received application; {d.matter_code} is {m.state}")
        elif m.state != "pending":
            raise Rejected(f"matter_code: matter {d.matter_code} is not pending a decision (state: {m.state})")
        if self.state.acceptance_rule == 2:
            self._check_after_acceptance(m, d)
        needs = {"accept_with_tolerance": "tolerance", "approve_on_commitment": "commitment"}.get(d.kind)
        if needs and needs not in self._spec(m).modes:
            raise Rejected(f"kind: matter {d.matter_code} cannot be handled by {needs}")
        if d.instant and "instant" not in self._spec(m).modes:
            raise Rejected(f"instant: matter {d.matter_code} is not an instant matter (即办件)")
        tc = self.state.clocks.get(m.clock_id or "")
        if d.kind == "request_correction" and tc is not None and clocks.is_stopped(tc.clock):
            raise Rejected(
                f"kind: the clock of {d.matter_code} is stopped by its department; resume it before "
                "requesting a correction"
            )

    def _check_after_acceptance(self, m: MatterState, d: p.Decision) -> None:
        """Rule 2: one supplementary request per accepted application; a commitment needs one signed."""
        if d.kind == "request_correction" and m.supplementary_requests:
            raise Rejected(
                f"kind: supplementary materials for {m.code} were already requested once on this application; "
                "what is missing is listed in one notice (一次性告知)"
            )
        if d.kind == "approve_on_commitment" and m.commitment is None:
            raise Rejected(
                f"kind: approve_on_commitment needs the enterprise's signed commitment; the application for "
                f"{m.code} carried none (告知承诺, 国办发〔2020〕42号)"
            )

    def decide(self, d: p.Decision, now: datetime) -> p.DecisionResult:
        """Apply a department's decision (on an accepted application, or on accepting one)."""
        self.validate_decide(d, now)
        m = self.matter(d.matter_code)
        if m.state == "received" and d.kind not in p.ACCEPTANCE_KINDS:
            self._accept(m, d.decision_id, d.decided_by, now, now, deemed=False)  # 即办件: in one step
        self._record(
            m,
            p.DecisionRecord(
                decision_id=d.decision_id,
                kind=d.kind,
                decided_by=d.decided_by,
                at=now,
                reasons=d.reasons,
                items=d.items,
            ),
        )
        {
            "approve": self._approve_decided,
            "accept_with_tolerance": self._accept_with_tolerance,
            "approve_on_commitment": self._approve_on_commitment,
            "reject": self._reject,
            "request_correction": self._request_correction,
            "accept": self._accept_decided,
            "request_completion": self._request_completion,
            "refuse": self._refuse,
        }[d.kind](m, d, now)
        return p.DecisionResult(decision_id=d.decision_id, matter_code=m.code, state=m.state)

    def _approve_decided(self, m: MatterState, d: p.Decision, now: datetime) -> None:
        self._approve(m, d.decision_id, "instant" if d.instant else "standard", d.decided_by, now)

    def _accept_with_tolerance(self, m: MatterState, d: p.Decision, now: datetime) -> None:
        """容缺: approved now; the named secondary materials are owed within the tolerance period."""
        self._approve(m, d.decision_id, "tolerance", d.decided_by, now)
        self._open_obligation(m, "supply_materials", d.items, self._spec(m).tolerance_supply_days, now)
        self._notify("tolerance", [self.state.agent], f"{self._spec(m).name_zh}: supply {', '.join(d.items)}", now)

    def _approve_on_commitment(self, m: MatterState, d: p.Decision, now: datetime) -> None:
        """告知承诺: approved on the enterprise's commitment; the department verifies later."""
        self._approve(m, d.decision_id, "commitment", d.decided_by, now)

    def _reject(self, m: MatterState, d: p.Decision, now: datetime) -> None:
        """Rejected with reasons: the clock closes; the agent may resubmit. ``on_time``: within the
        deadline the zone answers for, as for an approval (the report no longer compares the days
        used, which count from the receipt where the limit does, with the promise, from acceptance)."""
        tc = self.state.clocks.get(m.clock_id or "")
        on_time = tc is None or not self._overdue(tc, now)
        used = self._close_clock(m.clock_id, now)
        m.state = "rejected"
        self._emit(
            ev.MatterRejected(
                **self._matter_fields(m),
                decision_id=d.decision_id,
                decided_by=d.decided_by,
                reasons=d.reasons,
                working_days_used=used,
                on_time=on_time,
                statutory_working_days=self._statutory_working_days(self._spec(m), tc, now),
            ),
            now,
        )
        self._close_submission(m, "rejected", now)
        self._notify("rejected", [self.state.agent], f"{self._spec(m).name_zh} rejected: {'; '.join(d.reasons)}", now)

    def _request_correction(self, m: MatterState, d: p.Decision, now: datetime) -> None:
        """补正: the clock stops until the agent supplies the items."""
        assert m.clock_id is not None
        m.state = "correction"
        m.supplementary_requests += 1
        self._stop(m.clock_id, "correction", "; ".join(d.items), now)
        self._emit(
            ev.CorrectionRequested(
                **self._matter_fields(m), decision_id=d.decision_id, decided_by=d.decided_by, items=d.items
            ),
            now,
        )
        self._notify(
            "correction", [self.state.agent], f"{self._spec(m).name_zh}: correction needed: {', '.join(d.items)}", now
        )

    def validate_supply_materials(self, cmd: p.SupplyMaterials) -> MatterState:
        m = self.matter(cmd.matter_code)
        if not (self._owed_past_production(m) and self._open_supply(m)):
            self._require_active(m)
        if m.state in ("correction", "incomplete") or self._open_supply(m):
            return m
        raise Rejected(f"matter_code: nothing is owed on matter {cmd.matter_code} (state: {m.state})")

    def _open_supply(self, m: MatterState) -> Obligation | None:
        return next((o for o in m.obligations if o.kind == "supply_materials" and o.state != "fulfilled"), None)

    def supply_materials(self, cmd: p.SupplyMaterials, now: datetime) -> p.Ack:
        m = self.validate_supply_materials(cmd)
        if m.state == "incomplete":
            return self._complete_application(m, cmd, now)
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

    def validate_resubmit(self, cmd: p.Resubmit) -> MatterState:
        m = self.matter(cmd.matter_code)
        self._require_active(m)
        if m.state != "rejected":
            raise Rejected(f"matter_code: only a rejected matter is resubmitted ({cmd.matter_code} is {m.state})")
        return m

    def resubmit(self, cmd: p.Resubmit, now: datetime) -> p.Ack:
        """A new application after a rejection: received for acceptance (rule 2), or submitted (rule 1)."""
        m = self.validate_resubmit(cmd)
        if self.state.acceptance_rule == 2:
            self._new_application(m, now)
            return self._ack(f"{self._spec(m).code} applied for again (submission {m.submissions})")
        self._submit(m, now)
        return self._ack(f"{self._spec(m).code} resubmitted (submission {m.submissions})")

    def validate_verify(self, v: p.Verification) -> MatterState:
        if self.state.stage == Stage.WITHDRAWN:  # verification outlives production, not withdrawal
            raise Rejected(f"project {self.pid} is withdrawn; nothing can change")
        m = self.matter(v.matter_code)
        if v.department != self._spec(m).department:
            raise Rejected(
                f"department: matter {v.matter_code} belongs to {self._spec(m).department}, not {v.department}"
            )
        if not any(o.kind == "verification" and o.state == "open" for o in m.obligations):
            raise Rejected(f"matter_code: matter {v.matter_code} has no commitment awaiting verification")
        return m

    def verify(self, v: p.Verification, now: datetime) -> p.DecisionResult:
        m = self.validate_verify(v)
        o = next(o for o in m.obligations if o.kind == "verification" and o.state == "open")
        self._close_clock(o.clock_id, now)
        self._record(
            m,
            p.DecisionRecord(
                decision_id=v.decision_id,
                kind="verification_passed" if v.passed else "verification_failed",
                decided_by=v.by,
                at=now,
                reasons=[v.findings] if v.findings else [],
            ),
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
                [self.state.agent, self.state.registration.project_lead],
                f"{self._spec(m).name_zh}: approval revoked after verification",
                now,
            )
            if m.license_no:
                self.state.effects.append(
                    fx.RevokeLicense(
                        project_id=self.pid, license_no=m.license_no, reason=v.findings or "verification failed"
                    )
                )
            m.mode = "standard"
            m.approval_mode = None
            m.license_no = None
            o.state = "fulfilled"  # the obligation is settled; the matter itself reopens
            self._make_ready(m, now)
        return p.DecisionResult(decision_id=v.decision_id, matter_code=m.code, state=m.state)

    def _pending_matter_of(self, code: str, department: str) -> MatterState:
        m = self.matter(code)
        self._require_active(m)
        if department != self._spec(m).department:
            raise Rejected(f"department: matter {code} belongs to {self._spec(m).department}, not {department}")
        return m

    def validate_stop_clock(self, cmd: p.StopClock) -> MatterState:
        m = self._pending_matter_of(cmd.matter_code, cmd.department)
        tc = self.state.clocks.get(m.clock_id or "")
        if m.state != "pending" or tc is None or clocks.is_stopped(tc.clock):
            raise Rejected(f"matter_code: the clock of {cmd.matter_code} is not running (state: {m.state})")
        return m

    def stop_clock(self, cmd: p.StopClock, now: datetime) -> p.Ack:
        """A §45 stop, with its declared length told to the agent (行政许可法 §45)."""
        m = self.validate_stop_clock(cmd)
        assert m.clock_id is not None
        self._stop(m.clock_id, cmd.kind, cmd.reason, now, cmd.expected_days)
        spec = self._spec(m)
        self._notify(
            "clock_stopped",
            [self.state.agent],
            f"{spec.name_zh}: the limit is stopped for {cmd.kind} ({cmd.reason}), expected to take "
            f"{cmd.expected_days:g} working days (行政许可法 §45)",
            now,
        )
        return self._ack(f"clock of {m.code} stopped for {cmd.kind}, {cmd.expected_days:g} working days")

    def validate_resume_clock(self, cmd: p.ResumeClock) -> MatterState:
        m = self._pending_matter_of(cmd.matter_code, cmd.department)
        tc = self.state.clocks.get(m.clock_id or "")
        if m.state != "pending" or tc is None or not clocks.is_stopped(tc.clock):
            raise Rejected(f"matter_code: the clock of {cmd.matter_code} is not stopped by its department")
        return m

    def resume_clock(self, cmd: p.ResumeClock, now: datetime) -> p.Ack:
        m = self.validate_resume_clock(cmd)
        assert m.clock_id is not None
        self._resume(m.clock_id, now)
        return self._ack(f"clock of {self._spec(m).code} running again")

    def validate_extend_limit(self, cmd: p.ExtendLimit, now: datetime | None = None) -> MatterState:
        """One extension, within the limit, of at most the matter's maximum (行政许可法 §42)."""
        m = self._pending_matter_of(cmd.matter_code, cmd.department)
        tc = self.state.clocks.get(m.clock_id or "")
        if m.state not in OPEN or tc is None:
            raise Rejected(f"matter_code: {cmd.matter_code} has no running clock to extend")
        spec = self._spec(m)
        if self._on_promise_alone(spec):
            raise Rejected(
                f"matter_code: {cmd.matter_code} is a {spec.kind} on the zone's promise alone; 行政许可法 §42 extends "
                "an administrative licence's statutory limit, and the law sets none here"
            )
        if spec.extension_max_days is None:
            raise Rejected(
                f"matter_code: the limit of {cmd.matter_code} is set by its own law or regulation, which provides no "
                "extension (行政许可法 §42 yields to it: 法律、法规另有规定的，依照其规定); its legal basis: "
                f"{spec.legal_basis}"
            )
        if clocks.is_extended(tc.clock):
            raise Rejected(f"matter_code: the limit of {cmd.matter_code} was already extended once (行政许可法 §42)")
        unit = clocks.unit_of(tc.clock)
        if unit == "days" and not float(cmd.days).is_integer():
            raise Rejected(
                f"days: the limit of {cmd.matter_code} is in calendar days (日, 民法典 §201-§203), so its "
                f"extension is a whole number of days, got {cmd.days:g}"
            )
        if cmd.days > spec.extension_max_days:
            raise Rejected(
                f"days: an extension of {cmd.days:g} {unit} exceeds the legal maximum of "
                f"{spec.extension_max_days:g} for {m.code} "
                f"({'行政许可法 §42' if spec.extension_max_days == 10 and unit != 'days' else spec.legal_basis})"
            )
        if now is not None:
            at = self.deadline(tc).at
            if at is not None and now >= at:  # the period ended at the close of office on its last day
                raise Rejected(
                    f"days: the limit of {m.code} ran out at {clocks.local_text(at)}; an extension must be "
                    "decided within the limit (行政许可法 §42)"
                )
            try:
                self._extended(m, tc, cmd, now)
            except LegalClockError as exc:
                raise Rejected(f"days: {exc}") from None
        return m

    def _extended(self, m: MatterState, tc: TrackedClock, cmd: p.ExtendLimit, now: datetime) -> LegalClock:
        most = self._spec(m).extension_max_days
        if most is None:  # validate_extend_limit refuses it first; never extend without a maximum
            raise Rejected(f"matter_code: the limit of {m.code} provides no extension")
        return clocks.extend(
            tc.clock,
            cmd.days,
            cmd.approved_by,
            cmd.reason,
            now,
            self.ctx.calendar,
            self.zone_of(tc),
            most,
        )

    def extend_limit(self, cmd: p.ExtendLimit, now: datetime) -> p.Ack:
        m = self.validate_extend_limit(cmd, now)
        assert m.clock_id is not None
        tc = self.state.clocks[m.clock_id]
        promised_before = self.answerable_deadline(tc).at
        tc.clock = self._extended(m, tc, cmd, now)
        info = self.deadline(tc)
        # A later deadline re-arms its part of the ladder; the promise moves only where the zone's
        # policy says so (ZonePolicy.extension_moves_promise).
        if info.at is not None and info.at > now:
            tc.breached = False
        promised = self.answerable_deadline(tc).at
        if promised != promised_before and promised is not None and promised > now:
            tc.warned = tc.promise_breached = False
        self._emit(
            ev.LimitExtended(
                **self._on_clock(tc, department=False),
                days=cmd.days,
                approved_by=cmd.approved_by,
                reason=cmd.reason,
                new_deadline=info.at,
                new_promised_deadline=self.promised_deadline(tc),
            ),
            now,
        )
        # The applicant is told of the extension and why (行政许可法 §42).
        self._notify(
            "extended",
            [self.state.agent],
            f"{self._spec(m).name_zh}: the limit is extended by {cmd.days:g} {clocks.unit_of(tc.clock)} to "
            f"{clocks.local_text(info.at) if info.at else 'after the stop'} "
            f"({cmd.reason}; approved by {cmd.approved_by})",
            now,
        )
        return self._ack(f"limit of {self._spec(m).code} extended by {cmd.days:g} {clocks.unit_of(tc.clock)}")

    def validate_reassign_agent(self, cmd: p.ReassignAgent) -> None:
        self._require_active()
        if cmd.to_agent == self.state.agent:
            raise Rejected(f"to_agent: {cmd.to_agent} is already the agent of {self.pid}")

    def reassign_agent(self, cmd: p.ReassignAgent, now: datetime) -> p.Ack:
        self.validate_reassign_agent(cmd)
        old = self.state.agent
        if cmd.to_agent == self.state.backup_agent:
            self.state.backup_agent = old  # AB岗: the backup takes over, the first agent backs up
        self.state.agent = cmd.to_agent
        self._emit(
            ev.AgentReassigned(
                project_id=self.pid, from_agent=old, to_agent=cmd.to_agent, by=cmd.by, reason=cmd.reason
            ),
            now,
        )
        self._notify(
            "reassigned", [old, cmd.to_agent], f"{self.state.registration.name}: agent is now {cmd.to_agent}", now
        )
        return self._ack(f"agent is now {cmd.to_agent}")

    def validate_report_progress(self, cmd: p.ProgressReport) -> None:
        self._require_active()
        if self.state.stage != Stage.CONSTRUCTION:
            raise Rejected(f"stage: progress is reported during construction, the project is in {self.state.stage}")
        if cmd.percent < self.state.construction_percent:
            raise Rejected(
                f"percent: progress cannot go back from {self.state.construction_percent}% to {cmd.percent}%"
            )

    def report_progress(self, cmd: p.ProgressReport, now: datetime) -> p.Ack:
        self.validate_report_progress(cmd)
        self.state.construction_percent = cmd.percent
        self._emit(ev.ConstructionProgressReported(project_id=self.pid, percent=cmd.percent, note=cmd.note), now)
        return self._ack(f"construction at {cmd.percent}%")

    def validate_resolve_meeting(self, cmd: p.ResolveMeeting) -> Meeting:
        self._require_active()
        meeting = self.state.meetings.get(cmd.meeting_id)
        if meeting is None:
            raise Rejected(f"meeting_id: no joint meeting {cmd.meeting_id} in project {self.pid}")
        if meeting.resolution is not None:
            raise Rejected(f"meeting_id: joint meeting {cmd.meeting_id} is already resolved")
        return meeting

    def resolve_meeting(self, cmd: p.ResolveMeeting, now: datetime) -> p.Ack:
        meeting = self.validate_resolve_meeting(cmd)
        meeting.resolution = cmd.resolution
        self._emit(
            ev.JointMeetingResolved(
                project_id=self.pid, meeting_id=cmd.meeting_id, resolution=cmd.resolution, by=cmd.by
            ),
            now,
        )
        return self._ack(f"joint meeting {cmd.meeting_id} resolved")

    def validate_withdraw(self, cmd: p.Withdraw) -> None:
        self._require_active()

    def withdraw(self, cmd: p.Withdraw, now: datetime) -> p.Ack:
        self.validate_withdraw(cmd)
        stage = self.state.stage
        for m in self.state.matters.values():
            if m.state in OPEN:
                self._close_submission(m, "withdrawn", now)
            if m.state not in SATISFIED:
                m.state = "withdrawn"
            for o in m.obligations:
                if o.state == "open":
                    o.state = "fulfilled"
        self._close_all(now)
        self.state.stage = Stage.WITHDRAWN
        self._emit(ev.ProjectWithdrawn(project_id=self.pid, stage=stage, reason=cmd.reason, by=cmd.by), now)
        self._notify(
            "withdrawn",
            [self.state.agent, self.state.registration.project_lead],
            f"{self.state.registration.name} withdrawn: {cmd.reason}",
            now,
        )
        return self._ack("project withdrawn")
