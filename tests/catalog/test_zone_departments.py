"""A zone names its departments and may assign matters to its own administrative-approval bureau
(行政审批局, 相对集中行政许可权: 行政许可法 §25): the bureau then decides them (pure)."""

from __future__ import annotations

import pytest

from catalog.guide import build_guide
from catalog.load import default_catalog, default_zones
from catalog.models import DepartmentContact, ProjectFacts, ZonePolicy, derive_checklist, zone_errors
from legalclock import default_calendar
from schemas.events import ProjectHeader
from schemas.project import Decision, DecisionResult
from schemas.stages import Stage
from tests import support as sp
from workflows.lifecycle import ProjectContext, ProjectMachine, ProjectState, Rejected

BUREAU = "xy-approval-bureau"


def _zone() -> ZonePolicy:
    xiangyuan = default_zones()["xiangyuan"]
    return xiangyuan.model_copy(
        update={
            "departments": {
                BUREAU: DepartmentContact(
                    office="襄垣经开区行政审批窗口",
                    name="Xiangyuan administrative approval bureau",
                    name_zh="襄垣经济技术开发区行政审批局",
                    placeholder=True,
                    source="test data",
                )
            },
            "matter_departments": {"project-filing": BUREAU, "energy-review": BUREAU, "eia": BUREAU},
        }
    )


def test_the_zone_assigns_matters_to_its_bureau_and_the_bureau_decides() -> None:
    zone = _zone()
    assert zone_errors(default_catalog(), zone) == []
    reg = sp.registration(zone="xiangyuan")
    items = {i.matter_code: i for i in derive_checklist(default_catalog(), zone, ProjectFacts.of(reg))}
    assert items["eia"].department == BUREAU and items["enterprise-registration"].department == "market"
    ctx = ProjectContext(default_catalog(), zone, default_calendar(), reg.project_type)
    state = ProjectState(
        registration=reg, versions=sp.versions(ctx), agent=reg.agent, backup_agent=reg.backup_agent, clock_model=2
    )
    m = ProjectMachine(state, ctx)
    m.register(list(items.values()), sp.T0)
    m.advance(sp.T0)
    sp.decide(m, "enterprise-registration")
    assert m.state.stage == Stage.APPROVAL_LAND
    ecology = Decision(decision_id="d-eco", department="ecology", matter_code="eia", kind="approve", decided_by="x")
    filing = Decision(
        decision_id="d-f", department=BUREAU, matter_code="project-filing", kind="approve", decided_by="x"
    )
    m.execute("decide", filing, sp.T0)
    assert m.state.matters["eia"].state == "pending"
    with pytest.raises(Rejected, match="department"):
        m.check("decide", ecology, sp.T0)
    bureau = ecology.model_copy(update={"decision_id": "d-bur", "department": BUREAU})
    result = m.execute("decide", bureau, sp.T0)
    assert isinstance(result, DecisionResult) and result.state == "approved"
    header = ProjectHeader.model_validate(reg.model_dump(include=set(ProjectHeader.model_fields)))
    guide = build_guide(default_catalog(), zone, header, list(items.values()), catalog_version="c", zone_version="z")
    eia = next(x for x in guide.matters if x.matter_code == "eia")
    assert eia.department_name == "襄垣经济技术开发区行政审批局" and eia.contact.office == "襄垣经开区行政审批窗口"


def test_an_unknown_department_or_a_nameless_bureau_is_refused_naming_the_field() -> None:
    zone = _zone()
    bad = zone.model_copy(update={"matter_departments": {"eia": "nobody"}})
    assert zone_errors(default_catalog(), bad) == [
        "zones.xiangyuan.matter_departments.eia: unknown department 'nobody'"
    ]
    nameless = zone.model_copy(
        update={"departments": {BUREAU: DepartmentContact(office="窗口", source="test")}, "matter_departments": {}}
    )
    assert zone_errors(default_catalog(), nameless) == [
        f"zones.xiangyuan.departments.{BUREAU}: a department of the zone's own needs its name_zh"
    ]
