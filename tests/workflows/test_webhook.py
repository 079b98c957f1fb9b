"""A department with its own system receives each application on its webhook, once per submission."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.project import ProjectActivities
from tests.harness import Harness, registration
from tests.workflows.helpers import settle, view
from worker import WORKFLOWS, activities_of


@pytest.fixture
def department_system() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A department's own system on loopback, recording what it receives."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"key": self.headers["Idempotency-Key"], "body": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/applications", received
    server.shutdown()


async def test_applications_reach_the_department_webhook(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    pg_pool: asyncpg.Pool,
    department_system: tuple[str, list[dict[str, Any]]],
) -> None:
    from temporalio.worker import Worker

    url, received = department_system
    acts = ProjectActivities(pg_pool, webhooks={"market": url})
    async with Worker(dev_env.client, task_queue=task_queue, workflows=WORKFLOWS, activities=activities_of(acts)):
        h = await Harness(dev_env.client, task_queue, pg_pool).start(zone="tunliu")
        v = await view(h)
        await settle(h)
        for _ in range(50):
            if received:
                break
            await asyncio.sleep(0.1)
        await h.terminate("test finished")
    assert len(received) == 1, "only the market department has a webhook, and one matter is submitted"
    call = received[0]
    assert call["key"] == f"{v.project_id}/enterprise-registration/1"
    assert call["body"]["department"] == "market" and call["body"]["matter_code"] == "enterprise-registration"
    assert call["body"]["payload"]["enterprise"] == registration().enterprise
