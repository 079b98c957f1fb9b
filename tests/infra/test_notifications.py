"""The notifications outbox is delivered to the zone's messaging gateway, once, with retries."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import asyncpg
import pytest

from activities.notifications import NotificationSender
from eventstore.queries import record_notification


@pytest.fixture
def gateway() -> Iterator[tuple[str, list[dict[str, Any]], list[int]]]:
    """A messaging gateway on loopback; ``status`` holds the answers it gives, in order."""
    received: list[dict[str, Any]] = []
    status: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            code = status.pop(0) if status else 204
            if code < 300:
                received.append({"key": self.headers["Idempotency-Key"], **body})
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/notify", received, status
    server.shutdown()


async def test_outbox_is_delivered_once_and_failures_are_retried(
    pg_pool: asyncpg.Pool, gateway: tuple[str, list[dict[str, Any]], list[int]]
) -> None:
    url, received, status = gateway
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
    assert sorted(r["kind"] for r in received) == ["escalation", "warning"]
    assert {r["key"] for r in received} == {f"{project}:0:warning", f"{project}:1:escalation"}
    unsent = await pg_pool.fetchval(
        "SELECT count(*) FROM notifications WHERE project_id = $1 AND sent_at IS NULL", project
    )
    assert unsent == 0
