"""The notifications outbox is delivered to the zone's messaging gateway, once, with retries."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import structlog

from activities.notifications import NotificationSender
from eventstore.outbox import record_notification
from tests.harness import Receiver


async def test_outbox_is_delivered_once_and_failures_are_retried(
    pg_pool: asyncpg.Pool, http_receiver: Receiver
) -> None:
    url, received, status = http_receiver.url, http_receiver.received, http_receiver.answers
    project = f"p-{uuid.uuid4().hex[:8]}"
    for i, kind in enumerate(("warning", "escalation")):
        await record_notification(pg_pool, f"{project}:{i}:{kind}", project, kind, ["agent-li"], f"{kind} text", {})
    await pg_pool.execute(
        "UPDATE notifications SET sent_at = now() WHERE project_id <> $1 AND sent_at IS NULL", project
    )
    sender = NotificationSender(pg_pool, url, retry_base=timedelta(seconds=0.3))

    status.append(503)  # the gateway is down for the first one
    assert await sender.run_once() == 1
    failed = await pg_pool.fetchrow(
        "SELECT attempts, last_error, sent_at FROM notifications WHERE notification_id = $1", f"{project}:0:warning"
    )
    assert failed["sent_at"] is None and failed["attempts"] == 1 and "503" in failed["last_error"]

    assert await sender.run_once() == 0, "not tried again before its back-off ran out"
    await asyncio.sleep(0.4)
    assert await sender.run_once() == 1, "retried once the back-off ran out"
    assert await sender.run_once() == 0, "nothing left to send"
    assert sorted(r["body"]["kind"] for r in received) == ["escalation", "warning"]
    assert {r["key"] for r in received} == {f"{project}:0:warning", f"{project}:1:escalation"}
    unsent = await pg_pool.fetchval(
        "SELECT count(*) FROM notifications WHERE project_id = $1 AND sent_at IS NULL", project
    )
    assert unsent == 0


async def test_a_receiver_outage_is_waited_out_with_back_off_and_a_give_up_is_logged(
    pg_pool: asyncpg.Pool, http_receiver: Receiver
) -> None:
    """Each failed try doubles the wait before the next (at most the cap), so a relay polling every
    second does not use its attempts up in seconds; the last failed attempt is logged at error."""
    project = f"p-{uuid.uuid4().hex[:8]}"
    nid = f"{project}:0:escalation"
    await record_notification(pg_pool, nid, project, "escalation", ["agent-li"], "overdue", {})
    others = "UPDATE notifications SET sent_at = now() WHERE project_id <> $1 AND sent_at IS NULL"
    await pg_pool.execute(others, project)
    base, cap = timedelta(seconds=10), timedelta(seconds=35)
    sender = NotificationSender(pg_pool, http_receiver.url, max_attempts=4, retry_base=base, retry_cap=cap)

    async def fail_once() -> float:
        """One failing delivery (the lease moved back so the row is due now); seconds to the next try."""
        await pg_pool.execute("UPDATE notifications SET claimed_until = NULL WHERE notification_id = $1", nid)
        http_receiver.answers.append(503)
        assert await sender.run_once() == 0
        wait = await pg_pool.fetchval(
            "SELECT extract(epoch FROM claimed_until - now()) FROM notifications WHERE notification_id = $1", nid
        )
        assert await sender.run_once() == 0, "not due before its back-off ran out"
        return float(wait)

    with structlog.testing.capture_logs() as logs:
        waits = [await fail_once() for _ in range(4)]
    assert [round(w) for w in waits] == [10, 20, 35, 35], waits  # doubled, at most the cap
    levels = [(e["log_level"], e["attempts"]) for e in logs if e.get("notification_id") == nid]
    assert levels == [("warning", 1), ("warning", 2), ("warning", 3), ("error", 4)], levels
    row = await pg_pool.fetchrow("SELECT attempts, sent_at FROM notifications WHERE notification_id = $1", nid)
    assert (row["attempts"], row["sent_at"]) == (4, None), "given up, still in the outbox for operators"
    await pg_pool.execute("UPDATE notifications SET claimed_until = NULL WHERE notification_id = $1", nid)
    assert await sender.run_once() == 0, "no attempt beyond max_attempts"
