"""Domain events: the vocabulary the lifecycle emits and the event store keeps.

Each class is one event type (its name is the type, past tense). The payload stored in
PostgreSQL is ``model_dump(mode="json")`` of the instance. Every event names its project; matter
events name the matter, its department and stage; clock events name the clock.

Working-day figures are computed by the workflow's legal clock at the moment of the event, so read
models never recount the official calendar.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, SerializerFunctionWrapHandler, model_serializer

from schemas.base import Frozen

HandlingMode = Literal["standard", "instant", "tolerance", "commitment", "regional_assessment"]
# ``filed``: a filing (备案) complete on receipt of its information (no decision; filing rule 2).
ApprovalMode = Literal["standard", "instant", "tolerance", "commitment", "deemed", "filed"]
# ``acceptance``: a department's period to accept a received application (行政许可法 §32: 5 working
# days, or the matter's own rule, e.g. 排污许可管理条例 §9(4): 3 days).
# ``enterprise``: the enterprise's own period to file (e.g. 15 days after completion acceptance).
# ``rating``: the callback (回访) or fix (整改) owed on a bad rating (好差评, 国办发〔2019〕51号).
ClockScope = Literal["matter", "stage", "process", "obligation", "acceptance", "enterprise", "rating"]


class DomainEvent(Frozen):
    """Fields common to all events."""

    project_id: str


class AddedLater(BaseModel):
    """A mixin of an event that gained fields after release: each one ``ADDED_LATER`` names is left
    out of the payload while None, so the event is written as the releases before wrote it (its
    projects registered before the rule that sets the field)."""

    ADDED_LATER: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _without_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in self.ADDED_LATER:
            if data.get(name) is None:
                data.pop(name, None)
        return data


class ChecklistItem(Frozen):
    """One line of the one-time notification checklist (一次性告知清单)."""

    matter_code: str
    matter_name: str
    department: str
    stage: str
    mode: HandlingMode
    # The statutory decision limit (working days); None where the law sets none (a contract, a
    # filing) in projects under promise-only rule 2. Before it, the days the matter's clock ran on.
    statutory_days: float | None
    promised_days: float | None
    main_materials: list[str]
    secondary_materials: list[str]


class ProjectHeader(Frozen):
    """Who and what a project is: the registration's facts and its team (agent, backup, lead)."""

    project_id: str
    name: str
    enterprise: str
    zone: str
    project_type: str
    investment_yuan: int
    agent: str
    backup_agent: str
    project_lead: str


class ProjectRegistered(DomainEvent, ProjectHeader):
    checklist: list[ChecklistItem]
    # The whole-process clock's deadline (None: the zone sets no cap for this project type).
    process_deadline: datetime | None = None


class AgentReassigned(DomainEvent):
    from_agent: str
    to_agent: str
    by: str
    reason: str
    # The backup agent after the change (AB岗: the replaced agent when the backup took over);
    # None in events recorded before it was carried.
    backup_agent: str | None = None


class StageStarted(DomainEvent):
    stage: str
    limit_days: float | None
    deadline: datetime | None
    # The stage's lead department (牵头部门) that answers for its limit; None before filing rule 2.
    lead_department: str | None = None


class StageCompleted(DomainEvent):
    stage: str
    working_days_used: float


class MatterEvent(DomainEvent):
    """Fields common to events about one matter (事项)."""

    matter_code: str
    department: str
    stage: str


class MatterSubmitted(MatterEvent):
    submission: int
    mode: HandlingMode
    # None: the law sets no decision period (a contract, a filing; promise-only rule 2).
    statutory_days: float | None
    promised_days: float | None
    # The statutory deadline; with the zone's shorter promise, ``promised_deadline`` is the one the
    # zone answers for (before the two-clock rule ``deadline`` was the shorter of the two).
    deadline: datetime | None
    promised_deadline: datetime | None = None


class ApplicationOpened(MatterEvent):
    """The matter's stage is open (and what it requires satisfied): the agent prepares its application.

    Nothing runs against the department until it accepts the application (行政许可法 §32); the
    agent's preparation counts against the zone's stage limit only.
    """


class SignedCommitment(Frozen):
    """The enterprise's signed commitment (告知承诺书) an application under commitment carries.

    ``text_version``: the version of the commitment text the department published (the text names
    the conditions and the consequences of a false commitment, 国办发〔2020〕42号 §三).
    """

    text_version: str
    signed_by: str
    signed_at: datetime


class ApplicationReceived(MatterEvent):
    """The department received the agent's application (申请): its period to accept it starts (§32).

    ``submission`` numbers the receipts; a completed application after a completion notice is
    received again (``completes_notice``) and its 5 days run from the new receipt.
    ``preparation_days``: working days the agent took since the matter was open to apply (or since
    the notice). ``commitment``: the signed commitment of a matter handled by commitment.
    """

    submission: int
    materials: list[str]
    acceptance_deadline: datetime | None
    preparation_days: float
    completes_notice: bool = False
    commitment: SignedCommitment | None = None


class ApplicationAccepted(MatterSubmitted):
    """受理: the decision clock runs from ``accepted_at`` (its fields are ``MatterSubmitted``'s).

    ``deemed``: the department let its period to accept pass without a notice, so the application counts
    as accepted on receipt (行政许可法 §32 ¶1(4)) and the days since count against the limit.
    """

    accepted_at: datetime
    deemed: bool = False
    decision_id: str | None = None


class CompletionRequested(MatterEvent):
    """补正告知: one notice listing everything the application lacks (行政许可法 §32 ¶1(4)).

    ``notice``: 1 for the first notice on the application; 2 only with the first shown incomplete.
    """

    decision_id: str
    decided_by: str
    items: list[str]
    notice: int = 1


class ApplicationRefused(MatterEvent):
    """不予受理: the department refuses to accept the application, with reasons (§32 ¶1(1)-(2))."""

    decision_id: str
    decided_by: str
    reasons: list[str]


class DepartmentFaultRecorded(MatterEvent):
    """A department's procedural fault, recorded for its accountability (e.g. 行政许可法 §72(4))."""

    fault: str
    reasons: list[str]
    law: str


class MatterExempted(MatterEvent):
    """Covered by the zone's regional assessment (区域评估): satisfied without an application.

    Under modes rule 2 it records the project's fit (``area``, ``project_kind``, checked against
    the zone's scope where it states one) and its commitment to the assessment's conditions
    (国办发〔2019〕11号); None in events of projects registered before.
    """

    assessment: str
    # The statutory limit the exemption saved; None where the law sets none (promise-only rule 2).
    statutory_days: float | None
    # Where the law states the limit in days (日, counted by 民法典 §201-§203): the working days they
    # span from the exemption, as the figures count days saved. None: ``statutory_days`` are working days.
    statutory_working_days: float | None = None

    @property
    def statutory_in_working_days(self) -> float | None:
        """The statutory limit as days saved are counted: in working days (None: the law sets none)."""
        return self.statutory_working_days if self.statutory_working_days is not None else self.statutory_days

    area: str | None = None
    project_kind: str | None = None
    commitment: str | None = None
    signed_by: str | None = None
    conditions: str | None = None


class RegionalAssessmentDeclined(MatterEvent):
    """The project does not fit the zone's regional assessment: the matter is handled as ``mode``."""

    assessment: str
    reason: str
    mode: HandlingMode


class MatterApproved(MatterEvent):
    decision_id: str
    mode: ApprovalMode
    decided_by: str
    working_days_used: float
    # None: the law sets no decision period (a contract, a filing; promise-only rule 2); ``on_time``
    # then judges the zone's promise alone.
    statutory_days: float | None
    on_time: bool
    # Where the law states the limit in days (日, counted by 民法典 §201-§203): the working days it spans
    # for this application (from the clock's start to its deadline, stops left out, an extension in),
    # which ``working_days_used`` is judged against. None: ``statutory_days`` are working days.
    statutory_working_days: float | None = None

    @property
    def statutory_in_working_days(self) -> float | None:
        """The statutory limit ``working_days_used`` is judged against, in working days (None: the
        law sets none)."""
        return self.statutory_working_days if self.statutory_working_days is not None else self.statutory_days


class MatterRejected(MatterEvent):
    decision_id: str
    decided_by: str
    reasons: list[str]
    working_days_used: float
    # Decided within the limit the zone answers for; None in events recorded before it was carried.
    on_time: bool | None = None
    # As ``MatterApproved.statutory_working_days``.
    statutory_working_days: float | None = None


class CorrectionRequested(MatterEvent):
    decision_id: str
    decided_by: str
    items: list[str]


class CorrectionSupplied(MatterEvent):
    by: str
    items: list[str]


class ClockStopped(DomainEvent):
    clock_id: str
    scope: ClockScope
    kind: str
    reason: str
    # Declared length in working days (行政许可法 §45), when the stop declares one.
    expected_days: float | None = None


class StopOverran(DomainEvent):
    """A stop outlasted the length it declared (行政许可法 §45): warned and escalated (督办)."""

    clock_id: str
    scope: ClockScope
    department: str | None
    kind: str
    expected_days: float
    since: datetime


class ClockResumed(DomainEvent):
    clock_id: str
    scope: ClockScope
    stopped_working_days: float
    new_deadline: datetime | None = None
    # The zone's promised deadline after the stop, for a clock with a promise.
    new_promised_deadline: datetime | None = None


class DeadlinesRecomputed(DomainEvent):
    """A newly loaded official calendar moved the open clocks' deadlines."""

    calendar_version: str
    deadlines: dict[str, datetime | None]
    # The promised deadlines that moved, for clocks with a promise.
    promised_deadlines: dict[str, datetime | None] = {}


class LimitExtended(DomainEvent):
    clock_id: str
    scope: ClockScope
    days: float
    approved_by: str
    reason: str
    new_deadline: datetime | None
    # The promised deadline after the extension, for a clock with a promise (it moves only where
    # the zone's policy says so).
    new_promised_deadline: datetime | None = None


class ObligationOpened(MatterEvent):
    """A tolerance (容缺) or commitment (告知承诺) obligation with its own deadline."""

    obligation: Literal["supply_materials", "verification"]
    items: list[str]
    deadline: datetime | None
    clock_id: str | None = None  # the obligation's clock; None in events recorded before it was carried


class ObligationFulfilled(MatterEvent):
    obligation: Literal["supply_materials", "verification"]
    clock_id: str | None = None  # the obligation's clock; None in events recorded before it was carried


class ObligationMissed(MatterEvent):
    obligation: Literal["supply_materials", "verification"]
    clock_id: str | None = None  # the obligation's clock; None in events recorded before it was carried


class ApprovalSuspended(MatterEvent):
    reason: str


class ApprovalReinstated(MatterEvent):
    reason: str


class ApprovalRevoked(MatterEvent):
    reason: str


class DeadlineWarned(DomainEvent):
    clock_id: str
    scope: ClockScope
    department: str | None
    deadline: datetime
    working_days_left: float


class DeadlineBreached(DomainEvent):
    clock_id: str
    scope: ClockScope
    department: str | None
    deadline: datetime
    # The deadline counted over a year without the State Council's notice (statutory holidays
    # known, 调休 not): no irreversible act (deemed approval) is taken on it.
    provisional: bool = False
    # Which limit passed: the law's (a legal breach; deemed approval where the zone allows it) or
    # the zone's shorter promise to the enterprise (督办 only). Events before the two-clock rule
    # recorded the shorter of the two as "statutory".
    limit: Literal["statutory", "promised"] = "statutory"


class ProvisionalDeadlineConfirmed(DomainEvent):
    """An operator confirmed a provisional deadline; the held deemed approval follows."""

    clock_id: str
    by: str
    reason: str


class DeemedApprovalHeld(DomainEvent):
    """超时默认 held back: the breached deadline is provisional, so approval is not deemed yet.

    It is deemed once the year's official calendar confirms the deadline passed, or an operator
    confirms it (``confirm_deadline``).
    """

    clock_id: str
    # Always a matter's clock (deemed approval decides a matter); named like the other clock events.
    scope: ClockScope = "matter"
    matter_code: str
    department: str
    deadline: datetime


class DeemedAcceptanceHeld(DomainEvent):
    """Acceptance by silence (行政许可法 §32 ¶1(4): 逾期不告知的，自收到申请材料之日起即为受理) held back:
    the period to accept ended on a provisional deadline, so the application is not deemed accepted
    yet, and the department may still accept it, notify what is missing or refuse it.

    It is deemed accepted on receipt once the year's official calendar confirms the period ran out,
    or an operator confirms the deadline (``confirm_deadline``); a calendar that moves the period's
    end later re-arms it. Projects registered since patch ``held-acceptance`` only.
    """

    clock_id: str
    # Always an application's period to accept; named like the other clock events.
    scope: ClockScope = "acceptance"
    matter_code: str
    department: str
    deadline: datetime


class EscalatedToLead(DomainEvent):
    """督办: a breach escalated to the project lead."""

    clock_id: str
    scope: ClockScope
    department: str | None
    project_lead: str


class JointMeetingConvened(DomainEvent):
    """联席会议 for a breach that stayed unresolved."""

    meeting_id: str
    clock_id: str
    department: str | None
    attendees: list[str]


class JointMeetingResolved(DomainEvent):
    meeting_id: str
    resolution: str
    by: str


class DepartmentLiabilityRecorded(MatterEvent):
    """A deemed approval (超时默认): the department missed its limit and bears the consequences."""

    deadline: datetime


class FilingPeriodOpened(MatterEvent):
    """The enterprise's own period to file the matter starts (its obligation, not the department's).

    ``days`` in ``counted`` units (``working_days``, or ``days`` counted by 民法典 §201-§203: the day
    of the event not counted, a last day on a rest day moved to the next working day); ``deadline``
    the end of the period; ``legal_basis`` the rule that sets it. A late filing is the enterprise's
    breach (``DeadlineBreached`` with scope ``enterprise``), never a department's.
    """

    clock_id: str
    days: float
    counted: Literal["working_days", "days"]
    deadline: datetime | None
    legal_basis: str


class JointAcceptanceOpinionIssued(DomainEvent):
    """One joint acceptance opinion (统一出具验收意见, 国办发〔2019〕11号) by the stage's lead department.

    ``results``: matter code -> how it was settled (its approval mode, or ``exempt``); ``absent``:
    the matters whose departments gave no result by the joint acceptance's limit and were deemed to
    agree under the zone's absent-department rule (缺席默认, ``rule``), their liability recorded.
    """

    stage: str
    lead_department: str
    results: dict[str, str]
    absent: list[str] = []
    rule: str | None = None


class ELicenseIssued(MatterEvent):
    license_no: str
    # Issued on deemed approval (超时默认), with no department's signature.
    deemed: bool = False


class LicenseStatusChanged(MatterEvent):
    """An e-licence's status changed (modes rule 2): ``suspended`` while materials owed under
    tolerance (容缺) are overdue, ``valid`` again once supplied, ``lapsed`` for a permit whose
    construction did not start in time (建筑法 §9)."""

    license_no: str
    status: Literal["valid", "suspended", "lapsed"]
    reason: str


class CreditRecorded(MatterEvent):
    """A failed verification of a commitment (告知承诺): the enterprise's credit record notes it
    (国办发〔2020〕42号: a commitment found untrue is entered in the credit record)."""

    enterprise: str
    decision_id: str
    verified_by: str
    findings: str
    consequence: str


class CommencementPeriodStarted(MatterEvent):
    """A permit was issued whose construction must start by ``expires_at`` (建筑法 §9)."""

    license_no: str
    expires_at: datetime
    extensions_allowed: int


class PermitExtended(MatterEvent):
    """The issuing department extended the permit (建筑法 §9), the ``extension``-th time."""

    license_no: str
    decision_id: str
    by: str
    reason: str
    extension: int
    expires_at: datetime


class ConstructionStarted(DomainEvent):
    """Construction started (the first progress report above 0%) on the permit ``license_no``."""

    matter_code: str
    license_no: str


class PermitExpiryWarned(MatterEvent):
    """The permit lapses at ``expires_at`` unless construction starts or it is extended (an
    extension is applied for before expiry, 建筑工程施工许可管理办法 §8); ``extensions_left``."""

    license_no: str
    expires_at: datetime
    extensions_left: int


class PermitLapsed(MatterEvent, AddedLater):
    """Construction did not start by the permit's expiry and it was not extended: it lapsed
    (建筑法 §9); the matter is open for a new application."""

    license_no: str
    expired_at: datetime
    extensions_used: int
    # The clocks of the materials owed under tolerance (容缺) for the lapsed approval, which end with
    # it (permit rule 2); None (left out) in events of projects registered before that rule.
    obligations_ended: list[str] | None = None

    ADDED_LATER = ("obligations_ended",)


class ConstructionProgressReported(DomainEvent):
    percent: int
    note: str


class ProjectInProduction(DomainEvent, AddedLater):
    """The last stage passed: the project is in production (投产).

    ``clocks_running``: the clocks that keep running past it (verifications still owed, bad ratings
    owed their callback or fix), by clock id; the read models close every other. Left out (None)
    by projects registered before production rule 2, whose running clocks are the open
    verifications' (scope ``obligation``).
    """

    working_days_total: float
    clocks_running: list[str] | None = None

    ADDED_LATER = ("clocks_running",)


class ProjectWithdrawn(DomainEvent):
    stage: str
    reason: str
    by: str


class DeadlineMove(Frozen):
    """One open clock's limits and deadlines before (``*_was``) and after a content migration."""

    clock_id: str
    label: str
    # None: no such limit (a stage limit the new policy sets, or removes: its clock closes).
    limit_days_was: float | None
    limit_days: float | None
    deadline_was: datetime | None
    deadline: datetime | None
    # The zone's promise on the same ledger (None: no promise shorter than the limit).
    promised_days_was: float | None = None
    promised_days: float | None = None
    promised_deadline_was: datetime | None = None
    promised_deadline: datetime | None = None


class ContentMigrated(DomainEvent):
    """An operator moved a running project to other catalog and/or zone policy versions (issue 13):
    every open clock was recomputed from the new content; ``moves`` lists those whose limits or
    deadlines changed."""

    catalog_was: str
    catalog: str
    zone_was: str
    zone: str
    by: str
    reason: str
    moves: list[DeadlineMove] = []
    # The project's checklist under the new content (一次性告知清单: its limits and materials; a
    # migration never changes its matters, departments, stages or modes). None in events recorded
    # before it was carried: the read models then keep the registration's.
    checklist: list[ChecklistItem] | None = None


# 好差评 grades (国办发〔2019〕51号: five grades, 非常满意 / 满意 / 基本满意 / 不满意 / 非常不满意; the
# last two are bad ratings (差评), each owed a callback and a fix).
Grade = Literal["very_good", "good", "average", "bad", "very_bad"]
GRADE_ZH: dict[str, str] = {
    "very_good": "非常满意",
    "good": "满意",
    "average": "基本满意",
    "bad": "不满意",
    "very_bad": "非常不满意",
}
BAD_GRADES: frozenset[str] = frozenset({"bad", "very_bad"})
RatingTarget = Literal["matter", "agent"]


class RatingGiven(DomainEvent):
    """The enterprise rated a matter's handling or the agent's service (好差评), once per service.

    ``rating_id`` is ``matter:<code>`` or ``agent:<agent>``; ``department`` the matter's (None for
    the agent); ``satisfied``: one of the three good grades. A bad rating carries the deadlines of
    its callback (回访) and fix (整改), counted in working days from the rating (``ZonePolicy.ratings``).
    """

    rating_id: str
    target: RatingTarget
    matter_code: str | None
    department: str | None
    agent: str
    grade: Grade
    satisfied: bool
    text: str
    by: str
    callback_deadline: datetime | None = None
    fix_deadline: datetime | None = None


class RatingCallbackMade(DomainEvent):
    """The department (or the agent's lead) called the rater back on a bad rating (回访核实)."""

    rating_id: str
    by: str
    note: str
    working_days_used: float
    on_time: bool


class RatingFixed(DomainEvent):
    """What the bad rating named was fixed (整改) and the rater told."""

    rating_id: str
    by: str
    note: str
    working_days_used: float
    on_time: bool


def _event_types(base: type[DomainEvent]) -> dict[str, type[DomainEvent]]:
    found: dict[str, type[DomainEvent]] = {}
    for cls in base.__subclasses__():
        if cls is not MatterEvent:
            found[cls.__name__] = cls
        found.update(_event_types(cls))
    return found


# Every event type by name (subclasses of subclasses too: ``ApplicationAccepted``).
EVENT_TYPES: dict[str, type[DomainEvent]] = _event_types(DomainEvent)


class EventEnvelope(Frozen):
    """An event as the workflow hands it to the event store: ids, place in stream, payload."""

    event_id: str
    stream_id: str
    version: int
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any]
    # The request id or decision id of the command that caused the event; None when a timer did.
    causation_id: str | None = None
