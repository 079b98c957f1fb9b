"""The one-time checklist sheet (一次性告知清单, ``catalog.guide``): per matter the process, legal
basis, conditions, materials, limits, fee and contact; its printable page has no external assets."""

from __future__ import annotations

import re

from catalog.guide import FEE, PLACEHOLDER, Guide, build_guide, guide_html, guide_rows
from catalog.load import default_catalog, default_zones
from catalog.models import DepartmentContact, ProjectFacts, ZonePolicy, derive_checklist
from schemas.events import ProjectHeader
from tests import support as sp


def _guide(zone: ZonePolicy, project_type: str = "general", project_scale: str = "large") -> Guide:
    reg = sp.registration(zone=zone.code).model_copy(
        update={"project_type": project_type, "project_scale": project_scale}
    )
    checklist = derive_checklist(default_catalog(), zone, ProjectFacts.of(reg))
    header = ProjectHeader.model_validate(reg.model_dump(include=set(ProjectHeader.model_fields)))
    return build_guide(default_catalog(), zone, header, checklist, catalog_version="catalog-x", zone_version="zone-y")


def test_each_matter_has_its_process_basis_conditions_materials_limits_fee_and_contact() -> None:
    guide = _guide(default_zones()["xiangyuan"])
    assert isinstance(guide, Guide)
    by_code = {m.matter_code: m for m in guide.matters}
    reg = by_code["enterprise-registration"]
    assert (reg.statutory_days, reg.promised_days) == (3, 0.5)
    assert "市场主体登记管理条例 §19" in reg.legal_basis
    # One seal (一枚印章管审批): every licence of the zone is issued by its committee under the seal.
    assert reg.issued_by == "襄垣经济技术开发区管理委员会 (襄垣经济技术开发区管理委员会行政审批专用章)"
    eia = by_code["eia"]
    assert eia.conditions == ["eia_category in ['report_form']", "after project-filing, project-approval"]
    assert eia.main_materials and eia.secondary_materials
    assert any("行政许可法 §32" in step for step in eia.process)
    assert any("容缺" in step for step in eia.process)
    # The enterprise is told where each limit counts from (环境影响评价法 §22: from the receipt).
    assert any("counted from the receipt of the complete application" in step for step in eia.process)
    assert any("counted from acceptance" in step for step in by_code["land-pre-review"].process)
    # A filing: no statutory limit, complete on receipt. Regional assessment: no application.
    filing = by_code["project-filing"]
    assert filing.statutory_days is None and any("on receipt" in s for s in filing.process)
    assert by_code["energy-review"].mode == "regional_assessment"
    assert any("区域评估" in s for s in by_code["energy-review"].process)
    # No fee (行政许可法 §58, full agency); contacts the zone has not given are placeholders.
    assert all(m.fee == FEE for m in guide.matters) and "行政许可法 §58" in FEE
    assert guide.placeholder_contacts and all(m.contact.placeholder for m in guide.matters)
    assert reg.contact.phone == PLACEHOLDER and reg.contact.office == "市场监督管理局"
    rows = guide_rows(guide)
    assert len(rows) == len(guide.matters) and rows[0].contact.startswith("(placeholder)")


def test_the_sheet_states_the_drawing_reviews_limit_for_the_projects_scale() -> None:
    """住建部令第13号 §12: 15 working days for a large project, 10 for a medium or smaller one."""
    for scale, days in (("large", 15), ("medium", 10), ("small", 10)):
        guide = _guide(default_zones()["tunliu"], project_scale=scale)
        review = next(m for m in guide.matters if m.matter_code == "construction-drawing-review")
        assert review.statutory_days == days
        # The sheet says the limit depends on the scale, whatever the project's is.
        assert "statutory limit by project_scale: medium 10, small 10, otherwise 15 working days" in review.conditions


def test_the_sheet_says_which_limits_are_days_and_which_working_days() -> None:
    """环境影响评价法 §22's 30 days (日) count by 民法典 §201-§203; the promise and §42's 20 are working days."""
    guide = _guide(default_zones()["tunliu"])
    by_code = {m.matter_code: m for m in guide.matters}
    eia, lpr = by_code["eia"], by_code["land-pre-review"]
    assert (eia.statutory_days, eia.statutory_days_counted) == (30, "days")
    assert lpr.statutory_days_counted == "working_days"
    assert any("in days (日: a last day on a rest day moves" in step for step in eia.process)
    assert not any("日:" in step for step in lpr.process)
    rows = {r.matter: r for r in guide_rows(guide)}
    assert (
        rows[f"{eia.name_zh} (eia)"].statutory == "30 日" and rows[f"{lpr.name_zh} (land-pre-review)"].statutory == "20"
    )
    page = guide_html(guide)
    assert "(法定: 日 days, 民法典 §201-§203; 承诺: 工作日 working days)" in page


def test_a_zone_contact_replaces_the_placeholder() -> None:
    zone = default_zones()["tunliu"].model_copy(
        update={
            "departments": {
                "market": DepartmentContact(
                    office="屯留经开区政务服务中心 市场监管窗口",
                    phone="0355-0000000",
                    source="the zone's service guide",
                )
            }
        }
    )
    guide = _guide(zone)
    market = next(m for m in guide.matters if m.department == "market")
    assert not market.contact.placeholder and market.contact.phone == "0355-0000000"
    assert market.issued_by == "市场监督管理局"  # no seal of its own: each department issues


def test_the_page_is_printable_self_contained_and_escaped() -> None:
    guide = _guide(default_zones()["yanhu"], "standard_factory_tenant")
    assert isinstance(guide, Guide)
    assert not {m.matter_code for m in guide.matters} & {"land-pre-review", "building-planning-permit"}
    hostile = guide.model_copy(update={"name": "<script>alert(1)</script>"})
    page = guide_html(hostile)
    assert page.startswith("<!DOCTYPE html>") and "@media print" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", page), "no external assets"
    for m in guide.matters:
        assert m.name_zh in page
    assert "标准化厂房入驻项目（拎包入住）" in page and "待开发区填写" in page
