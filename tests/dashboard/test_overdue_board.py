"""The overview's overdue board (督办) and its chart on the real read query: how late in working days
past the deadline (行政许可法 §82; the Spring Festival counts nothing, its make-up Saturday counts),
and a breach on a provisional deadline marked in the table and hatched on the chart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from benchmarks.sample import ProjectStream
from eventstore import queries as q
from eventstore.projector import Projector
from eventstore.store import append
from infra.db import create_pool
from interfaces.dashboard import charts
from legalclock import CST
from schemas import events as ev
from tests.databases import fresh_database

NOW = datetime(2026, 2, 25, 17, 30, tzinfo=CST)
EIA_DUE = datetime(2026, 2, 13, 17, 30, tzinfo=CST)  # Friday before the Spring Festival (15-23 Feb)
LAND_DUE = datetime(2026, 2, 24, 17, 30, tzinfo=CST)


def overdue_events(project_id: str, zone: str = "tunliu", suffix: str = "") -> list[ev.EventEnvelope]:
    """A project of ``zone`` (its departments' codes end in ``suffix``): the EIA's statutory limit
    breached on a provisional deadline, the land pre-review's promise missed on an official one."""
    s = ProjectStream(project_id)
    eia: dict[str, Any] = {"matter_code": "eia", "department": f"ecology{suffix}", "stage": "approval_land"}
    land: dict[str, Any] = {
        "matter_code": "land-pre-review",
        "department": f"resources{suffix}",
        "stage": "approval_land",
    }
    return [
        s.register(zone, suffix),
        s.emit(
            ev.MatterSubmitted,
            **eia,
            submission=1,
            mode="standard",
            statutory_days=30,
            promised_days=None,
            deadline=EIA_DUE,
        ),
        s.emit(
            ev.MatterSubmitted,
            **land,
            submission=1,
            mode="standard",
            statutory_days=20,
            promised_days=5,
            deadline=datetime(2026, 3, 20, 17, 30, tzinfo=CST),
            promised_deadline=LAND_DUE,
        ),
        s.emit(
            ev.DeadlineBreached,
            clock_id="matter:eia:1",
            scope="matter",
            department=eia["department"],
            deadline=EIA_DUE,
            provisional=True,
        ),
        s.emit(
            ev.DeadlineBreached,
            clock_id="matter:land-pre-review:1",
            scope="matter",
            department=land["department"],
            deadline=LAND_DUE,
            limit="promised",
        ),
    ]


@pytest.fixture
async def board_pool(pg_server_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A database of this test's own (the calendar in force: the shipped one) holding one overdue project."""
    async with fresh_database(pg_server_dsn, "daiban_board") as dsn:
        pool = await create_pool(dsn, max_size=4)
        try:
            await append(pool, overdue_events("p-board"))
            await Projector(pool).run_once()
            yield pool
        finally:
            await pool.close()


def row_of(board: str, project_cell: str, matter: str) -> str:
    rows = [r.split("</tr>")[0] for r in board.split("<tr")[1:]]
    rows = [r for r in rows if project_cell in r and matter in r]
    assert len(rows) == 1, board
    return rows[0]


async def test_the_board_counts_working_days_and_marks_a_provisional_breach(board_pool: asyncpg.Pool) -> None:
    from interfaces.dashboard.router import templates

    items = await q.overdue(board_pool, now=NOW)
    html = templates.get_template("overview.html").render(
        principal="reader", zone=None, zones=["tunliu"], panels=[], overdue=items, projects=[], now=NOW
    )
    board = html[html.index('id="overdue-board"') : html.index('id="projects"')]
    assert "Late by (working days past the deadline)" in board
    # 12 calendar days, 3 working days: Saturday 14 Feb (调休) and 24, 25 Feb.
    eia = row_of(board, "p-board", "Environmental impact assessment")
    assert "3.0 working days" in eia and "provisional deadline" in eia and 'class="breached provisional"' in eia
    land = row_of(board, "p-board", "<td>resources</td>")
    assert "1.0 working days" in land and "provisional" not in land and 'class="promise"' in land
    assert "12.0 days" not in board  # the calendar days the board showed before


async def test_the_chart_shows_working_days_and_hatches_a_provisional_breach(board_pool: asyncpg.Pool) -> None:
    items = await q.overdue(board_pool, now=NOW)
    svg = charts.svg(charts.overdue_chart(items, NOW))
    assert "working days past the deadline" in svg and "calendar days" not in svg
    assert "3.0 working days (provisional)" in svg and "1.0 working days" in svg
    assert "<pattern" in svg, "the provisional bar is hatched"
    # The legend says what the chart shows: both kinds of breach and the provisional hatch.
    for label in ("statutory limit breached", "promise missed", "provisional deadline"):
        assert label in svg, label
    assert "breach not recorded yet" not in svg

    official = [i for i in items if not i.provisional]
    plain = charts.svg(charts.overdue_chart(official, NOW))
    assert "<pattern" not in plain and "provisional" not in plain and "statutory limit breached" not in plain
