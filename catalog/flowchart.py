"""The standard flowchart of all matters (全事项办理标准流程图) of a project's checklist, as SVG text.

The first of the "four ones" (四个一) that Lingchuan hands every enterprise (the source document,
shared/seeds): the project's matters by stage, each with its department, its handling mode and its
two limits (statutory: the law, 行政许可法 §42 or the matter's own rule in the catalog; promised:
the zone's), the dependencies inside a stage (``MatterSpec.requires``: parallel approval within a
stage, 国办发〔2019〕11号), and each stage's cap and lead department from the zone's policy.

Pure code: no I/O, no drawing library; ``flowchart_svg`` returns a standalone SVG document
(UTF-8 text, sizes in px) that a browser shows as is and that the dashboard inlines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from catalog.models import Catalog, ZonePolicy
from schemas.events import ChecklistItem
from schemas.stages import APPROVAL_STAGES, Stage

# The stages' names as the national reform names them (国办发〔2019〕11号), framed by establishment.
STAGE_NAMES: dict[str, str] = {
    Stage.REGISTERED: "签约入库 Registration",
    Stage.ESTABLISHMENT: "企业设立登记 Establishment",
    Stage.APPROVAL_LAND: "1 立项用地规划许可 Approval & land",
    Stage.ENGINEERING_PERMIT: "2 工程建设许可 Engineering permit",
    Stage.CONSTRUCTION_PERMIT: "3 施工许可 Construction permit",
    Stage.CONSTRUCTION: "建设施工 Construction",
    Stage.COMPLETION_ACCEPTANCE: "4 竣工验收 Completion acceptance",
    Stage.IN_PRODUCTION: "投产 In production",
    Stage.WITHDRAWN: "撤回 Withdrawn",
}

MODE_NAMES: dict[str, str] = {
    "standard": "标准 standard",
    "instant": "即办 instant",
    "commitment": "告知承诺 commitment",
    "tolerance": "容缺 tolerance",
    "regional_assessment": "区域评估 regional assessment",
}

# Layout, px.
BOX_W, BOX_H = 230, 92
GAP_X, GAP_Y = 34, 18
STAGE_PAD, STAGE_HEAD = 14, 52
MARGIN, TITLE_H = 16, 40


@dataclass(frozen=True)
class Box:
    """A matter's box: top-left corner and the item drawn in it."""

    x: float
    y: float
    item: ChecklistItem


def _days(d: float | None) -> str:
    return "—" if d is None else f"{d:g}"


def _depths(items: Sequence[ChecklistItem], requires: dict[str, list[str]]) -> dict[str, int]:
    """Each matter's column inside its stage: 0 without requirements, else 1 + its deepest requirement
    (requirements outside the checklist are ignored: the project does not need them)."""
    codes = {i.matter_code for i in items}
    depth: dict[str, int] = {}

    def of(code: str, seen: frozenset[str]) -> int:
        if code in depth:
            return depth[code]
        if code in seen:  # a cycle: the catalog's validation refuses them; draw flat rather than loop
            return 0
        reqs = [r for r in requires.get(code, []) if r in codes]
        depth[code] = 0 if not reqs else 1 + max(of(r, seen | {code}) for r in reqs)
        return depth[code]

    for i in items:
        of(i.matter_code, frozenset())
    return depth


Frame = tuple[str, float, float, float]


def layout(catalog: Catalog, checklist: Sequence[ChecklistItem]) -> tuple[list[Frame], list[Box]]:
    """Stage frames ``(stage, x, width, height)`` left to right in the lifecycle's order, and the boxes.

    Within a stage, matters stand in columns by ``requires`` depth, top to bottom by code.
    """
    requires = {m.code: list(m.requires) for m in catalog.matters}
    frames: list[Frame] = []
    boxes: list[Box] = []
    x = float(MARGIN)
    for stage in APPROVAL_STAGES:
        items = sorted((i for i in checklist if i.stage == stage), key=lambda i: i.matter_code)
        if not items:
            continue
        depth = _depths(items, requires)
        columns = max(depth.values()) + 1
        rows: dict[int, int] = {}
        for item in items:
            col = depth[item.matter_code]
            row = rows.get(col, 0)
            rows[col] = row + 1
            boxes.append(
                Box(
                    x + STAGE_PAD + col * (BOX_W + GAP_X),
                    TITLE_H + STAGE_HEAD + row * (BOX_H + GAP_Y),
                    item,
                )
            )
        width = 2 * STAGE_PAD + columns * BOX_W + (columns - 1) * GAP_X
        height = STAGE_HEAD + max(rows.values()) * (BOX_H + GAP_Y) + STAGE_PAD
        frames.append((stage, x, width, height))
        x += width + GAP_X
    return frames, boxes


def flowchart_svg(
    catalog: Catalog,
    checklist: Sequence[ChecklistItem],
    *,
    zone: ZonePolicy | None = None,
    title: str = "全事项办理标准流程图 Standard flowchart of all matters",
) -> str:
    """The flowchart of ``checklist`` (a project's one-time notification checklist) as an SVG document.

    ``catalog``: the catalog the project registered under (``requires``, department names, legal
    bases); ``zone``: its zone policy for the stage caps (``stage_limits``) and lead departments
    (``stage_leads``), omitted when None. Raises nothing for an empty checklist: the chart says so.
    """
    departments = {d.code: d for d in catalog.departments}
    specs = {m.code: m for m in catalog.matters}
    frames, boxes = layout(catalog, checklist)
    at = {b.item.matter_code: b for b in boxes}
    width = max((fx + fw for _, fx, fw, _ in frames), default=360.0) + MARGIN
    height = max((TITLE_H + fh for *_, fh in frames), default=TITLE_H + 40.0) + MARGIN
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flowchart" width="{width:g}" height="{height:g}" '
        f'viewBox="0 0 {width:g} {height:g}" font-family="Noto Sans CJK SC, WenQuanYi Zen Hei, sans-serif" '
        'font-size="12">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
        f'<text x="{MARGIN}" y="24" font-size="16" font-weight="bold">{escape(title)}</text>',
    ]
    if not frames:
        out.append(f'<text x="{MARGIN}" y="{TITLE_H + 20}">No matters on the checklist.</text>')
    for i, (stage, fx, fw, fh) in enumerate(frames):
        out.append(
            f'<g class="stage" data-stage="{escape(stage)}"><rect x="{fx:g}" y="{TITLE_H}" width="{fw:g}" '
            f'height="{fh:g}" rx="8" fill="#f4f7fb" stroke="#8aa4c8"/>'
        )
        out.append(
            f'<text x="{fx + STAGE_PAD:g}" y="{TITLE_H + 20}" font-weight="bold">'
            f"{escape(STAGE_NAMES.get(stage, stage))}</text>"
        )
        notes = []
        if zone is not None and Stage(stage) in zone.stage_limits:
            notes.append(f"cap {zone.stage_limits[Stage(stage)]:g} working days")
        if zone is not None and Stage(stage) in zone.stage_leads:
            lead = zone.stage_leads[Stage(stage)]
            notes.append(f"lead 牵头: {departments[lead].name if lead in departments else lead}")
        if notes:
            out.append(f'<text x="{fx + STAGE_PAD:g}" y="{TITLE_H + 38}" fill="#444">{escape("; ".join(notes))}</text>')
        out.append("</g>")
        if i + 1 < len(frames):
            nx = frames[i + 1][1]
            y = TITLE_H + STAGE_HEAD / 2
            out.append(
                f'<line class="stage-edge" x1="{fx + fw:g}" y1="{y:g}" x2="{nx:g}" y2="{y:g}" stroke="#555" '
                'stroke-width="2" marker-end="url(#arrow)"/>'
            )
    # Dependencies first, so that the boxes are drawn over the curves that pass behind them.
    for b in boxes:
        spec = specs.get(b.item.matter_code)
        for r in spec.requires if spec else []:
            src = at.get(r)
            if src is None:
                continue
            x1, y1 = src.x + BOX_W, src.y + BOX_H / 2
            x2, y2 = b.x, b.y + BOX_H / 2
            mid = (x1 + x2) / 2
            out.append(
                f'<path class="requires" data-from="{escape(r)}" data-to="{escape(b.item.matter_code)}" '
                f'd="M{x1:g},{y1:g} C{mid:g},{y1:g} {mid:g},{y2:g} {x2:g},{y2:g}" fill="none" stroke="#555" '
                'stroke-width="1.5" marker-end="url(#arrow)"/>'
            )
    for b in boxes:
        item = b.item
        spec = specs.get(item.matter_code)
        dept = departments.get(item.department)
        name_zh = spec.name_zh if spec else item.matter_name
        # The checklist's limit (the law's for the project's facts, e.g. its scale); a filing none.
        statutory = None if spec is not None and spec.statutory_days is None else item.statutory_days
        # A limit another law states in days (日, 民法典 §201-§203) is marked as such; the rest are working days.
        in_days = " 日" if spec is not None and spec.statutory_days_counted == "days" and statutory else ""
        limits = f"法定 statutory {_days(statutory)}{in_days} · 承诺 promised {_days(item.promised_days)} wd"
        lines = [
            (name_zh, "bold"),
            (item.matter_code, "normal"),
            (dept.name if dept else item.department, "normal"),
            (MODE_NAMES.get(item.mode, item.mode), "normal"),
            (limits, "normal"),
        ]
        out.append(
            f'<g class="matter" data-matter="{escape(item.matter_code)}"><rect x="{b.x:g}" y="{b.y:g}" '
            f'width="{BOX_W}" height="{BOX_H}" rx="5" fill="#fff" stroke="#2f5d9b"/>'
        )
        if spec and spec.legal_basis:
            out.append(f"<title>{escape(spec.legal_basis)}</title>")
        for n, (text, weight) in enumerate(lines):
            shown = text if len(text) <= 38 else text[:37] + "…"
            out.append(f'<text x="{b.x + 8:g}" y="{b.y + 17 + n * 17:g}" font-weight="{weight}">{escape(shown)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)
