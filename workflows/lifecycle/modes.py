"""Handling modes by the rules (``ProjectState.modes_rule`` 2): tolerance, commitment, regional
assessment and the construction permit's lapse.

Every hook here overrides a method of the machine and, for projects registered before the rule
(``modes_rule`` 1), hands it to the base method untouched, so their histories replay bit for bit.
Under rule 2:

- Tolerance (容缺受理, 国办发〔2019〕11号 and the zone's tolerance list): only when every item owed
  is one of the matter's secondary materials (so the main materials are complete), never for a
  matter of public safety, an environmental one, or one the zone's list excludes
  (``ZonePolicy.no_tolerance_matters``). The notice names the items, the deadline (legal clock)
  and the consequence; while they are overdue the e-licence is ``suspended`` (licence record),
  and ``valid`` again once supplied.
- Commitment (告知承诺制, 国办发〔2020〕42号): a failed verification is entered in the enterprise's
  credit record (``CreditRecorded``) on top of the revocation.
- Regional assessment (区域评估, 国办发〔2019〕11号): a matter is exempt only for a project that
  states its fit (area, kind; checked against the zone's scope where it states one) and commits to
  the assessment's conditions; both are recorded in ``MatterExempted``. A project that does not
  fit applies for the matter as the zone would otherwise handle it (``RegionalAssessmentDeclined``).
- Construction permit (建筑法 §9, 建筑工程施工许可管理办法 §8): construction starts within 3
  months of the permit (the first progress report above 0% is the start); the issuing department
  may extend it twice by 3 months, each before expiry (``extend_permit``). A permit neither used
  nor extended lapses at expiry: ``PermitLapsed``, the licence ``lapsed``, construction cannot
  proceed, and the matter is open for a new application (as a standard matter).
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from catalog.models import Commencement, MatterSpec, handling_mode
from legalclock import CST
from schemas import effects as fx
from schemas import events as ev
from schemas import project as p
from schemas.events import ApprovalMode, ChecklistItem
from schemas.project import AssessmentFit
from schemas.stages import Stage
from workflows import clocks
from workflows.clocks import CalendarData
from workflows.lifecycle.commands import Commands
from workflows.lifecycle.ladder import Ladder
from workflows.lifecycle.state import MatterState, PermitTerm, Rejected, TrackedClock
from workflows.lifecycle.views import Views

TOLERANCE_SOURCE = "容缺受理: 国办发〔2019〕11号 and the zone's tolerance list"
COMMITMENT_SOURCE = "国办发〔2020〕42号"
CREDIT_CONSEQUENCE = (
    "the commitment was found untrue: entered in the enterprise's credit record (信用记录), the approval "
    f"revoked and the matter handled as a standard one ({COMMITMENT_SOURCE})"
)


def period_end(start: datetime, months: int, calendar: CalendarData) -> datetime:
    """The end of a period of ``months`` calendar months from ``start`` (民法典 §§201-203).

    The day of ``start`` is not counted (§201); the period ends on the corresponding day of its last
    month, or that month's last day when it has none (§202), moved to the next working day when that
    day is a holiday or rest day (§203), at 24:00 Beijing time (returned as 00:00 of the day after).
    Pure: the official calendar is an argument.
    """
    day = start.astimezone(CST).date()
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    end = date(year, month, min(day.day, monthrange(year, month)[1]))
    while not calendar.is_working_day(end):
        end += timedelta(days=1)
    return datetime.combine(end + timedelta(days=1), time(0), tzinfo=CST)


class Modes(Commands, Ladder, Views):
    """Handling modes by the rules: the hooks of modes rule 2 (see the module docstring)."""

    @property
    def _by_rule(self) -> bool:
        return self.state.modes_rule == 2

    # ---- regional assessment (区域评估) ----------------------------------------------------------

    def register(self, checklist: list[ChecklistItem], now: datetime) -> None:
        """Rule 2: a matter is exempt by a regional assessment only if the project fits and commits."""
        if not self._by_rule:
            return super().register(checklist, now)
        declined: list[tuple[ChecklistItem, str]] = []
        items = []
        for item in checklist:
            if item.mode == "regional_assessment":
                spec = self.ctx.catalog.matter(item.matter_code)
                reason = self._misfit(spec)
                if reason is not None:
                    item = item.model_copy(update={"mode": handling_mode(spec, self.zone, assessments=False)})
                    declined.append((item, reason))
            items.append(item)
        super().register(items, now)
        for item, reason in declined:
            m = self.state.matters[item.matter_code]
            key = self._spec(m).regional_assessment or ""
            self._emit(
                ev.RegionalAssessmentDeclined(**self._matter_fields(m), assessment=key, reason=reason, mode=m.mode), now
            )
            self._notify(
                "assessment_declined",
                [self.state.agent],
                f"{self._spec(m).name_zh}: not covered by the regional assessment {key!r} ({reason}); "
                f"applied for as a {m.mode} matter",
                now,
            )

    def _fit(self, spec: MatterSpec) -> AssessmentFit | None:
        key = spec.regional_assessment
        return next((f for f in self.state.registration.regional_assessments if f.assessment == key), None)

    def _misfit(self, spec: MatterSpec) -> str | None:
        """Why the project does not fit the assessment that would exempt ``spec`` (None: it fits)."""
        key = spec.regional_assessment or ""
        fit = self._fit(spec)
        if fit is None:
            return f"the project states no fit with the assessment and no commitment to its conditions ({key})"
        scope = self.zone.regional_assessment_scopes.get(key)
        if scope is not None and fit.area not in scope.areas:
            return f"area {fit.area!r} lies outside the assessed area ({', '.join(scope.areas)})"
        if scope is not None and scope.project_kinds and fit.project_kind not in scope.project_kinds:
            return f"project kind {fit.project_kind!r} is not covered ({', '.join(scope.project_kinds)})"
        return None

    def _exempt(self, m: MatterState, now: datetime, record: dict[str, Any] | None = None) -> None:
        fit = self._fit(self._spec(m)) if self._by_rule else None
        if fit is None:
            return super()._exempt(m, now, record)
        scope = self.zone.regional_assessment_scopes.get(fit.assessment)
        record = fit.model_dump(include={"area", "project_kind", "commitment", "signed_by"})
        record["conditions"] = scope.conditions if scope is not None else None
        super()._exempt(m, now, record)

    # ---- tolerance (容缺) -----------------------------------------------------------------------

    def validate_decide(self, d: p.Decision, *args: Any) -> None:
        """Rule 2 adds tolerance's conditions to the base validation (``Rejected`` naming the field)."""
        super().validate_decide(d, *args)
        if self._by_rule and d.kind == "accept_with_tolerance":
            self._check_tolerance(self.matter(d.matter_code), d.items)

    def _check_tolerance(self, m: MatterState, items: list[str]) -> None:
        spec = self._spec(m)
        excluded = (
            "a matter of public safety"
            if spec.public_safety
            else "an environmental matter"
            if spec.environmental
            else f"excluded by zone {self.zone.code}'s tolerance list"
            if m.code in self.zone.no_tolerance_matters
            else None
        )
        if excluded is not None:
            raise Rejected(f"kind: {m.code} is {excluded}; tolerance (容缺) does not apply ({TOLERANCE_SOURCE})")
        main = [i for i in items if i in spec.main_materials]
        if main:
            raise Rejected(
                f"items: {', '.join(main)} are main materials of {m.code}; tolerance needs the main materials "
                f"complete ({TOLERANCE_SOURCE})"
            )
        other = [i for i in items if i not in spec.secondary_materials]
        if other:
            allowed = ", ".join(spec.secondary_materials) or "none"
            raise Rejected(
                f"items: {', '.join(other)} are not secondary materials of {m.code} (secondary: {allowed}); only "
                f"those may be owed under tolerance ({TOLERANCE_SOURCE})"
            )

    def _accept_with_tolerance(self, m: MatterState, d: p.Decision, now: datetime) -> None:
        """Rule 2: the notice states the items, the deadline and the consequence of missing it."""
        if not self._by_rule:
            return super()._accept_with_tolerance(m, d, now)
        spec = self._spec(m)
        self._approve(m, d.decision_id, "tolerance", d.decided_by, now)
        self._open_obligation(m, "supply_materials", d.items, spec.tolerance_supply_days, now)
        at = self.deadline(self.state.clocks[m.obligations[-1].clock_id]).at
        assert at is not None  # a fresh clock is never stopped
        licence = f"its e-licence {m.license_no}" if m.license_no else "it"
        self._notify(
            "tolerance",
            [self.state.agent],
            f"{spec.name_zh}: accepted with tolerance (容缺); supply {', '.join(d.items)} by "
            f"{clocks.local_text(at)} ({spec.tolerance_supply_days:g} working days). If they are not supplied "
            f"by then, the approval and {licence} are suspended until they are ({TOLERANCE_SOURCE})",
            now,
        )

    def _miss_owed_materials(self, tc: TrackedClock, m: MatterState, now: datetime) -> None:
        super()._miss_owed_materials(tc, m, now)
        if self._by_rule and m.license_no:
            self._license_status(m, "suspended", "materials owed under tolerance (容缺) not supplied in time", now)

    def supply_materials(self, cmd: p.SupplyMaterials, now: datetime) -> p.Ack:
        if not self._by_rule:
            return super().supply_materials(cmd, now)
        suspended = self.matter(cmd.matter_code).state == "suspended"
        ack = super().supply_materials(cmd, now)
        m = self.matter(cmd.matter_code)
        if suspended and m.state == "approved" and m.license_no in self.state.license_status:
            self._license_status(m, "valid", "materials owed under tolerance (容缺) supplied", now)
        return ack

    def _license_status(
        self, m: MatterState, status: Literal["valid", "suspended", "lapsed"], reason: str, now: datetime
    ) -> None:
        """Record an e-licence's new status: an event, and the licence record (ordered by version)."""
        assert m.license_no is not None
        if status == "valid":
            self.state.license_status.pop(m.license_no, None)
        else:
            self.state.license_status[m.license_no] = status
        self._emit(
            ev.LicenseStatusChanged(**self._matter_fields(m), license_no=m.license_no, status=status, reason=reason),
            now,
        )
        self.state.effects.append(
            fx.SetLicenseStatus(
                project_id=self.pid, license_no=m.license_no, status=status, reason=reason, version=self.state.version
            )
        )

    # ---- commitment (告知承诺) ------------------------------------------------------------------

    def verify(self, v: p.Verification, now: datetime) -> p.DecisionResult:
        """Rule 2: a failed verification is also entered in the enterprise's credit record."""
        result = super().verify(v, now)
        if self._by_rule and not v.passed:
            m = self.matter(v.matter_code)
            enterprise = self.state.registration.enterprise
            findings = v.findings or "verification failed"
            self._emit(
                ev.CreditRecorded(
                    **self._matter_fields(m),
                    enterprise=enterprise,
                    decision_id=v.decision_id,
                    verified_by=v.by,
                    findings=findings,
                    consequence=CREDIT_CONSEQUENCE,
                ),
                now,
            )
            self._notify(
                "credit_recorded",
                [self.state.agent, self.state.registration.project_lead],
                f"{self._spec(m).name_zh}: verification of {enterprise}'s commitment failed ({findings}); "
                f"{CREDIT_CONSEQUENCE}",
                now,
            )
        return result

    # ---- construction permit: start, extension, lapse (建筑法 §9) --------------------------------

    def _approve(self, m: MatterState, decision_id: str, mode: ApprovalMode, by: str, now: datetime) -> None:
        super()._approve(m, decision_id, mode, by, now)
        term = self._spec(m).commencement
        if self._by_rule and term is not None and m.license_no is not None:
            self._start_permit(m, term, now)

    def _start_permit(self, m: MatterState, c: Commencement, now: datetime) -> None:
        assert m.license_no is not None
        permit = PermitTerm(matter_code=m.code, license_no=m.license_no, issued_at=now)
        self.state.permits[m.code] = permit
        at = self.permit_expiry(permit)
        self._emit(
            ev.CommencementPeriodStarted(
                **self._matter_fields(m), license_no=m.license_no, expires_at=at, extensions_allowed=c.extensions
            ),
            now,
        )
        self._notify(
            "construction_start_due",
            [self.state.agent],
            f"{self._spec(m).name_zh} {m.license_no}: construction must start by {clocks.local_text(at)}; the "
            f"permit may be extended up to {c.extensions} times by {c.extension_months} months, each applied for "
            f"before expiry; otherwise it lapses ({c.legal_basis})",
            now,
        )

    def _commencement(self, permit: PermitTerm) -> Commencement:
        c = self.ctx.specs[permit.matter_code].commencement
        assert c is not None
        return c

    def permit_expiry(self, permit: PermitTerm) -> datetime:
        """When ``permit`` lapses unless construction starts: its months and extensions from issue."""
        c = self._commencement(permit)
        return period_end(permit.issued_at, c.months + permit.extensions * c.extension_months, self.ctx.calendar)

    def check(self, name: str, cmd: BaseModel, now: datetime | None = None) -> None:
        super().check(name, cmd, now)
        # A resend (the same request id and body) is answered with its first answer, under either
        # decision scope (``remembered`` keys the answers as ``remember`` does; the bare id missed
        # scope 2's ``department/id`` and refused a resend of an extension already applied).
        if name == "extend_permit" and now is not None and self.remembered(cmd) is None:
            self.validate_extend_permit(cmd, now)  # type: ignore[arg-type]

    def validate_extend_permit(self, cmd: p.PermitExtension, now: datetime | None = None) -> PermitTerm:
        """An extension of a permit not yet used, before expiry, at most ``Commencement.extensions``."""
        m = self.matter(cmd.matter_code)
        self._require_active(m)
        if cmd.department != self._spec(m).department:
            raise Rejected(f"department: matter {m.code} belongs to {self._spec(m).department}, not {cmd.department}")
        permit = self.state.permits.get(m.code) if self._by_rule else None
        if permit is None or not self._awaiting(permit):
            why = "lapsed" if permit and permit.lapsed else "is in use" if permit and permit.started else "is held"
            raise Rejected(f"matter_code: no permit of {m.code} awaiting the start of construction ({why})")
        c = self._commencement(permit)
        if permit.extensions >= c.extensions:
            raise Rejected(
                f"matter_code: permit {permit.license_no} was extended {permit.extensions} times, the most "
                f"{c.legal_basis} allows"
            )
        if now is not None and now >= self.permit_expiry(permit):
            raise Rejected(
                f"matter_code: permit {permit.license_no} expired at {clocks.local_text(self.permit_expiry(permit))}; "
                f"an extension is applied for before expiry ({c.legal_basis})"
            )
        return permit

    def extend_permit(self, cmd: p.PermitExtension, now: datetime) -> p.DecisionResult:
        permit = self.validate_extend_permit(cmd, now)
        m = self.matter(cmd.matter_code)
        c = self._commencement(permit)
        permit.extensions += 1
        at = self.permit_expiry(permit)
        self._record(
            m,
            p.DecisionRecord(
                decision_id=cmd.decision_id, kind="permit_extended", decided_by=cmd.by, at=now, reasons=[cmd.reason]
            ),
        )
        self._emit(
            ev.PermitExtended(
                **self._matter_fields(m),
                license_no=permit.license_no,
                decision_id=cmd.decision_id,
                by=cmd.by,
                reason=cmd.reason,
                extension=permit.extensions,
                expires_at=at,
            ),
            now,
        )
        self._notify(
            "permit_extended",
            [self.state.agent],
            f"{self._spec(m).name_zh} {permit.license_no}: extended ({permit.extensions} of {c.extensions}); "
            f"construction must start by {clocks.local_text(at)} ({c.legal_basis})",
            now,
        )
        return p.DecisionResult(decision_id=cmd.decision_id, matter_code=m.code, state=m.state)

    def validate_report_progress(self, cmd: p.ProgressReport) -> None:
        """Rule 2: construction proceeds only on a valid permit (not suspended, lapsed or reopened)."""
        super().validate_report_progress(cmd)
        if not self._by_rule:
            return
        for m in self.state.matters.values():
            c = self._spec(m).commencement
            status = self.state.license_status.get(m.license_no or "")
            if c is not None and (m.state != "approved" or status is not None):
                raise Rejected(
                    f"percent: construction cannot proceed without a valid {self._spec(m).name_zh} ({m.code} is "
                    f"{status or m.state}); apply for it again ({c.legal_basis})"
                )

    def report_progress(self, cmd: p.ProgressReport, now: datetime) -> p.Ack:
        """Rule 2: the first report above 0% is the start of construction on the permits held."""
        ack = super().report_progress(cmd, now)
        if self._by_rule and cmd.percent > 0:
            for permit in self.state.permits.values():
                if not (permit.started or permit.lapsed):
                    permit.started = True
                    self._emit(
                        ev.ConstructionStarted(
                            project_id=self.pid, matter_code=permit.matter_code, license_no=permit.license_no
                        ),
                        now,
                    )
        return ack

    def _awaiting(self, permit: PermitTerm | None) -> bool:
        """Whether ``permit`` still waits for construction: not started, not lapsed, still the matter's
        licence (a failed commitment verification revokes it)."""
        return (
            permit is not None
            and not (permit.started or permit.lapsed)
            and self.state.matters[permit.matter_code].license_no == permit.license_no
        )

    def _due_permits(self) -> list[tuple[datetime, PermitTerm]]:
        if self.state.stage in (Stage.WITHDRAWN, Stage.IN_PRODUCTION):
            return []
        return [(self.permit_expiry(t), t) for t in self.state.permits.values() if self._awaiting(t)]

    def next_alarm(self) -> datetime | None:
        """The ladder's next alarm, or a permit's expiry if sooner."""
        times = [at for at, _ in self._due_permits()]
        ladder = super().next_alarm()
        return min([*times, *([ladder] if ladder is not None else [])], default=None)

    def next_alarm_summary(self) -> str:
        due = self._due_permits()
        ladder = super().next_alarm()
        first = min((at for at, _ in due), default=None)
        if first is None or (ladder is not None and ladder < first):
            return super().next_alarm_summary()
        text = "; ".join(f"lapse of permit {t.license_no} unless construction starts" for at, t in due if at == first)
        if ladder == first:
            return f"{text}; {super().next_alarm_summary()}"
        return f"{text} at {clocks.local_text(first)}"

    def fire_alarms(self, now: datetime) -> None:
        super().fire_alarms(now)
        for at, permit in self._due_permits():
            if at <= now and self._awaiting(permit):  # (an earlier one may have changed the state)
                self._lapse(permit, at, now)

    def _lapse(self, permit: PermitTerm, at: datetime, now: datetime) -> None:
        """Not used nor extended by ``at``: the permit lapses and the matter reopens (建筑法 §9)."""
        permit.lapsed = True
        m = self.state.matters[permit.matter_code]
        c = self._commencement(permit)
        rule_2 = self.state.permit_rule == 2
        # Permit rule 2: a suspended approval (materials owed under tolerance) lapses with its permit
        # too, and what was owed for it ends (it is owed for no approval any more).
        reopen = m.license_no == permit.license_no and (m.state == "approved" or (rule_2 and m.state == "suspended"))
        owed = [o for o in m.obligations if o.kind == "supply_materials" and o.state != "fulfilled"]
        ended = [o.clock_id for o in owed] if rule_2 and reopen else []
        self._emit(
            ev.PermitLapsed(
                **self._matter_fields(m),
                license_no=permit.license_no,
                expired_at=at,
                extensions_used=permit.extensions,
                obligations_ended=ended if rule_2 else None,
            ),
            now,
        )
        if m.license_no == permit.license_no:
            self._license_status(m, "lapsed", f"construction did not start by {clocks.local_text(at)}", now)
        self._notify(
            "permit_lapsed",
            [self.state.agent, self.state.registration.project_lead, f"dept:{self._spec(m).department}"],
            f"{self._spec(m).name_zh} {permit.license_no} lapsed at {clocks.local_text(at)}: construction did not "
            f"start and the permit was extended {permit.extensions} of {c.extensions} times ({c.legal_basis}). "
            "Construction cannot proceed on it; apply for a new permit",
            now,
        )
        if reopen:
            for clock_id in ended:
                self._close_clock(clock_id, now)
            m.obligations = [o for o in m.obligations if o.clock_id not in ended]
            m.license_no = None
            m.approval_mode = None
            m.mode = "standard"  # a new application, not the commitment that granted the lapsed permit at once
            self._reopen(m, now)

    def _reopen(self, m: MatterState, now: datetime) -> None:
        """Open the matter for a new application (as a failed verification does)."""
        self._make_ready(m, now)

    # ---- views ----------------------------------------------------------------------------------

    def nearest_deadline(self) -> datetime | None:
        """The clocks' nearest deadline, or a permit's expiry if sooner (the search attribute)."""
        times = [at for at, _ in self._due_permits()]
        nearest = super().nearest_deadline()
        return min([*times, *([nearest] if nearest is not None else [])], default=None)

    def waiting_for(self, now: datetime) -> str:
        """Rule 2 adds, during construction, the start a permit waits for before it lapses."""
        line = super().waiting_for(now)
        due = [f"construction to start on {t.license_no} by {clocks.local_text(at)}" for at, t in self._due_permits()]
        if due and self.state.stage == Stage.CONSTRUCTION:
            return f"{line} Waiting for {'; '.join(due)} (or an extension), else the permit lapses (建筑法 §9)."
        return line

    def view(self, now: datetime) -> p.ProjectView:
        v = super().view(now)
        if not self._by_rule:
            return v
        matters = []
        for mv in v.matters:
            permit = self.state.permits.get(mv.code)
            expires = self.permit_expiry(permit) if permit is not None and self._awaiting(permit) else None
            status = self.state.license_status.get(mv.license_no, "valid") if mv.license_no else None
            matters.append(mv.model_copy(update={"license_status": status, "permit_expires_at": expires}))
        return v.model_copy(update={"matters": matters})
