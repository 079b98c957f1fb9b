"""The fault suite's small version (``python -m tests.faults --small``) loses nothing.

Its own stack (Temporal dev server, embedded PostgreSQL, two workers) in a temporary folder; a few
projects driven to production while workers are SIGKILLed and SIGTERMed and the Temporal server is
killed once. ``make faults`` is the full version.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAST = re.compile(
    r"^faults: (\d+) injected, (\d+) projects, lost (\d+), duplicated (\d+), stuck (\d+), unreplayable (\d+)$"
)


@pytest.mark.faults
@pytest.mark.timeout(300)
def test_small_fault_run_loses_duplicates_and_strands_nothing() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.faults", "--small"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    report = "\n".join(lines[-40:]) + ("\n" + proc.stderr[-3000:] if proc.stderr.strip() else "")
    assert lines, report
    last = LAST.match(lines[-1])
    assert last is not None, report
    injected, projects, lost, duplicated, stuck, unreplayable = map(int, last.groups())
    assert (lost, duplicated, stuck, unreplayable) == (0, 0, 0, 0), report
    assert injected >= 6 and projects >= 4, report
    assert proc.returncode == 0, report
