"""``daiban report ... --chart FILE`` and ``daiban project flowchart`` on the demo's read models:
the same charts as the dashboard, as files (the console script, as a user runs it)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.browser.conftest import Site

DAIBAN = str(Path(sys.executable).parent / "daiban")
ROOT = str(Path(__file__).resolve().parents[2])


async def daiban(site: Site, *args: str) -> tuple[int, str, str]:
    env = dict(
        os.environ,
        DATABASE_URL=site.dsn,
        COLUMNS="200",
        PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p),
    )
    proc = await asyncio.create_subprocess_exec(
        DAIBAN, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_reports_write_their_charts(site: Site, tmp_path: Path) -> None:
    funnel, rates, late = tmp_path / "funnel.png", tmp_path / "departments.svg", tmp_path / "overdue.svg"
    code, out, err = await daiban(site, "report", "zone", "--chart", str(funnel))
    assert code == 0, err
    assert "tunliu" in out and f"chart written to {funnel}" in err
    assert funnel.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and funnel.stat().st_size > 5_000
    code, _, err = await daiban(site, "report", "departments", "--chart", str(rates))
    assert code == 0, err
    text = rates.read_text(encoding="utf-8")
    assert text.startswith("<svg") and "Department on-time rates" in text and "ecology" in text
    code, _, err = await daiban(site, "overdue", "--chart", str(late))
    assert code == 0, err
    assert "Nothing overdue" in late.read_text(encoding="utf-8") or "Overdue board" in late.read_text(encoding="utf-8")


async def test_a_chart_of_another_format_is_refused_before_anything_runs(site: Site, tmp_path: Path) -> None:
    code, out, err = await daiban(site, "report", "zone", "--chart", str(tmp_path / "funnel.pdf"))
    assert code == 2 and out == ""
    assert err.strip() == "daiban: --chart: 'funnel.pdf' must end in .svg or .png"
    assert not (tmp_path / "funnel.pdf").exists()


async def test_project_flowchart(site: Site, tmp_path: Path) -> None:
    code, out, err = await daiban(site, "project", "flowchart", "demo-tunliu-002")
    assert code == 0, err
    assert out.startswith("<svg") and 'data-matter="eia"' in out and "全事项办理标准流程图" in out
    target = tmp_path / "flow.svg"
    code, out, err = await daiban(site, "project", "flowchart", "demo-tunliu-002", "-o", str(target))
    assert code == 0, err
    assert target.read_text(encoding="utf-8").startswith("<svg")
    code, _, err = await daiban(site, "project", "flowchart", "no-such-project")
    assert code == 2 and err.strip() == "daiban: project_id: no registration of 'no-such-project' in the event store"
