"""Inputs and results of the project workflow: one frozen model per workflow, update and query.

Every model forbids unknown fields, so a typo in a department system's payload is rejected with
the field's name instead of being silently dropped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from schemas.base import Frozen
from schemas.bounded import (
    Flag,
    Identifier,
    Line,
    LongText,
    Name,
    Note,
    Percent,
    ShortLine,
    WorkingDays,
    Yuan,
)
from schemas.events import (
    ApprovalMode,
    ChecklistItem,
    ClockScope,
    DeadlineMove,
    Grade,
    HandlingMode,
    ProjectHeader,
    RatingTarget,
    SignedCommitment,
)
from schemas.stages import Stage

__all__ = ["Identifier", "Name"]  # the bounded types (``schemas.bounded``), re-exported for callers

Days = WorkingDays
# How many reasons, items and materials one command may carry (lists of ``Name``s).
MAX_REASONS = 20
MAX_ITEMS = 50
MAX_MATERIALS = 100
# A command's request id: a retry with the same id is answered once (the first answer). Optional in
# the model so callers' tools can fill it (the typed client, the CLI and the gateway do); the
# workflow refuses a command without one.
RequestId = Annotated[Identifier | None, Field(description="idempotency key of the command; retries reuse it")]


class RequestCommand(Frozen):
    # An agent's or operator's command: applied once per request id (a retry gets the first answer).
    request_id: RequestId = None


EiaCategory = Literal["report", "report_form", "registration_form"]
PollutantPermit = Literal["none", "simplified", "key"]
# The project's scale as the construction-drawing review counts it (房屋建筑和市政基础设施工程施工图设计文件
# 审查管理办法, 住建部令第13号, §12: large projects 15 working days, medium and smaller 10).
ProjectScale = Literal["large", "medium", "small"]
# The project types of the national reform (国办发〔2019〕11号 sorts approvals by kind of project);
# ``catalog.types.PROJECT_TYPES`` gives each its rule and source. ``general`` (social investment,
# 社会投资项目) and ``key`` (重点项目) keep their meaning for projects registered before the others.
ProjectType = Literal[
    "general",
    "key",
    "government_invested",
    "small_low_risk",
    "standard_land_industrial",
    "standard_factory_tenant",
]


def workflow_id_for(project_id: str) -> str:
    """The workflow id of a project: derived from the project id so starts are idempotent."""
    return f"project-{project_id}"


class AssessmentFit(Frozen):
    """The project's fit with a zone's regional assessment (区域评估, 国办发〔2019〕11号), and its commitment.

    The project states where its site lies (``area``, as the assessment names its area) and its kind
    (``project_kind``), and commits to the assessment's conditions (``commitment``: the text signed,
    ``signed_by``). A project that does not fit the zone's scope is handled as a standard matter.
    """

    assessment: Identifier
    area: Name
    project_kind: Name
    commitment: LongText
    signed_by: Name


class RegisterProject(Frozen):
    """Registration (签约入库): everything needed to start a project's lifecycle."""

    project_id: Identifier
    name: Name
    enterprise: Name
    zone: Identifier
    project_type: ProjectType = "general"
    investment_yuan: Yuan
    # The project facts that decide which matters of the catalog apply (``catalog.ProjectFacts``).
    # 标准地: a parcel supplied with the zone's regional assessments and standards (no land pre-review).
    standard_land_parcel: Flag = False
    # EIA category by impact (环境影响评价法 §16): report (报告书), report form (报告表), or
    # registration form (登记表, filed only: §22).
    eia_category: EiaCategory = "report_form"
    # A special site for lightning protection (flammable, explosive...): only these keep the
    # meteorological bureau's review and acceptance (国发〔2016〕39号).
    lightning_special_site: Flag = False
    # A special construction project (特殊建设工程, 建设工程消防设计审查验收管理暂行规定 §14): fire
    # design review and fire acceptance; other projects file and are spot-checked.
    special_construction: Flag = False
    # Abstracts water directly from rivers, lakes or the ground (取水许可和水资源费征收管理条例 §2).
    water_abstraction: Flag = False
    # Pollutant-discharge permit by the classification list (排污许可管理条例 §2 ¶2): none (or
    # registration only, 排污登记: §24), simplified or key management.
    pollutant_permit: PollutantPermit = "none"
    # The project's scale (大型, 中型, 小型), on which the drawing review's statutory limit depends
    # (住建部令第13号 §12). Large by default: the longer limit, so a project registered before the
    # fact existed keeps its limits and nothing is deemed sooner than the law allows.
    project_scale: ProjectScale = "large"
    agent: Identifier
    backup_agent: Identifier
    project_lead: Identifier
    # The regional assessments the project claims (区域评估); optional, at most one per assessment.
    regional_assessments: list[AssessmentFit] = Field(default=[], max_length=10)

    @model_validator(mode="before")
    @classmethod
    def _scale_of_the_type(cls, data: Any) -> Any:
        """A small low-risk project is of medium or smaller scale by what makes it one; registered
        without a scale (or before the fact existed) it is small."""
        if isinstance(data, dict) and data.get("project_type") == "small_low_risk" and "project_scale" not in data:
            return {**data, "project_scale": "small"}
        return data

    @model_validator(mode="after")
    def _distinct_agents(self) -> RegisterProject:
        if self.agent == self.backup_agent:
            raise ValueError("backup_agent must differ from agent (AB岗)")
        keys = [f.assessment for f in self.regional_assessments]
        if len(set(keys)) != len(keys):
            raise ValueError("regional_assessments: one statement per assessment")
        wrong = type_fact_errors(self.project_type, self.model_dump())
        if wrong:
            raise ValueError("; ".join(wrong))
        return self


# The facts a project type demands (国办发〔2019〕11号; ``catalog.types`` names each rule's source):
# a small low-risk project (社会投资小型低风险项目) has no EIA beyond the registration form, no
# special construction, no special lightning site, no water abstraction and no pollutant permit, and
# is of medium or smaller scale (small unless stated: ``RegisterProject._scale_of_the_type``); an
# industrial project on standard land (标准地) is on such a parcel; a tenant of a ready-built standard
# factory (标准化厂房, 拎包入住) acquires no land at all.
TYPE_FACTS: dict[str, dict[str, tuple[object, ...]]] = {
    "small_low_risk": {
        "eia_category": ("registration_form",),
        "special_construction": (False,),
        "lightning_special_site": (False,),
        "water_abstraction": (False,),
        "pollutant_permit": ("none",),
        "project_scale": ("medium", "small"),
    },
    "standard_land_industrial": {"standard_land_parcel": (True,)},
    "standard_factory_tenant": {"standard_land_parcel": (False,)},
}


def type_fact_errors(project_type: str, facts: dict[str, object]) -> list[str]:
    """Every fact of ``facts`` (a registration's fields) the project type does not allow, each naming
    the field; empty for a type that demands nothing."""
    return [
        f"{fact}: a {project_type} project must have {' or '.join(repr(v) for v in allowed)}, got {facts.get(fact)!r}"
        for fact, allowed in TYPE_FACTS.get(project_type, {}).items()
        if facts.get(fact) not in allowed
    ]


DecisionKind = Literal[
    "approve",
    "reject",
    "request_correction",
    "accept_with_tolerance",
    "approve_on_commitment",
    # On an application received and not yet accepted (行政许可法 §32): accept it, notify the agent
    # once of everything missing (补正告知), or refuse to accept it with reasons (不予受理).
    "accept",
    "request_completion",
    "refuse",
]
# The kinds a department takes on a received application, before any limit runs.
ACCEPTANCE_KINDS: frozenset[str] = frozenset({"accept", "request_completion", "refuse"})


class Decision(Frozen):
    """A department's decision on a matter, sent as the ``decide`` update."""

    decision_id: Identifier
    department: Identifier
    matter_code: Identifier
    kind: DecisionKind
    decided_by: Name
    instant: Flag = False
    reasons: list[Name] = Field(default=[], max_length=MAX_REASONS)
    # Correction items (补正), the missing materials of a completion notice (补正告知), or the
    # secondary materials owed under tolerance (容缺).
    items: list[Name] = Field(default=[], max_length=MAX_ITEMS)
    # A second completion notice on the same application is lawful only when the first failed to
    # list everything missing; saying so records the department's fault (行政许可法 §72(4)).
    first_notice_incomplete: Flag = False

    @model_validator(mode="after")
    def _kind_fields(self) -> Decision:
        if self.kind in ("reject", "refuse") and not self.reasons:
            raise ValueError(
                f"reasons: {'a rejection' if self.kind == 'reject' else 'a refusal'} must state its reasons"
            )
        if self.kind in ("request_correction", "accept_with_tolerance", "request_completion") and not self.items:
            raise ValueError(f"items: {self.kind} must name the materials")
        if self.first_notice_incomplete and self.kind != "request_completion":
            raise ValueError("first_notice_incomplete: only a completion notice (request_completion) says it")
        if self.first_notice_incomplete and not self.reasons:
            raise ValueError("reasons: say what the first completion notice missed")
        return self


# How many pending steps an update's answer lists (``pending``); ``pending_more`` counts the rest.
MAX_PENDING = 12
Awaited = Literal["apply", "accept", "complete", "decide", "correction", "resubmit", "owed_materials"]


class Pending(Frozen):
    """One step the project waits for after an update: who must do what on which matter, and until when."""

    matter_code: str
    department: str
    awaited: Awaited
    # Who is awaited: the department (accept, decide) or the project's agent (the others).
    by: str
    # The deadline the zone answers for (its promise when there is one); None: no clock, or stopped.
    until: datetime | None = None


class DecisionResult(Frozen):
    """What the workflow did with a decision; a duplicate decision id gets the first answer.

    ``stage`` and ``pending`` say where the project stands now (at most ``MAX_PENDING`` steps,
    ``pending_more`` the rest), so a caller needs no state read after a decision.
    """

    decision_id: str
    matter_code: str
    state: str
    duplicate: bool = False
    stage: Stage | None = None
    pending: list[Pending] = []
    pending_more: int = 0


class SupplyMaterials(RequestCommand):
    """The agent supplies correction materials (补正) or materials owed under tolerance (容缺)."""

    matter_code: Identifier
    by: Identifier
    items: list[Name] = Field(min_length=1, max_length=MAX_ITEMS)


class Commitment(SignedCommitment):
    """A signed commitment as an agent sends it (bounded fields; the time with its offset)."""

    text_version: Identifier
    signed_by: Name
    signed_at: AwareDatetime


class SubmitApplication(RequestCommand):
    """The agent submits a matter's application with its materials (申请, 行政许可法 §29-31).

    The department then accepts it, notifies once what is missing, or refuses to accept it within 5
    working days; silence is acceptance from receipt (§32). ``commitment``: required for a matter
    handled by commitment (告知承诺), which is approved on receipt.
    """

    matter_code: Identifier
    by: Identifier
    materials: list[Name] = Field(min_length=1, max_length=MAX_MATERIALS)
    commitment: Commitment | None = None


class Resubmit(RequestCommand):
    """The agent resubmits a rejected or revoked matter."""

    matter_code: Identifier
    by: Identifier
    note: Note = ""


class Verification(Frozen):
    """The department's after-the-fact verification of a commitment-based approval."""

    decision_id: Identifier
    department: Identifier
    matter_code: Identifier
    passed: Flag
    by: Name
    findings: Note = ""


StopKind = Literal["expert_review", "hearing", "testing", "appraisal", "tendering", "auction", "public_notice"]


class StopClock(RequestCommand):
    """Stop a matter's clock for a procedure whose time does not count (行政许可法 §45).

    ``expected_days``: how long the procedure is expected to take, in working days; §45 requires
    the applicant to be told in writing. The agent is notified of it, and a stop that outlasts it
    warns and escalates like a breached deadline.
    """

    matter_code: Identifier
    department: Identifier
    kind: StopKind
    reason: Name
    expected_days: Days


class ResumeClock(RequestCommand):
    matter_code: Identifier
    department: Identifier


class ExtendLimit(RequestCommand):
    """Extend a matter's statutory limit once, within it, with the agency head's approval.

    ``days`` are in the limit's unit, at most the matter's ``extension_max_days``: 行政许可法 §42's
    10 working days after its 20 (15 for joint handling), or what the matter's own law grants (e.g.
    排污许可管理条例 §12: 15 days for an on-site check); none where a law sets the limit and states no
    extension (环境影响评价法 §22). Refused before history otherwise, naming the rule.
    """

    matter_code: Identifier
    department: Identifier
    days: Days
    approved_by: Name
    reason: Name


class PermitExtension(Frozen):
    """The issuing department extends a permit whose construction has not started (建筑法 §9).

    Signed like a decision (idempotent on ``decision_id``): the enterprise applied before expiry and
    the department (housing & construction for the construction permit) grants the extension of the
    matter's ``Commencement.extension_months``; at most ``Commencement.extensions`` times.
    """

    decision_id: Identifier
    department: Identifier
    matter_code: Identifier
    by: Name
    reason: Name


class ConfirmDeadline(RequestCommand):
    """An operator confirms a provisional deadline, so the deemed approval held on it is taken, or,
    on an application's period to accept, the acceptance by silence held on it (accepted on receipt,
    行政许可法 §32 ¶1(4); projects registered since patch ``held-acceptance``).

    Both are irreversible; on a deadline counted over a year without the State Council's notice they
    wait for the notice, or for this confirmation naming who and why. Refused (``clock_id``) unless
    the clock holds one.
    """

    clock_id: Line
    by: Identifier
    reason: Name


class ReassignAgent(RequestCommand):
    """Hand the project to the backup agent (AB岗) or a new agent."""

    to_agent: Identifier
    by: Identifier
    reason: Name


class ProgressReport(RequestCommand):
    percent: Percent
    note: Note = ""
    by: Identifier


class ResolveMeeting(RequestCommand):
    meeting_id: Identifier
    resolution: Name
    by: Identifier


class Withdraw(RequestCommand):
    reason: Name
    by: Identifier


class Ack(Frozen):
    """The answer to an update that changes state: where the project now stands.

    ``duplicate`` is true when the request id was answered before: this is that first answer, and
    nothing was applied again.
    """

    stage: Stage
    message: str
    request_id: str | None = None
    duplicate: bool = False
    # What the project waits for now (``DecisionResult.pending``): no state read needed after an update.
    pending: list[Pending] = []
    pending_more: int = 0


# ---- Query results -------------------------------------------------------------------------


class ClockView(Frozen):
    clock_id: str
    scope: ClockScope
    limit_days: float
    # When the clock started: a matter's acceptance (受理), from which its promise counts, and its
    # statutory limit too unless ``received_at`` says otherwise.
    accepted_at: datetime
    deadline: datetime | None
    provisional: bool
    paused: bool
    working_days_used: float
    working_days_left: float | None
    overdue: bool
    extended: bool
    # The zone's shorter promise on the same ledger, when there is one.
    promised_days: float | None = None
    promised_deadline: datetime | None = None
    # The receipt the statutory limit counts from, where the matter's rule counts it from the receipt
    # of the application (``MatterSpec.limit_from``: 建筑工程施工许可管理办法 §5(三), 环境影响评价法 §22).
    received_at: datetime | None = None
    # How ``limit_days`` count: working days, or ``days`` (日) where the matter's own law states them so
    # (民法典 §201-§203; ``MatterSpec.statutory_days_counted``). Used and left days are working days.
    limit_counted: Literal["working_days", "days"] = "working_days"


class ObligationView(Frozen):
    kind: Literal["supply_materials", "verification"]
    items: list[str]
    clock: ClockView
    state: Literal["open", "fulfilled", "missed"]


class DecisionRecord(Frozen):
    decision_id: str
    kind: str
    decided_by: str
    at: datetime
    reasons: list[str] = []
    items: list[str] = []
    # True: ``reasons`` and ``items`` are a bounded summary; the full texts are in the event store
    # (the events caused by ``decision_id``, e.g. ``GET /projects/{id}/timeline``).
    abridged: bool = False


MatterStateName = Literal[
    "waiting",
    "exempt",
    # The acceptance step (行政许可法 §32): the agent prepares the application (to_apply); the
    # department has it to accept (received); it went back with a completion notice (incomplete).
    "to_apply",
    "received",
    "incomplete",
    "pending",
    "correction",
    "rejected",
    "approved",
    "suspended",
    "withdrawn",
]


class MatterView(Frozen):
    code: str
    name: str
    department: str
    stage: Stage
    mode: HandlingMode
    state: MatterStateName
    approval_mode: ApprovalMode | None
    submissions: int
    clock: ClockView | None
    obligations: list[ObligationView]
    decisions: list[DecisionRecord]
    license_no: str | None
    # The e-licence's status (valid, suspended, lapsed), for projects under modes rule 2.
    license_status: str | None = None
    # A permit awaiting the start of construction: when it lapses unless extended (建筑法 §9).
    permit_expires_at: datetime | None = None


class MeetingView(Frozen):
    meeting_id: str
    clock_id: str
    department: str | None
    resolution: str | None


class ProjectView(ProjectHeader):
    """The full state of a project, as the ``state`` query returns it."""

    stage: Stage
    waiting_for: str
    construction_percent: int
    clocks: list[ClockView]
    matters: list[MatterView]
    meetings: list[MeetingView]
    checklist: list[ChecklistItem]
    calendar_version: str
    events_emitted: int


class ProjectResult(Frozen):
    """The workflow's result: how the project ended, in a few counts (the state query has the rest).

    Unknown fields are ignored, so a result of a run that returned the full view before (a
    ``ProjectView``) reads as this summary too.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    project_id: str
    stage: Stage
    # Why the lifecycle ended: completed (in production, nothing owed) or withdrawn.
    outcome: Literal["completed", "withdrawn", "unknown"] = "unknown"
    matters: int = 0
    approved: int = 0
    decisions: int = 0
    events_emitted: int = 0


class ProjectSummary(Frozen):
    """A project as the visibility store lists it (its search attributes): ``list_projects``."""

    project_id: str
    status: str
    zone: str | None
    stage: str | None
    agent: str | None
    open_departments: list[str]
    overdue: bool
    next_deadline: datetime | None


class CalendarUpdate(Frozen):
    """A newly loaded official calendar, by content version (workers load it from PostgreSQL)."""

    version: ShortLine


class RetryFaulted(RequestCommand):
    """An operator asks a faulted project to try its refused batch again (after a repair)."""

    by: Identifier


ContentVersion = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class AdoptCalendar(RequestCommand):
    """A newly loaded official calendar (its content version, as ``daiban calendar load`` prints it)
    for a running project: its open deadlines recompute from it.

    Unlike the signal ``calendar_updated`` (which the calendar load sends), refused before history
    when no worker holds the version yet (``ContentNotLoaded``, retried by the client) or when it
    would drop an official year.
    """

    version: ContentVersion
    by: Identifier


class MigrateContent(RequestCommand):
    """Move a running project to another version of its zone's policy and/or of the catalog (issue 13).

    The versions are content versions as ``daiban zone versions`` / ``daiban catalog versions`` list
    them; "the versions in force" are resolved by the caller (the CLI's ``--in-force``) before
    sending, since the workflow does no I/O. Every open clock is recomputed from the new content.
    """

    zone_version: ContentVersion | None = None
    catalog_version: ContentVersion | None = None
    by: Identifier
    reason: Name

    @model_validator(mode="after")
    def _names_a_version(self) -> MigrateContent:
        if self.zone_version is None and self.catalog_version is None:
            raise ValueError("zone_version: name a zone policy version, a catalog version, or both")
        return self


class MigrationPreview(Frozen):
    """What ``migrate_content`` would do (the ``migration_preview`` query): nothing is changed."""

    catalog_was: str
    catalog: str
    zone_was: str
    zone: str
    moves: list[DeadlineMove]


class Rate(RequestCommand):
    """The enterprise rates a matter's handling or the agent's service (好差评, 国办发〔2019〕51号).

    ``target`` ``matter`` needs ``matter_code`` (a matter decided: approved, filed, rejected or
    suspended); ``agent`` rates the project's current agent, at any time after registration. One
    rating per service (一事一评): a second rating of the same matter or agent is refused, never
    replaced. ``grade`` ``bad`` or ``very_bad`` (不满意 / 非常不满意) opens a callback and a fix clock.
    """

    target: RatingTarget
    matter_code: Identifier | None = None
    grade: Grade
    text: Note = ""
    by: Identifier

    @model_validator(mode="after")
    def _matter_named(self) -> Rate:
        if (self.target == "matter") != (self.matter_code is not None):
            raise ValueError("matter_code: required when target is 'matter', and only then")
        return self


class RecordCallback(RequestCommand):
    """The department of the rated matter, or the project lead, called the rater back (回访核实)."""

    rating_id: Line
    note: Name
    by: Identifier


class RecordFix(RequestCommand):
    """What a bad rating named is fixed (整改) and the rater told; after its callback."""

    rating_id: Line
    note: Name
    by: Identifier
