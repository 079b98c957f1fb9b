"""Project types of the national reform: what each leaves out of the checklist, and its limits.

国办发〔2019〕11号 (国务院办公厅关于全面开展工程建设项目审批制度改革的实施意见) sorts approvals by the kind
of project: government-invested projects (政府投资项目: their approval, not a filing), social
investment (社会投资项目), small low-risk projects (社会投资小型低风险项目: short caps), industrial
projects on standard land (标准地) and key projects (重点项目: a fast track). The source's Yanhu
zone builds standard factories whose tenants move in ready-built (标准化厂房 "拎包入住": no land, no
planning permits; from establishment to fit-out and acceptance).

Pure: no I/O. A type's rule here is national (code, with its source); what a zone adopts for it
(short caps and promises, e.g. 2 + 3 + 5 working days by stage for small low-risk projects) is the
zone's data (``ZonePolicy.type_stage_limits``, ``type_promised_days``, ``process_caps``), applied
by ``zone_for_type``. ``general`` and ``key`` keep their meaning for projects registered before
the other types: their rules leave out nothing, and a zone version without type data is used as it
is (the same object), so their checklists and clocks are what they were.
"""

from __future__ import annotations

from typing import get_args

from pydantic import BaseModel, ConfigDict

from schemas.project import TYPE_FACTS, ProjectType

# The reform's document every type's rule comes from.
REFORM = "国办发〔2019〕11号 (国务院办公厅关于全面开展工程建设项目审批制度改革的实施意见)"
SOURCE = "/work/shared/seeds/000_3b0d399b235c0bf0.txt (科学导报, six Shanxi development zones)"


class ProjectTypeRule(BaseModel):
    """One project type: the matters it leaves out, the facts it demands, and where the rule comes from.

    ``excludes``: matter codes never on the type's checklist. ``facts``: the registration facts it
    demands (``schemas.project.TYPE_FACTS``, checked at registration). ``cap_of``: the process cap
    it falls back to where a zone names none for it (the key project's fast track never loosens
    the cap: ``zone_type_errors``). ``fast_track``: the zone's promises for it may only be shorter.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    name: str
    name_zh: str
    excludes: tuple[str, ...] = ()
    facts: dict[str, tuple[object, ...]] = {}
    cap_of: str = "general"
    fast_track: bool = False
    source: str


# The land and planning matters a tenant of a ready-built standard factory never needs: the land is
# the factory owner's and the building's planning permits were issued to its builder.
_LAND_AND_PLANNING = (
    "land-pre-review",
    "land-contract",
    "land-use-planning-permit",
    "building-planning-permit",
    "planning-verification",
    "land-verification",
)

PROJECT_TYPES: dict[str, ProjectTypeRule] = {
    r.code: r
    for r in (
        ProjectTypeRule(
            code="general",
            name="social investment project",
            name_zh="社会投资项目（一般项目）",
            source=f"{REFORM}: 社会投资项目 (enterprise investment, filed: 企业投资项目核准和备案管理条例 §13); "
            "the source's Yanhu caps general projects (压缩一般项目全流程审批时限至20个工作日)",
        ),
        ProjectTypeRule(
            code="key",
            name="key project",
            name_zh="重点项目",
            fast_track=True,
            source=f"{REFORM}: a fast track (shorter promises, never a looser cap); the source's key "
            "projects (省级重点工程; 为2个重点项目提供了承诺制“一本制”服务)",
        ),
        ProjectTypeRule(
            code="government_invested",
            name="government-invested project",
            name_zh="政府投资项目",
            # Approved (可行性研究报告审批), not filed: 政府投资条例 (国务院令第712号) §9-§11.
            excludes=("project-filing",),
            source=f"{REFORM}: 政府投资工程 (项目审批); 政府投资条例 (国务院令第712号) §9-§11",
        ),
        ProjectTypeRule(
            code="small_low_risk",
            name="small low-risk project",
            name_zh="社会投资小型低风险项目",
            facts=TYPE_FACTS["small_low_risk"],
            source=f"{REFORM}: 对社会投资的小型低风险新建、改扩建项目 ... 精简审批; short caps by stage where "
            "the zone adopts them (e.g. 2 + 3 + 5 working days)",
        ),
        ProjectTypeRule(
            code="standard_land_industrial",
            name="industrial project on standard land",
            name_zh="标准地工业项目",
            facts=TYPE_FACTS["standard_land_industrial"],
            source=f"{REFORM}: 区域评估 and land sold with its indicators set; the source "
            "(出让“标准地”11宗323.17亩; “承诺制+标准地+全代办”三项改革; 推进标准地改革)",
        ),
        ProjectTypeRule(
            code="standard_factory_tenant",
            name="tenant of a ready-built standard factory",
            name_zh="标准化厂房入驻项目（拎包入住）",
            excludes=_LAND_AND_PLANNING,
            facts=TYPE_FACTS["standard_factory_tenant"],
            source=f"{REFORM}; the source's Yanhu zone (标准化厂房 ... 厂房建成后这些项目将第一时间“拎包入住”): "
            "no land or planning permits, from establishment to fit-out and acceptance",
        ),
    )
}

assert set(PROJECT_TYPES) == set(get_args(ProjectType)), "every project type needs its rule"


def project_type_rule(code: str) -> ProjectTypeRule:
    """The rule of project type ``code``; ``KeyError`` for an unknown type."""
    return PROJECT_TYPES[code]


def excluded_by_type(project_type: str, matter_code: str) -> bool:
    """Whether the type leaves the matter out of its checklist (an unknown type leaves out nothing)."""
    rule = PROJECT_TYPES.get(project_type)
    return rule is not None and matter_code in rule.excludes
