"""Deliveries to department systems are bounded and independent (``activities.adapters``).

Run as Temporal runs an activity attempt (``ActivityEnvironment``: its attempt number and the
previous attempt's heartbeat details), against real HTTP systems on loopback and a real
PostgreSQL: one department's system being down does not hold another's application back, a
refusal is not retried, a system that stays down is given up at the last attempt, and each give-up
tells the operators once.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import structlog
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.adapters import DepartmentAdapters
from eventstore.inbox import record_submission
from schemas.activities import DELIVERY_ATTEMPTS, DELIVERY_FAILED, Deliveries
from schemas.effects import SubmitApplication
from tests.harness import Receiver


async def _stored_applications(pool: asyncpg.Pool, *departments: str) -> tuple[str, list[SubmitApplication]]:
    project = f"p-{uuid.uuid4().hex[:10]}"
    apps = [
        SubmitApplication(
            project_id=project,
            matter_code=f"matter-{d}",
            submission=1,
            department=d,
            payload={"n": i},
            submitted_at=datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
        )
        for i, d in enumerate(departments)
    ]
    for a in apps:
        await record_submission(pool, a)
    return project, apps


def _attempt(attempt: int, delivered: list[str] | None = None) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, attempt=attempt, heartbeat_details=[delivered] if delivered is not None else []
    )
    beats: list[Any] = []
    env.on_heartbeat = lambda *details: beats.append(details)
    env.beats = beats  # type: ignore[attr-defined]
    return env


async def _notifications(pool: asyncpg.Pool, project: str) -> list[tuple[str, list[str]]]:
    rows = await pool.fetch(
        "SELECT notification_id, recipients FROM notifications WHERE project_id = $1 ORDER BY 1", project
    )
    return [(r["notification_id"], list(r["recipients"])) for r in rows]


async def test_one_system_down_holds_no_other_back_and_the_next_attempt_sends_only_what_is_left(
    pg_pool: asyncpg.Pool, http_receiver: Receiver
) -> None:
    project, apps = await _stored_applications(pg_pool, "market", "housing")
    adapters = DepartmentAdapters(pg_pool, {"market": http_receiver.url + "/market", "housing": http_receiver.url})
    http_receiver.answers.append(503)  # market's system is down for this attempt
    env = _attempt(1)
    with pytest.raises(ApplicationError) as refused:
        await env.run(adapters.deliver_applications, Deliveries(project_id=project, applications=apps))
    assert not refused.value.non_retryable, "a system that is down is tried again"
    assert [r["key"] for r in http_receiver.received] == [f"{project}/matter-housing/1"], "housing got its own"
    delivered = env.beats[-1][0]  # type: ignore[attr-defined]
    assert delivered == [f"{project}/matter-housing/1"]

    again = _attempt(2, delivered)
    assert await again.run(adapters.deliver_applications, Deliveries(project_id=project, applications=apps)) == 2
    keys = [r["key"] for r in http_receiver.received]
    assert keys == [f"{project}/matter-housing/1", f"{project}/matter-market/1"], "housing not sent twice"
    assert await _notifications(pg_pool, project) == []


async def test_a_refusal_is_not_retried_and_the_operators_are_told_once(
    pg_pool: asyncpg.Pool, http_receiver: Receiver
) -> None:
    project, apps = await _stored_applications(pg_pool, "market")
    adapters = DepartmentAdapters(pg_pool, {"market": http_receiver.url})
    for attempt in (1, 1):  # a worker lost after the notification: the same attempt again
        http_receiver.answers.append(422)
        with pytest.raises(ApplicationError) as refused:
            await _attempt(attempt).run(
                adapters.deliver_applications, Deliveries(project_id=project, applications=apps)
            )
        assert refused.value.non_retryable and refused.value.type == DELIVERY_FAILED
    assert await _notifications(pg_pool, project) == [(f"{project}/matter-market/1:delivery", ["operators", "market"])]


@pytest.mark.parametrize("status", [408, 429, 500, 503])
async def test_a_system_that_stays_down_is_given_up_at_the_last_attempt(
    pg_pool: asyncpg.Pool, http_receiver: Receiver, status: int
) -> None:
    project, apps = await _stored_applications(pg_pool, "market")
    adapters = DepartmentAdapters(pg_pool, {"market": http_receiver.url})
    for attempt in (1, DELIVERY_ATTEMPTS - 1):
        http_receiver.answers.append(status)
        with pytest.raises(ApplicationError) as failed:
            await _attempt(attempt).run(
                adapters.deliver_applications, Deliveries(project_id=project, applications=apps)
            )
        assert not failed.value.non_retryable, f"attempt {attempt} of a {status}: tried again"
    assert await _notifications(pg_pool, project) == []
    http_receiver.answers.append(status)
    with structlog.testing.capture_logs() as logs, pytest.raises(ApplicationError) as given_up:
        await _attempt(DELIVERY_ATTEMPTS).run(
            adapters.deliver_applications, Deliveries(project_id=project, applications=apps)
        )
    assert given_up.value.non_retryable and given_up.value.type == DELIVERY_FAILED
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["application not delivered; operators notified"]
    assert [n for n, _ in await _notifications(pg_pool, project)] == [f"{project}/matter-market/1:delivery"]


async def test_an_application_whose_batch_never_landed_is_given_up_at_the_last_attempt(
    pg_pool: asyncpg.Pool, http_receiver: Receiver
) -> None:
    project = f"p-{uuid.uuid4().hex[:10]}"
    a = SubmitApplication(
        project_id=project,
        matter_code="matter-market",
        submission=1,
        department="market",
        payload={},
        submitted_at=datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
    )  # not in the inbox: its batch was refused, or the storage is down
    adapters = DepartmentAdapters(pg_pool, {"market": http_receiver.url})
    with pytest.raises(ApplicationError) as waiting:
        await _attempt(1).run(adapters.deliver_applications, Deliveries(project_id=project, applications=[a]))
    assert waiting.value.type == "BatchNotStored" and not waiting.value.non_retryable
    with pytest.raises(ApplicationError) as given_up:
        await _attempt(DELIVERY_ATTEMPTS).run(
            adapters.deliver_applications, Deliveries(project_id=project, applications=[a])
        )
    assert given_up.value.non_retryable and given_up.value.type == DELIVERY_FAILED
    assert await _notifications(pg_pool, project) == [(f"{project}/matter-market/1:delivery", ["operators", "market"])]
    assert http_receiver.received == []
