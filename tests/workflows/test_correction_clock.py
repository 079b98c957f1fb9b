"""A correction (补正) stops a matter's clock across National Day; the deadline moves by the working time stopped."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from catalog.content import REGISTRY
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
    official_2027,
    open_all,
    settle,
    view,
)
from workflows.project import ProjectWorkflow


async def test_correction_stops_the_clock_across_a_holiday(
    ts: Harness, ts_env: WorkflowEnvironment, pg_pool: asyncpg.Pool
) -> None:
    # An EIA accepted on Monday 27 Sep 2027; correction requested on Wednesday 29 Sep and
    # supplied after National Day (Friday 8 Oct): the stopped time does not count.
    await move_to(ts_env, datetime(2027, 9, 27, 9, 30, tzinfo=CST))
    h = await ts.start(zone="tunliu")
    await h.signal(ProjectWorkflow.calendar_updated, CalendarUpdate(version=REGISTRY.add_calendar(official_2027())))
    v = await approve_all(h, "approval_land")
    await open_all(h)
    v = await view(h)
    eia = matter(v, "eia")
    assert eia.state == "pending"
    before = eia.clock.deadline
    await settle(h)
    await move_to(ts_env, datetime(2027, 9, 29, 15, 0, tzinfo=CST))
    await decide(h, "eia", "ecology", "eia-corr", "request_correction", by="reviewer", items=["noise monitoring data"])
    stopped = matter(await view(h), "eia")
    assert stopped.state == "correction" and stopped.clock.paused and stopped.clock.deadline is None
    await settle(h)
    await move_to(ts_env, datetime(2027, 10, 8, 11, 0, tzinfo=CST))
    await h.execute_update(
        ProjectWorkflow.supply_materials,
        SupplyMaterials(request_id=rid(), matter_code="eia", by="agent-li", items=["noise monitoring data"]),
    )
    resumed = matter(await view(h), "eia")
    cal = official_2027()
    # Oracle: the same clock, built directly on the legal clock.
    oracle = (
        Clock(accepted_at=eia.clock.accepted_at, limit_days=eia.clock.limit_days)
        .stop(SuspensionKind.CORRECTION, datetime(2027, 9, 29, 15, 0, tzinfo=CST))
        .resume(datetime(2027, 10, 8, 11, 0, tzinfo=CST))
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
    # Stopped on Wednesday 29 Sep, resumed on Friday 8 Oct: the working days in (S, R] are not
    # counted: Thursday 30 Sep and Friday 8 Oct (1-7 Oct are National Day).
    assert resumed_event["payload"]["stopped_working_days"] == 2
