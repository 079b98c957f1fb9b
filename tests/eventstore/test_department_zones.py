"""The department report groups by zone and department (migration 0130): the same department code
in two zones is two rows, each counted from its own projects' events, and a rebuild gives the same."""

from __future__ import annotations

import asyncpg

from eventstore import queries as q
from eventstore.projector import Projector
from eventstore.store import append
from tests.eventstore.test_read_models import Scenario


async def test_a_department_of_two_zones_is_two_rows(pg_pool: asyncpg.Pool) -> None:
    first, second = Scenario(), Scenario()
    # The second zone's bureaus carry the same codes as the first's (e.g. both zones' ecology bureau).
    second.dr, second.nr, second.env, second.met = first.dr, first.nr, first.env, first.met
    await append(pg_pool, first.events())
    await append(pg_pool, second.events())
    projector = Projector(pg_pool)
    await projector.run_once()
    rows = await q.department_report(pg_pool, first.dr)
    assert [r.zone for r in rows] == sorted([first.zone, second.zone])
    for r in rows:
        assert (r.decided, r.approved, r.rejected, r.on_time, r.open, r.breaches) == (3, 2, 1, 2, 0, 0)
    (only,) = await q.department_report(pg_pool, first.nr, zone=second.zone)
    assert (only.zone, only.open, only.breaches) == (second.zone, 1, 1)
    await projector.rebuild()
    assert await q.department_report(pg_pool, first.dr) == rows
