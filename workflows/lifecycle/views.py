"""What operators and callers see: clock views, the one-line story, the full project view."""

from __future__ import annotations

from datetime import datetime

from schemas.events import ProjectHeader
from schemas.project import (
    ClockView,
    MatterView,
    MeetingView,
    ObligationView,
    ProjectResult,
    ProjectView,
)
from schemas.stages import Stage
from workflows import clocks
from workflows.lifecycle.stages import Stages
from workflows.lifecycle.state import (
    OPEN,
    REOPENABLE,
    TrackedClock,
)


class Views(Stages):
    """What operators and callers see: clock views, the one-line story, the full project view."""

    def clock_view(self, tc: TrackedClock, now: datetime) -> ClockView:
        info = self.deadline(tc)
        cal, zone = self.ctx.calendar, self.zone_of(tc)
        return ClockView(
            clock_id=tc.clock_id,
            scope=tc.scope,
            limit_days=clocks.limit_days(tc.clock),
            accepted_at=tc.acceptance or clocks.accepted_at(tc.clock),
            deadline=info.at,
            provisional=info.provisional,
            paused=info.paused,
            working_days_used=self._used(tc, now),
            working_days_left=None if tc.closed else clocks.left_days(tc.clock, cal, zone, now),
            overdue=not tc.closed and self._overdue(tc, now),
            extended=clocks.is_extended(tc.clock),
            promised_days=tc.promised_days,
            promised_deadline=self.answerable_deadline(tc).at if tc.promised_days is not None else None,
            received_at=clocks.accepted_at(tc.clock) if tc.acceptance is not None else None,
            limit_counted=tc.clock.counted,
        )

    def open_departments(self) -> list[str]:
        return sorted({self._spec(m).department for m in self.state.matters.values() if m.state in OPEN})

    def overdue(self, now: datetime) -> bool:
        return any(not tc.closed and self._overdue(tc, now) for tc in self.state.clocks.values())

    def nearest_deadline(self) -> datetime | None:
        times = [self.answerable_deadline(tc).at for tc in self.state.clocks.values() if not tc.closed]
        return min((t for t in times if t is not None), default=None)

    def waiting_for(self, now: datetime) -> str:
        """One line: what the project waits for, and until when."""
        s = self.state
        if s.stage == Stage.WITHDRAWN:
            return "Withdrawn."
        if s.stage == Stage.IN_PRODUCTION:
            reopened = sorted(m.code for m in s.matters.values() if m.state in REOPENABLE)
            if reopened:
                return f"In production; reopened after a failed verification: {', '.join(reopened)}."
            return "In production." + (" Commitment verifications still open." if not self.done else "")
        if s.stage == Stage.CONSTRUCTION:
            return f"Construction at {s.construction_percent}%: waiting for progress reports until completion."
        parts = []
        held = [m for m in s.matters.values() if m.state == "suspended" and self._spec(m).stage != s.stage]
        for m in self._stage_matters(s.stage) + held:
            tc = s.clocks.get(self._current_clock_id(m) or "")
            until = ""
            if tc is not None and not tc.closed:
                at = self.answerable_deadline(tc).at
                until = " (clock stopped)" if at is None else f" until {clocks.local_text(at)}"
            if m.state == "to_apply":
                parts.append(f"agent {s.agent} to apply for {self._spec(m).code}")
            elif m.state == "received":
                parts.append(f"{self._spec(m).department} to accept {self._spec(m).code}{until}")
            elif m.state == "incomplete":
                parts.append(f"agent {s.agent} to complete the application for {self._spec(m).code}")
            elif m.state == "pending":
                parts.append(f"{self._spec(m).department} to decide {self._spec(m).code}{until}")
            elif m.state == "correction":
                parts.append(f"agent {s.agent} to supply correction for {self._spec(m).code}{until}")
            elif m.state == "rejected":
                parts.append(f"agent {s.agent} to resubmit {self._spec(m).code}")
            elif m.state == "suspended":
                parts.append(f"agent {s.agent} to supply owed materials for {self._spec(m).code}")
        overdue = " OVERDUE." if self.overdue(now) else ""
        return f"Stage {s.stage}: waiting for " + ("; ".join(parts) or "the next step") + "." + overdue

    def result(self) -> ProjectResult:
        """The workflow's result: how the project ended, in a few counts."""
        s = self.state
        matters = s.matters.values()
        return ProjectResult(
            project_id=self.pid,
            stage=s.stage,
            outcome="withdrawn" if s.stage == Stage.WITHDRAWN else "completed" if self.done else "unknown",
            matters=len(s.matters),
            approved=sum(1 for m in matters if m.state == "approved"),
            decisions=sum(len(m.decisions) for m in matters),
            events_emitted=s.version,
        )

    def clock_ledgers(self) -> clocks.ClockLedgers:
        """Every open clock with its legal ledger, the limit it counts, its promise and the hours it
        counts with (its zone's on its acceptance day, under the after-hours rule it counts by:
        ``zone_of``): what ``ClockLedger.deadlines`` needs to count its deadlines as this machine
        does under another calendar (the ``clock_ledger`` query; a calendar load's preview)."""
        return clocks.ClockLedgers(
            clocks=[
                clocks.ClockLedger(
                    clock_id=tc.clock_id,
                    label=tc.label,
                    clock=tc.clock,
                    limit=self.limit_of(tc),
                    office_hours=clocks.hours_of(tc.clock, self.zone_of(tc)),
                    promise=self.promise_clock(tc),
                    seasonal_hours=self.zone_of(tc).seasonal_hours,
                )
                for tc in self.state.clocks.values()
                if not tc.closed
            ]
        )

    def view(self, now: datetime) -> ProjectView:
        s, r = self.state, self.state.registration
        header = r.model_dump(include=set(ProjectHeader.model_fields)) | {
            "agent": s.agent,
            "backup_agent": s.backup_agent,
        }
        return ProjectView(
            **header,  # the registration's facts with today's team (AB岗 may have swapped them)
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
                    clock=self.clock_view(s.clocks[clock_id], now) if (clock_id := self._current_clock_id(m)) else None,
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
