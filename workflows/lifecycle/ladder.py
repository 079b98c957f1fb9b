"""The escalation ladder: warnings, breaches (deemed approval, missed obligation, escalation), joint meetings."""

from __future__ import annotations

from datetime import datetime

from schemas import events as ev
from workflows import clocks
from workflows.lifecycle.stages import Stages
from workflows.lifecycle.state import (
    OPEN,
    MatterState,
    Meeting,
    Obligation,
    TrackedClock,
)


class Ladder(Stages):
    """The escalation ladder: warnings, breaches (deemed approval, missed obligation, escalation), joint meetings."""

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
        elif not tc.ladder_done and tc.scope != "obligation":
            meet = clocks.add_days(info.at, self.zone.escalation.joint_meeting_after_days, self.ctx.calendar, self.zone)
            out.append((meet, "meeting"))
        return out

    def next_alarm(self) -> datetime | None:
        """The nearest instant at which the ladder must act, or None."""
        times = [at for tc in self.state.clocks.values() for at, _ in self._alarms(tc)]
        return min(times) if times else None

    def next_alarm_summary(self) -> str:
        """What the next alarm does, for the timer's summary in the UI: action, clock(s), when."""
        words = {"warn": "warning", "breach": "deadline", "meeting": "joint meeting"}
        alarms = [
            (at, f"{words[what]} for {tc.label}") for tc in self.state.clocks.values() for at, what in self._alarms(tc)
        ]
        if not alarms:
            return "no deadline pending"
        due = min(at for at, _ in alarms)
        return f"{'; '.join(text for at, text in alarms if at == due)} at {clocks.local_text(due)}"

    def fire_alarms(self, now: datetime) -> None:
        """Act on every alarm due at ``now``: warn, breach, escalate, deem, convene."""
        for tc in list(self.state.clocks.values()):
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
        return [self.state.agent] + ([f"dept:{tc.department}"] if tc.department else [])

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
        """The deadline passed: record it, then deem approval, suspend, or escalate (督办)."""
        tc.breached = True
        tc.warned = True
        at = self.deadline(tc).at
        assert at is not None
        self._emit(
            ev.DeadlineBreached(
                project_id=self.pid, clock_id=tc.clock_id, scope=tc.scope, department=tc.department, deadline=at
            ),
            now,
        )
        m = self.state.matters.get(tc.matter_code or "")
        if tc.scope == "matter" and m is not None and m.state == "pending" and self._deemed(m):
            self._deem_approved(tc, m, at, now)
        elif tc.scope == "obligation" and m is not None and self._obligation(m, tc).kind == "supply_materials":
            self._miss_owed_materials(tc, m, now)
        else:
            self._escalate(tc, at, now)

    def _obligation(self, m: MatterState, tc: TrackedClock) -> Obligation:
        return next(o for o in m.obligations if o.clock_id == tc.clock_id)

    def _deem_approved(self, tc: TrackedClock, m: MatterState, deadline: datetime, now: datetime) -> None:
        """超时默认: the department is deemed to agree and bears the consequences."""
        self._approve(m, f"deemed:{tc.clock_id}", "deemed", self._spec(m).department, now)
        self._emit(ev.DepartmentLiabilityRecorded(**self._matter_fields(m), deadline=deadline), now)
        self._notify(
            "deemed_approval",
            [*self._recipients(tc), self.state.registration.project_lead],
            f"{tc.label}: limit missed, deemed approved; liability recorded",
            now,
        )

    def _miss_owed_materials(self, tc: TrackedClock, m: MatterState, now: datetime) -> None:
        """容缺 materials not supplied in time: the approval is suspended until they are."""
        self._obligation(m, tc).state = "missed"
        m.state = "suspended"
        self._close_clock(tc.clock_id, now)
        self._emit(ev.ObligationMissed(**self._matter_fields(m), obligation="supply_materials"), now)
        self._emit(
            ev.ApprovalSuspended(**self._matter_fields(m), reason="materials owed under tolerance not supplied"), now
        )
        self._notify(
            "suspended",
            [self.state.agent, self.state.registration.project_lead],
            f"{self._spec(m).name_zh}: approval suspended, owed materials missing",
            now,
        )

    def _escalate(self, tc: TrackedClock, deadline: datetime, now: datetime) -> None:
        """督办: the project lead is told; a joint meeting follows if it stays unresolved."""
        lead = self.state.registration.project_lead
        self._emit(
            ev.EscalatedToLead(
                project_id=self.pid, clock_id=tc.clock_id, scope=tc.scope, department=tc.department, project_lead=lead
            ),
            now,
        )
        self._notify(
            "escalation", [*self._recipients(tc), lead], f"督办 {tc.label}: deadline {deadline.isoformat()} missed", now
        )

    def _deemed(self, m: MatterState) -> bool:
        return self.zone.deemed_approval and self._spec(m).timeout_policy == "deemed_approval"

    def _still_unresolved(self, tc: TrackedClock) -> bool:
        m = self.state.matters.get(tc.matter_code or "")
        if tc.scope == "matter":
            return m is not None and m.clock_id == tc.clock_id and m.state in OPEN
        if tc.scope == "obligation":
            return False
        return not tc.closed

    def _convene(self, tc: TrackedClock, now: datetime) -> None:
        if not self._still_unresolved(tc):
            tc.ladder_done = True
            return
        meeting_id = f"jm-{len(self.state.meetings) + 1}"
        tc.meeting_id = meeting_id
        tc.ladder_done = True
        self.state.meetings[meeting_id] = Meeting(meeting_id=meeting_id, clock_id=tc.clock_id, department=tc.department)
        attendees = [*self.zone.escalation.joint_meeting_attendees, self.state.registration.project_lead]
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
