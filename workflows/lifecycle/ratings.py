"""Ratings (好差评): the enterprise rates each matter's handling and the agent's service.

国办发〔2019〕51号 (关于建立政务服务"好差评"制度提高政务服务水平的意见): five grades, 非常满意 / 满意 /
基本满意 / 不满意 / 非常不满意 (``very_good`` ... ``very_bad``); one rating per service (一事一评), so a
second rating of the same matter, or of the same agent, is refused and never replaces the first.

- A **matter** is rated once it is decided: approved (a filing on receipt included), rejected, or
  suspended after its approval. The rating names the matter's department.
- The **agent's service** is rated at any time after registration; after a reassignment the new
  agent can be rated too (the rating id names the agent).
- A **bad rating** (不满意 / 非常不满意) opens two clocks of scope ``rating``, both from the rating, in
  working days of the zone's ``ZonePolicy.ratings``: the callback (回访核实, "谁办理、谁负责": the
  matter's department, or the project lead for the agent) and the fix (限期整改). Each warns and is
  escalated (督办) like any other clock, to the department and the project lead, then to the zone's
  escalation attendees; no joint meeting is convened on a rating. ``record_callback`` and
  ``record_fix`` (by the matter's department or the project lead; the fix after the callback)
  close them.
- The project does not end while a bad rating is owed its callback or fix: since production rule 2
  (patch ``owed-past-production``) production leaves their clocks running; a project registered
  before closes them at production, as it did.

Ratings cannot occur in histories recorded before this module, so no patch guards them; what
production does to their clocks is ``ProjectState.production_rule``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from schemas import events as ev
from schemas import project as p
from schemas.clocks import rating_clock_id
from schemas.stages import Stage
from workflows.lifecycle.filings import Filings
from workflows.lifecycle.state import RatingState, Rejected, TrackedClock

# Matter states in which the department has decided (the rating is of a handled matter).
DECIDED = frozenset({"approved", "rejected", "suspended"})


class Ratings(Filings):
    """The commands ``rate``, ``record_callback``, ``record_fix`` and the rating clocks' hooks."""

    # ---- rate ---------------------------------------------------------------------------------------

    def validate_rate(self, cmd: p.Rate) -> str:
        """Refuse a rating of an unknown or undecided matter, a second rating, or any rating of a
        withdrawn project (it has ended: no callback or fix could be owed); return its rating id."""
        if self.state.stage == Stage.WITHDRAWN:
            raise Rejected(f"project {self.pid} is withdrawn; its services can no longer be rated")
        if cmd.target == "matter":
            m = self.matter(cmd.matter_code or "")
            if m.state not in DECIDED:
                raise Rejected(
                    f"matter_code: {m.code} is not decided yet ({m.state}); a matter is rated once approved, "
                    "filed or rejected"
                )
            rating_id = f"matter:{m.code}"
        else:
            rating_id = f"agent:{self.state.agent}"
        if rating_id in self.state.ratings:
            raise Rejected(
                f"target: {rating_id} was already rated ({self.state.ratings[rating_id].grade}); one rating per "
                "service (一事一评, 国办发〔2019〕51号)"
            )
        return rating_id

    def rate(self, cmd: p.Rate, now: datetime) -> p.Ack:
        """Record the rating; a bad one opens its callback and fix clocks."""
        rating_id = self.validate_rate(cmd)
        department = self._spec(self.state.matters[cmd.matter_code]).department if cmd.matter_code else None
        bad = cmd.grade in ev.BAD_GRADES
        deadlines: dict[str, datetime | None] = {}
        if bad:  # the clocks first: a rating is recorded only with the clocks it is owed
            policy = self.zone.ratings
            for kind, days, word in (("callback", policy.callback_days, "回访"), ("fix", policy.fix_days, "整改")):
                tc = self._new_clock(
                    rating_clock_id(kind, rating_id),
                    "rating",
                    f"{word} of bad rating {rating_id}",
                    days,
                    now,
                    department=department,
                    matter_code=cmd.matter_code,
                )
                deadlines[kind] = self.deadline(tc).at
        self.state.ratings[rating_id] = RatingState(
            rating_id=rating_id,
            target=cmd.target,
            matter_code=cmd.matter_code,
            department=department,
            agent=self.state.agent,
            grade=cmd.grade,
            rated_at=now,
            bad=bad,
        )
        self._emit(
            ev.RatingGiven(
                project_id=self.pid,
                rating_id=rating_id,
                target=cmd.target,
                matter_code=cmd.matter_code,
                department=department,
                agent=self.state.agent,
                grade=cmd.grade,
                satisfied=not bad,
                text=cmd.text,
                by=cmd.by,
                callback_deadline=deadlines.get("callback"),
                fix_deadline=deadlines.get("fix"),
            ),
            now,
        )
        if not bad:
            return self._ack(f"{rating_id} rated {ev.GRADE_ZH[cmd.grade]}")
        owner = f"dept:{department}" if department else self.state.registration.project_lead
        self._notify(
            "bad_rating",
            [owner, self.state.registration.project_lead],
            f"差评 {rating_id} ({ev.GRADE_ZH[cmd.grade]}): call back by {deadlines['callback']}, fix by "
            f"{deadlines['fix']} ({self.zone.ratings.basis}): {cmd.text}",
            now,
        )
        return self._ack(f"{rating_id} rated {ev.GRADE_ZH[cmd.grade]}: callback and fix clocks opened")

    # ---- the callback and the fix -------------------------------------------------------------------

    def _owed(self, rating_id: str, by: str, kind: str) -> RatingState:
        r = self.state.ratings.get(rating_id)
        if r is None or not r.bad:
            raise Rejected(f"rating_id: {rating_id} is not a bad rating of project {self.pid}")
        lead = self.state.registration.project_lead
        if by not in {lead, r.department}:
            allowed = f"{r.department} or {lead}" if r.department else lead
            raise Rejected(f"by: the {kind} of {rating_id} is recorded by {allowed}, not {by}")
        if kind == "callback" and r.called_back:
            raise Rejected(f"rating_id: {rating_id} was already called back")
        if kind == "fix" and not r.called_back:
            raise Rejected(f"rating_id: {rating_id} is called back (回访核实) before its fix is recorded")
        if kind == "fix" and r.fixed:
            raise Rejected(f"rating_id: {rating_id} was already fixed")
        return r

    def validate_record_callback(self, cmd: p.RecordCallback) -> None:
        self._owed(cmd.rating_id, cmd.by, "callback")

    def validate_record_fix(self, cmd: p.RecordFix) -> None:
        self._owed(cmd.rating_id, cmd.by, "fix")

    def _close_rating_clock(self, kind: str, rating_id: str, now: datetime) -> tuple[float, bool]:
        tc = self.state.clocks[rating_clock_id(kind, rating_id)]
        at = self.deadline(tc).at
        used = self._close_clock(tc.clock_id, now)
        return used, at is None or now <= at

    def record_callback(self, cmd: p.RecordCallback, now: datetime) -> p.Ack:
        """回访: closes the callback clock; the fix clock keeps running."""
        return self._settle(cmd, "callback", now)

    def record_fix(self, cmd: p.RecordFix, now: datetime) -> p.Ack:
        """整改: closes the fix clock; the bad rating is settled."""
        return self._settle(cmd, "fix", now)

    def _settle(self, cmd: p.RecordCallback | p.RecordFix, step: Literal["callback", "fix"], now: datetime) -> p.Ack:
        """Record the callback or the fix of a bad rating: its clock closed, on time or late."""
        r = self._owed(cmd.rating_id, cmd.by, step)
        if step == "callback":
            r.called_back = True
        else:
            r.fixed = True
        used, on_time = self._close_rating_clock(step, r.rating_id, now)
        event = ev.RatingCallbackMade if step == "callback" else ev.RatingFixed
        fields = {"rating_id": r.rating_id, "by": cmd.by, "note": cmd.note}
        self._emit(event(project_id=self.pid, **fields, working_days_used=used, on_time=on_time), now)
        what = "callback on" if step == "callback" else "fix of"
        return self._ack(f"{what} {r.rating_id} recorded{'' if on_time else ' (late)'}")

    # ---- the rating clocks on the ladder ------------------------------------------------------------

    def _alarms(self, tc: TrackedClock) -> list[tuple[datetime, str]]:
        alarms = super()._alarms(tc)
        return [a for a in alarms if a[1] != "meeting"] if tc.scope == "rating" else alarms

    def _recipients(self, tc: TrackedClock) -> list[str]:
        if tc.scope != "rating":
            return super()._recipients(tc)
        return [*([f"dept:{tc.department}"] if tc.department else []), self.state.registration.project_lead]

    def _escalate(self, tc: TrackedClock, deadline: datetime, now: datetime) -> None:
        """A rating's clock ran out: 督办 to the project lead, and the zone's escalation attendees told."""
        if tc.scope != "rating":
            return super()._escalate(tc, deadline, now)
        lead = self.state.registration.project_lead
        self._emit(ev.EscalatedToLead(**self._on_clock(tc), project_lead=lead), now)
        self._notify(
            "escalation",
            [*self._recipients(tc), *self.zone.escalation.joint_meeting_attendees],
            f"督办 {tc.label}: deadline {deadline.isoformat()} missed ({self.zone.ratings.basis})",
            now,
        )

    def _still_unresolved(self, tc: TrackedClock) -> bool:
        return False if tc.scope == "rating" else super()._still_unresolved(tc)

    @property
    def done(self) -> bool:
        """Ended, and no bad rating still owed its callback or fix."""
        owed = any(tc.scope == "rating" and not tc.closed for tc in self.state.clocks.values())
        return super().done and (not owed or self.state.stage == Stage.WITHDRAWN)
