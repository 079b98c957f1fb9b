"""``GET /overdue``: each item says how late in working days past the deadline and whether its
breach rests on a provisional deadline (the same ``OverdueItem`` the CLI and the dashboard show)."""

from __future__ import annotations

import uuid

import asyncpg

from eventstore.projector import Projector
from eventstore.store import append
from tests.dashboard.test_overdue_board import overdue_events
from tests.interfaces.conftest import Gateway, operator


async def test_overdue_answers_working_days_late_and_the_provisional_mark(gw: Gateway, pg_pool: asyncpg.Pool) -> None:
    tag = uuid.uuid4().hex[:8]
    pid, zone, suffix = f"p-gw-late-{tag}", f"zone-{tag}", f"-{tag}"  # of its own: shared read models
    await append(pg_pool, overdue_events(pid, zone, suffix))
    await Projector(pg_pool).run_once()
    r = await gw.http.get("/overdue", headers=operator(), params={"zone": zone, "department": f"ecology{suffix}"})
    assert r.status_code == 200, r.text
    (eia,) = [i for i in r.json() if i["project_id"] == pid]
    assert eia["clock_id"] == "matter:eia:1" and eia["provisional"] is True
    # Counted now, months after its February deadline, in working days of a 7-hour office day.
    assert eia["late_working_days"] > 100
    assert abs(eia["late_working_days"] - eia["late_working_hours"] / 7) < 0.01
    r = await gw.http.get("/overdue", headers=operator(), params={"zone": zone, "department": f"resources{suffix}"})
    (land,) = [i for i in r.json() if i["project_id"] == pid]
    assert land["provisional"] is False and land["promise_missed"] is True
    schema = (await gw.http.get("/openapi.json")).json()["components"]["schemas"]["OverdueItem"]["properties"]
    assert {"provisional", "late_working_days", "late_working_hours"} <= schema.keys()
