"""A zone's summer and winter hours move its projects' deadlines (pure lifecycle)."""

from __future__ import annotations

from datetime import datetime

from catalog.load import default_catalog, default_zones
from catalog.models import ProjectFacts, ZonePolicy, derive_checklist
from legalclock import CST, default_calendar
from tests import support as sp
from workflows.lifecycle import ProjectContext, ProjectMachine, ProjectState

SUMMER = {"morning_start": "08:00", "morning_end": "11:30", "afternoon_start": "14:30", "afternoon_end": "18:00"}


def registered(zone: ZonePolicy, at: datetime) -> ProjectMachine:
    ctx = ProjectContext(default_catalog(), zone, default_calendar())
    reg = sp.registration(zone=zone.code)
    state = ProjectState(
        registration=reg,
        versions=sp.versions(ctx),
        agent=reg.agent,
        backup_agent=reg.backup_agent,
        clock_model=2,
        deemed_rule=2,
        acceptance_rule=2,
        modes_rule=2,
    )
    m = ProjectMachine(state, ctx)
    m.register(derive_checklist(ctx.catalog, zone, ProjectFacts.of(reg)), at)
    m.advance(at)
    return m


def test_summer_hours_move_the_half_day_registration_stage_deadline() -> None:
    base = default_zones()["xiangyuan"]
    data = base.model_dump(mode="json")
    data["seasonal_hours"] = {
        "seasons": [{"starts": "05-29", "hours": SUMMER}, {"starts": "10-08", "hours": data["office_hours"]}]
    }
    seasonal = ZonePolicy.model_validate(data)
    # Registered Thursday 28 May 2026 in the afternoon: half a day ends the next working morning,
    # Friday 29 May, the first day of summer hours, whose morning closes at 11:30.
    at = datetime(2026, 5, 28, 15, 0, tzinfo=CST)
    assert sp.deadline_of(registered(base, at), "stage:establishment") == datetime(2026, 5, 29, 12, 0, tzinfo=CST)
    assert sp.deadline_of(registered(seasonal, at), "stage:establishment") == datetime(2026, 5, 29, 11, 30, tzinfo=CST)
