"""Models of the matter catalog and zone policy, and the one-time notification checklist.

Pure: no I/O. The workflow receives a ``ProjectContext`` (catalog + zone + calendar) as data.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from catalog.types import PROJECT_TYPES, excluded_by_type
from legalclock import OfficeHours, SeasonalHours
from schemas.events import ChecklistItem, HandlingMode
from schemas.project import TYPE_FACTS, EiaCategory, PollutantPermit, ProjectScale, ProjectType, RegisterProject
from schemas.stages import APPROVAL_STAGES, Stage

DecisionMode = Literal["standard", "instant", "tolerance", "commitment"]
# approval: a department decides within a statutory limit (行政许可法 §42 unless a rule says
# otherwise). filing (备案): complete on receipt of the full information, no decision and no
# statutory period (e.g. 企业投资项目核准和备案管理条例 §13). contract: an agreement the department
# signs (e.g. the land transfer contract, 城市房地产管理法 §15); no statutory decision period either.
MatterKind = Literal["approval", "filing", "contract"]
# The project facts a matter's applicability may name (``ProjectFacts``).
FactName = Literal[
    "standard_land_parcel",
    "eia_category",
    "lightning_special_site",
    "special_construction",
    "water_abstraction",
    "pollutant_permit",
    "project_type",
    "project_scale",
]
FactValue = bool | str

# The department's period to accept an application, notify what is missing, or refuse it, in
# working days from its receipt (行政许可法 §32 ¶1(4)), where the matter's own rule sets no other
# (``MatterSpec.acceptance``).
ACCEPTANCE_DAYS = 5.0


# A number of working days the legal clock counts: a multiple of half a day (the zone's half-day
# rule; ``legalclock.check_days`` refuses anything else, and a value it refuses would fail every
# deadline computed with it inside the workflows: at registration, at an alarm, in an update), more
# than 0 and at most 250 (about a year of working days). Content is refused at load, naming the field.
WorkingDays = Annotated[float, Field(gt=0, le=250, multiple_of=0.5)]


def most_calendar_days(working_days: float) -> int:
    """The most calendar days ``working_days`` (counted after the day of their event) can span:
    ``w + 2 * ceil(w / 5) + 10 + 2 * (w // 20)`` for ``w`` whole working days: a weekend for every
    five, a long holiday's rest days beyond its weekend, and two more for every twenty (the other
    holidays). An upper bound found on, and checked against, every day of the shipped official
    calendar since 2004 for every limit up to 250 working days (tests/catalog).
    """
    whole = math.ceil(working_days)
    return whole + 2 * math.ceil(whole / 5) + 10 + 2 * (whole // 20)


# The same, where 0 is allowed (e.g. no warning days before a deadline).
WorkingDaysOrNone = Annotated[float, Field(ge=0, le=250, multiple_of=0.5)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _raise_all(errors: list[str]) -> None:
    """Raise every error found at once, one per line (``catalog.validate`` splits them again)."""
    if errors:
        raise ValueError("\n".join(errors))


class Department(_Model):
    code: str
    name: str
    name_zh: str


class DepartmentContact(_Model):
    """Where an enterprise reaches a department in a zone: its office (窗口), telephone, address.

    ``placeholder``: the zone has not given its contact yet; the one-time checklist prints it as the
    zone's to fill in. ``source``: where the contact comes from (e.g. the zone's service guide).
    """

    office: str
    # A department the zone has of its own (not in the catalog, e.g. its administrative-approval
    # bureau, 行政审批局) needs its name; a catalog department keeps the catalog's.
    name: str | None = None
    name_zh: str | None = None
    phone: str | None = None
    address: str | None = None
    placeholder: bool = False
    source: str


class AcceptancePeriod(_Model):
    """A department's period to accept an application (受理), notify once everything missing (补正告知)
    or refuse it, from its receipt; silence for the whole period is acceptance on receipt.

    ``days``: the period (whole days when ``counted`` is ``days``). ``counted``: ``working_days``
    (行政许可法 §32 ¶1(4): 五日, a period of that law, so working days by §82), or ``days`` (日) of the
    matter's own rule, counted by the civil code (民法典 §201-§203; e.g. 排污许可管理条例 §9(4): 当场或者
    在3日内出具告知单 ... 逾期不告知的，自收到申请材料之日起即视为受理). ``basis``: that rule.
    """

    days: WorkingDays = ACCEPTANCE_DAYS
    counted: Literal["working_days", "days"] = "working_days"
    basis: str = Field(default="行政许可法 §32 ¶1(4)", min_length=1, max_length=120)

    def text(self) -> str:
        """The period in words with its rule: ``5 working days (行政许可法 §32 ¶1(4))``, ``3 days (日, …)``."""
        if self.counted == "working_days":
            return f"{self.days:g} working days ({self.basis})"
        return f"{self.days:g} days (日, {self.basis}, counted by 民法典 §201-§203)"


class Commencement(_Model):
    """How long a permit stays valid without construction starting, and its extensions.

    建筑法 §9, 建筑工程施工许可管理办法 §8: construction starts within 3 months of the permit; the
    enterprise may apply for an extension before expiry, at most twice, 3 months each; a permit
    neither used nor extended in time lapses (自行废止). Months are calendar months (民法典 §202).
    """

    months: int = Field(default=3, gt=0, le=24)
    extensions: int = Field(default=2, ge=0, le=5)
    extension_months: int = Field(default=3, gt=0, le=24)
    legal_basis: str = "建筑法 §9; 建筑工程施工许可管理办法 §8"


class MatterSpec(_Model):
    """One approval matter (事项) and how it may be handled."""

    code: str
    name: str
    name_zh: str
    department: str
    stage: Stage
    kind: MatterKind = "approval"
    # The law's limit for the department's decision (working days, or calendar days where
    # ``statutory_days_counted`` says so). An approval has one; a filing or a contract has none
    # (None): nothing is decided, a filing is complete on receipt.
    statutory_days: WorkingDays | None = None
    # How ``statutory_days`` (with ``statutory_days_if`` and ``extension_max_days``) count, as the rule
    # that sets them states them: ``working_days`` (工作日; the Administrative Licensing Law's own
    # periods, 行政许可法 §82), or ``days`` (日) of another law, counted by the civil code (民法典
    # §201-§203: the day of the event not counted, a last day on a rest day moved to the first working
    # day after it; e.g. 环境影响评价法 §22, 排污许可管理条例 §12). Promises are always working days.
    statutory_days_counted: Literal["working_days", "days"] = "working_days"
    # The zone's promise (working days; for a filing or contract, the zone's promise to confirm
    # receipt or sign). ``promise_basis`` says where the figure comes from.
    promised_days: WorkingDays | None = None
    promise_basis: str | None = None
    # The enterprise's own period to act (e.g. to file within 15 days of passing completion
    # acceptance), never the department's limit; its source is in ``legal_basis``.
    enterprise_days: WorkingDays | None = None
    # How ``enterprise_days`` count: ``working_days``, or ``days`` by the civil code (民法典 §201-§203:
    # calendar days, the day of the event not counted, a last day on a rest day moved to the next
    # working day), as the rule that sets the period says (日 vs 工作日).
    enterprise_days_counted: Literal["working_days", "days"] = "working_days"
    # The law (and article) the matter and its statutory limit come from; a limit without its own
    # rule is the Administrative Licensing Law's default (行政许可法 §42: 20 working days).
    legal_basis: str | None = None
    modes: list[DecisionMode] = ["standard"]
    main_materials: list[str]
    secondary_materials: list[str] = []
    # Key of the regional assessment (区域评估) that satisfies this matter, if any.
    regional_assessment: str | None = None
    # The rule of projects registered before deemed approval was decided per zone and matter
    # (ZonePolicy.deemed_approval_matters); kept so that their histories replay.
    timeout_policy: Literal["escalate", "deemed_approval"] = "escalate"
    # Public safety (fire: 消防法 §§11-13; civil air defence: 人民防空法 §22; lightning protection:
    # 气象法 §31, 防雷减灾管理办法): deemed approval never applies unless a zone names its local rule.
    public_safety: bool = False
    # Environmental matters (环境影响评价法 and the like): never handled by tolerance (容缺), like those
    # of public safety: the zone's tolerance list (国办发〔2019〕11号) excludes ecological protection.
    environmental: bool = False
    # A permit that lapses unless construction starts in time (施工许可: 建筑法 §9); None: no such term.
    commencement: Commencement | None = None
    # Matters of the same stage that must be satisfied before this one is applied for.
    requires: list[str] = []
    # Project flags that make the matter unnecessary (e.g. a standard land parcel, 标准地).
    skip_if: list[Literal["standard_land_parcel"]] = []
    # The project facts the matter applies to: every named fact must have one of the listed values
    # (e.g. ``{"eia_category": ["report"]}``); an empty map applies to every project.
    applies_if: dict[FactName, list[FactValue]] = {}
    # The statutory limit where the law sets it by a project fact (e.g. 住建部令第13号 §12: the drawing
    # review of a medium or smaller project 10 working days, a large one 15): at most one fact,
    # value -> working days; a value not named takes ``statutory_days`` (``for_facts``).
    statutory_days_if: dict[FactName, dict[str, WorkingDays]] = {}
    tolerance_supply_days: WorkingDays = 10
    commitment_verification_days: WorkingDays = 20
    # Where the statutory limit counts from: ``acceptance`` (受理, 行政许可法 §42: 自受理行政许可申请之日起),
    # or ``receipt`` of the complete application where the matter's own rule says so (收到申请之日起:
    # 建筑工程施工许可管理办法 §5(三) as amended by 住建部令第42号; 环境影响评价法 §22). The department's
    # days to accept (§32) then count against the limit; the zone's promise still counts from
    # acceptance (承诺时限). After a completion notice the receipt is that of the completed
    # application (§5(三): 审批时间可以自证明文件补正齐全后作相应顺延).
    limit_from: Literal["acceptance", "receipt"] = "acceptance"
    # The longest extension of the limit the law allows, in the limit's own unit: 行政许可法 §42's 10
    # working days (decided by the head of the agency; 15 for joint or centralised handling, §26 and
    # §42 ¶2) by default, or what the matter's own law grants (e.g. 市场主体登记管理条例 §19: 3
    # working days; 排污许可管理条例 §12: 15 days for an on-site check). None: no extension. §42's ten
    # days extend its own twenty (二十日内不能作出决定的，…可以延长十日); where a law or regulation
    # (法律、法规, local ones included) sets the limit itself (但是，法律、法规另有规定的，依照其规定),
    # it decides whether the limit may be extended, so a limit of 建筑法 §8, 环境影响评价法 §22,
    # 取水许可和水资源费征收管理条例 §19 or 排污许可管理条例 §12 (simplified management), which state
    # none, has none. A ministry's rule (规章) is no 法律、法规: its limits keep §42's ten.
    extension_max_days: float | None = Field(default=10, gt=0, le=30, multiple_of=0.5)
    # The department's period to accept, notify what is missing or refuse (行政许可法 §32's 5 working
    # days unless the matter's own rule sets another, e.g. 排污许可管理条例 §9(4): 3 days).
    acceptance: AcceptancePeriod = AcceptancePeriod()
    issues_license: bool = True

    @property
    def limit_days(self) -> float:
        """The limit the zone answers for: the promised one when shorter than the statutory.

        A filing or contract has no statutory limit: its promise, 0 without one. A promise on a
        limit in calendar days is shorter by validation (``promise_error``).
        """
        if self.statutory_days is None:
            return self.promised_days or 0.0
        return min(self.statutory_days, self.promised_days or self.statutory_days)

    def counted_for(self, days: float) -> Literal["working_days", "days"]:
        """How a clock of ``days`` for this matter counts: in the statutory limit's unit when it runs
        on that limit (``statutory_days``), in working days otherwise (a promise)."""
        if self.statutory_days is not None and days == self.statutory_days:
            return self.statutory_days_counted
        return "working_days"

    @property
    def clock_days(self) -> float:
        """The days a matter clock runs on until the lifecycle handles filings and contracts itself.

        An approval: its statutory limit. A filing or contract (no statutory limit): the zone's
        promise to confirm receipt or sign (``limit_days``). Interim, for the lifecycle's readers of
        ``statutory_days`` that need a number.
        """
        return self.statutory_days if self.statutory_days is not None else self.limit_days

    def statutory_limits(self) -> list[float]:
        """Every statutory limit the matter can have (working days), the shortest first: its own and
        those ``statutory_days_if`` sets by a project fact; empty without one."""
        if self.statutory_days is None:
            return []
        by_fact = [d for days in self.statutory_days_if.values() for d in days.values()]
        return sorted({self.statutory_days, *by_fact})

    def for_facts(self, facts: ProjectFacts) -> MatterSpec:
        """The matter as it applies to a project with ``facts``: its statutory limit the one
        ``statutory_days_if`` names for the project's value of the fact, if any (itself otherwise)."""
        for fact, days in self.statutory_days_if.items():
            limit = days.get(str(getattr(facts, fact)))
            if limit is not None and limit != self.statutory_days:
                return self.model_copy(update={"statutory_days": limit})
        return self

    def promise_error(self, days: float | None) -> str | None:
        """Why ``days`` (working days) cannot be a promise for this matter; None when it can.

        A promise above the statutory limit (any of them, ``statutory_limits``: a promise is the
        zone's for every project) is no promise. Where the limit counts from the receipt
        (``limit_from``) and the promise from acceptance, up to the period to accept (``acceptance``,
        行政许可法 §32 unless the matter's rule sets another) may be gone at acceptance, so a shorter
        promise must leave it, or it could end after the legal deadline; one equal to the limit only
        repeats it. A period to accept of ``n`` days (日) spans at most ``n`` working days: a last day
        on a rest day moves to the next working day, which only replaces a rest day of the ``n``.
        """
        for statutory in self.statutory_limits():
            if (why := self._promise_error(days, statutory)) is not None:
                return why
        return None

    def _promise_error(self, days: float | None, statutory: float) -> str | None:
        if days is None:
            return None
        if self.statutory_days_counted == "days":
            return self._promise_in_days_error(days, statutory)
        if days > statutory:
            return f"{days:g} working days exceed the statutory limit of {statutory:g}"
        accept = self.acceptance.days
        if self.limit_from == "receipt" and statutory - accept < days < statutory:
            return (
                f"{days:g} working days from acceptance could end after the statutory limit of {statutory:g}, "
                f"which counts from the receipt: the {self.acceptance.text()} to accept count against it; "
                f"promise at most {max(statutory - accept, 0):g}"
            )
        return None

    def _promise_in_days_error(self, days: float, statutory: float) -> str | None:
        """A promise of ``days`` working days on a limit of ``statutory`` calendar days: it must end
        before the limit whatever the day of acceptance, so the most calendar days its working days
        (and, from the receipt, the days to accept) can span must fit (``most_calendar_days``)."""
        before = self.acceptance.days if self.limit_from == "receipt" else 0.0
        span = most_calendar_days(days + before)
        if span <= statutory:
            return None
        counted = f" and the {self.acceptance.text()} to accept" if before else ""
        return (
            f"{days:g} working days{counted} can span {span} calendar days around a long holiday, past the "
            f"statutory limit of {statutory:g} days (日, counted by 民法典 §201-§203)"
        )

    def applies_to(self, facts: ProjectFacts) -> bool:
        """Whether the matter is part of the project's checklist given its facts."""
        if facts.standard_land_parcel and "standard_land_parcel" in self.skip_if:
            return False
        return all(getattr(facts, fact) in values for fact, values in self.applies_if.items())

    @model_validator(mode="after")
    def _check(self) -> MatterSpec:
        errors = []
        if self.stage not in APPROVAL_STAGES:
            errors.append(f"matters.{self.code}.stage: stage {self.stage} has no department approvals")
        if self.kind == "approval" and self.statutory_days is None:
            errors.append(f"matters.{self.code}.statutory_days: an approval needs its statutory limit")
        if self.limit_from == "receipt" and self.statutory_days is None:
            errors.append(f"matters.{self.code}.limit_from: only a statutory limit counts from the receipt")
        elif (why := self.promise_error(self.promised_days)) is not None:  # every matter's own promise
            errors.append(f"matters.{self.code}.promised_days: {why}")
        if self.kind != "approval" and self.statutory_days is not None:
            errors.append(
                f"matters.{self.code}.statutory_days: a {self.kind} has no statutory decision limit "
                "(a filing is complete on receipt)"
            )
        for fact, values in self.applies_if.items():
            allowed = FACT_VALUES[fact]
            wrong = [v for v in values if v not in allowed or type(v) is not type(allowed[0])]
            if not values or wrong:
                errors.append(
                    f"matters.{self.code}.applies_if.{fact}: values must be among {list(allowed)}, got {values}"
                )
        errors += self._limits_by_fact_errors()
        errors += self._calendar_days_errors()
        if self.acceptance.counted == "days" and not float(self.acceptance.days).is_integer():
            errors.append(
                f"matters.{self.code}.acceptance.days: a period in calendar days (日) is a whole number of days, "
                f"got {self.acceptance.days:g}"
            )
        _raise_all(errors)
        return self

    def _calendar_days_errors(self) -> list[str]:
        where = f"matters.{self.code}"
        if self.statutory_days_counted == "working_days":
            return []
        if self.statutory_days is None:
            return [f"{where}.statutory_days_counted: only a statutory limit counts in calendar days"]
        errors = []
        limits = [("statutory_days", self.statutory_days)]
        if self.extension_max_days is not None:
            limits.append(("extension_max_days", self.extension_max_days))
        limits += [(f"statutory_days_if.{f}.{v}", d) for f, by in self.statutory_days_if.items() for v, d in by.items()]
        for field, value in limits:
            if not float(value).is_integer():
                errors.append(
                    f"{where}.{field}: a limit in calendar days (日) is a whole number of days, got {value:g}"
                )
        if self.timeout_policy == "deemed_approval":
            errors.append(
                f"{where}.timeout_policy: deemed approval, an act that cannot be undone, is never taken on a "
                "limit in calendar days (日): whether another law's days are calendar or working days is read "
                "differently by zones, so the deadline it would rest on is uncertain"
            )
        return errors

    def _limits_by_fact_errors(self) -> list[str]:
        where = f"matters.{self.code}.statutory_days_if"
        if not self.statutory_days_if:
            return []
        if self.statutory_days is None:
            return [f"{where}: only a matter with a statutory limit (statutory_days) has one by a fact"]
        if len(self.statutory_days_if) > 1:
            return [f"{where}: at most one fact sets the limit, got {sorted(self.statutory_days_if)}"]
        errors = []
        for fact, days in self.statutory_days_if.items():
            allowed = [v for v in FACT_VALUES[fact] if isinstance(v, str)]
            if not allowed:
                named = sorted(f for f, vs in FACT_VALUES.items() if isinstance(vs[0], str))
                errors.append(f"{where}.{fact}: a limit differs only by a fact with named values ({named})")
            elif not days or set(days) - set(allowed):
                errors.append(f"{where}.{fact}: values must be among {allowed}, got {sorted(days)}")
        return errors


class JointAcceptance(_Model):
    """The joint acceptance (联合验收) of a stage: which matters it joins into one joint opinion."""

    stage: Stage = Stage.COMPLETION_ACCEPTANCE
    # The matters whose results form the single joint opinion (those that apply to the project).
    matters: list[str] = Field(min_length=1)
    # What the joint opinion is, in words, and where the rule comes from.
    opinion: str
    legal_basis: str


class Catalog(_Model):
    """Departments and matters; ``version`` identifies the file a project was registered with."""

    version: str
    departments: list[Department]
    matters: list[MatterSpec]
    joint_acceptance: JointAcceptance | None = None

    @model_validator(mode="after")
    def _check(self) -> Catalog:
        errors = []
        codes = [m.code for m in self.matters]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            errors.append(f"matters: duplicate codes {dupes}")
        depts = {d.code for d in self.departments}
        for m in self.matters:
            if m.department not in depts:
                errors.append(f"matters.{m.code}.department: unknown department {m.department!r}")
            for r in m.requires:
                req = next((x for x in self.matters if x.code == r), None)
                if req is None or req.stage != m.stage:
                    errors.append(f"matters.{m.code}.requires: {r!r} is not a matter of stage {m.stage}")
        joint = self.joint_acceptance
        if joint is not None:
            for code in joint.matters:
                found = next((x for x in self.matters if x.code == code), None)
                if found is None or found.stage != joint.stage:
                    errors.append(f"joint_acceptance.matters: {code!r} is not a matter of stage {joint.stage}")
        _raise_all(errors)
        return self

    def matter(self, code: str) -> MatterSpec:
        for m in self.matters:
            if m.code == code:
                return m
        raise KeyError(code)

    def department(self, code: str) -> Department:
        for d in self.departments:
            if d.code == code:
                return d
        raise KeyError(code)


class Escalation(_Model):
    """The escalation ladder: warn, escalate to the project lead (督办), convene a joint meeting."""

    warn_share: float = Field(default=0.8, gt=0, lt=1)
    warn_days_before: WorkingDaysOrNone = 2
    joint_meeting_after_days: WorkingDays = 3
    joint_meeting_attendees: list[str] = ["zone-management-committee"]


class AssessmentScope(_Model):
    """What a zone's regional assessment (区域评估, 国办发〔2019〕11号) covers: where, and which kinds.

    A project fits when its site lies in one of ``areas`` and its kind is one of ``project_kinds``
    (an empty list: every kind); it then commits to ``conditions`` instead of a separate evaluation.
    """

    areas: list[str] = Field(min_length=1)
    project_kinds: list[str] = []
    conditions: str = ""
    source: str = ""


class RatingPolicy(_Model):
    """What a bad rating (差评: 不满意 / 非常不满意) is owed, in working days from the rating.

    国办发〔2019〕51号 (关于建立政务服务"好差评"制度提高政务服务水平的意见) asks that every bad rating be
    called back and verified at once (第一时间回访核实) by the unit that handled it (谁办理、谁负责) and
    fixed within a limit (限期整改), 100% of named bad ratings called back and fixed; the limits are
    local: callback within 1 working day, fix within 5 (e.g. 德州 2020) to 15 working days. The
    defaults take the shortest callback and the longest fix; a zone sets its own.
    """

    callback_days: float = Field(default=1, gt=0, le=15, multiple_of=0.5)
    fix_days: float = Field(default=15, ge=1, le=15, multiple_of=0.5)
    basis: str = "国办发〔2019〕51号 (好差评): 差评第一时间回访核实, 限期整改; local limits 1 + 5 to 15 working days"

    @model_validator(mode="after")
    def _ordered(self) -> RatingPolicy:
        if self.callback_days > self.fix_days:
            raise ValueError("ratings.callback_days: the callback comes before the fix (no more than fix_days)")
        return self


class ZonePolicy(_Model):
    """A development zone's own rules on top of the catalog."""

    code: str
    name: str
    name_zh: str
    regional_assessments: list[str] = []
    # The scope of each assessment, where the zone states it; an assessment without one is taken on
    # the project's own statement of fit (recorded with its commitment).
    regional_assessment_scopes: dict[str, AssessmentScope] = {}
    # Matters the zone's own tolerance list (容缺受理清单) excludes, on top of the catalog's public-
    # safety and environmental matters (projects under modes rule 2).
    no_tolerance_matters: list[str] = []
    # Matters the zone handles by commitment (告知承诺制) whenever the matter allows it.
    commitment_matters: list[str] = []
    # Whole-process caps in working days, by project type (e.g. 20 for general projects).
    process_caps: dict[str, WorkingDays]
    stage_limits: dict[Stage, WorkingDays] = {}
    # Projects registered before the per-matter rule: deemed approval for every matter whose
    # catalog timeout policy says so. Kept so that their histories replay.
    deemed_approval: bool = False
    # 超时默认 / 缺席默认: the matters this zone's own rules deem approved when the department misses
    # the statutory limit (never the zone's shorter promise). Matters of public safety only with
    # ``deemed_approval_safety_rule`` naming the local rule that allows it.
    deemed_approval_matters: list[str] = []
    deemed_approval_safety_rule: str | None = None
    # Whether an extension of the statutory limit (行政许可法 §42) also extends the zone's promised
    # limit. The promise is the zone's own commitment to the enterprise (承诺时限, set by its reform
    # rules, not by the law), so by default the law's extension does not lift it.
    extension_moves_promise: bool = False
    escalation: Escalation = Escalation()
    office_hours: OfficeHours = OfficeHours()
    # Office hours by season (summer and winter hours, each from its day of the year), where the
    # zone keeps them; None: ``office_hours`` all year. Used by ``hours_on`` and the deadline
    # calculator (``legalclock.seasonal_deadline``).
    seasonal_hours: SeasonalHours | None = None
    project_lead_default: str = "project-lead"
    # One lead department per stage (牵头部门: 国办发〔2019〕11号, "一家牵头、并联审批、限时办结"),
    # by department code of the catalog. Which department leads is the local government's choice,
    # so it lives here; ``check_zone`` requires one known department for every approval stage.
    stage_leads: dict[Stage, str] = {}
    # 缺席默认 at the joint acceptance (联合验收): a department that sends no opinion by the limit is
    # deemed to agree, for the matters of the catalog's joint acceptance that the zone also lists in
    # ``deemed_approval_matters`` (public safety only with ``deemed_approval_safety_rule``). A local
    # rule, off by default; ``absent_department_rule`` names it.
    absent_department_deemed: bool = False
    absent_department_rule: str | None = None
    # The zone's own promise for a matter, in working days, in place of the catalog's
    # (``MatterSpec.promised_days``); None: the zone promises nothing for it and the statutory limit
    # alone applies. E.g. Xiangyuan's market-entity registration within half a day (半日结).
    promised_days: dict[str, WorkingDays | None] = {}
    # 一枚印章管审批: the name of the zone's administrative-approval seal (行政审批专用章) its approvals are
    # issued under; None: every department issues under its own seal.
    approval_seal: str | None = None
    # The body whose seal it is and which issues the zone's licences under it (e.g. the zone's
    # management committee); required with ``approval_seal``.
    approval_body: str | None = None
    # Whether the zone supplies standard land (标准地: industrial land sold with its indicators set,
    # so the land pre-review is skipped for a project on such a parcel).
    standard_land: bool = False
    # Project types (``catalog.types``): the zone's own stage limits and promises for a type, in place
    # of its general ones (e.g. a small low-risk project's 2 + 3 + 5 working days by stage; a key
    # project's fast track: shorter promises only). A type the zone names no cap for in
    # ``process_caps`` has its rule's (``cap_of``). Applied by ``zone_for_type``.
    type_stage_limits: dict[str, dict[Stage, WorkingDays]] = {}
    type_promised_days: dict[str, dict[str, WorkingDays | None]] = {}
    # Whether the zone builds ready-built standard factories (标准化厂房) that tenants move into
    # (拎包入住, project type ``standard_factory_tenant``).
    standard_factories: bool = False
    # The zone's departments and how to reach them (一次性告知清单: the department's contact), by the
    # catalog's department code; a department the zone names no contact for is printed as a
    # placeholder for the zone to fill in (``catalog.guide``).
    departments: dict[str, DepartmentContact] = {}
    # Matters the zone assigns to another department than the catalog's, by matter code: e.g. to its
    # own administrative-approval bureau (相对集中行政许可权: 行政许可法 §25), which then decides
    # them; a department of the catalog or one of ``departments`` with its own name.
    matter_departments: dict[str, str] = {}
    # 好差评: the callback and fix limits of a bad rating (working days; ``RatingPolicy``).
    ratings: RatingPolicy = RatingPolicy()
    # The fee (yuan) of the evaluation a project no longer commissions when a matter is handled by
    # commitment or covered by the regional assessment, by matter code, where the zone states it
    # (the source: Lingchuan saved 200,000 yuan of evaluation fees per key project); counted in the
    # fees saved (``eventstore.figures``). Empty: the zone states none, and no fee is claimed.
    evaluation_fees_yuan: dict[str, int] = {}
    # Where the zone's figures come from, by field name (e.g. which limits the source states and
    # which are the zone's choice). Every zone-specific value names its source sentence here.
    notes: dict[str, str] = {}

    def hours_on(self, day: date) -> OfficeHours:
        """The zone's office hours on ``day``: its season's, else ``office_hours``."""
        return self.seasonal_hours.on(day) if self.seasonal_hours else self.office_hours

    @model_validator(mode="after")
    def _check(self) -> ZonePolicy:
        errors = []
        if self.absent_department_deemed and not self.absent_department_rule:
            errors.append(
                f"zones.{self.code}.absent_department_rule: 缺席默认 needs the zone's local rule that allows it"
            )
        unknown = sorted(set(self.notes) - set(type(self).model_fields))
        if unknown:
            errors.append(f"zones.{self.code}.notes: no such fields {unknown}")
        if self.approval_seal and not self.approval_body:
            errors.append(
                f"zones.{self.code}.approval_body: a zone's approval seal needs the body that issues under it"
            )
        for code, days in self.promised_days.items():
            if days is not None and days <= 0:
                errors.append(f"zones.{self.code}.promised_days.{code}: a promise must be more than 0 working days")
        _raise_all(errors)
        return self


# The stages the whole-process cap covers: registration up to the construction permit.
CAPPED_STAGES = (Stage.ESTABLISHMENT, Stage.APPROVAL_LAND, Stage.ENGINEERING_PERMIT, Stage.CONSTRUCTION_PERMIT)


def critical_path(
    catalog: Catalog, zone: ZonePolicy, stage: Stage, project_type: str | None = None
) -> tuple[float, list[str]]:
    """The longest chain of promised working days through a stage's matters, and the chain.

    Matters run in parallel once the stage opens, except that a matter waits for those it
    ``requires`` (国办发〔2019〕11号: parallel approval within a stage, one lead department). A matter
    counts the zone's promise; one the zone exempts by a regional assessment or approves on a
    commitment counts 0, and so does one the zone promises nothing for: its statutory limit is the
    law's ceiling, not the zone's promise (a full EIA report's 60 days are not in a stage promise).
    Every matter of the stage is taken, whatever the project's facts: the longest chain of any
    project (matters that exclude each other never require each other); with ``project_type``, of
    any project of that type (``type_may_need``).
    """
    specs = {
        m.code: m
        for m in catalog.matters
        if m.stage == stage and (project_type is None or type_may_need(m, project_type))
    }
    memo: dict[str, tuple[float, list[str]]] = {}

    def longest(code: str) -> tuple[float, list[str]]:
        if code not in memo:
            spec = specs[code]
            waived = handling_mode(spec, zone) in ("regional_assessment", "commitment")
            own = 0.0 if waived or spec.promised_days is None else spec.limit_days
            before = max((longest(r) for r in spec.requires if r in specs), default=(0.0, []))
            memo[code] = (before[0] + own, [*before[1], code])
        return memo[code]

    return max((longest(c) for c in specs), default=(0.0, []))


def check_zone(catalog: Catalog, zone: ZonePolicy) -> None:
    """Refuse a zone policy the catalog cannot honour: ``ValueError`` with every error of
    ``zone_errors``, one per line."""
    _raise_all(zone_errors(catalog, zone))


def zone_errors(catalog: Catalog, zone: ZonePolicy) -> list[str]:
    """Every reason the catalog cannot honour ``zone``, each naming the field and matter.

    Stage leads: one known department for every approval stage. Promises: only known matters, no
    longer than the statutory limit, and a filing or contract keeps a promise (its only limit).
    Stage limits: each holds its stage's promised critical path (``critical_path``, with the zone's
    own promises; statutory limits are the law's ceiling, not part of this check), and those of
    ``CAPPED_STAGES`` add up to no more than any whole-process cap. Deemed approval: only known
    matters, public safety only with the named local rule; the absent-department rule only with a
    joint acceptance in the catalog.
    """
    errors: list[str] = []
    where = f"zones.{zone.code}"
    departments = {d.code for d in catalog.departments}
    codes = {m.code for m in catalog.matters}
    for code, dept in zone.departments.items():
        if code not in departments and not dept.name_zh:
            errors.append(f"{where}.departments.{code}: a department of the zone's own needs its name_zh")
    departments |= set(zone.departments)
    for code, dept_code in zone.matter_departments.items():
        if code not in codes:
            errors.append(f"{where}.matter_departments.{code}: unknown matter {code!r}")
        elif dept_code not in departments:
            errors.append(f"{where}.matter_departments.{code}: unknown department {dept_code!r}")
    for stage in APPROVAL_STAGES:
        lead = zone.stage_leads.get(stage)
        if lead is None:
            errors.append(f"{where}.stage_leads.{stage}: every stage needs its lead department (牵头部门)")
        elif lead not in departments:
            errors.append(f"{where}.stage_leads.{stage}: unknown department {lead!r}")
    for code, days in zone.promised_days.items():
        if code not in codes:
            errors.append(f"{where}.promised_days.{code}: unknown matter {code!r}")
            continue
        spec = catalog.matter(code)
        if days is None and spec.statutory_days is None:
            errors.append(f"{where}.promised_days.{code}: a {spec.kind} has no statutory limit; it needs a promise")
        elif (why := spec.promise_error(days)) is not None:
            errors.append(f"{where}.promised_days.{code}: {why}")
    if not any(e.startswith(f"{where}.promised_days.") for e in errors):
        effective = zone_catalog(catalog, zone)
        for stage, limit in zone.stage_limits.items():
            days, chain = critical_path(effective, zone, stage)
            if days > limit:
                errors.append(
                    f"{where}.stage_limits.{stage}: {limit:g} working days cannot hold the promised "
                    f"critical path of {days:g} ({' then '.join(chain)})"
                )
    for project_type, cap in zone.process_caps.items():
        # A project type's own stage limits, where the zone gives them (``zone_for_type``).
        capped = sum(zone_for_type(zone, project_type).stage_limits.get(s, 0.0) for s in CAPPED_STAGES)
        if capped > cap:
            errors.append(
                f"{where}.stage_limits: {capped:g} working days up to the construction permit exceed "
                f"the whole-process cap of {cap:g} for {project_type} projects"
            )
    for field in ("no_tolerance_matters", "commitment_matters", "deemed_approval_matters"):
        for code in getattr(zone, field):
            if code not in codes:
                errors.append(f"{where}.{field}: unknown matter {code!r}")
    for key in zone.regional_assessment_scopes:
        if key not in zone.regional_assessments:
            errors.append(f"{where}.regional_assessment_scopes: {key!r} is not one of its assessments")
    # Data that would load and then be ignored, or do what the law does not allow: refused, naming it.
    assessed = {m.regional_assessment for m in catalog.matters if m.regional_assessment}
    for key in zone.regional_assessments:
        if key not in assessed:
            errors.append(
                f"{where}.regional_assessments: no matter of the catalog is covered by {key!r}; "
                f"known: {', '.join(sorted(assessed)) or 'none'}"
            )
    for code in zone.commitment_matters:
        if code in codes and "commitment" not in catalog.matter(code).modes:
            errors.append(
                f"{where}.commitment_matters: {code} cannot be handled by commitment (告知承诺); the catalog "
                f"allows it {', '.join(catalog.matter(code).modes)}"
            )
    for code in zone.deemed_approval_matters:
        if code in codes and catalog.matter(code).kind != "approval":
            errors.append(
                f"{where}.deemed_approval_matters: {code} is a {catalog.matter(code).kind}, not an approval: "
                "nothing is decided on it that silence could approve"
            )
    for project_type, cap in zone.process_caps.items():
        if cap <= 0:
            errors.append(f"{where}.process_caps.{project_type}: a cap must be more than 0 working days")
    for stage, limit in zone.stage_limits.items():
        if stage not in APPROVAL_STAGES:
            errors.append(f"{where}.stage_limits.{stage}: stage {stage} has no department approvals to limit")
        elif limit <= 0:
            errors.append(f"{where}.stage_limits.{stage}: a stage limit must be more than 0 working days")
    for code in zone.deemed_approval_matters:
        if code in codes and catalog.matter(code).statutory_days_counted == "days":
            errors.append(
                f"{where}.deemed_approval_matters: {code}'s statutory limit is in calendar days (日); deemed "
                "approval, which cannot be undone, is never taken on it (whether another law's days are calendar "
                "or working days is read differently, so the deadline is uncertain)"
            )
        if code in codes and catalog.matter(code).public_safety and not zone.deemed_approval_safety_rule:
            errors.append(
                f"{where}.deemed_approval_matters: {code} is a matter of public safety; deemed "
                "approval needs deemed_approval_safety_rule naming the zone's local rule that allows it"
            )
    if zone.absent_department_deemed and catalog.joint_acceptance is None:
        errors.append(f"{where}.absent_department_deemed: the catalog {catalog.version} has no joint acceptance")
    if not errors:
        errors.extend(zone_type_errors(catalog, zone))
    return errors


def type_may_need(spec: MatterSpec, project_type: str) -> bool:
    """Whether some project of ``project_type`` may have ``spec`` on its checklist: the type does not
    exclude it, and the facts the type demands (``TYPE_FACTS``) leave some project it applies to."""
    if excluded_by_type(project_type, spec.code):
        return False
    demanded = TYPE_FACTS.get(project_type, {})
    if demanded.get("standard_land_parcel") == (True,) and "standard_land_parcel" in spec.skip_if:
        return False
    for fact, values in spec.applies_if.items():
        if fact == "project_type" and project_type not in values:
            return False
        if fact in demanded and not any(v in demanded[fact] for v in values):
            return False
    return True


def zone_type_errors(catalog: Catalog, zone: ZonePolicy) -> list[str]:
    """Every reason the zone's project-type data cannot stand, each naming the field and type.

    A type's promises: known matters, no longer than the statutory limit; a fast-track type's
    (``key``) no longer than the zone's own promise either, and its stage limits and cap no looser
    than the general ones (国办发〔2019〕11号: a fast track, never a looser cap). A type's stage
    limits hold the type's promised critical path, and the type's stages up to the construction
    permit fit its process cap.
    """
    errors: list[str] = []
    where = f"zones.{zone.code}"
    codes = {m.code for m in catalog.matters}
    general_cap = zone.process_caps.get("general")
    for project_type in sorted(set(zone.type_promised_days) | set(zone.type_stage_limits) | set(zone.process_caps)):
        rule = PROJECT_TYPES.get(project_type)
        if rule is None:
            for field in ("process_caps", "type_promised_days", "type_stage_limits"):
                if project_type in getattr(zone, field):
                    errors.append(
                        f"{where}.{field}.{project_type}: unknown project type; known: {sorted(PROJECT_TYPES)}"
                    )
            continue
        before = len(errors)
        for code, days in zone.type_promised_days.get(project_type, {}).items():
            field = f"{where}.type_promised_days.{project_type}.{code}"
            if code not in codes:
                errors.append(f"{field}: unknown matter {code!r}")
                continue
            spec = zone_catalog(catalog, zone).matter(code)
            if (why := spec.promise_error(days)) is not None:
                errors.append(f"{field}: {why}")
            if rule.fast_track and (days is None or (spec.promised_days is not None and days > spec.promised_days)):
                errors.append(f"{field}: a fast track only shortens the zone's promise of {spec.promised_days}")
        if len(errors) > before:
            continue
        typed = zone_for_type(zone, project_type)
        effective = zone_catalog(catalog, typed)
        for stage, limit in zone.type_stage_limits.get(project_type, {}).items():
            field = f"{where}.type_stage_limits.{project_type}.{stage}"
            if rule.fast_track and stage in zone.stage_limits and limit > zone.stage_limits[stage]:
                errors.append(
                    f"{field}: a fast track is no looser than the stage limit of {zone.stage_limits[stage]:g}"
                )
            days, chain = critical_path(effective, typed, stage, project_type)
            if days > limit:
                errors.append(
                    f"{field}: {limit:g} working days cannot hold the promised critical path of {days:g} "
                    f"({' then '.join(chain)})"
                )
        cap = typed.process_caps.get(project_type)
        if rule.fast_track and cap is not None and general_cap is not None and cap > general_cap:
            errors.append(
                f"{where}.process_caps.{project_type}: {cap:g} working days is looser than the general cap "
                f"of {general_cap:g}; a fast track never loosens the cap"
            )
    return errors


# Zones with a project type's data applied, by (id(zone), type); the zone is kept alive with the
# result (as ``_ZONE_CATALOGS``).
_TYPED_ZONES: dict[tuple[int, str], tuple[ZonePolicy, ZonePolicy]] = {}


def zone_for_type(zone: ZonePolicy, project_type: str | None) -> ZonePolicy:
    """``zone`` as it applies to a project of ``project_type`` (pure, cached).

    The type's stage limits and promises (``type_stage_limits``, ``type_promised_days``) in place of
    the zone's, and its process cap: the zone's for the type, else the one of its rule's ``cap_of``.
    ``general``, ``key`` and None with no type data: ``zone`` itself, so every project registered
    before project types runs on exactly the zone it registered under.
    """
    if project_type is None:
        return zone
    rule = PROJECT_TYPES.get(project_type)
    limits = zone.type_stage_limits.get(project_type, {})
    promises = zone.type_promised_days.get(project_type, {})
    # general and key keep the zone's caps as they are (a zone without a key cap runs key projects
    # without a process clock, as before project types); only the new types fall back.
    fallback = (
        rule is not None
        and project_type not in ("general", "key")
        and project_type not in zone.process_caps
        and rule.cap_of in zone.process_caps
    )
    if not limits and not promises and not fallback:
        return zone
    key = (id(zone), project_type)
    found = _TYPED_ZONES.get(key)
    if found is not None and found[0] is zone:
        return found[1]
    caps = dict(zone.process_caps)
    if fallback and rule is not None:
        caps[project_type] = zone.process_caps[rule.cap_of]
    typed = zone.model_copy(
        update={
            "stage_limits": {**zone.stage_limits, **limits},
            "promised_days": {**zone.promised_days, **promises},
            "process_caps": caps,
            "type_stage_limits": {},
            "type_promised_days": {},
        }
    )
    _TYPED_ZONES[key] = (zone, typed)
    return typed


# Catalogs with a zone's own promises applied, by (id(catalog), id(zone)); the pair is kept alive
# with the result, so an id is never reused while its entry exists. Registry content lives as long
# as the worker, so this holds one copy per zone and catalog version, like the registry itself.
_ZONE_CATALOGS: dict[tuple[int, int], tuple[Catalog, ZonePolicy, Catalog]] = {}


def zone_catalog(catalog: Catalog, zone: ZonePolicy) -> Catalog:
    """``catalog`` with ``zone.promised_days`` in place of the catalog's promises, the zone's own
    departments added and its ``matter_departments`` in place of the catalog's (pure, cached).

    A zone without promises of its own gets ``catalog`` itself, so every project of a zone version
    written before zone promises existed runs on exactly the catalog it registered under.
    """
    own = [
        Department(code=code, name=d.name or d.name_zh or code, name_zh=d.name_zh or code)
        for code, d in zone.departments.items()
        if d.name_zh and code not in {x.code for x in catalog.departments}
    ]
    if not zone.promised_days and not zone.matter_departments and not own:
        return catalog
    key = (id(catalog), id(zone))
    found = _ZONE_CATALOGS.get(key)
    if found is not None and found[0] is catalog and found[1] is zone:
        return found[2]
    matters = [
        m.model_copy(
            update={"promised_days": zone.promised_days[m.code], "promise_basis": zone.notes.get("promised_days")}
        )
        if m.code in zone.promised_days
        else m
        for m in catalog.matters
    ]
    # The zone's assignment of matters to its own departments (e.g. its 行政审批局).
    matters = [
        m.model_copy(update={"department": zone.matter_departments[m.code]}) if m.code in zone.matter_departments else m
        for m in matters
    ]
    result = catalog.model_copy(update={"matters": matters, "departments": [*catalog.departments, *own]})
    _ZONE_CATALOGS[key] = (catalog, zone, result)
    return result


class ProjectFacts(_Model):
    """The project attributes that decide which matters apply and how (``RegisterProject``'s facts).

    The defaults are a registration's defaults, so projects registered before a fact existed get
    the checklist they had (their catalog versions name no condition on it).
    """

    project_type: str
    standard_land_parcel: bool = False
    eia_category: EiaCategory = "report_form"
    lightning_special_site: bool = False
    special_construction: bool = False
    water_abstraction: bool = False
    pollutant_permit: PollutantPermit = "none"
    project_scale: ProjectScale = "large"

    @classmethod
    def of(cls, registration: RegisterProject) -> ProjectFacts:
        """The facts a registration states."""
        return cls.model_validate(registration.model_dump(include=set(cls.model_fields)))


# The values each fact can take, for ``MatterSpec.applies_if``.
FACT_VALUES: dict[str, tuple[FactValue, ...]] = {
    "standard_land_parcel": (True, False),
    "eia_category": get_args(EiaCategory),
    "lightning_special_site": (True, False),
    "special_construction": (True, False),
    "water_abstraction": (True, False),
    "pollutant_permit": get_args(PollutantPermit),
    "project_type": get_args(ProjectType),
    "project_scale": get_args(ProjectScale),
}


# Catalogs with the limits a project's facts set, by (id(catalog), the limits that differ); the
# catalog is kept alive with the result (as ``_ZONE_CATALOGS``), so projects of the same scale share one.
_FACTS_CATALOGS: dict[tuple[int, tuple[tuple[str, float | None], ...]], tuple[Catalog, Catalog]] = {}


def facts_catalog(catalog: Catalog, facts: ProjectFacts | None) -> Catalog:
    """``catalog`` as it applies to a project with ``facts``: each matter's statutory limit by
    ``MatterSpec.for_facts``; ``catalog`` itself where no limit differs (or without facts). Pure,
    cached."""
    if facts is None:
        return catalog
    matters = [m.for_facts(facts) for m in catalog.matters]
    changed = tuple((m.code, m.statutory_days) for m, was in zip(matters, catalog.matters, strict=True) if m is not was)
    if not changed:
        return catalog
    key = (id(catalog), changed)
    found = _FACTS_CATALOGS.get(key)
    if found is not None and found[0] is catalog:
        return found[1]
    applied = catalog.model_copy(update={"matters": matters})
    _FACTS_CATALOGS[key] = (catalog, applied)
    return applied


def handling_mode(spec: MatterSpec, zone: ZonePolicy, *, assessments: bool = True) -> HandlingMode:
    """How the zone handles ``spec`` for a new project, before any department decides.

    ``assessments=False``: how it is handled when no regional assessment covers the project.
    """
    if assessments and spec.regional_assessment and spec.regional_assessment in zone.regional_assessments:
        return "regional_assessment"
    if spec.code in zone.commitment_matters and "commitment" in spec.modes:
        return "commitment"
    if "instant" in spec.modes:
        return "instant"
    return "standard"


def derive_checklist(catalog: Catalog, zone: ZonePolicy, facts: ProjectFacts) -> list[ChecklistItem]:
    """The one-time notification checklist (一次性告知清单) for a project, in stage order.

    The zone as it applies to the project's type (``zone_for_type``: its short caps and promises)
    and without the matters the type leaves out (``catalog.types``: e.g. a standard-factory tenant's
    land and planning permits).
    """
    order = {s: i for i, s in enumerate(APPROVAL_STAGES)}
    zone = zone_for_type(zone, facts.project_type)
    catalog = facts_catalog(zone_catalog(catalog, zone), facts)
    items = []
    for spec in sorted(catalog.matters, key=lambda m: order[m.stage]):
        if not spec.applies_to(facts) or excluded_by_type(facts.project_type, spec.code):
            continue
        items.append(
            ChecklistItem(
                matter_code=spec.code,
                matter_name=f"{spec.name_zh} {spec.name}",
                department=spec.department,
                stage=spec.stage,
                mode=handling_mode(spec, zone),
                # A filing or contract has no statutory limit; until the checklist can say so, it
                # carries the days its clock runs on (the zone's promise).
                statutory_days=spec.clock_days,
                promised_days=spec.promised_days,
                main_materials=spec.main_materials,
                secondary_materials=spec.secondary_materials,
            )
        )
    return items
