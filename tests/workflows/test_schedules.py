"""The setup step on a real Temporal dev server: namespace, search attributes and the zone's
schedules are idempotent, and a triggered schedule run writes its digest to the outbox."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.project import ProjectActivities
from eventstore.calendars import current_calendar
from infra.cluster import ensure_namespace, ensure_search_attributes
from infra.schedules import SCHEDULES, TIME_ZONE, ensure_schedules
from legalclock import CST
from schemas import visibility
from worker import WORKFLOWS, activities_of


async def test_namespace_and_search_attributes_are_set_up_once(dev_env: WorkflowEnvironment) -> None:
    client = dev_env.client
    assert await ensure_namespace(client, client.namespace, timedelta(days=30)) is False  # the dev server's own
    assert await ensure_search_attributes(client, client.namespace) == []  # started with them
    province = f"shanxi-test-{uuid.uuid4().hex[:6]}"
    assert await ensure_namespace(client, province, timedelta(days=1)) is True
    assert await ensure_namespace(client, province, timedelta(days=1)) is False
    added = await ensure_search_attributes(client, province)
    assert added == sorted(k.name for k in visibility.ALL)
    assert await ensure_search_attributes(client, province) == []


async def _overdue_project(pool: asyncpg.Pool, project_id: str) -> None:
    """Read-model rows of a project with one clock of the ecology department past its deadline."""
    now = datetime.now(UTC)
    await pool.execute(
        """INSERT INTO rm_projects (project_id, name, enterprise, zone, project_type, investment_yuan, stage,
                                    status, agent, backup_agent, project_lead, registered_at, updated_at,
                                    last_version, events_applied)
           VALUES ($1, '示例厂房', '示例有限公司', 'tunliu', 'general', 1000000, 'approval_land', 'active',
                   'agent-digest', 'agent-b', 'lead-zhao', $2, $2, 1, 1)""",
        project_id,
        now - timedelta(days=30),
    )
    await pool.execute(
        """INSERT INTO rm_clocks (project_id, clock_id, scope, department, matter_code, deadline, breached)
           VALUES ($1, 'matter:eia', 'matter', 'ecology', 'eia', $2, true)""",
        project_id,
        now - timedelta(days=2),
    )


async def test_schedules_are_idempotent_and_a_triggered_digest_is_written(
    dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool
) -> None:
    client = dev_env.client
    ids = [s.schedule_id for s in SCHEDULES]
    try:
        assert await ensure_schedules(client, task_queue) == dict.fromkeys(ids, "created")
        assert await ensure_schedules(client, task_queue) == dict.fromkeys(ids, "updated")
        listed = sorted([s.id async for s in await client.list_schedules() if s.id.startswith("daiban-")])
        assert listed == sorted(ids)
        digest = await client.get_schedule_handle("daiban-overdue-digest").describe()
        assert digest.schedule.spec.time_zone_name == TIME_ZONE

        project_id = f"p-digest-{uuid.uuid4().hex[:6]}"
        await _overdue_project(pg_pool, project_id)
        pattern = "overdue-digest:%:tunliu:%"
        async with Worker(
            client, task_queue=task_queue, workflows=WORKFLOWS, activities=activities_of(ProjectActivities(pg_pool))
        ):
            await client.get_schedule_handle("daiban-overdue-digest").trigger()
            await client.get_schedule_handle("daiban-calendar-reminder").trigger()
            rows: list[asyncpg.Record] = []
            for _ in range(150):
                rows = await pg_pool.fetch(
                    "SELECT notification_id, recipients, kind, message FROM notifications "
                    "WHERE notification_id LIKE $1 AND message LIKE '%' || $2 || '%' ORDER BY notification_id",
                    pattern,
                    project_id,
                )
                if len(rows) == 2:
                    break
                await asyncio.sleep(0.2)
            # One digest to the department, one to the agent, each naming the overdue matter.
            assert [r["recipients"] for r in rows] == [["agent-digest"], ["ecology"]]
            assert {r["kind"] for r in rows} == {"overdue_digest"}
            assert all("statutory limit breached" in r["message"] for r in rows)
            # The November reminder: written once, unless next year's calendar is loaded already.
            next_year = datetime.now(CST).year + 1  # the duty's year is Beijing time's
            loaded = next_year in (await current_calendar(pg_pool)).years
            for _ in range(100):
                reminded = await pg_pool.fetchval(
                    "SELECT count(*) FROM notifications WHERE notification_id = $1", f"calendar-reminder:{next_year}"
                )
                if reminded or loaded:
                    break
                await asyncio.sleep(0.2)
            assert reminded == (0 if loaded else 1)
            # Triggered again: nothing written twice for that day (a run past Beijing's midnight
            # writes the next day's digest, which is not a second one).
            await client.get_schedule_handle("daiban-overdue-digest").trigger()
            await asyncio.sleep(2)
            day = rows[0]["notification_id"].split(":")[1]
            again = await pg_pool.fetchval(
                "SELECT count(*) FROM notifications WHERE notification_id LIKE $1 AND message LIKE '%' || $2 || '%'",
                f"overdue-digest:{day}:tunliu:%",
                project_id,
            )
            assert again == len(rows)
    finally:
        for schedule_id in ids:
            await client.get_schedule_handle(schedule_id).delete()
