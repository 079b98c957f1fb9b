"""A correction (补正) stops a matter's clock across National Day; the deadline moves by the working time stopped."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from catalog.content import REGISTRY
from eventstore.calendars import current_calendar
from legalclock import CST, Clock, SuspensionKind
from schemas.project import CalendarUpdate, SupplyMaterials
from tests.harness import Harness
from tests.support import rid
from tests.workflows.helpers import (
    HOURS,
    approve_all,
    decide,
    events,
    matter,
    move_to,
    notice_for,
    open_all,
    settle,
    unnoticed_year,
    view,
)
from workflows.project import ProjectWorkflow


async def test_correction_stops_the_clock_across_a_holiday(
    ts: Harness, ts_env: WorkflowEnvironment, pg_pool: asyncpg.Pool
) -> None:
    # An EIA accepted on the last Monday of September; correction requested on the Wednesday and
    # supplied after National Day (8 Oct, worked): the stopped time does not count. In a year
    # without a shipped notice, whatever today's date, with the notice loaded (2027, when written:
    # Monday 27 Sep, Wednesday 29 Sep, Friday 8 Oct).
    year = unnoticed_year(await ts_env.get_current_time(), await current_calendar(pg_pool), from_month=9)
    cal = notice_for(year)
    monday = next(
        day
        for day in (date(year, 9, d) for d in range(27, 13, -1))
        if day.weekday() == 0 and cal.is_working_day(day) and cal.is_working_day(day + timedelta(days=2))
    )
    stopped_at = datetime.combine(monday + timedelta(days=2), time(15, 0), CST)
    supplied_at = datetime(year, 10, 8, 11, 0, tzinfo=CST)  # worked: notice_for's 调休 is 8 Oct or later
    assert cal.is_working_day(supplied_at.date())
    await move_to(ts_env, datetime.combine(monday, time(9, 30), CST))
    h = await ts.start(zone="tunliu")
    await h.signal(ProjectWorkflow.calendar_updated, CalendarUpdate(version=REGISTRY.add_calendar(cal)))
    v = await approve_all(h, "approval_land")
    await open_all(h)
    v = await view(h)
    eia = matter(v, "eia")
    assert eia.state == "pending"
    before = eia.clock.deadline
    await settle(h)
    await move_to(ts_env, stopped_at)
    await decide(h, "eia", "ecology", "eia-corr", "request_correction", by="reviewer", items=["noise monitoring data"])
    stopped = matter(await view(h), "eia")
    assert stopped.state == "correction" and stopped.clock.paused and stopped.clock.deadline is None
    await settle(h)
    await move_to(ts_env, supplied_at)
    await h.execute_update(
        ProjectWorkflow.supply_materials,
        SupplyMaterials(request_id=rid(), matter_code="eia", by="agent-li", items=["noise monitoring data"]),
    )
    resumed = matter(await view(h), "eia")
    # Oracle: the same clock, built directly on the legal clock (EIA's 30 are days, 日: the stop
    # adds the calendar days in (S, R]).
    assert eia.clock.limit_counted == "days"
    oracle = (
        Clock(accepted_at=eia.clock.accepted_at, limit_days=eia.clock.limit_days, counted=eia.clock.limit_counted)
        .stop(SuspensionKind.CORRECTION, stopped_at)
        .resume(supplied_at)
        .deadline(cal, HOURS)
    )
    # The updates land a few milliseconds after the instants the test moved to.
    assert resumed.state == "pending" and abs(resumed.clock.deadline - oracle.at) < timedelta(seconds=1)
    assert before is not None and oracle.at is not None and oracle.at > before
    # The eia clock's own ClockResumed (the process clock resumed earlier): wait for its batch to land.
    for _ in range(100):
        rows = await events(pg_pool, v.project_id, wait_for="ClockResumed")
        found = [
            r for r in rows if r["event_type"] == "ClockResumed" and r["payload"]["clock_id"].startswith("matter:eia")
        ]
        if found:
            break
        await asyncio.sleep(0.1)
    resumed_event = found[0]
    # Stopped on the Wednesday, resumed on 8 Oct: the working days in (S, R] are not counted,
    # walked one by one (2027: Thursday 30 Sep and Friday 8 Oct; 1-7 Oct are National Day).
    stopped_days = [
        d
        for d in (stopped_at.date() + timedelta(days=n) for n in range(1, 30))
        if d <= supplied_at.date() and cal.is_working_day(d)
    ]
    assert resumed_event["payload"]["stopped_working_days"] == len(stopped_days)
    if year == 2027:
        assert len(stopped_days) == 2
