"""Models of the matter catalog and zone policy, and the one-time notification checklist.

Pure: no I/O. The workflow receives a ``ProjectContext`` (catalog + zone + calendar) as data.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from legalclock import OfficeHours
from schemas.events import ChecklistItem, HandlingMode
from schemas.stages import APPROVAL_STAGES, Stage

DecisionMode = Literal["standard", "instant", "tolerance", "commitment"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Department(_Model):
    code: str
    name: str
    name_zh: str


class MatterSpec(_Model):
    """One approval matter (事项) and how it may be handled."""

    code: str
    name: str
    name_zh: str
    department: str
    stage: Stage
    statutory_days: float = Field(gt=0)
    promised_days: float | None = Field(default=None, gt=0)
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
    # Matters of the same stage that must be satisfied before this one is applied for.
    requires: list[str] = []
    # Project flags that make the matter unnecessary (e.g. a standard land parcel, 标准地).
    skip_if: list[Literal["standard_land_parcel"]] = []
    tolerance_supply_days: float = 10
    commitment_verification_days: float = 20
    # The longest extension of the limit the law allows (行政许可法 §42: 10 working days decided by
    # the head of the agency; 15 for joint or centralised handling, §26 and §42 para. 2).
    extension_max_days: float = Field(default=10, gt=0, le=30)
    issues_license: bool = True

    @property
    def limit_days(self) -> float:
        """The limit the zone answers for: the promised one when shorter than the statutory."""
        return min(self.statutory_days, self.promised_days or self.statutory_days)

    @model_validator(mode="after")
    def _check(self) -> MatterSpec:
        if self.stage not in APPROVAL_STAGES:
            raise ValueError(f"stage {self.stage} of {self.code} has no department approvals")
        return self


class Catalog(_Model):
    """Departments and matters; ``version`` identifies the file a project was registered with."""

    version: str
    departments: list[Department]
    matters: list[MatterSpec]

    @model_validator(mode="after")
    def _check(self) -> Catalog:
        codes = [m.code for m in self.matters]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"matters: duplicate codes {dupes}")
        depts = {d.code for d in self.departments}
        for m in self.matters:
            if m.department not in depts:
                raise ValueError(f"matters.{m.code}.department: unknown department {m.department!r}")
            for r in m.requires:
                req = next((x for x in self.matters if x.code == r), None)
                if req is None or req.stage != m.stage:
                    raise ValueError(f"matters.{m.code}.requires: {r!r} is not a matter of stage {m.stage}")
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
    warn_days_before: float = Field(default=2, ge=0)
    joint_meeting_after_days: float = Field(default=3, gt=0)
    joint_meeting_attendees: list[str] = ["zone-management-committee"]


class ZonePolicy(_Model):
    """A development zone's own rules on top of the catalog."""

    code: str
    name: str
    name_zh: str
    regional_assessments: list[str] = []
    # Matters the zone handles by commitment (告知承诺制) whenever the matter allows it.
    commitment_matters: list[str] = []
    # Whole-process caps in working days, by project type (e.g. 20 for general projects).
    process_caps: dict[str, float]
    stage_limits: dict[Stage, float] = {}
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
    project_lead_default: str = "project-lead"


# The stages the whole-process cap covers: registration up to the construction permit.
CAPPED_STAGES = (Stage.ESTABLISHMENT, Stage.APPROVAL_LAND, Stage.ENGINEERING_PERMIT, Stage.CONSTRUCTION_PERMIT)


def critical_path(catalog: Catalog, zone: ZonePolicy, stage: Stage) -> tuple[float, list[str]]:
    """The longest chain of promised working days through a stage's matters, and the chain.

    Matters run in parallel once the stage opens, except that a matter waits for those it
    ``requires``. A matter counts its promised limit (its statutory one where the zone promises
    nothing shorter); one the zone exempts by a regional assessment or approves on a commitment
    counts 0 (国办发〔2019〕11号: parallel approval within a stage, one lead department).
    """
    specs = {m.code: m for m in catalog.matters if m.stage == stage}
    memo: dict[str, tuple[float, list[str]]] = {}

    def longest(code: str) -> tuple[float, list[str]]:
        if code not in memo:
            spec = specs[code]
            own = 0.0 if handling_mode(spec, zone) in ("regional_assessment", "commitment") else spec.limit_days
            before = max((longest(r) for r in spec.requires if r in specs), default=(0.0, []))
            memo[code] = (before[0] + own, [*before[1], code])
        return memo[code]

    return max((longest(c) for c in specs), default=(0.0, []))


def check_zone(catalog: Catalog, zone: ZonePolicy) -> None:
    """Refuse a zone policy the catalog cannot honour; ``ValueError`` naming the field and matter.

    Deemed approval: only known matters, public safety only with the named local rule. Stage
    limits: each holds its stage's promised critical path (``critical_path``; statutory limits are
    the law's ceiling, not part of this check), and those of ``CAPPED_STAGES`` add up to no more
    than any whole-process cap.
    """
    for stage, limit in zone.stage_limits.items():
        days, chain = critical_path(catalog, zone, stage)
        if days > limit:
            raise ValueError(
                f"zones.{zone.code}.stage_limits.{stage}: {limit:g} working days cannot hold the promised "
                f"critical path of {days:g} ({' then '.join(chain)})"
            )
    capped = sum(zone.stage_limits.get(s, 0.0) for s in CAPPED_STAGES)
    for project_type, cap in zone.process_caps.items():
        if capped > cap:
            raise ValueError(
                f"zones.{zone.code}.stage_limits: {capped:g} working days up to the construction permit exceed "
                f"the whole-process cap of {cap:g} for {project_type} projects"
            )
    codes = {m.code for m in catalog.matters}
    for code in zone.deemed_approval_matters:
        if code not in codes:
            raise ValueError(f"zones.{zone.code}.deemed_approval_matters: unknown matter {code!r}")
        if catalog.matter(code).public_safety and not zone.deemed_approval_safety_rule:
            raise ValueError(
                f"zones.{zone.code}.deemed_approval_matters: {code} is a matter of public safety; deemed "
                "approval needs deemed_approval_safety_rule naming the zone's local rule that allows it"
            )


class ProjectFacts(_Model):
    """The project attributes that decide which matters apply and how."""

    project_type: str
    standard_land_parcel: bool


def handling_mode(spec: MatterSpec, zone: ZonePolicy) -> HandlingMode:
    """How the zone handles ``spec`` for a new project, before any department decides."""
    if spec.regional_assessment and spec.regional_assessment in zone.regional_assessments:
        return "regional_assessment"
    if spec.code in zone.commitment_matters and "commitment" in spec.modes:
        return "commitment"
    if "instant" in spec.modes:
        return "instant"
    return "standard"


def derive_checklist(catalog: Catalog, zone: ZonePolicy, facts: ProjectFacts) -> list[ChecklistItem]:
    """The one-time notification checklist (一次性告知清单) for a project, in stage order."""
    order = {s: i for i, s in enumerate(APPROVAL_STAGES)}
    items = []
    for spec in sorted(catalog.matters, key=lambda m: order[m.stage]):
        if facts.standard_land_parcel and "standard_land_parcel" in spec.skip_if:
            continue
        items.append(
            ChecklistItem(
                matter_code=spec.code,
                matter_name=f"{spec.name_zh} {spec.name}",
                department=spec.department,
                stage=spec.stage,
                mode=handling_mode(spec, zone),
                statutory_days=spec.statutory_days,
                promised_days=spec.promised_days,
                main_materials=spec.main_materials,
                secondary_materials=spec.secondary_materials,
            )
        )
    return items
