"""Fixtures of the browser tests (``make browser``): the platform as ``make run`` shows it, in a
real headless Chromium.

A fresh database (shipped zones and catalog, as ``daiban db migrate`` leaves it), the session's
Temporal dev server, a worker, the demo projects of ``make run`` (``infra.devstack.demo``), the read
models projected, and the gateway served by uvicorn on a free loopback port. Chromium is the
distribution's (Debian package ``chromium``, ``DAIBAN_CHROMIUM`` to point elsewhere); nothing is
downloaded: a missing browser fails the tests, it does not skip them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import cast

import pytest
import uvicorn
from playwright.async_api import Browser, async_playwright
from temporalio.testing import WorkflowEnvironment

from eventstore.projector import Projector
from infra.db import create_pool
from infra.devstack.demo import run_demo
from infra.settings import Settings
from interfaces.gateway import create_app
from tests.databases import fresh_database
from tests.harness import Harness, running_worker

OPERATOR_TOKEN = f"read-{uuid.uuid4().hex}"
DEMO_PROJECTS = 5


def chromium_path() -> str:
    """The distribution's Chromium; fails (never skips) when it is not installed."""
    path = os.environ.get("DAIBAN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("no Chromium: `apt-get install -y chromium` (Debian) or set DAIBAN_CHROMIUM", pytrace=False)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
async def demo_dsn(pg_server_dsn: str) -> AsyncIterator[str]:
    """A fresh, migrated database with the shipped zones in force (the demo's zones)."""
    async with fresh_database(pg_server_dsn, "daiban_browser") as dsn:
        yield dsn


@dataclass
class Site:
    """The gateway's base URL and the read credential that logs into the dashboard."""

    url: str
    token: str
    dsn: str


@pytest.fixture(scope="session")
async def site(dev_env: WorkflowEnvironment, demo_dsn: str) -> AsyncIterator[Site]:
    """The demo of ``make run`` behind a real gateway on loopback."""
    task_queue = f"browser-{uuid.uuid4().hex[:8]}"
    host, port = dev_env.client.service_client.config.target_host.rsplit(":", 1)
    settings = Settings(
        temporal_address=f"{host}:{port}",
        temporal_port=int(port),
        temporal_namespace=dev_env.client.namespace,
        task_queue=task_queue,
        database_url=demo_dsn,
        operator_tokens={"reader": OPERATOR_TOKEN},
    )
    pool = await create_pool(demo_dsn, max_size=10)
    worker = cast(AsyncGenerator[Harness, None], running_worker(dev_env, task_queue, pool))
    await worker.__anext__()
    server: uvicorn.Server | None = None
    serving: asyncio.Task[None] | None = None
    try:
        await run_demo(settings)
        projector = Projector(pool)
        for _ in range(100):  # the demo's last batches may still be in flight
            await projector.run_once()
            if await pool.fetchval("SELECT count(*) FROM rm_projects") == DEMO_PROJECTS:
                await asyncio.sleep(1.0)
                await projector.run_once()
                break
            await asyncio.sleep(0.2)
        gateway_port = _free_port()
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=gateway_port, log_config=None)
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
            await asyncio.sleep(0.05)
        yield Site(f"http://127.0.0.1:{gateway_port}", OPERATOR_TOKEN, demo_dsn)
    finally:
        if server is not None and serving is not None:
            server.should_exit = True
            await serving
        await worker.aclose()
        await pool.close()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium of the distribution."""
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield b
        await b.close()
