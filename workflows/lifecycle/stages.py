"""Stages and matters: registration, submission, approval, obligations, the stage sequence."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from catalog.models import CAPPED_STAGES
from schemas import effects as fx
from schemas import events as ev
from schemas.clocks import PROCESS_CLOCK_ID, acceptance_clock_id, matter_clock_id, obligation_clock_id, stage_clock_id
from schemas.events import ApprovalMode, ChecklistItem
from schemas.project import MAX_PENDING, Awaited, Pending
from schemas.stages import APPROVAL_STAGES, Stage
from workflows import clocks
from workflows.lifecycle.base import LifecycleBase
from workflows.lifecycle.state import (
    REOPENABLE,
    SATISFIED,
    MatterState,
    Obligation,
)


class Stages(LifecycleBase):
    """Stages and matters: registration, submission, approval, obligations, the stage sequence."""

    def register(self, checklist: list[ChecklistItem], now: datetime) -> None:
        """Enter the pipeline: checklist, matters, the whole-process clock, the first stage."""
        r = self.state.registration
        checklist = self._as_handed(checklist, self.ctx.catalog.matter)
        self.state.checklist = checklist
        cap = self.zone.process_caps.get(r.project_type)
        process = self._new_clock(PROCESS_CLOCK_ID, "process", "whole approval process", cap, now) if cap else None
        if process is not None and self.state.acceptance_rule == 2:
            # Approval time only: nothing is with a department before the first acceptance.
            process.clock = clocks.stop(process.clock, "applicant", "no application accepted yet", now)
        for item in checklist:
            spec = self.ctx.catalog.matter(item.matter_code)
            self.state.matters[spec.code] = MatterState(code=spec.code, mode=item.mode)
        self._emit(
            ev.ProjectRegistered(
                **r.model_dump(include=set(ev.ProjectHeader.model_fields)),
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

    def _current_clock_id(self, m: MatterState) -> str | None:
        """The clock a matter runs now: the department's period to accept while received, else its decision clock."""
        if m.state == "received":
            return acceptance_clock_id(m.code, m.submissions)
        return m.clock_id

    # What each matter state waits for, and whether the department (else the agent) is awaited.
    _AWAITED: ClassVar[dict[str, tuple[Awaited, bool]]] = {
        "to_apply": ("apply", False),
        "received": ("accept", True),
        "incomplete": ("complete", False),
        "pending": ("decide", True),
        "correction": ("correction", False),
        "rejected": ("resubmit", False),
        "suspended": ("owed_materials", False),
    }

    def pending(self) -> tuple[list[Pending], int]:
        """The steps the project waits for (the matters of ``waiting_for``), at most ``MAX_PENDING``,
        and how many more there are."""
        s = self.state
        if s.stage in (Stage.WITHDRAWN, Stage.CONSTRUCTION):
            return [], 0
        if s.stage == Stage.IN_PRODUCTION:
            matters = [
                m
                for m in s.matters.values()
                if m.state in REOPENABLE or (m.state == "suspended" and self._owed_past_production(m))
            ]
        else:
            held = [m for m in s.matters.values() if m.state == "suspended" and self._spec(m).stage != s.stage]
            matters = self._stage_matters(s.stage) + held
        steps = []
        for m in matters:
            awaited = self._AWAITED.get(m.state)
            if awaited is None:
                continue
            tc = s.clocks.get(self._current_clock_id(m) or "")
            department = self._spec(m).department
            steps.append(
                Pending(
                    matter_code=m.code,
                    department=department,
                    awaited=awaited[0],
                    by=department if awaited[1] else s.agent,
                    until=None if tc is None or tc.closed else self.answerable_deadline(tc).at,
                )
            )
        return steps[:MAX_PENDING], max(0, len(steps) - MAX_PENDING)

    def _stage_matters(self, stage: Stage) -> list[MatterState]:
        return [m for m in self.state.matters.values() if self._spec(m).stage == stage]

    def _start_stage(self, stage: Stage, now: datetime) -> None:
        self.state.stage = stage
        limit = self.zone.stage_limits.get(stage)
        deadline = None
        # Filing rule 2: the stage's clock belongs to its lead department (牵头部门), which answers for it.
        lead = self.zone.stage_leads.get(stage) if self.state.filing_rule == 2 else None
        if limit and stage in APPROVAL_STAGES:
            tc = self._new_clock(stage_clock_id(stage), "stage", f"stage {stage}", limit, now, department=lead)
            deadline = self.deadline(tc).at
        self._emit(
            ev.StageStarted(
                project_id=self.pid, stage=stage, limit_days=limit, deadline=deadline, lead_department=lead
            ),
            now,
        )
        for m in self._stage_matters(stage):
            if m.mode == "regional_assessment":
                self._exempt(m, now)

    def _exempt(self, m: MatterState, now: datetime, record: dict[str, Any] | None = None) -> None:
        """Satisfied by the zone's regional assessment (区域评估); ``record``: the fit and commitment."""
        m.state = "exempt"
        spec = self._spec(m)
        fields = {
            "assessment": spec.regional_assessment or "",
            "statutory_days": self._statutory_days(spec),
            "statutory_working_days": self._statutory_working_days(spec, None, now),
        }
        self._emit(ev.MatterExempted(**self._matter_fields(m), **fields, **(record or {})), now)

    def _satisfied(self, m: MatterState) -> bool:
        return m.state in SATISFIED

    def _stage_done(self, stage: Stage) -> bool:
        # A suspended approval (容缺 materials not supplied) holds whatever stage the project is in.
        if any(m.state == "suspended" for m in self.state.matters.values()):
            return False
        return all(self._satisfied(m) for m in self._stage_matters(stage))

    def advance(self, now: datetime) -> None:
        """Submit (or open to apply) what may be, close finished stages, open the next ones; then
        run or stop the whole-process clock on whether an approval is with a department."""
        self._advance(now)
        self._track_process(now)

    def _track_process(self, now: datetime) -> None:
        """The whole-process cap counts approval time as the reform does (acceptance rule 2).

        It runs while at least one matter of the capped stages is accepted and its clock runs, and
        stops otherwise: the enterprise's own time (preparing, completing, correcting) and the §45
        procedures are not approval time (国办发〔2019〕11号: approval time runs from acceptance).
        """
        tc = self.state.clocks.get(PROCESS_CLOCK_ID)
        if tc is None or tc.closed or self.state.acceptance_rule == 1:
            return
        held = any(
            (own := self.state.clocks.get(m.clock_id or "")) is not None and not clocks.is_stopped(own.clock)
            for m in self.state.matters.values()
            if m.state == "pending" and self._spec(m).stage in CAPPED_STAGES
        )
        stopped = clocks.is_stopped(tc.clock)
        if held and stopped:
            self._resume(PROCESS_CLOCK_ID, now)
        elif not held and not stopped:
            self._stop(PROCESS_CLOCK_ID, "applicant", "no approval is with a department", now)

    def _advance(self, now: datetime) -> None:
        while True:
            stage = self.state.stage
            if stage == Stage.REGISTERED:
                self._start_stage(Stage.ESTABLISHMENT, now)
                continue
            if stage in APPROVAL_STAGES:
                for m in self._stage_matters(stage):
                    if m.state == "waiting" and all(
                        self._satisfied(self.state.matters[r])
                        for r in self._spec(m).requires
                        if r in self.state.matters
                    ):
                        self._make_ready(m, now)
                if not self._stage_done(stage):
                    return
                used = self._close_clock(stage_clock_id(stage), now)
                self._emit(ev.StageCompleted(project_id=self.pid, stage=stage, working_days_used=used), now)
                if stage == Stage.CONSTRUCTION_PERMIT:
                    self._close_clock(PROCESS_CLOCK_ID, now)
                    self._start_stage(Stage.CONSTRUCTION, now)
                elif stage == Stage.COMPLETION_ACCEPTANCE:
                    return self._finish(now)
                else:
                    self._start_stage(APPROVAL_STAGES[APPROVAL_STAGES.index(stage) + 1], now)
                continue
            if stage == Stage.CONSTRUCTION and self.state.construction_percent >= 100:
                self._start_stage(Stage.COMPLETION_ACCEPTANCE, now)
                continue
            return

    def _finish(self, now: datetime) -> None:
        total = sum(self._used(tc, now) for tc in self.state.clocks.values() if tc.scope == "stage")
        self.state.stage = Stage.IN_PRODUCTION
        # Verifications still owed keep their clocks (and escalation) after production starts; under
        # production rule 2 so do a bad rating's callback and fix (the project ends once they are done).
        owed = {o.clock_id for m in self.state.matters.values() for o in m.obligations if o.state == "open"}
        rule_2 = self.state.production_rule == 2
        if rule_2:
            owed |= {c for c, tc in self.state.clocks.items() if tc.scope == "rating" and not tc.closed}
        running = sorted(c for c in owed if c in self.state.clocks and not self.state.clocks[c].closed)
        self._emit(
            ev.ProjectInProduction(
                project_id=self.pid, working_days_total=total, clocks_running=running if rule_2 else None
            ),
            now,
        )
        for clock_id in self.state.clocks:
            if clock_id not in owed:
                self._close_clock(clock_id, now)

    def _close_all(self, now: datetime) -> None:
        for clock_id in self.state.clocks:
            self._close_clock(clock_id, now)

    @property
    def done(self) -> bool:
        """The lifecycle has ended and nothing is owed any more (under production rule 2, no approval
        is suspended for materials owed under tolerance either: the agent may still supply them)."""
        if self.state.stage == Stage.WITHDRAWN:
            return True
        matters = self.state.matters.values()
        return (
            self.state.stage == Stage.IN_PRODUCTION
            and not any(o.state == "open" for m in matters for o in m.obligations)
            and not any(m.state in REOPENABLE for m in matters)  # reopened by a failed verification
            and not any(self._owed_past_production(m) for m in matters)
        )

    def _owed_past_production(self, m: MatterState) -> bool:
        """Production rule 2, in production: materials owed under tolerance (容缺) that the agent may
        still supply, the approval suspended until then (an obligation not fulfilled)."""
        return (
            self.state.production_rule == 2
            and self.state.stage == Stage.IN_PRODUCTION
            and any(o.kind == "supply_materials" and o.state != "fulfilled" for o in m.obligations)
        )

    def _make_ready(self, m: MatterState, now: datetime) -> None:
        """The matter's turn has come: open for the agent's application, or (rule 1) submitted at once."""
        if self.state.acceptance_rule == 1:
            self._submit(m, now)
            return
        m.state = "to_apply"
        m.ready_since = now
        self._emit(ev.ApplicationOpened(**self._matter_fields(m)), now)

    def _start_decision_clock(
        self, m: MatterState, start: datetime, received_at: datetime | None = None
    ) -> tuple[datetime | None, datetime | None]:
        """Start the matter's decision clock at ``start``; return its statutory and promised deadlines.

        Rule 2 runs the statutory limit with the zone's shorter promise on the same ledger; clock
        model 1 (projects registered before) one clock at the shorter of the two. Under rule 2 a
        limit counted from the receipt (``MatterSpec.limit_from``) starts at ``received_at`` when
        given (the application accepted at ``start``), and the promise at ``start``.
        """
        spec = self._spec(m)
        two_clocks = self.state.clock_model == 2
        acceptance = None
        if two_clocks and spec.limit_from == "receipt" and received_at is not None and received_at < start:
            start, acceptance = received_at, start
        days = spec.clock_days if two_clocks else spec.limit_days
        tc = self._new_clock(
            matter_clock_id(spec.code, m.submissions),
            "matter",
            f"{spec.name_zh} ({spec.department})",
            days,
            start,
            department=spec.department,
            matter_code=spec.code,
            counted=spec.counted_for(days),  # a limit in 日 of the matter's own law (民法典 §201-§203)
        )
        if two_clocks and spec.promised_days is not None and spec.promised_days < spec.clock_days:
            tc.promised_days = spec.promised_days
        tc.acceptance = acceptance
        m.clock_id = tc.clock_id
        return self.deadline(tc).at, self.promised_deadline(tc)

    def _decision_fields(self, m: MatterState, deadline: datetime | None, promised: datetime | None) -> dict[str, Any]:
        """The fields of ``MatterSubmitted`` (and ``ApplicationAccepted``): what runs from now on."""
        spec = self._spec(m)
        return {
            **self._matter_fields(m),
            "submission": m.submissions,
            "mode": m.mode,
            "statutory_days": self._statutory_days(spec),
            "promised_days": spec.promised_days,
            "deadline": deadline,
            "promised_deadline": promised,
        }

    def _application_effect(
        self, m: MatterState, now: datetime, deadline: datetime | None, promised: datetime | None, **more: Any
    ) -> fx.SubmitApplication:
        spec = self._spec(m)
        return fx.SubmitApplication(
            **self._submission_of(m),
            department=spec.department,
            payload={
                "project_name": self.state.registration.name,
                "enterprise": self.state.registration.enterprise,
                "matter_name": spec.name_zh,
                "mode": m.mode,
                "materials": m.materials or spec.main_materials,
                "deadline": deadline.isoformat() if deadline else None,
                **({"promised_deadline": promised.isoformat()} if promised else {}),
                "agent": self.state.agent,
            },
            submitted_at=now,
            **more,
        )

    def _submit(self, m: MatterState, now: datetime) -> None:
        """Rule 1: the matter is submitted when its turn comes and its clock starts at once."""
        m.submissions += 1
        m.state = "pending"
        deadline, promised = self._start_decision_clock(m, now)
        self._emit(ev.MatterSubmitted(**self._decision_fields(m, deadline, promised)), now)
        self.state.effects.append(self._application_effect(m, now, deadline, promised))
        if m.mode == "commitment":
            # 告知承诺: the signed commitment is the application; approval is granted at once.
            self._approve(m, "commitment", "commitment", "enterprise commitment", now)

    def _approve(self, m: MatterState, decision_id: str, mode: ApprovalMode, by: str, now: datetime) -> None:
        tc = self.state.clocks[m.clock_id] if m.clock_id else None
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
                statutory_days=self._statutory_days(self._spec(m)),
                on_time=on_time,
                statutory_working_days=self._statutory_working_days(self._spec(m), tc, now),
            ),
            now,
        )
        self._close_submission(m, f"approved:{mode}", now)
        spec = self._spec(m)
        if spec.issues_license and m.license_no is None:
            # The number is a pure function of the approval: nothing to wait for.
            m.license_no = fx.license_number(self.pid, m.code, m.submissions)
            self.state.effects.append(
                fx.IssueLicense(
                    **self._submission_of(m),
                    license_no=m.license_no,
                    department=spec.department,
                    enterprise=self.state.registration.enterprise,
                    deemed=mode == "deemed",
                )
            )
            self._emit(
                ev.ELicenseIssued(**self._matter_fields(m), license_no=m.license_no, deemed=mode == "deemed"), now
            )
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
        clock_id = obligation_clock_id(m.code, kind, m.submissions)
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
        m.obligations.append(Obligation(kind=kind, items=self._kept(items), clock_id=clock_id))
        self._emit(
            ev.ObligationOpened(**self._matter_fields(m), obligation=kind, items=items, deadline=self.deadline(tc).at),
            now,
        )
