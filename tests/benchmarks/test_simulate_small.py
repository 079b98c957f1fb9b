"""``make simulate`` end to end on a tiny scenario: 3 projects, a fixed seed, a forced breach.

The real stack of the script (time-skipping server, a fresh PostgreSQL database, daiban's worker in
process, the projector); the report is read back from the files it wrote. No timing asserts.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from benchmarks.scenario import generate
from benchmarks.simulate import simulate
from legalclock import CST


@pytest.mark.timeout(240)
async def test_a_small_year_agrees_with_its_report(pg_server_dsn: str, tmp_path: Path) -> None:
    # Next year, as ``make simulate`` does: the time-skipping server starts at today's date and a
    # simulated year cannot start in its past.
    year = datetime.now(CST).year + 1
    scenario = generate(11, "yanhu", 3, year, force_breach=True, registration_window=(0, 20))
    out = tmp_path / "simulate"
    outcome = await simulate(scenario, out, pg_server_dsn, until=date(year, 6, 30))

    assert outcome.tally.errors == []
    c = outcome.counts
    assert c["projects"] == outcome.tally.registered == 3
    # Every decision the departments made (and every approval on receipt) is a decision of the read models.
    assert c["decisions"] == c["decisions_sent"] > 0
    assert c["ratings"] == outcome.tally.ratings
    # The first project's departments decided late: breached, warned and escalated (督办).
    assert c["breaches"] > 0 and c["escalations"] > 0 and c["warnings"] > 0

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["summary"]["counts"] == c
    assert report["zone"][0]["projects"] == 3
    assert sum(d["decided"] for d in report["figures"]["departments"]) == c["decisions"]
    # A filing approved on receipt leaves no acceptance clock open (the read model closed it).
    filings = ("project-filing", "eia-registration", "fire-acceptance-filing", "completion-filing")
    assert not [o for o in report["overdue_at_year_end"] if o["scope"] == "acceptance" and o["matter_code"] in filings]
    text = (out / "report.txt").read_text(encoding="utf-8")
    assert "$ daiban report zone" in text and "yanhu" in text
    for name in ("stage-funnel", "department-on-time", "satisfaction", "overdue"):
        assert "<svg" in (out / f"{name}.svg").read_text(encoding="utf-8")
        assert (out / f"{name}.png").read_bytes().startswith(b"\x89PNG")
