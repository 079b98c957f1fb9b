"""The one-time checklist (一次性告知清单) as the source's zones hand it out, and its printable page.

The source: Xiangyuan's window staff tell applicants at once each matter's process, legal basis,
conditions and materials (窗口人员一次性告知所办事项办理流程、办理依据、申请条件、提交资料和注意事项);
Lingchuan hands every project 一份项目审批事项一次性告知清单 with each matter's process, time and
materials (每个事项办理流程、时间要求和所需资料). Per matter the sheet gives: the process, the legal
basis, the conditions it applies under (``applies_if``), the main and secondary materials, the
statutory and promised limits (working days), the fee (none: 行政许可法 §58, and the agent's work is
free under full agency, 全代办 / 零收费) and the department's contact (the zone's data; a contact the
zone has not given is a placeholder marked as the zone's to fill in).

Pure: built from the catalog and zone versions the project registered under and its recorded
checklist (``build_guide``); ``guide_html`` renders a self-contained page (no external assets:
zone networks are closed).
"""

from __future__ import annotations

from html import escape
from typing import Literal

from pydantic import BaseModel, ConfigDict

from catalog.models import Catalog, DepartmentContact, MatterSpec, ZonePolicy, zone_catalog, zone_for_type
from catalog.types import PROJECT_TYPES
from schemas.events import ChecklistItem, ProjectHeader

STAGE_NAMES = {
    "establishment": "企业设立登记",
    "approval_land": "第一阶段 立项用地规划许可",
    "engineering_permit": "第二阶段 工程建设许可",
    "construction_permit": "第三阶段 施工许可",
    "completion_acceptance": "第四阶段 竣工验收（联合验收）",
}
MODE_NAMES = {
    "standard": "一般办理 standard",
    "instant": "即办件 instant",
    "tolerance": "容缺办理 tolerance",
    "commitment": "告知承诺制 commitment",
    "regional_assessment": "区域评估 regional assessment",
}
FEE = (
    "none: no fee for an administrative licence (行政许可法 §58: 行政机关实施行政许可…不得收取任何费用); "
    "the agent's work is free under full agency (全程代办, the source: 零收费)"
)
PLACEHOLDER = "待开发区填写 (the zone's to fill in)"


class GuideMatter(BaseModel):
    """One matter of the sheet. Limits in working days, the statutory one in calendar days where
    ``statutory_days_counted`` is ``days`` (日: 民法典 §201-§203); ``statutory_days`` None: a filing or
    contract (no decision period: complete on receipt, or signed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str
    stage_name: str
    matter_code: str
    name: str
    name_zh: str
    kind: str
    mode: str
    department: str
    department_name: str
    issued_by: str
    process: list[str]
    legal_basis: str
    conditions: list[str]
    main_materials: list[str]
    secondary_materials: list[str]
    statutory_days: float | None
    statutory_days_counted: Literal["working_days", "days"] = "working_days"
    promised_days: float | None
    promise_basis: str | None
    fee: str
    contact: DepartmentContact


class Guide(BaseModel):
    """The whole sheet of a project: who it is for, what it was built from, and its matters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project_id: str
    name: str
    enterprise: str
    zone: str
    zone_name: str
    project_type: str
    project_type_name: str
    project_type_source: str
    agent: str
    backup_agent: str
    project_lead: str
    catalog_version: str
    zone_version: str
    matters: list[GuideMatter]
    # Whether any contact is a placeholder the zone still has to fill in.
    placeholder_contacts: bool


def _days(d: float | None) -> str:
    return "—" if d is None else f"{d:g}"


def _process(spec: MatterSpec, mode: str) -> list[str]:
    """The steps of a matter as the law and the zone run it (行政许可法 §32, §42, §44)."""
    if mode == "regional_assessment":
        return [
            "covered by the zone's regional assessment (区域评估): the project commits to its conditions",
            "no separate application or evaluation (国办发〔2019〕11号)",
        ]
    if spec.kind == "filing":
        return ["the agent files the information (备案)", "complete on receipt of the full information; no decision"]
    if spec.kind == "contract":
        return ["the agent prepares the contract", "the department signs it"]
    steps = [
        "the agent prepares and submits the application (全代办)",
        f"acceptance (受理): accepted, or every missing item in one notice within {spec.acceptance.text()}; "
        "silence for them is acceptance on receipt",
    ]
    if mode == "commitment":
        steps.append(
            "commitment (告知承诺制): approved on the signed commitment; verified within "
            f"{spec.commitment_verification_days:g} working days, a failed verification revokes it"
        )
    elif mode == "instant":
        steps.append("decided on the spot when complete (即办件)")
    else:
        start = (
            "the receipt of the complete application (收到申请之日起)"
            if spec.limit_from == "receipt"
            else "acceptance (受理之日起, §42)"
        )
        unit = (
            ""
            if spec.statutory_days_counted == "working_days"
            else " in days (日: a last day on a rest day moves to the next working day, 民法典 §201-§203)"
        )
        steps.append(
            f"decision within the limit{unit}, counted from {start}; stopped clocks (补正, expert review) do not "
            "count (§45)"
        )
    if "tolerance" in spec.modes:
        steps.append(
            "tolerance (容缺): with the main materials complete, secondary ones follow within "
            f"{spec.tolerance_supply_days:g} working days (边审批边补)"
        )
    if spec.issues_license:
        steps.append("the licence is issued within 10 days of the decision (行政许可法 §44)")
    return steps


def _conditions(spec: MatterSpec) -> list[str]:
    out = [f"{fact} in {values}" for fact, values in spec.applies_if.items()]
    for fact, days in spec.statutory_days_if.items():
        by_value = ", ".join(f"{value} {d:g}" for value, d in days.items())
        unit = "working days" if spec.statutory_days_counted == "working_days" else "days (日)"
        out.append(f"statutory limit by {fact}: {by_value}, otherwise {spec.statutory_days:g} {unit}")
    out += [f"not needed when {flag}" for flag in spec.skip_if]
    if spec.requires:
        out.append(f"after {', '.join(spec.requires)}")
    return out or ["every project"]


def build_guide(
    catalog: Catalog,
    zone: ZonePolicy,
    header: ProjectHeader,
    checklist: list[ChecklistItem],
    *,
    catalog_version: str,
    zone_version: str,
) -> Guide:
    """The sheet of a project registered under ``catalog`` and ``zone`` with ``checklist``.

    The zone as it applies to the project's type (``zone_for_type``); the limits and modes are the
    ones the checklist recorded at registration. Raises ``KeyError`` for a matter the catalog does not
    have (a checklist read with the wrong catalog version).
    """
    typed = zone_for_type(zone, header.project_type)
    specs = zone_catalog(catalog, typed)
    rule = PROJECT_TYPES.get(header.project_type)
    matters = []
    for item in checklist:
        spec = specs.matter(item.matter_code)
        try:
            department_name = specs.department(spec.department).name_zh
        except KeyError:
            department_name = spec.department
        contact = typed.departments.get(spec.department) or DepartmentContact(
            office=department_name,
            phone=PLACEHOLDER,
            address=PLACEHOLDER,
            placeholder=True,
            source=f"placeholder: zone {zone.code} has not given this department's contact",
        )
        issued_by = (
            f"{typed.approval_body} ({typed.approval_seal})"
            if typed.approval_seal and typed.approval_body
            else department_name
        )
        matters.append(
            GuideMatter(
                stage=item.stage,
                stage_name=STAGE_NAMES.get(item.stage, item.stage),
                matter_code=item.matter_code,
                name=spec.name,
                name_zh=spec.name_zh,
                kind=spec.kind,
                mode=item.mode,
                department=spec.department,
                department_name=department_name,
                issued_by=issued_by,
                process=_process(spec, item.mode),
                legal_basis=spec.legal_basis or "行政许可法 §42 (20 working days)",
                conditions=_conditions(spec),
                main_materials=item.main_materials,
                secondary_materials=item.secondary_materials,
                # The limit recorded at registration: the law's for the project's facts (its scale).
                statutory_days=item.statutory_days if spec.statutory_days is not None else None,
                statutory_days_counted=spec.statutory_days_counted,
                promised_days=item.promised_days,
                promise_basis=spec.promise_basis,
                fee=FEE,
                contact=contact,
            )
        )
    return Guide(
        project_id=header.project_id,
        name=header.name,
        enterprise=header.enterprise,
        zone=zone.code,
        zone_name=zone.name_zh,
        project_type=header.project_type,
        project_type_name=rule.name_zh if rule else header.project_type,
        project_type_source=rule.source if rule else "",
        agent=header.agent,
        backup_agent=header.backup_agent,
        project_lead=header.project_lead,
        catalog_version=catalog_version,
        zone_version=zone_version,
        matters=matters,
        placeholder_contacts=any(m.contact.placeholder for m in matters),
    )


class GuideRow(BaseModel):
    """One matter of the sheet as a terminal table's row (limits in working days, "—": none)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str
    matter: str
    department: str
    mode: str
    statutory: str
    promised: str
    materials: str
    contact: str


def guide_rows(guide: Guide) -> list[GuideRow]:
    """One flat row per matter, for a terminal table (secondary materials after "容缺:")."""
    return [
        GuideRow(
            stage=m.stage,
            matter=f"{m.name_zh} ({m.matter_code})",
            department=m.department_name,
            mode=m.mode,
            statutory=_days(m.statutory_days) + (" 日" if m.statutory_days_counted == "days" else ""),
            promised=_days(m.promised_days),
            materials="; ".join(m.main_materials)
            + (f" | 容缺: {'; '.join(m.secondary_materials)}" if m.secondary_materials else ""),
            contact=("(placeholder) " if m.contact.placeholder else "")
            + f"{m.contact.office} {m.contact.phone or ''}".strip(),
        )
        for m in guide.matters
    ]


_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#111}
h1{font-size:1.4em}h2{font-size:1.15em;border-bottom:2px solid #333;margin-top:1.6em}
table{border-collapse:collapse;width:100%;margin:.6em 0}td,th{border:1px solid #777;padding:4px 6px;
vertical-align:top;text-align:left;font-size:.9em}th{background:#eee;width:9em}
.placeholder{color:#a00;font-weight:bold}.meta td{border:none;padding:2px 8px}
@media print{body{margin:1cm}h2{page-break-after:avoid}table{page-break-inside:avoid}}
"""


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>" if items else "—"


def _contact(c: DepartmentContact) -> str:
    cls = ' class="placeholder"' if c.placeholder else ""
    parts = [escape(c.office), f"电话 {escape(c.phone or '—')}", f"地址 {escape(c.address or '—')}"]
    return f"<span{cls}>{'<br>'.join(parts)}</span><br><small>{escape(c.source)}</small>"


def guide_html(guide: Guide) -> str:
    """The sheet as one printable HTML page: inline style, no scripts, no external assets."""
    e = escape
    head = (
        f"<h1>项目审批事项一次性告知清单 — {e(guide.name)}</h1>"
        '<table class="meta">'
        f"<tr><td>企业 enterprise</td><td>{e(guide.enterprise)}</td></tr>"
        f"<tr><td>开发区 zone</td><td>{e(guide.zone_name)} ({e(guide.zone)})</td></tr>"
        f"<tr><td>项目类型 type</td><td>{e(guide.project_type_name)} ({e(guide.project_type)})</td></tr>"
        f"<tr><td>代办员 agent</td><td>{e(guide.agent)}; AB岗 {e(guide.backup_agent)}; "
        f"项目长 {e(guide.project_lead)}</td></tr>"
        f"<tr><td>依据 versions</td><td>{e(guide.catalog_version)}; {e(guide.zone_version)}</td></tr>"
        "</table>"
    )
    if guide.placeholder_contacts:
        head += f'<p class="placeholder">Contacts marked in red are placeholders: {e(PLACEHOLDER)}.</p>'
    body = []
    stage = None
    for m in guide.matters:
        if m.stage != stage:
            stage = m.stage
            body.append(f"<h2>{e(m.stage_name)}</h2>")
        rows = [
            ("事项 matter", f"<b>{e(m.name_zh)}</b> {e(m.name)} ({e(m.matter_code)})"),
            ("部门 department", f"{e(m.department_name)}; 出证 issued by {e(m.issued_by)}"),
            ("办理方式 mode", e(MODE_NAMES.get(m.mode, m.mode))),
            ("办理流程 process", _list(m.process)),
            ("办理依据 legal basis", e(m.legal_basis)),
            ("申请条件 conditions", _list(m.conditions)),
            ("主要材料 main materials", _list(m.main_materials)),
            ("次要材料 secondary", _list(m.secondary_materials)),
            (
                "时限 limits",
                f"法定 statutory {e(_days(m.statutory_days))} · 承诺 promised {e(_days(m.promised_days))} "
                + (
                    "(工作日 working days)"
                    if m.statutory_days_counted == "working_days"
                    else "(法定: 日 days, 民法典 §201-§203; 承诺: 工作日 working days)"
                )
                + (f"<br><small>{e(m.promise_basis)}</small>" if m.promise_basis else ""),
            ),
            ("收费 fee", e(m.fee)),
            ("联系方式 contact", _contact(m.contact)),
        ]
        body.append("<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>")
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>一次性告知清单 {e(guide.project_id)}</title><style>{_CSS}</style></head>"
        f"<body>{head}{''.join(body)}</body></html>"
    )
