"""``daiban overdue``: how late in working days past the deadline, and whether the breach rests on a
provisional deadline, in the table, the JSON and the chart (the dashboard's), from PostgreSQL only."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from eventstore.projector import Projector
from eventstore.store import append
from infra.db import create_pool
from tests.cli.test_cli import DAIBAN, ROOT
from tests.dashboard.test_overdue_board import overdue_events
from tests.databases import fresh_database


def daiban(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=dsn, COLUMNS="220", PYTHONPATH=ROOT)
    return subprocess.run([DAIBAN, *args], capture_output=True, text=True, env=env, timeout=120)


async def test_overdue_shows_working_days_late_and_the_provisional_mark(pg_server_dsn: str, tmp_path: Path) -> None:
    async with fresh_database(pg_server_dsn, "daiban_cli_overdue") as dsn:
        pool = await create_pool(dsn, max_size=2)
        try:
            await append(pool, overdue_events("p-cli-late"))
            await Projector(pool).run_once()
        finally:
            await pool.close()

        done = daiban(dsn, "overdue", "--json")
        assert done.returncode == 0, done.stderr
        items = {i["clock_id"]: i for i in json.loads(done.stdout)}
        eia, land = items["matter:eia:1"], items["matter:land-pre-review:1"]
        assert (eia["provisional"], land["provisional"]) == (True, False)
        # Counted now (the wall clock), in working days of a 7-hour office day, months after February.
        for item in (eia, land):
            assert item["late_working_days"] > 100, item
            assert abs(item["late_working_days"] - item["late_working_hours"] / 7) < 0.01, item
        # 13 Feb to 24 Feb: 2 working days (the 调休 Saturday 14 Feb and Tuesday 24 Feb), not 11 calendar days.
        assert round(eia["late_working_days"] - land["late_working_days"], 2) == 2.0

        chart = tmp_path / "overdue.svg"
        done = daiban(dsn, "overdue", "--chart", str(chart))
        assert done.returncode == 0, done.stderr
        header = next(line for line in done.stdout.splitlines() if "clock_id" in line)
        assert "late by" in header and "provisional" in header, done.stdout
        eia_line = next(line for line in done.stdout.splitlines() if "matter:eia:1" in line)
        land_line = next(line for line in done.stdout.splitlines() if "matter:land-pre-review:1" in line)
        assert f"{eia['late_working_days']:.1f} working days" in eia_line and " yes " in eia_line, eia_line
        assert f"{land['late_working_days']:.1f} working days" in land_line and " no " in land_line, land_line
        svg = chart.read_text(encoding="utf-8")
        assert "working days past the deadline" in svg and "<pattern" in svg and "provisional deadline" in svg
