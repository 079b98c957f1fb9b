"""The projector never dies silently: it quarantines what it cannot project and goes on.

Each test has a database of its own: a quarantined event makes the gateway's /readyz say
"degraded", which must not leak into the tests sharing the session database.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from benchmarks.sample import ProjectStream
from eventstore import handlers
from eventstore.projector import Projector, list_quarantine, quarantined_count, retry_quarantined
from eventstore.store import NewEvent, StoredEvent, append
from infra.metrics import PROJECTION_QUARANTINED, observe_quarantined
from infra.settings import Settings
from interfaces.gateway import create_app
from schemas import events as ev
from tests.eventstore.conftest import PrivateDb, new_stream

DAIBAN = str(Path(sys.executable).parent / "daiban")


def progress(s: ProjectStream, percent: int) -> NewEvent:
    return s.emit(ev.ConstructionProgressReported, percent=percent, note="主体施工")


@pytest.fixture
def broken_progress_handler() -> Iterator[list[int]]:
    """A bug in the ConstructionProgressReported handler for percent 13; the list is the fix switch."""
    original = handlers.HANDLERS["ConstructionProgressReported"]
    fixed: list[int] = []

    async def buggy(conn: Any, stored: StoredEvent, e: ev.ConstructionProgressReported) -> None:
        if e.percent == 13 and not fixed:
            raise KeyError("unlucky percent")
        await original(conn, stored, e)

    handlers.HANDLERS["ConstructionProgressReported"] = buggy
    yield fixed
    handlers.HANDLERS["ConstructionProgressReported"] = original


async def project_row(pool: asyncpg.Pool, project_id: str) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        "SELECT construction_percent, last_version, events_applied FROM rm_projects WHERE project_id = $1",
        project_id,
    )
    return None if row is None else dict(row)


def counted(event_type: str, reason: str) -> float:
    return float(PROJECTION_QUARANTINED.labels(event_type, reason)._value.get())


async def test_an_event_that_cannot_be_projected_is_quarantined_and_the_rest_go_on(
    private_pool: asyncpg.Pool, broken_progress_handler: list[int]
) -> None:
    pool = private_pool
    good, bad = new_stream(), new_stream()
    before = counted("ConstructionProgressReported", "failed"), counted("ConstructionProgressReported", "held_back")
    await append(pool, [good.register("zone-q"), bad.register("zone-q")])
    await append(pool, [progress(bad, 10), progress(bad, 13), progress(bad, 20)])  # 13 fails; 20 after it
    await append(pool, [progress(good, 30)])

    projector = Projector(pool, on_quarantine=observe_quarantined)  # as the worker wires it
    assert await projector.run_once() == 6
    assert await projector.position() == await pool.fetchval("SELECT max(position) FROM events")
    assert projector.quarantined == 2
    assert await project_row(pool, good.project_id) == {
        "construction_percent": 30,
        "last_version": 2,
        "events_applied": 2,
    }
    # The bad project keeps what came before the failing event; nothing after it is applied out of order.
    assert await project_row(pool, bad.project_id) == {
        "construction_percent": 10,
        "last_version": 2,
        "events_applied": 2,
    }
    held = await list_quarantine(pool)
    assert [(q.stream_id, q.version, q.reason) for q in held] == [
        (bad.project_id, 3, "failed"),
        (bad.project_id, 4, "held_back"),
    ]
    assert held[0].error == "KeyError: 'unlucky percent'"
    assert held[1].error == f"held back behind the quarantined event at position {held[0].position}"
    assert await quarantined_count(pool) == 2
    assert counted("ConstructionProgressReported", "failed") == before[0] + 1
    assert counted("ConstructionProgressReported", "held_back") == before[1] + 1

    # The stream's later events keep being held back until the cause is fixed.
    await append(pool, [progress(bad, 40)])
    assert await projector.run_once() == 1
    assert await quarantined_count(pool) == 3

    # A restarted projector does not meet the event again: the checkpoint moved past it.
    assert await Projector(pool).run_once() == 0

    # Still broken: a retry changes nothing but the attempts.
    still = await retry_quarantined(pool)
    assert (still.resolved, still.still_quarantined) == (0, 3)
    assert [q.position for q in still.errors] == [held[0].position]
    assert [q.attempts for q in await list_quarantine(pool)] == [2, 2, 2]

    broken_progress_handler.append(1)  # the fix is deployed
    done = await retry_quarantined(pool)
    assert (done.resolved, done.still_quarantined, done.errors) == (3, 0, [])
    assert await project_row(pool, bad.project_id) == {
        "construction_percent": 40,
        "last_version": 5,
        "events_applied": 5,
    }
    assert await quarantined_count(pool) == 0
    history = await list_quarantine(pool, include_resolved=True)
    assert [q.resolution for q in history] == ["retried"] * 3
    assert (await retry_quarantined(pool)).resolved == 0

    # Live projection carries on with the stream.
    await append(pool, [progress(bad, 50)])
    await projector.run_once()
    assert await project_row(pool, bad.project_id) == {
        "construction_percent": 50,
        "last_version": 6,
        "events_applied": 6,
    }


async def test_a_registration_refused_by_postgres_holds_back_its_stream(private_pool: asyncpg.Pool) -> None:
    pool = private_pool
    huge, fine = new_stream(), new_stream()
    # bigint overflows: the handler's INSERT is refused (a real database error, not a mock).
    await append(pool, [huge.register("zone-q", investment_yuan=10**20), progress(huge, 5), fine.register("zone-q")])
    await Projector(pool).run_once()
    held = await list_quarantine(pool)
    assert [(q.version, q.reason) for q in held] == [(1, "failed"), (2, "held_back")]
    assert held[0].error.startswith("DataError") and "out of int64 range" in held[0].error
    assert await project_row(pool, huge.project_id) is None
    assert await project_row(pool, fine.project_id) is not None
    # A rebuild tries every event again: still failing, quarantined again (one more attempt).
    await Projector(pool).rebuild()
    again = await list_quarantine(pool)
    assert [(q.version, q.reason, q.attempts) for q in again] == [(1, "failed", 2), (2, "held_back", 2)]
    assert await project_row(pool, fine.project_id) is not None


async def test_a_payload_that_no_longer_fits_its_type_is_quarantined(private_pool: asyncpg.Pool) -> None:
    s = new_stream()
    await append(private_pool, [s.register("zone-q")])
    await append(
        private_pool,
        [
            NewEvent(
                event_id=f"{s.project_id}:odd",
                stream_id=s.project_id,
                version=2,
                event_type="ConstructionProgressReported",
                occurred_at=s.at,
                payload={"project_id": s.project_id, "percent": "lots"},
            )
        ],
    )
    await Projector(private_pool).run_once()
    (q,) = await list_quarantine(private_pool)
    assert q.reason == "failed" and q.error.startswith("ValidationError")


async def test_rebuild_resolves_events_that_project_now(
    private_pool: asyncpg.Pool, broken_progress_handler: list[int]
) -> None:
    s = new_stream()
    await append(private_pool, [s.register("zone-q"), progress(s, 13), progress(s, 14)])
    await Projector(private_pool).run_once()
    assert await quarantined_count(private_pool) == 2
    broken_progress_handler.append(1)
    await Projector(private_pool).rebuild()
    assert await quarantined_count(private_pool) == 0
    assert [q.resolution for q in await list_quarantine(private_pool, include_resolved=True)] == ["rebuilt"] * 2
    assert await project_row(private_pool, s.project_id) == {
        "construction_percent": 14,
        "last_version": 3,
        "events_applied": 3,
    }


async def test_run_forever_survives_unexpected_errors(
    private_pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = 2
    real = Projector._apply_next

    async def flaky(self: Projector, *args: Any) -> list[StoredEvent]:
        nonlocal failures
        if failures:
            failures -= 1
            raise RuntimeError("a bug outside any one event")
        return await real(self, *args)

    monkeypatch.setattr(Projector, "_apply_next", flaky)
    s = new_stream()
    await append(private_pool, [s.register("zone-q"), progress(s, 70)])
    stop = asyncio.Event()
    projector = Projector(private_pool)
    task = asyncio.create_task(projector.run_forever(0.01, stop))
    try:
        for _ in range(200):
            row = await project_row(private_pool, s.project_id)
            if row is not None and row["construction_percent"] == 70:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("projector did not recover")
        assert not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_readyz_says_degraded_while_anything_is_quarantined_and_stays_in_service(
    private_db: PrivateDb, dev_env: WorkflowEnvironment, broken_progress_handler: list[int]
) -> None:
    settings = Settings(
        temporal_address=dev_env.client.service_client.config.target_host,
        temporal_namespace=dev_env.client.namespace,
        database_url=private_db.dsn,
    )
    app = create_app(settings)
    s = new_stream()
    await append(private_db.pool, [s.register("zone-q")])
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http,
    ):
        r = await http.get("/readyz")
        assert r.status_code == 200 and r.json()["checks"] == {"temporal": "ok", "postgres": "ok"}
        await append(private_db.pool, [progress(s, 13)])
        await Projector(private_db.pool).run_once()
        r = await http.get("/readyz")
        # Still in its load balancer: commands and state reads do not need the read models.
        assert r.status_code == 200 and r.json()["status"] == "degraded"
        assert r.json()["checks"]["projection"].startswith("1 event quarantined by the projector")
        broken_progress_handler.append(1)
        await retry_quarantined(private_db.pool)
        r = await http.get("/readyz")
        assert r.status_code == 200 and r.json() == {
            "status": "ready",
            "checks": {"temporal": "ok", "postgres": "ok"},
        }


async def cli(dsn: str, *args: str) -> tuple[int, str, str]:
    env = dict(os.environ, DATABASE_URL=dsn, COLUMNS="200")
    proc = await asyncio.create_subprocess_exec(
        DAIBAN, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cli_lists_and_retries_the_quarantine(private_db: PrivateDb) -> None:
    s = new_stream()
    # The registration overflows the read model's bigint column: quarantined, and a retry says it
    # still fails with exit code 1 until the column is fixed.
    await append(private_db.pool, [s.register("zone-q", investment_yuan=10**20)])
    await Projector(private_db.pool).run_once()
    code, out, err = await cli(private_db.dsn, "projector", "quarantine", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [(r["stream_id"], r["version"], r["reason"]) for r in rows] == [(s.project_id, 1, "failed")]
    code, out, _ = await cli(private_db.dsn, "projector", "quarantine")
    assert code == 0 and s.project_id in out and "ProjectRegistered" in out
    code, out, _ = await cli(private_db.dsn, "projector", "retry", "--json")
    assert code == 1 and json.loads(out)["still_quarantined"] == 1
    # The operator widens the column (the fix), then retries: projected, nothing left.
    await private_db.pool.execute("ALTER TABLE rm_projects ALTER COLUMN investment_yuan TYPE numeric")
    code, out, err = await cli(private_db.dsn, "projector", "retry", "--project", s.project_id)
    assert code == 0, err
    assert "1 projected, 0 still quarantined" in out
    code, out, _ = await cli(private_db.dsn, "projector", "quarantine")
    assert code == 0 and "nothing quarantined" in out
