"""The escalation ladder: warnings, breaches (deemed approval, missed obligation, escalation), joint meetings."""

from __future__ import annotations

from datetime import datetime

from schemas import events as ev
from schemas.project import Ack, ConfirmDeadline
from workflows import clocks
from workflows.clocks import CalendarData
from workflows.lifecycle.acceptance import Acceptance
from workflows.lifecycle.state import (
    OPEN,
    MatterState,
    Meeting,
    Obligation,
    ProjectContext,
    Rejected,
    TrackedClock,
)


class Ladder(Acceptance):
    """The escalation ladder: warnings, breaches (deemed approval, missed obligation, escalation), joint meetings."""

    def _alarms(self, tc: TrackedClock) -> list[tuple[datetime, str]]:
        """The instants at which ``tc`` still has something to do, with what."""
        if tc.closed:
            return []
        info = self.deadline(tc)
        if info.at is None:  # stopped: only an overrun of its declared length fires (§45)
            rule2 = self.state.period_rule == 2
            over = clocks.stop_overrun_at(tc.clock, self.ctx.calendar, self.event_zone, by_stop_day=rule2)
            if over is not None and tc.overruns_escalated < len(tc.clock.suspensions):
                return [(over, "overrun")]
            return []
        if tc.scope == "acceptance":  # silence is acceptance on receipt (行政许可法 §32)
            return [] if tc.breached else [(info.at, "accept")]
        # The ladder (warning, then a joint meeting after the miss) follows the limit the zone answers
        # for: its promise when there is one. The statutory limit keeps its own breach (and deemed
        # approval); without a promise the two are one.
        promise = self.promise_clock(tc)
        ladder_clock = promise or tc.clock
        ladder_at = info.at if promise is None else self.answerable_deadline(tc).at
        assert ladder_at is not None  # the promise runs on the same ledger: stopped together
        missed = tc.breached if promise is None else tc.promise_breached
        out: list[tuple[datetime, str]] = []
        if not missed:
            warn = self._memo(
                tc.clock,
                ("warning", tc.promised_days if promise is not None else None),
                lambda: clocks.warning_at(ladder_clock, self.ctx.calendar, self.zone_of(tc)),
            )
            if not tc.warned and warn is not None and warn < ladder_at:
                out.append((warn, "warn"))
            if promise is not None:
                out.append((ladder_at, "promise"))
        elif not tc.ladder_done and tc.scope != "obligation":
            after = self.zone.escalation.joint_meeting_after_days
            meet = clocks.add_days(ladder_at, after, self.ctx.calendar, self.event_zone)
            out.append((meet, "meeting"))
        if not tc.breached:
            out.append((info.at, "breach"))
        return out

    def check_calendar(self, calendar: CalendarData) -> None:
        """Raise ``Rejected`` unless ``calendar`` may replace the project's calendar.

        A new calendar adds official years or corrects them; it never drops one the project's
        calendar holds: a year without official data falls back to the provisional rule
        (``legalclock.official``), so an older version sent by mistake would move deadlines back
        onto provisional days, and a deemed approval (行政许可法 §50) could be taken on them.
        """
        current = self.ctx.calendar
        dropped = sorted(set(current.years) - set(calendar.years))
        if dropped and calendar.version != current.version:
            years = ", ".join(str(y) for y in dropped)
            raise Rejected(
                f"version: calendar {calendar.version} has no official data for {years}, which the project's "
                f"calendar {current.version} holds; a calendar update adds or corrects years, never drops one"
            )

    def calendar_changed(self, calendar: CalendarData, now: datetime) -> bool:
        """Adopt a new official calendar; running deadlines recompute from it. True if changed.

        A clock whose deadline moved to the future re-arms its ladder; ``DeadlinesRecomputed``
        records the deadlines that moved.
        """
        if calendar.version == self.state.versions.calendar:
            return False
        open_clocks = [tc for tc in self.state.clocks.values() if not tc.closed]
        before = {tc.clock_id: self.deadline(tc).at for tc in open_clocks}
        promised_before = {tc.clock_id: self.answerable_deadline(tc).at for tc in open_clocks}
        self.ctx = ProjectContext(self.ctx.catalog, self.ctx.zone, calendar)
        self.state.versions = self.state.versions.model_copy(update={"calendar": calendar.version})
        moved: dict[str, datetime | None] = {}
        promised_moved: dict[str, datetime | None] = {}
        for tc in open_clocks:
            at = self.deadline(tc).at
            if at != before[tc.clock_id]:
                moved[tc.clock_id] = at
                if at is not None and at > now:
                    tc.breached = tc.deemed_held = False
            promised = self.answerable_deadline(tc).at
            if promised != promised_before[tc.clock_id]:
                if tc.promised_days is not None:
                    promised_moved[tc.clock_id] = promised
                if promised is not None and promised > now:
                    tc.warned = tc.promise_breached = False
        self._emit(
            ev.DeadlinesRecomputed(
                project_id=self.pid,
                calendar_version=calendar.version,
                deadlines=moved,
                promised_deadlines=promised_moved,
            ),
            now,
        )
        for tc in open_clocks:  # a held deemed approval whose deadline is now official and passed
            self._release_held(tc, now)
        return True

    def _release_held(self, tc: TrackedClock, now: datetime) -> None:
        """Deem approval (or acceptance by silence) held back on a provisional deadline once the
        deadline is official and passed."""
        m = self.state.matters.get(tc.matter_code or "")
        info = self.deadline(tc)
        if tc.scope == "acceptance":
            if tc.deemed_held and info.at is not None and not info.provisional and info.at <= now:
                self._deem_accepted(tc, now)
            return
        if not tc.deemed_held or m is None or m.state != "pending" or m.clock_id != tc.clock_id:
            return
        if info.at is not None and not info.provisional and info.at <= now:
            tc.deemed_held = False
            self._deem_approved(tc, m, info.at, now)

    def next_alarm(self) -> datetime | None:
        """The nearest instant at which the ladder must act, or None."""
        times = [at for tc in self.state.clocks.values() for at, _ in self._alarms(tc)]
        return min(times) if times else None

    def next_alarm_summary(self) -> str:
        """What the next alarm does, for the timer's summary in the UI: action, clock(s), when."""
        words = {
            "warn": "warning",
            "promise": "promised deadline",
            "breach": "deadline",
            "meeting": "joint meeting",
            "overrun": "stop overrun",
            "accept": "acceptance by silence",
        }
        alarms = [
            (at, f"{words[what]} for {f'{tc.matter_code} ' if tc.matter_code else ''}{tc.label}")
            for tc in self.state.clocks.values()
            for at, what in self._alarms(tc)
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
                elif what == "promise":
                    self._promise_missed(tc, now)
                elif what == "breach":
                    self._breach(tc, now)
                elif what == "overrun":
                    self._stop_overran(tc, at, now)
                elif what == "accept":
                    self._deem_accepted(tc, now)
                else:
                    self._convene(tc, now)

    def _recipients(self, tc: TrackedClock) -> list[str]:
        return [self.state.agent] + ([f"dept:{tc.department}"] if tc.department else [])

    def _warn(self, tc: TrackedClock, now: datetime) -> None:
        """预警 on the limit the zone answers for (its promise when there is one)."""
        tc.warned = True
        info = self.answerable_deadline(tc)
        assert info.at is not None
        left = clocks.left_days(self.promise_clock(tc) or tc.clock, self.ctx.calendar, self.zone_of(tc), now)
        self._emit(
            ev.DeadlineWarned(
                **self._on_clock(tc),
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

    def _promise_missed(self, tc: TrackedClock, now: datetime) -> None:
        """The zone's promise passed: recorded and escalated (督办); the statutory limit still runs.

        A missed promise is the zone's failure towards the enterprise, not a legal breach: it
        never deems approval and holds nothing back on a provisional deadline.
        """
        tc.promise_breached = tc.warned = True
        info = self.answerable_deadline(tc)
        assert info.at is not None
        self._emit(
            ev.DeadlineBreached(
                **self._on_clock(tc),
                deadline=info.at,
                provisional=info.provisional,
                limit="promised",
            ),
            now,
        )
        self._escalate(tc, info.at, now)

    def _breach(self, tc: TrackedClock, now: datetime) -> None:
        """The deadline passed: record it, then deem approval, suspend, or escalate (督办).

        Deemed approval cannot be undone, so it is never taken on a provisional deadline (one
        counted over a year without the State Council's notice): it is held, and the ladder
        escalates as for any breach, until the notice confirms the deadline or an operator does.
        """
        tc.breached = True
        tc.warned = True
        info = self.deadline(tc)
        at = info.at
        assert at is not None
        m = self.state.matters.get(tc.matter_code or "")
        # Promise-only rule 2: a matter the law sets no limit for ran on the zone's promise alone.
        limit = self.limit_of(tc)
        breached = ev.DeadlineBreached(**self._on_clock(tc), deadline=at, provisional=info.provisional, limit=limit)
        self._emit(breached, now)
        if tc.scope == "matter" and m is not None and m.state == "pending" and self._deemed(m):
            if info.provisional:
                self._hold_deemed(tc, m, at, now)
            else:
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

    def _hold_deemed(self, tc: TrackedClock, m: MatterState, deadline: datetime, now: datetime) -> None:
        tc.deemed_held = True
        self._emit(ev.DeemedApprovalHeld(**self._on_clock(tc), matter_code=m.code, deadline=deadline), now)
        self._escalate(tc, deadline, now)

    def validate_confirm_deadline(self, cmd: ConfirmDeadline) -> TrackedClock:
        self._require_active()
        tc = self.state.clocks.get(cmd.clock_id)
        m = self.state.matters.get(tc.matter_code or "") if tc else None
        if tc is not None and m is not None and tc.deemed_held and tc.scope == "acceptance":
            if m.state == "received" and self._acceptance_clock(m) is tc:
                return tc
        elif tc is not None and m is not None and tc.deemed_held and m.state == "pending" and m.clock_id == tc.clock_id:
            return tc
        raise Rejected(
            f"clock_id: {cmd.clock_id} holds no deemed approval or acceptance by silence waiting for confirmation"
        )

    def confirm_deadline(self, cmd: ConfirmDeadline, now: datetime) -> Ack:
        """An operator confirms a provisional deadline: the held deemed approval (or acceptance by
        silence, on receipt) is taken now."""
        tc = self.validate_confirm_deadline(cmd)
        m = self.state.matters[tc.matter_code or ""]
        at = self.deadline(tc).at
        assert at is not None
        self._emit(
            ev.ProvisionalDeadlineConfirmed(project_id=self.pid, clock_id=tc.clock_id, by=cmd.by, reason=cmd.reason),
            now,
        )
        if tc.scope == "acceptance":
            self._deem_accepted(tc, now, confirmed=True)
            return self._ack(f"deadline of {tc.label} confirmed; {m.code} deemed accepted on receipt")
        tc.deemed_held = False
        self._deem_approved(tc, m, at, now)
        return self._ack(f"deadline of {tc.label} confirmed; {m.code} deemed approved")

    def _stop_overran(self, tc: TrackedClock, due: datetime, now: datetime) -> None:
        """A stop outlasted its declared length (行政许可法 §45): warn and escalate like a breach."""
        stop = tc.clock.suspensions[-1]
        tc.overruns_escalated = len(tc.clock.suspensions)
        lead = self.state.registration.project_lead
        self._emit(
            ev.StopOverran(
                **self._on_clock(tc),
                kind=str(stop.kind),
                expected_days=stop.expected_days or 0,
                since=stop.start,
            ),
            now,
        )
        self._notify(
            "stop_overrun",
            [*self._recipients(tc), lead],
            f"督办 {tc.label}: the {stop.kind} stop declared {stop.expected_days or 0:g} working days and "
            f"ran past {clocks.local_text(due)}",
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
            ev.EscalatedToLead(**self._on_clock(tc), project_lead=lead),
            now,
        )
        self._notify(
            "escalation", [*self._recipients(tc), lead], f"督办 {tc.label}: deadline {deadline.isoformat()} missed", now
        )

    def _deemed(self, m: MatterState) -> bool:
        """Whether a missed statutory limit deems ``m`` approved (超时默认), by the project's rule."""
        if self.state.deemed_rule == 1:
            return self.zone.deemed_approval and self._spec(m).timeout_policy == "deemed_approval"
        zone = self.zone
        listed = m.code in zone.deemed_approval_matters
        return listed and (not self._spec(m).public_safety or zone.deemed_approval_safety_rule is not None)

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
