"""Shared test harness: real PostgreSQL, real Temporal servers from the wheels.

- ``pg_dsn`` / ``pg_pool``: ``DATABASE_URL``'s server with a fresh database for this session, or an
  embedded PostgreSQL in a temporary folder when ``DATABASE_URL`` is not set.
- ``dev_env``: a Temporal dev server (session scope) with the platform's search attributes.
- ``ts_env``: a time-skipping test server, fresh per test module (it slows as it fills); with
  ``DAIBAN_TEST_SERVER_DATE=YYYY-MM-DD`` (or ``MM-DD``, the next one) its clock starts at 09:00
  Beijing time that day.
- ``task_queue``: a fresh task queue per test.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import asyncpg
import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from eventstore.calendars import current_calendar, store_calendar
from infra.db import create_pool
from infra.devstack.pgserver import EmbeddedPostgres
from infra.temporal import BIN, LOCAL_SERVER_STARTUP, time_skipping_env
from interfaces.contentload import load_zones
from schemas import visibility
from tests.databases import fresh_database
from tests.harness import Harness, Receiver, running_worker
from tests.support import TEST_ZONES_FILE, with_notices


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``DAIBAN_TEST_SERVER_DATE`` set (``make test-dates``), keep only the tests whose clock
    is the time-skipping server's: the others run on today's clock and would prove nothing."""
    if not os.environ.get("DAIBAN_TEST_SERVER_DATE"):
        return
    keep = [i for i in items if "ts_env" in getattr(i, "fixturenames", ())]
    config.hook.pytest_deselected(items=[i for i in items if i not in keep])
    items[:] = keep


def _server_date(text: str, today: date) -> date:
    """``YYYY-MM-DD`` as given, or ``MM-DD``: the next such day after ``today``."""
    if len(text) == len("MM-DD"):
        month, day = (int(x) for x in text.split("-"))
        this_year = date(today.year, month, day)
        return this_year if this_year > today else date(today.year + 1, month, day)
    return date.fromisoformat(text)


async def _notices_ahead(pool: asyncpg.Pool, year: int, count: int) -> None:
    """Store the calendar in force with a notice for each of the ``count`` years after ``year`` that
    has none (the law's rest days, as ``test_cli`` loads one)."""
    calendar = with_notices(await current_calendar(pool), range(year + 1, year + count + 1))
    await store_calendar(pool, calendar, "tests: notices ahead")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_server_dsn() -> Iterator[str]:
    """A PostgreSQL server's DSN: ``DATABASE_URL`` or an embedded server for this session."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="daiban-pg-") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "data", _free_port(), durable=False)
        server.start()
        try:
            yield server.dsn
        finally:
            server.stop()


@pytest.fixture(scope="session")
async def pg_dsn(pg_server_dsn: str) -> AsyncIterator[str]:
    """A fresh, migrated database for this test session, dropped at the end."""
    async with fresh_database(pg_server_dsn, "daiban_test") as dsn:
        # The lifecycle's test zones (``tests.support.lifecycle_zones``) are the zones in force here.
        pool = await create_pool(dsn)
        try:
            await load_zones(pool, TEST_ZONES_FILE.read_text(encoding="utf-8"), "tests")
        finally:
            await pool.close()
        yield dsn


@pytest.fixture(scope="session")
async def pg_pool(pg_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """The session's pool on the test database."""
    pool = await create_pool(pg_dsn, max_size=20)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (no UI) with the platform's search attributes."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=visibility.ALL,
        dev_server_log_level="error",
        dev_server_startup_timeout=LOCAL_SERVER_STARTUP,
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="module")
async def ts_env(pg_pool: asyncpg.Pool) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server, one per test module, with the platform's search attributes."""
    env = await time_skipping_env()
    # ``make test-dates``: the same tests as if the suite ran on another day (09:00 Beijing time),
    # so none depends on the day it runs (a deadline crossing into a year without a notice).
    on = os.environ.get("DAIBAN_TEST_SERVER_DATE")
    if on:
        now = await env.get_current_time()
        target = datetime.combine(_server_date(on, now.date()), time(1, 0), tzinfo=UTC)
        assert target > now, f"DAIBAN_TEST_SERVER_DATE={on} is not ahead of the test server's clock ({now})"
        await env.sleep(target - now)
    # ``make test-dates`` also runs them with the next year's notice in force, as an earlier test
    # (the CLI's notice load) may have left in the session's database.
    ahead = int(os.environ.get("DAIBAN_TEST_NOTICES_AHEAD", "0"))
    if ahead:
        await _notices_ahead(pg_pool, (await env.get_current_time()).year, ahead)
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    """A task queue no other test uses."""
    return f"tq-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def ts(ts_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool) -> AsyncIterator[Harness]:
    """A worker on the time-skipping server.

    Its projects keep long runs (history_limit 2,000): the time-skipping test server stopped
    answering queries on projects that continued as new while time was skipped (query deadline
    exceeded); continue-as-new is tested on the dev server.
    """
    async for h in running_worker(ts_env, task_queue, pg_pool):
        h.history_limit = 2_000
        yield h


@pytest.fixture
async def dev(dev_env: WorkflowEnvironment, task_queue: str, pg_pool: asyncpg.Pool) -> AsyncIterator[Harness]:
    """A worker on the dev server (updates, real time)."""
    async for h in running_worker(dev_env, task_queue, pg_pool):
        yield h


@pytest.fixture
def http_receiver() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 recording what it is sent."""
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            code = receiver.answers.pop(0) if receiver.answers else 204
            if code < 300:
                receiver.received.append({"key": self.headers["Idempotency-Key"], "body": body})
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/inbox"
    yield receiver
    server.shutdown()
