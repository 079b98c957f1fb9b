"""The notifications outbox is delivered to the zone's messaging gateway, once, with retries."""

from __future__ import annotations

import uuid

import asyncpg

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
    sender = NotificationSender(pg_pool, url)

    status.append(503)  # the gateway is down for the first one
    assert await sender.run_once() == 1
    failed = await pg_pool.fetchrow(
        "SELECT attempts, last_error, sent_at FROM notifications WHERE notification_id = $1", f"{project}:0:warning"
    )
    assert failed["sent_at"] is None and failed["attempts"] == 1 and "503" in failed["last_error"]

    assert await sender.run_once() == 1, "retried on the next round"
    assert await sender.run_once() == 0, "nothing left to send"
    assert sorted(r["body"]["kind"] for r in received) == ["escalation", "warning"]
    assert {r["key"] for r in received} == {f"{project}:0:warning", f"{project}:1:escalation"}
    unsent = await pg_pool.fetchval(
        "SELECT count(*) FROM notifications WHERE project_id = $1 AND sent_at IS NULL", project
    )
    assert unsent == 0
