"""A zone's summer and winter hours move its projects' deadlines (pure lifecycle)."""

from __future__ import annotations

from datetime import datetime, timedelta

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


def seasonal_xiangyuan() -> ZonePolicy:
    """Xiangyuan with summer hours from 29 May to 7 Oct (its own hours the rest of the year)."""
    data = default_zones()["xiangyuan"].model_dump(mode="json")
    data["seasonal_hours"] = {
        "seasons": [{"starts": "05-29", "hours": SUMMER}, {"starts": "10-08", "hours": data["office_hours"]}]
    }
    return ZonePolicy.model_validate(data)


def test_summer_hours_move_the_half_day_registration_stage_deadline() -> None:
    base, seasonal = default_zones()["xiangyuan"], seasonal_xiangyuan()
    # Registered Thursday 28 May 2026 in the afternoon: half a day ends the next working morning,
    # Friday 29 May, the first day of summer hours, whose morning closes at 11:30.
    at = datetime(2026, 5, 28, 15, 0, tzinfo=CST)
    assert sp.deadline_of(registered(base, at), "stage:establishment") == datetime(2026, 5, 29, 12, 0, tzinfo=CST)
    assert sp.deadline_of(registered(seasonal, at), "stage:establishment") == datetime(2026, 5, 29, 11, 30, tzinfo=CST)


def test_a_stops_declared_length_counts_with_the_hours_of_the_stops_day() -> None:
    """Period rule 2: a stop's declared length (行政许可法 §45) is a period from the stop, so under
    summer hours it ends at the summer close of its last day, not at the close of the season the
    application was accepted in; before the rule, the acceptance day's hours."""
    seasonal = seasonal_xiangyuan()
    accepted = datetime(2026, 5, 25, 9, 0, tzinfo=CST)  # Monday, before summer hours
    stopped = datetime(2026, 6, 3, 10, 0, tzinfo=CST)  # Wednesday, summer: 3 working days, 4-8 June
    ends = {2: datetime(2026, 6, 8, 18, 0, tzinfo=CST), 1: datetime(2026, 6, 8, 17, 30, tzinfo=CST)}
    for rule, end in ends.items():
        m = registered(seasonal, accepted)
        m.state.period_rule = rule  # type: ignore[assignment]
        for _ in range(10):
            if sp.state_of(m, "eia") == "pending":
                break
            sp.open_applications(m, accepted)
            for code, x in list(m.state.matters.items()):
                if code != "eia" and x.state == "pending":
                    sp.decide(m, code, now=accepted)
        assert sp.state_of(m, "eia") == "pending"
        clock = sp.matter_clock(m, "eia")
        sp.ack(m, "stop_clock", sp.stop_clock("eia", expected_days=3), stopped)
        m.fire_alarms(end - timedelta(minutes=1))
        assert not sp.events_of(m, "StopOverran"), rule
        m.fire_alarms(end)
        [over] = [e for e in sp.events_of(m, "StopOverran") if e.payload["clock_id"] == clock]
        assert over.occurred_at == end, rule
