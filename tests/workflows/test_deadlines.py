"""Deadline timers under time skipping: exact instants, provisional years, stopped clocks.

The time-skipping server starts at today's date, so these tests move it to the dates they need
with ``env.sleep`` before starting a project.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from catalog.content import REGISTRY
from legalclock import CST, Clock, default_calendar
from schemas.project import CalendarUpdate
from tests.harness import Harness
from tests.workflows.helpers import HOURS, events, move_to, official_2027, open_all, settle, view
from workflows.project import ProjectWorkflow


async def test_process_deadline_across_national_day_is_exact_and_follows_the_new_calendar(
    ts: Harness, ts_env: WorkflowEnvironment, pg_pool: asyncpg.Pool
) -> None:
    # Accepted on Friday 24 Sep 2027, 10:00 in Beijing: 2027 has no official notice yet.
    await move_to(ts_env, datetime(2027, 9, 24, 10, 0, tzinfo=CST))
    h = await ts.start(zone="tunliu")
    # The whole-process clock runs once an application is accepted (the same day here: a stop and a
    # resumption on one day move nothing).
    v = await open_all(h)
    process = next(c for c in v.clocks if c.clock_id == "process")
    provisional = Clock(accepted_at=process.accepted_at, limit_days=20).deadline(default_calendar(), HOURS)
    assert process.provisional and process.deadline == provisional.at

    # The official 2027 notice arrives: the deadline moves by the extra National Day holidays.
    new = official_2027()
    await h.signal(ProjectWorkflow.calendar_updated, CalendarUpdate(version=REGISTRY.add_calendar(new)))
    expected = Clock(accepted_at=process.accepted_at, limit_days=20).deadline(new, HOURS).at
    assert expected is not None and provisional.at is not None and expected > provisional.at
    v = await view(h)
    process = next(c for c in v.clocks if c.clock_id == "process")
    assert not process.provisional and process.deadline == expected
    # 20 working days after Friday 24 Sep: 27-30 Sep (4), 1-7 Oct off, 8 Oct and Saturday 9 Oct
    # worked (6), then 11-28 Oct (14): Thursday 28 Oct at 17:30.
    assert expected == datetime(2027, 10, 28, 17, 30, tzinfo=CST)
    rows = await events(pg_pool, v.project_id, wait_for="DeadlinesRecomputed")
    moved = next(r for r in rows if r["event_type"] == "DeadlinesRecomputed")["payload"]
    assert moved["calendar_version"] == new.version
    assert datetime.fromisoformat(moved["deadlines"]["process"]) == expected

    # One second before: no breach. Then exactly one, at the deadline.
    await settle(h)
    await move_to(ts_env, expected - timedelta(seconds=1))
    rows = await events(pg_pool, v.project_id)
    assert not [r for r in rows if r["event_type"] == "DeadlineBreached" and r["payload"]["clock_id"] == "process"]
    await settle(h)
    await ts_env.sleep(timedelta(days=3))
    rows = await events(pg_pool, v.project_id, wait_for="EscalatedToLead")
    breaches = [r for r in rows if r["event_type"] == "DeadlineBreached" and r["payload"]["clock_id"] == "process"]
    assert len(breaches) == 1
    assert timedelta(0) <= breaches[0]["occurred_at"] - expected < timedelta(seconds=2)
    warned = [r for r in rows if r["event_type"] == "DeadlineWarned" and r["payload"]["clock_id"] == "process"]
    assert len(warned) == 1 and warned[0]["occurred_at"] < expected
