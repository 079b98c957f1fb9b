"""The `daiban calendar` commands through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from legalclock import provisional_holidays
from legalclock.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def calendar_in_force(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands read the calendar in force from ``DATABASE_URL``: the session's migrated database
    (never whatever database the machine's ``DATABASE_URL`` names)."""
    monkeypatch.setenv("DATABASE_URL", pg_dsn)


def ok_json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed


def test_add() -> None:
    out = ok_json("add", "2026-09-28", "5")
    assert out["deadline"] == "2026-10-10T17:30:00+08:00"
    assert out["provisional"] is False
    assert str(out["calendar_version"]).startswith("cn-")
    half = ok_json("add", "2026-09-28T14:00+08:00", "0.5")
    assert half["deadline"] == "2026-09-29T12:00:00+08:00"
    assert ok_json("add", "2026-12-20", "20")["provisional"] is True


def test_add_calendar_days() -> None:
    # 环评法 §22's sixty days (日) from Mon 2 Nov 2026: Fri 1 Jan 2027 is New Year's Day (a
    # statutory holiday, the year provisional), so the period ends on Mon 4 Jan.
    out = ok_json("add", "2026-11-02", "30", "--calendar-days")
    assert (out["deadline"], out["counted_in"], out["provisional"]) == (
        "2026-12-02T17:30:00+08:00",
        "calendar_days",
        False,
    )
    sixty = ok_json("add", "2026-11-02", "60", "--calendar-days")
    assert (sixty["deadline"], sixty["provisional"]) == ("2027-01-04T17:30:00+08:00", True)
    assert ok_json("add", "2026-11-02", "30")["counted_in"] == "working_days"
    bad = runner.invoke(app, ["add", "2026-11-02", "2.5", "--calendar-days"])
    assert bad.exit_code == 2
    assert "N must be a whole number of calendar days" in bad.output


def test_count_inverts_add() -> None:
    for n in ("1", "5", "20"):
        end = str(ok_json("add", "2026-09-21", n)["deadline"])
        assert ok_json("count", "2026-09-21", end)["working_days"] == float(n)
    assert ok_json("count", "2026-09-28", "2026-10-10")["working_days"] == 5


def test_show() -> None:
    out = ok_json("show", "2026")
    assert out["official"] is True
    assert out["workdays"] == {
        "2026-01-04": "元旦调休 New Year's Day make-up",
        "2026-02-14": "春节调休 Spring Festival make-up",
        "2026-02-28": "春节调休 Spring Festival make-up",
        "2026-05-09": "劳动节调休 Labour Day make-up",
        "2026-09-20": "国庆节调休 National Day make-up",
        "2026-10-10": "国庆节调休 National Day make-up",
    }
    assert ok_json("show", "2027")["official"] is False
    table = runner.invoke(app, ["show", "2026"])
    assert table.exit_code == 0
    assert "2026-10-10" in table.stdout
    assert "official" in table.stdout


def test_load(tmp_path: Path) -> None:
    # The law's 2027 plus one fictitious make-up working day: only that day changes.
    days = {d.isoformat(): n for d, n in provisional_holidays(2027).items()}
    notice = tmp_path / "2027.json"
    notice.write_text(json.dumps({"years": {"2027": {"holidays": days, "workdays": {"2027-02-20": "春节调休"}}}}))
    out = ok_json("load", str(notice))
    assert out["changed_years"] == [2027]
    assert out["version"] != out["base_version"]
    assert out["changes"] == {"2027": {"2027-02-20": "ordinary day -> workday 春节调休"}}
    assert runner.invoke(app, ["load", str(notice)]).exit_code == 0


def test_load_refuses_a_notice_that_drops_statutory_days(tmp_path: Path) -> None:
    notice = tmp_path / "2027.json"
    notice.write_text(json.dumps({"years": {"2027": {"holidays": {"2027-01-01": "元旦"}}}}))
    result = runner.invoke(app, ["load", str(notice)])
    assert result.exit_code == 2
    assert "2027-02-05 (春节 Spring Festival (provisional) -> ordinary day)" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "yesterday", "5"], "START must be an ISO date or datetime"),
        (["add", "2026-09-28", "five"], "N must be a number of working days, got 'five'"),
        (["add", "2026-09-28", "--", "-1"], "N must be >= 0 and a multiple of 0.5, got -1"),
        (["add", "2026-09-28", "0.3"], "N must be >= 0 and a multiple of 0.5, got 0.3"),
        (["count", "2026-09-28", "2026-09-01"], "is before start"),
        (["show", "1990"], "outside the supported range"),
        (["load", "/no/such/file.json"], "cannot read /no/such/file.json"),
    ],
)
def test_errors_are_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert message in result.stderr


def test_bad_calendar_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    # A notice may name days of the previous December, not of earlier months.
    bad.write_text('{"years": {"2027": {"holidays": {"2026-11-30": "x"}}}}')
    result = runner.invoke(app, ["load", str(bad)])
    assert result.exit_code == 2
    assert result.stderr == ("daiban: years.2027.holidays: 2026-11-30 is filed under the wrong year 2027\n")
