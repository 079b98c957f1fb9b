"""The standard flowchart (全事项办理标准流程图) as pure SVG text, over the shipped catalog and zones."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from catalog.flowchart import BOX_W, flowchart_svg, layout
from catalog.load import default_catalog, default_zones
from catalog.models import ProjectFacts, derive_checklist
from schemas.events import ChecklistItem
from schemas.stages import APPROVAL_STAGES
from tests.support import registration

SVG = "{http://www.w3.org/2000/svg}"


def checklist(zone: str = "lingchuan") -> list[ChecklistItem]:
    catalog, zones = default_catalog(), default_zones()
    return derive_checklist(catalog, zones[zone], ProjectFacts.of(registration(zone=zone)))


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == cls]


def test_every_matter_of_the_checklist_is_drawn_once_in_its_stage() -> None:
    items = checklist()
    root = ET.fromstring(flowchart_svg(default_catalog(), items, zone=default_zones()["lingchuan"]))
    drawn = [g.get("data-matter", "") for g in groups(root, "matter")]
    assert sorted(drawn) == sorted(i.matter_code for i in items)
    stages = [g.get("data-stage") for g in groups(root, "stage")]
    assert stages == [s.value for s in APPROVAL_STAGES if any(i.stage == s for i in items)]


def test_stages_run_left_to_right_and_a_matter_stands_right_of_what_it_requires() -> None:
    catalog, items = default_catalog(), checklist()
    frames, boxes = layout(catalog, items)
    xs = [x for _, x, _, _ in frames]
    assert xs == sorted(xs)
    at = {b.item.matter_code: b for b in boxes}
    pairs = [(r, m.code) for m in catalog.matters for r in m.requires if r in at and m.code in at]
    assert pairs  # the shipped catalog has dependencies inside stages (e.g. the land-use planning permit)
    for before, after in pairs:
        assert at[before].x + BOX_W < at[after].x, (before, after)


def test_requires_edges_join_only_matters_on_the_checklist() -> None:
    catalog, items = default_catalog(), checklist()
    root = ET.fromstring(flowchart_svg(catalog, items))
    edges = {(p.get("data-from"), p.get("data-to")) for p in root.iter(f"{SVG}path") if p.get("class") == "requires"}
    codes = {i.matter_code for i in items}
    expected = {(r, m.code) for m in catalog.matters if m.code in codes for r in m.requires if r in codes}
    assert edges == expected
    # Without a requirement on the checklist, no edge: drop every required matter.
    required = {r for _, r in {(m.code, r) for m in catalog.matters for r in m.requires}}
    rest = [i for i in items if i.matter_code not in required]
    root = ET.fromstring(flowchart_svg(catalog, rest))
    assert [p for p in root.iter(f"{SVG}path") if p.get("class") == "requires"] == []


def test_a_box_shows_department_mode_and_both_limits_and_the_stage_its_cap_and_lead() -> None:
    catalog, zone = default_catalog(), default_zones()["lingchuan"]
    items = checklist()
    svg = flowchart_svg(catalog, items, zone=zone)
    root = ET.fromstring(svg)
    eia = next(g for g in groups(root, "matter") if g.get("data-matter") == "eia")
    text = [t.text for t in eia.iter(f"{SVG}text")]
    spec, item = catalog.matter("eia"), next(i for i in items if i.matter_code == "eia")
    assert text[0] == spec.name_zh and text[1] == "eia"
    assert text[2] == catalog.department(spec.department).name
    # EIA's statutory 30 are days (日, 环境影响评价法 §22), its promise working days.
    assert text[4] == f"法定 statutory {spec.statutory_days:g} 日 · 承诺 promised {item.promised_days:g} wd"
    lead = catalog.department(zone.stage_leads[spec.stage]).name
    notes = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert any(f"lead 牵头: {lead}" in n for n in notes)
    if spec.stage in zone.stage_limits:
        assert any(f"cap {zone.stage_limits[spec.stage]:g} working days" in n for n in notes)


def test_a_medium_projects_drawing_review_shows_its_own_limit_and_a_filing_none() -> None:
    """The box states the project's statutory limit (住建部令第13号 §12: 10 working days for a medium
    project, where a large one has 15); a filing has none."""
    catalog, zone = default_catalog(), default_zones()["lingchuan"]
    reg = registration(zone="lingchuan").model_copy(update={"project_scale": "medium"})
    items = derive_checklist(catalog, zone, ProjectFacts.of(reg))
    root = ET.fromstring(flowchart_svg(catalog, items, zone=zone))

    def limits(code: str) -> str | None:
        box = next(g for g in groups(root, "matter") if g.get("data-matter") == code)
        return [t.text for t in box.iter(f"{SVG}text")][4]

    assert (limits("construction-drawing-review") or "").startswith("法定 statutory 10 ·")
    assert (limits("project-filing") or "").startswith("法定 statutory — ·")


def test_text_is_escaped_and_an_empty_checklist_says_so() -> None:
    root = ET.fromstring(flowchart_svg(default_catalog(), [], title="<A & B>"))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["<A & B>", "No matters on the checklist."]
