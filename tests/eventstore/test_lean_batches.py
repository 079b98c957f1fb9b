"""Batches that carry only what follows the batches in flight (patch ``lean-batches``), against the
real PostgreSQL and the real ``apply_batch`` activity: a batch stores nothing before its
predecessor; the activity waits for a predecessor on its way instead of failing its attempt, and
when it does fail, asks for a prompt retry and counts the misses across attempts."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.project import ProjectActivities, predecessor_misses
from eventstore.batches import apply_batch
from eventstore.store import PredecessorNotStored
from schemas.activities import (
    DELIVERY_ATTEMPTS,
    EVENT_CONFLICT,
    PREDECESSOR_ATTEMPTS,
    PREDECESSOR_NOT_STORED,
    PREDECESSOR_RETRY_SECONDS,
    PREDECESSOR_WAIT_SECONDS,
)
from schemas.effects import Batch, SubmitApplication
from schemas.stages import Stage
from tests import support as sp
from tests.harness import Receiver


async def _stored(pool: asyncpg.Pool, batch: Batch) -> tuple[int, int]:
    events = await pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", batch.project_id)
    inbox = await pool.fetchval("SELECT count(*) FROM department_inbox WHERE project_id = $1", batch.project_id)
    return int(events), int(inbox)


async def test_effects_wait_for_the_version_they_follow(pg_pool: asyncpg.Pool) -> None:
    first, second = sp.lean_split()
    with pytest.raises(PredecessorNotStored):
        await apply_batch(pg_pool, second)
    assert await _stored(pg_pool, second) == (0, 0), "nothing of the refused batch stored"
    assert await apply_batch(pg_pool, first) == len(first.events)
    await apply_batch(pg_pool, second)
    assert (await _stored(pg_pool, second))[1] > 0
    await apply_batch(pg_pool, second)  # retried: nothing written twice
    assert await apply_batch(pg_pool, first) == 0


async def test_the_activity_waits_for_a_predecessor_on_its_way(pg_pool: asyncpg.Pool) -> None:
    first, second = sp.lean_split()
    acts, env = ProjectActivities(pg_pool), ActivityEnvironment()
    later = asyncio.create_task(env.run(acts.apply_batch, second))
    await asyncio.sleep(0.3)
    assert not later.done(), "it waits"
    await apply_batch(pg_pool, first)
    assert await asyncio.wait_for(later, PREDECESSOR_WAIT_SECONDS * 3) == 0
    assert (await _stored(pg_pool, second))[1] > 0


async def test_the_activity_fails_its_attempt_when_the_predecessor_does_not_come(pg_pool: asyncpg.Pool) -> None:
    _, second = sp.lean_split()
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(ProjectActivities(pg_pool).apply_batch, second)
    assert refused.value.type == PREDECESSOR_NOT_STORED and not refused.value.non_retryable


async def test_a_missing_predecessor_asks_for_a_prompt_retry_and_counts_it(pg_pool: asyncpg.Pool) -> None:
    """The attempt's failure overrides the activity's backoff (a waiting chain drains within
    seconds of its head landing) and carries its count to the next attempt."""
    _, second = sp.lean_split()
    env, beats = ActivityEnvironment(), []
    env.on_heartbeat = lambda *details: beats.append(details)
    env.info = dataclasses.replace(env.info, attempt=7, heartbeat_details=[3])
    with pytest.raises(ApplicationError) as refused:
        await env.run(ProjectActivities(pg_pool).apply_batch, second)
    assert refused.value.type == PREDECESSOR_NOT_STORED and not refused.value.non_retryable
    assert refused.value.next_retry_delay == timedelta(seconds=PREDECESSOR_RETRY_SECONDS)
    assert beats[-1] == (4,), "the fourth attempt to find it, whatever the attempt number"


async def test_a_predecessor_missing_for_good_is_an_event_conflict(pg_pool: asyncpg.Pool) -> None:
    _, second = sp.lean_split()
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=3, heartbeat_details=[PREDECESSOR_ATTEMPTS - 1])
    with pytest.raises(ApplicationError) as refused:
        await env.run(ProjectActivities(pg_pool).apply_batch, second)
    assert refused.value.type == EVENT_CONFLICT and refused.value.non_retryable


def test_misses_are_counted_from_the_heartbeat_details_only() -> None:
    assert predecessor_misses([]) == 0
    assert predecessor_misses([12]) == 12
    assert predecessor_misses(["12"]) == 0, "details of another shape count as none"


def _with_application() -> tuple[Batch, str]:
    """A rule-1 project's whole outbox as one batch of the release before patch ``adapter-queue``
    (``adapters_apart`` False: ``apply_batch`` POSTs the applications itself); the department of
    its applications."""
    m = sp.machine("yanhu", stage=Stage.APPROVAL_LAND, clear=False)
    applications = [e for e in m.state.effects if isinstance(e, SubmitApplication)]
    assert applications
    return Batch(project_id=m.pid, events=list(m.state.pending_events), effects=list(m.state.effects)), applications[
        0
    ].department


async def test_a_batch_of_the_release_before_adapter_queue_never_retries_a_refused_delivery_for_good(
    pg_pool: asyncpg.Pool, http_receiver: Receiver
) -> None:
    """The batch is stored before its webhooks: a department system's refusal (4xx) is given up and
    the operators told, as on the adapters' queue; before, the unclassified error retried the
    committed batch every 30 s for good. A failure worth retrying is retried, up to the last attempt."""
    batch, department = _with_application()
    acts = ProjectActivities(pg_pool, {department: http_receiver.url})
    http_receiver.answers = [503] * 10
    with pytest.raises(ApplicationError) as retried:
        await ActivityEnvironment().run(acts.apply_batch, batch)
    assert not retried.value.non_retryable and "batch stored; not delivered yet" in str(retried.value)
    assert (await _stored(pg_pool, batch))[0] == len(batch.events)
    http_receiver.answers = [422] * 10
    await ActivityEnvironment().run(acts.apply_batch, batch)  # given up, not raised
    last = ActivityEnvironment()
    last.info = dataclasses.replace(last.info, attempt=DELIVERY_ATTEMPTS)
    http_receiver.answers = [503] * 10
    await last.run(acts.apply_batch, batch)  # the last attempt gives up too
    told = await pg_pool.fetch(
        "SELECT kind, recipients FROM notifications WHERE project_id = $1 AND kind = 'delivery'", batch.project_id
    )
    assert told and all("operators" in r["recipients"] for r in told)
    assert http_receiver.received == []
