"""``make bench`` at its smallest, so it cannot rot: every piece runs, the two variants must have
written the same rows per lifecycle, and the JSON has every figure. Timings are printed by the
bench, never asserted here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from benchmarks import baseline, bench
from benchmarks.baseline import Schedule, Step

FIGURES = {
    "cpu_worker",
    "cpu_server",
    "cpu_postgres",
    "cpu_total",
    "throughput",
    "latency_seq_p50",
    "latency_seq_p95",
    "latency_paced_p50",
    "latency_paced_p95",
    "latency_burst_p50",
    "latency_burst_p95",
    "history_events",
    "history_bytes",
    "runs",
    "query_bytes",
    "result_bytes",
}


@pytest.mark.timeout(400)
def test_bench_runs_both_variants_and_checks_their_rows(
    pg_server_dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    args = ["--reps", "1", "--lifecycles", "2", "--burst", "2", "--open-projects", "5", "--store-seconds", "0.2"]
    args += ["--pace", "0.05", "--dynamic-config", "limit.maxIDLength=1000"]  # the server's default value
    code = bench.main([*args, "--project", "small", "--database-url", pg_server_dsn, "--json", str(out)])
    printed = capsys.readouterr().out
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["failures"] == []
    assert code == 0
    # The same job: every lifecycle of both variants wrote daiban's rows per lifecycle.
    rows = doc["schedule"]["rows_per_lifecycle"]
    assert rows > doc["schedule"]["start_rows"] > 0
    (rep,) = doc["reps"]
    assert rep["daiban"]["batch"]["rows_per_lifecycle"] == [rows]
    assert rep["baseline"]["batch"]["rows_per_lifecycle"] == [rows]
    # Of the same sizes: the baseline carries the data it would store (filler of daiban's sizes).
    size = doc["schedule"]["row_payload_bytes_per_lifecycle"]
    assert size > rows * 10
    assert all(abs(n - size) <= 0.02 * size for n in rep["baseline"]["batch"]["row_payload_bytes_per_lifecycle"])
    assert rep["daiban"]["batch"]["updates_per_lifecycle"] == doc["schedule"]["updates"]
    assert rep["baseline"]["batch"]["updates_per_lifecycle"] == doc["schedule"]["updates"]
    # Every figure, per variant and as a ratio, min / median / max.
    assert set(doc["summary"]) == FIGURES
    for figure in doc["summary"].values():
        for side in ("daiban", "baseline", "ratio"):
            assert set(figure[side]) == {"min", "median", "max"}
            assert all(math.isfinite(v) for v in figure[side].values())
    for variant in ("daiban", "baseline"):
        assert doc["summary"]["cpu_worker"][variant]["median"] > 0
        assert doc["memory"][variant]["open_lifecycles"] == 5
    assert set(doc["eventstore"][0]["appends_per_s"]) >= {"single event, 1 writer"}
    # Every paced Update is found in its workflow's history, named with what its task issued.
    for variant in ("daiban", "baseline"):
        by_task = doc["paced_by_task"][variant]
        assert "?" not in by_task
        assert sum(f["n"] for f in by_task.values()) == doc["schedule"]["updates"]
    assert any("apply_batch" in label for label in doc["paced_by_task"]["daiban"])
    assert "paced Updates by what their workflow task issued" in printed
    assert doc["options"]["dynamic_config"] == ["limit.maxIDLength=1000"]
    assert "the dev server ran with dynamic config: limit.maxIDLength=1000" in printed
    ratio = doc["summary"]["cpu_total"]["ratio"]["median"]
    assert f"lifecycle CPU ratio vs raw baseline: {ratio:.2f}" in printed.splitlines()


def test_rows_that_differ_fail_the_bench() -> None:
    """Rows per lifecycle that differ between the variants, or within one, are failures (exit 1)."""
    schedule = Schedule(start_rows=2, steps=[[Step(name="decide", rows=3)]])
    assert (schedule.rows, schedule.updates) == (5, 1)

    def rep(daiban: list[int], baseline: list[int]) -> dict[str, Any]:
        return {
            "daiban": {"batch": {"rows_per_lifecycle": daiban}},
            "baseline": {"batch": {"rows_per_lifecycle": baseline}},
        }

    assert bench.check_rows(schedule, rep([5], [5])) == []
    assert bench.check_rows(schedule, rep([5], [4])) == [
        "baseline wrote [4] rows per lifecycle; daiban's lifecycle writes 5"
    ]
    assert bench.check_rows(schedule, rep([5, 6], [5])) == [
        "daiban wrote [5, 6] rows per lifecycle; daiban's lifecycle writes 5"
    ]


def test_rows_of_other_sizes_fail_the_bench() -> None:
    """The baseline's rows must hold daiban's payload bytes (within 2%), its filler that many."""
    schedule = Schedule(start_rows=1, start_sizes=[100], steps=[[Step(name="decide", rows=1, sizes=[900])]])
    assert schedule.payload_bytes == 1_000
    assert len(baseline.filler(900)) == 900

    def rep(daiban: int, base: int) -> dict[str, Any]:
        return {
            v: {"batch": {"rows_per_lifecycle": [2], "row_payload_bytes_per_lifecycle": [n]}}
            for v, n in (("daiban", daiban), ("baseline", base))
        }

    assert bench.check_rows(schedule, rep(1_000, 1_015)) == []
    assert bench.check_rows(schedule, rep(1_000, 1_100)) == [
        "baseline rows hold [1100] payload bytes per lifecycle; daiban's [1000]"
    ]


def test_paced_latency_is_left_out_when_not_measured() -> None:
    """``--pace 0`` measures no paced lifecycles: the summary has no paced figures, the rest stay."""

    def side(paced: bool) -> dict[str, Any]:
        batch = {
            "cpu_seconds_per_lifecycle": {"worker": 1, "server": 1, "postgres": 1, "total": 3},
            "throughput_per_s": 1,
            "history_events_per_lifecycle": 1,
            "history_bytes_per_lifecycle": 1,
            "runs_per_lifecycle": 1,
            "query_payload_bytes": 1,
            "result_payload_bytes": 1,
        }
        ms = {"p50": 10.0, "p95": 20.0}
        return {"batch": batch, "sequential_ms": ms, "burst_ms": ms} | ({"paced_ms": ms} if paced else {})

    assert set(bench.summarize([{"daiban": side(True), "baseline": side(True)}])) == FIGURES
    unpaced = bench.summarize([{"daiban": side(False), "baseline": side(False)}])
    assert set(unpaced) == FIGURES - {"latency_paced_p50", "latency_paced_p95"}
    assert bench.pooled_by_task([{"daiban": side(False), "baseline": side(False)}]) == {}


def test_paced_latencies_pool_by_what_the_task_issued() -> None:
    reps = [
        {"daiban": {"paced_by_task_ms": {"apply_batch": [10.0, 30.0], "-": [5.0]}}, "baseline": {}},
        {"daiban": {"paced_by_task_ms": {"apply_batch": [20.0]}}, "baseline": {}},
    ]
    pooled = bench.pooled_by_task(reps)
    assert list(pooled) == ["daiban"]
    assert list(pooled["daiban"]) == ["apply_batch", "-"]  # the most frequent first
    assert pooled["daiban"]["apply_batch"] == {"n": 3, "p50": 20.0, "p95": 30.0}
    assert pooled["daiban"]["-"] == {"n": 1, "p50": 5.0, "p95": 5.0}
