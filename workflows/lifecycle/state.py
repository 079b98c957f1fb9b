"""The lifecycle's state: what a project is, carried whole across continue-as-new.

Pure pydantic models; the named state sets say which matter states are open or satisfied.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from catalog.content import ContentVersions
from catalog.models import Catalog, MatterSpec, ProjectFacts, ZonePolicy, facts_catalog, zone_catalog, zone_for_type
from schemas.effects import Effect
from schemas.events import ApprovalMode, ChecklistItem, ClockScope, EventEnvelope, HandlingMode, SignedCommitment
from schemas.project import (
    Ack,
    DecisionRecord,
    DecisionResult,
    MatterStateName,
    RegisterProject,
)
from schemas.stages import Stage
from workflows.clocks import CalendarData, LegalClock, from_the_event

# Named sets of matter states.
OPEN: frozenset[MatterStateName] = frozenset({"received", "pending", "correction"})
"""With a department: to accept (received), its clock runs (pending) or is stopped for a correction."""
SATISFIED: frozenset[MatterStateName] = frozenset({"approved", "exempt"})
"""Nothing more to do for the stage to close."""
REOPENABLE: frozenset[MatterStateName] = OPEN | {"rejected", "to_apply", "incomplete"}
"""Still to be settled: with the department, or with the agent to apply, complete or resubmit."""


class Rejected(Exception):
    """A command that is not allowed in the current state; the message says why."""


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrackedClock(_State):
    """A legal clock with the escalation ladder's progress on it."""

    clock_id: str
    scope: ClockScope
    label: str
    department: str | None = None
    matter_code: str | None = None
    clock: LegalClock
    # The zone's promised limit on the same ledger (stops count alike), when shorter than the
    # statutory ``clock.limit_days``: warnings and 督办 follow the promise, the legal breach (and
    # deemed approval) the statutory limit. None: one limit (clock model 1, or no shorter promise).
    promised_days: float | None = None
    # The acceptance (受理) where the statutory limit counts from the receipt (``MatterSpec.limit_from``;
    # ``clock.accepted_at`` is then the receipt): the zone's promise counts from it, with or without
    # a promise now (a migration may bring one). None: the clock's start is the acceptance.
    acceptance: datetime | None = None
    # The ladder's first rungs: warned, then (with a promise) the promise passed.
    warned: bool = False
    promise_breached: bool = False
    # The statutory limit (or the only limit) passed.
    breached: bool = False
    meeting_id: str | None = None
    # The ladder has nothing left to do (a joint meeting convened, or nothing left to convene on).
    ladder_done: bool = False
    # Deemed approval (超时默认) waits: the breached deadline was provisional.
    deemed_held: bool = False
    # How many of the clock's stops have had their overrun escalated (§45 declared lengths).
    overruns_escalated: int = 0
    closed: bool = False
    # Working days used, frozen when the clock closes.
    final_used_days: float | None = None


class Obligation(_State):
    kind: Literal["supply_materials", "verification"]
    items: list[str]
    clock_id: str
    state: Literal["open", "fulfilled", "missed"] = "open"


class MatterState(_State):
    code: str
    mode: HandlingMode
    state: MatterStateName = "waiting"
    approval_mode: ApprovalMode | None = None
    submissions: int = 0
    clock_id: str | None = None
    obligations: list[Obligation] = []
    decisions: list[DecisionRecord] = []
    license_no: str | None = None
    # The acceptance step (acceptance rule 2): since when the agent may apply (or complete the
    # application after a notice), when the department received it, what it carried, and how many
    # completion notices (补正告知) and supplementary requests (补正 after acceptance) it had.
    ready_since: datetime | None = None
    received_at: datetime | None = None
    materials: list[str] = []
    commitment: SignedCommitment | None = None
    completion_notices: int = 0
    supplementary_requests: int = 0


class PermitTerm(_State):
    """A permit that lapses unless construction starts in time (建筑法 §9; modes rule 2).

    It expires ``Commencement.months`` (plus ``extension_months`` per extension) after ``issued_at``
    (``Modes.permit_expiry``, recomputed under the calendar in force); settled once construction
    started or the permit lapsed.
    """

    matter_code: str
    license_no: str
    issued_at: datetime
    extensions: int = 0
    # The expiry (after this many extensions) the agent was warned of (filing rule 2).
    warned_at_extensions: int | None = None
    started: bool = False
    lapsed: bool = False


class RatingState(_State):
    """One rating (好差评) and, for a bad one, its callback and fix (``workflows.lifecycle.ratings``)."""

    rating_id: str
    target: Literal["matter", "agent"]
    matter_code: str | None = None
    department: str | None = None
    agent: str
    grade: str
    rated_at: datetime
    bad: bool = False
    called_back: bool = False
    fixed: bool = False


class Meeting(_State):
    meeting_id: str
    clock_id: str
    department: str | None
    resolution: str | None = None


# What the state keeps of a list of free texts (reasons, items, findings) once the project keeps
# texts out (``ProjectState.texts_out``): the first ``BRIEF_TEXTS``, each cut to ``BRIEF_CHARS``
# characters, and ``+N more``. The full texts are in the domain events in PostgreSQL (those caused by
# the decision id: ``daiban timeline``); the workflow decides nothing on them.
BRIEF_TEXTS = 3
BRIEF_CHARS = 40


def brief(texts: list[str]) -> list[str]:
    """A bounded summary of ``texts``: at most ``BRIEF_TEXTS + 1`` entries of ``BRIEF_CHARS`` characters."""
    kept = [t if len(t) <= BRIEF_CHARS else t[: BRIEF_CHARS - 1] + "…" for t in texts[:BRIEF_TEXTS]]
    return kept + ([f"+{len(texts) - BRIEF_TEXTS} more"] if len(texts) > BRIEF_TEXTS else [])


class ProjectContext:
    """The immutable content a project runs under, looked up by its content versions.

    Not part of the state: only ``ProjectState.versions`` travels through Temporal.
    """

    __slots__ = ("calendar", "catalog", "event_zone", "specs", "zone")

    def __init__(
        self,
        catalog: Catalog,
        zone: ZonePolicy,
        calendar: CalendarData,
        project_type: str | None = None,
        facts: ProjectFacts | None = None,
    ) -> None:
        # The zone as it applies to the project's type (``zone_for_type``: the zone itself for a
        # general or key project without type data), its promises in place of the catalog's, and the
        # statutory limits the law sets by the project's facts (``facts_catalog``: e.g. its scale).
        zone = zone_for_type(zone, project_type)
        self.catalog = facts_catalog(zone_catalog(catalog, zone), facts)
        self.zone = zone
        # The zone as every period that is not an application's counts (period rule 2): from the day
        # of its event, whatever the hour (``workflows.clocks.from_the_event``); the zone itself
        # where its after-hours rule is already that.
        self.event_zone = from_the_event(zone)
        self.calendar = calendar
        self.specs: dict[str, MatterSpec] = {m.code: m for m in self.catalog.matters}


# How many first answers a project keeps (newest first out last): about 300 bytes each, so the
# carried state stays far below Temporal's 2 MB payload limit however long the project runs. A
# client retries within minutes; the gateway keeps every decision id for good (gateway_envelopes).
ANSWERS_KEPT = 1_000


class Answer(_State):
    """The first answer to a command, kept under its request id (or decision id).

    ``fingerprint`` is the SHA-256 of the command's canonical JSON: the same id with another body is
    refused instead of being answered as if it were the same command.
    """

    fingerprint: str
    result: DecisionResult | Ack


def request_id_of(command: BaseModel) -> str:
    """The command's request id: ``decision_id`` for decisions and verifications, else ``request_id``."""
    rid = getattr(command, "decision_id", None) or getattr(command, "request_id", None)
    if not rid:
        raise Rejected("request_id: every command needs a request id (retries with the same id are answered once)")
    return str(rid)


def answer_key(command: BaseModel, scoped: bool) -> str:
    """Where a command's first answer is kept: its request id, a decision's under its department
    (``scoped``: decision scope 2) so departments' decision ids never collide."""
    rid = request_id_of(command)
    department = getattr(command, "department", None)
    if scoped and department and getattr(command, "decision_id", None):
        return f"{department}/{rid}"
    return rid


def fingerprint(command: BaseModel) -> str:
    """SHA-256 of a command's canonical JSON (its fields in declaration order)."""
    return hashlib.sha256(command.model_dump_json().encode()).hexdigest()


class ProjectState(_State):
    """Everything a project is; carried whole across continue-as-new.

    It never repeats what can be looked up: the catalog, zone policy and calendar are named by
    ``versions`` (see ``catalog.content``).
    """

    registration: RegisterProject
    versions: ContentVersions
    stage: Stage = Stage.REGISTERED
    agent: str
    backup_agent: str
    matters: dict[str, MatterState] = {}
    clocks: dict[str, TrackedClock] = {}
    meetings: dict[str, Meeting] = {}
    checklist: list[ChecklistItem] = []
    # First answers by request id (decision id for decisions and verifications), oldest first; the
    # newest ``ANSWERS_KEPT`` are kept.
    answers: dict[str, Answer] = {}
    construction_percent: int = 0
    # 1: one clock per matter at the shorter of its statutory and promised limits (projects
    # registered before the two-clock rule); 2: the statutory limit with the zone's promise on the
    # same ledger (``TrackedClock.promised_days``). Set once at registration (``workflow.patched``).
    clock_model: Literal[1, 2] = 1
    # 1: deemed approval where the zone allows it at all and the catalog's timeout policy says so
    # (projects registered before); 2: only for the matters the zone lists, never for public safety
    # without its named local rule (``ZonePolicy.deemed_approval_matters``). Set at registration.
    deemed_rule: Literal[1, 2] = 1
    # 1: a matter's clock starts when its stage opens (projects registered before); 2: the agent
    # applies, the department accepts (or notifies once, or refuses) within its period to accept (5
    # working days by §32 unless the matter's rule sets another), silence
    # is acceptance from receipt, and the clock starts at acceptance (行政许可法 §32). Set at registration.
    acceptance_rule: Literal[1, 2] = 1
    # 1: handling modes as before (projects registered before); 2: tolerance only for secondary
    # materials and never for public-safety or environmental matters, the e-licence suspended while
    # owed items are overdue, a failed commitment recorded in the credit record, a regional
    # assessment only for a project that fits and commits, a permit lapsing unless construction
    # starts (``workflows.lifecycle.modes``). Set at registration (``workflow.patched``).
    modes_rule: Literal[1, 2] = 1
    # 1: filings are accepted and decided like approvals, the enterprise's periods untracked, joint
    # acceptance as separate results (projects registered before); 2: a filing is complete on
    # receipt, the enterprise's own period to file runs as its clock, one joint acceptance opinion
    # with the zone's absent-department rule, stage clocks belong to the stage's lead department, a
    # construction permit warned of before it lapses
    # (``workflows.lifecycle.filings``). Set at registration (``workflow.patched``).
    filing_rule: Literal[1, 2] = 1
    # 1: production closes every clock but the verifications still owed (projects registered
    # before); 2: a bad rating's callback (回访) and fix (整改) clocks keep running too, and materials
    # owed under tolerance (容缺) may still be supplied in production, the approval suspended until
    # then; the project does not end while either is owed (国办发〔2019〕51号: every bad rating is called
    # back and fixed). Set at registration (``workflow.patched``).
    production_rule: Literal[1, 2] = 1
    # 1: every clock counts under the zone's after-hours acceptance rule (projects registered
    # before); 2: only an application's clocks do (its acceptance window and its limits: the rule is
    # about when an application counts as received), and every other period counts from the day of
    # its event, not counted, whatever the hour (民法典 §201): the enterprise's period to file, owed
    # materials and verifications, a bad rating's callback and fix, stages, the whole process, a
    # stop's declared length, the ladder's meeting. Under "next_working_day" those ended one working
    # day late. Under a zone's seasons a stop's declared length also counts with the hours of the
    # stop's day, not the clock's acceptance day. Set at registration (``workflow.patched``).
    period_rule: Literal[1, 2] = 1
    # 1: a matter the law sets no decision limit for (a contract: the land transfer contract; a
    # filing under filing rule 1), on the zone's promise alone, was breached as if the law's limit
    # had passed (counted as the department's legal breach) and could be extended under 行政许可法
    # §42 (projects registered before); 2: its breach is the promise's (``DeadlineBreached.limit``
    # "promised": 督办, counted apart from legal breaches) and §42, which extends an administrative
    # licence's statutory limit, is refused for it. Set at registration (``workflow.patched``).
    promise_only_rule: Literal[1, 2] = 1
    # 1: a permit that lapses (建筑法 §9) reopens its matter only while approved (projects registered
    # before): one whose approval was suspended for materials owed under tolerance kept its lapsed
    # licence number, and supplying the materials reinstated the approval and the lapsed permit; 2:
    # it reopens a suspended one too, and the owed materials end with the permit they were owed for
    # (``PermitLapsed.obligations_ended``). Set at registration (``workflow.patched``).
    permit_rule: Literal[1, 2] = 1
    # 1: the enterprise's own period stated in days (日, ``MatterSpec.enterprise_days_counted``) ran
    # as the working days it spanned when it opened (projects registered before: the same end, but
    # an official calendar adopted meanwhile moved it wherever a day inside changed); 2: it runs as a
    # clock counted in days (``Clock.counted``), whose end moves only with its last day (民法典
    # §201-§203). Set at registration (``workflow.patched``).
    enterprise_period_rule: Literal[1, 2] = 1
    # Acceptance by silence (行政许可法 §32 ¶1(4)) on a provisional deadline: 1 (projects registered
    # before patch ``held-acceptance``) takes it at once; 2 holds it until the official calendar or an
    # operator confirms the period ran out (``DeemedAcceptanceHeld``), as deemed approval is held, for
    # it takes the department's one completion notice away for good. Set at registration.
    acceptance_hold_rule: Literal[1, 2] = 1
    # The joint acceptance opinion was issued; joint matters deemed by the absent-department rule.
    joint_opinion: bool = False
    joint_absent: list[str] = []
    # 1: a decision id is one id of the project (projects registered before); 2: decision ids are
    # each department's own, so one department's id never refuses another's (``answer_key``). Set at
    # registration (``workflow.patched``).
    decision_scope: Literal[1, 2] = 1
    # Permits awaiting the start of construction, by matter code (modes rule 2).
    permits: dict[str, PermitTerm] = {}
    # E-licences not valid (suspended, lapsed), by licence number (modes rule 2).
    license_status: dict[str, Literal["suspended", "lapsed"]] = {}
    # Ratings (好差评) by rating id: one per matter and per agent (``workflows.lifecycle.ratings``).
    ratings: dict[str, RatingState] = {}
    # False: decisions keep their reasons and items whole in the state (runs before patch
    # ``texts-out``); True: bounded summaries (``brief``), so the carried state stays small however
    # long the texts (``ProjectMachine.keep_texts_out``).
    texts_out: bool = False
    version: int = 0
    # Why the storage refused a batch for good ("type: message"), while the project is parked until an
    # operator's ``retry_faulted``; carried so a continue-as-new keeps it parked (before, the next run
    # tried the refused batch again unasked and recorded a second fault). None when not parked, and
    # then left out of the carried state, which the release before still reads.
    fault: str | None = None
    # The outbox: events and effects not yet handed to ``apply_batch``.
    pending_events: list[EventEnvelope] = []
    effects: list[Effect] = []
