"""Filings on receipt, the enterprise's own filing periods, one joint acceptance opinion (filing rule 2).

For projects registered under patch ``filings-joint-acceptance`` (``ProjectState.filing_rule`` 2):

- **A filing is complete on receipt** (备案, no decision and no decision period): the project
  filing once the agent submits its full information (企业投资项目核准和备案管理条例 §13), the
  EIA registration form (环境影响评价法 §22 ¶3), the completion filing whose receipt the department
  signs (房屋建筑和市政基础设施工程竣工验收备案管理办法 §7), the fire acceptance filing of other
  construction projects (spot-checked afterwards, 建设工程消防设计审查验收管理暂行规定 §34-35). It
  is recorded as approved in mode ``filed`` with no working days used; a matter handled by
  commitment is approved on its signed commitment as before.
- **The enterprise's own period to file** (``MatterSpec.enterprise_days``) runs as a clock of scope
  ``enterprise`` from when the filing opens to apply until the department receives it: 15 days
  after completion acceptance for the completion filing (建设工程质量管理条例 §49, counted by
  民法典 §201-§203), 5 working days for the fire acceptance filing (暂行规定 §34). Its warning and
  breach go to the agent and the project lead as the enterprise's late filing, never a department's
  breach, and it convenes no joint meeting.
- **One joint acceptance opinion** (统一出具验收意见, 国办发〔2019〕11号): once every joint-acceptance
  matter the project has is settled, the stage's lead department (``ZonePolicy.stage_leads``)
  issues one opinion naming each result (``JointAcceptanceOpinionIssued``); the completion filing
  follows it. **Absent-department rule** (缺席默认): only where the zone's policy has it, with the
  local rule named (``ZonePolicy.absent_department_rule``), a joint-acceptance department that gives
  no result by its statutory limit is deemed to agree, as deemed approval is taken (never on a
  provisional deadline; its liability recorded, its licence marked deemed), and never for a
  public-safety matter unless the zone names its local rule for those too.
- **Permit expiry warning**: ``PERMIT_WARNING_DAYS`` days before a construction permit lapses
  (建筑法 §9), the agent, the lead and the issuing department are told, in time to apply for an
  extension before expiry (建筑工程施工许可管理办法 §8) or to start.
- **Stage leads**: a stage's clock belongs to its lead department (牵头部门), so its warnings,
  督办 and joint meetings reach the department that answers for the stage (``Stages._start_stage``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from legalclock import CST
from schemas import events as ev
from schemas.clocks import enterprise_clock_id
from workflows import clocks
from workflows.lifecycle.modes import Modes
from workflows.lifecycle.state import MatterState, PermitTerm, TrackedClock

# Days before a permit's expiry that its warning goes out: room to apply for an extension before
# expiry (建筑工程施工许可管理办法 §8) at the zone's service hall.
PERMIT_WARNING_DAYS = 10


class Filings(Modes):
    """The hooks of filing rule 2 (see the module docstring)."""

    @property
    def _filing_rule(self) -> bool:
        return self.state.filing_rule == 2

    def _is_filing(self, m: MatterState) -> bool:
        return self._filing_rule and self._spec(m).kind == "filing"

    # ---- filings complete on receipt -------------------------------------------------------------

    def _receive(self, m: MatterState, now: datetime, *, completes_notice: bool) -> None:
        if not self._is_filing(m):
            return super()._receive(m, now, completes_notice=completes_notice)
        period = self.state.clocks.get(enterprise_clock_id(m.code, m.submissions + 1))
        if period is not None:
            self._close_clock(period.clock_id, now)
        super()._receive(m, now, completes_notice=completes_notice)
        if m.state == "received":  # (a commitment matter is already approved on its commitment)
            self._end_acceptance(m, now)
            self._approve(m, f"filed:{m.submissions}", "filed", self._spec(m).department, now)

    # ---- the enterprise's own period to file -----------------------------------------------------

    def _make_ready(self, m: MatterState, now: datetime) -> None:
        self._joint_opinion(now)  # the completion filing follows the joint opinion
        super()._make_ready(m, now)
        spec = self._spec(m)
        if self._is_filing(m) and spec.enterprise_days and m.state == "to_apply":
            self._open_filing_period(m, now)

    def _filing_counted(self, m: MatterState) -> clocks.Counted:
        """How the enterprise's period to file counts on its clock: in its own unit under enterprise
        period rule 2 (``ProjectState.enterprise_period_rule``), else in working days."""
        return self._spec(m).enterprise_days_counted if self.state.enterprise_period_rule == 2 else "working_days"

    def _filing_period(self, m: MatterState, start: datetime) -> tuple[float, clocks.Counted]:
        """The enterprise's period to file as its clock runs it from ``start``, with its unit."""
        counted = self._filing_counted(m)
        days = self._spec(m).enterprise_days or 0.0
        return (days if counted == "days" else self._filing_days(m, start)), counted

    def _filing_days(self, m: MatterState, start: datetime) -> float:
        """The period as working days on the clock (enterprise period rule 1): ``days`` counted by
        民法典 §201-§203 end on a working day, so the working days up to it give the same end."""
        spec = self._spec(m)
        days = spec.enterprise_days or 0.0
        if spec.enterprise_days_counted == "working_days":
            return days
        first = start.astimezone(CST).date()
        end = first + timedelta(days=int(days))  # the day of the event not counted (§201)
        while not self.ctx.calendar.is_working_day(end):  # a last day on a rest day moves (§203)
            end += timedelta(days=1)
        span = (end - first).days
        return float(sum(self.ctx.calendar.is_working_day(first + timedelta(days=i)) for i in range(1, span + 1)))

    def _open_filing_period(self, m: MatterState, now: datetime) -> None:
        spec = self._spec(m)
        days, counted = self._filing_period(m, now)
        tc = self._new_clock(
            enterprise_clock_id(m.code, m.submissions + 1),
            "enterprise",
            f"{spec.name_zh}: the enterprise's period to file",
            days,
            now,
            matter_code=m.code,
            counted=counted,
        )
        self._emit(
            ev.FilingPeriodOpened(
                **self._matter_fields(m),
                clock_id=tc.clock_id,
                days=spec.enterprise_days or 0.0,
                counted=spec.enterprise_days_counted,
                deadline=self.deadline(tc).at,
                legal_basis=spec.legal_basis or "",
            ),
            now,
        )

    def _alarms(self, tc: TrackedClock) -> list[tuple[datetime, str]]:
        alarms = super()._alarms(tc)
        return [a for a in alarms if a[1] != "meeting"] if tc.scope == "enterprise" else alarms

    def _breach(self, tc: TrackedClock, now: datetime) -> None:
        """The enterprise's period ran out: its late filing, recorded and told to agent and lead."""
        if tc.scope != "enterprise":
            return super()._breach(tc, now)
        tc.breached = tc.warned = True
        info = self.deadline(tc)
        assert info.at is not None
        self._emit(ev.DeadlineBreached(**self._on_clock(tc), deadline=info.at, provisional=info.provisional), now)
        m = self.state.matters[tc.matter_code or ""]
        self._notify(
            "late_filing",
            [self.state.agent, self.state.registration.project_lead],
            f"{tc.label} ran out at {clocks.local_text(info.at)}: the filing is late, the enterprise's own "
            f"breach ({self._spec(m).legal_basis}); file now",
            now,
        )

    def _still_unresolved(self, tc: TrackedClock) -> bool:
        return False if tc.scope == "enterprise" else super()._still_unresolved(tc)

    # ---- the permit's expiry warning ---------------------------------------------------------------

    def _permit_warnings(self) -> list[tuple[datetime, PermitTerm]]:
        if not self._filing_rule:
            return []
        return [
            (at - timedelta(days=PERMIT_WARNING_DAYS), t)
            for at, t in self._due_permits()
            if t.warned_at_extensions != t.extensions
        ]

    def next_alarm(self) -> datetime | None:
        times = [at for at, _ in self._permit_warnings()]
        other = super().next_alarm()
        return min([*times, *([other] if other is not None else [])], default=None)

    def next_alarm_summary(self) -> str:
        warnings = self._permit_warnings()
        first = min((at for at, _ in warnings), default=None)
        other = super().next_alarm()
        if first is None or (other is not None and other <= first):
            return super().next_alarm_summary()
        names = ", ".join(t.license_no for at, t in warnings if at == first)
        return f"expiry warning for permit {names} at {clocks.local_text(first)}"

    def fire_alarms(self, now: datetime) -> None:
        super().fire_alarms(now)
        for at, permit in self._permit_warnings():
            if at <= now and self._awaiting(permit):
                self._warn_expiry(permit, now)

    def _warn_expiry(self, permit: PermitTerm, now: datetime) -> None:
        permit.warned_at_extensions = permit.extensions
        m = self.state.matters[permit.matter_code]
        expires = self.permit_expiry(permit)
        left = self._commencement(permit).extensions - permit.extensions
        self._emit(
            ev.PermitExpiryWarned(
                **self._matter_fields(m), license_no=permit.license_no, expires_at=expires, extensions_left=left
            ),
            now,
        )
        self._notify(
            "permit_expiry",
            [self.state.agent, self.state.registration.project_lead, f"dept:{self._spec(m).department}"],
            f"{self._spec(m).name_zh} {permit.license_no} lapses at {clocks.local_text(expires)} unless construction "
            + (
                f"starts or the permit is extended before then ({left} extension(s) left, 建筑工程施工许可管理办法 §8)"
                if left
                else "starts (no extension left, 建筑法 §9)"
            ),
            now,
        )

    # ---- one joint acceptance opinion, the absent-department rule ---------------------------------

    def _joint_matters(self) -> list[MatterState]:
        joint = self.ctx.catalog.joint_acceptance
        if joint is None or not self._filing_rule:
            return []
        return [self.state.matters[c] for c in joint.matters if c in self.state.matters]

    def advance(self, now: datetime) -> None:
        self._joint_opinion(now)
        super().advance(now)

    def _joint_opinion(self, now: datetime) -> None:
        """Issue the one joint acceptance opinion once every joint matter is settled."""
        joint = self.ctx.catalog.joint_acceptance
        matters = self._joint_matters()
        if joint is None or self.state.joint_opinion or self.state.stage != joint.stage or not matters:
            return
        if not all(self._satisfied(m) for m in matters):
            return
        self.state.joint_opinion = True
        lead = self.zone.stage_leads.get(joint.stage, self._spec(matters[0]).department)
        absent = [m.code for m in matters if m.code in self.state.joint_absent]
        self._emit(
            ev.JointAcceptanceOpinionIssued(
                project_id=self.pid,
                stage=joint.stage,
                lead_department=lead,
                results={m.code: m.approval_mode or m.state for m in matters},
                absent=absent,
                rule=self.zone.absent_department_rule if absent else None,
            ),
            now,
        )
        self._notify(
            "joint_opinion",
            [self.state.agent, self.state.registration.project_lead, f"dept:{lead}"],
            f"{self.state.registration.name}: joint acceptance opinion issued by {lead} "
            f"({len(matters)} matters{', ' + str(len(absent)) + ' deemed by absence' if absent else ''}); "
            "the completion filing follows",
            now,
        )

    def _absent_rule_covers(self, m: MatterState) -> bool:
        zone = self.zone
        if not (zone.absent_department_deemed and zone.absent_department_rule):
            return False
        if m.code not in {j.code for j in self._joint_matters()}:
            return False
        return not self._spec(m).public_safety or zone.deemed_approval_safety_rule is not None

    def _deemed(self, m: MatterState) -> bool:
        return super()._deemed(m) or self._absent_rule_covers(m)

    def _deem_approved(self, tc: TrackedClock, m: MatterState, deadline: datetime, now: datetime) -> None:
        if not super()._deemed(m) and self._absent_rule_covers(m):
            self.state.joint_absent.append(m.code)
        super()._deem_approved(tc, m, deadline, now)
