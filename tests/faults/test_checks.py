"""The fault suite's own checks, on committed histories (no servers)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from temporalio.client import WorkflowHistory

from tests.faults.checks import timer_gaps

HERE = Path(__file__).parent
HEALTHY = HERE.parent / "replay" / "histories" / "lifecycle_to_production.json"
STUCK = HERE / "evidence" / "stuck-bad-cancel-timer-f52785-013.json.gz"


def test_a_healthy_history_numbers_its_timers_without_gaps() -> None:
    history = WorkflowHistory.from_json("any", HEALTHY.read_text(encoding="utf-8"))
    assert timer_gaps(history) == []


def test_the_stuck_projects_history_is_caught_by_its_missing_timer() -> None:
    # Timer 33 was consumed by a first execution and never recorded; a cold worker then cancelled
    # timer 41 (already cancelled) instead of 42, and the project was stuck for good.
    text = gzip.decompress(STUCK.read_bytes()).decode("utf-8")
    assert json.loads(text)["events"]
    assert timer_gaps(WorkflowHistory.from_json("any", text)) == [33]
