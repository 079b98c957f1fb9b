"""``daiban project register`` options set the project facts over the registration file's."""

from __future__ import annotations

import asyncio
import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import legalclock.cli as lc_cli
from schemas.project import RegisterProject
from tests.harness import registration


def registered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str) -> tuple[int, str, RegisterProject | None]:
    """Run ``project register`` on a registration file with ``args``; the registration it would send."""
    # Importing daiban's CLI points the legal clock's calendar commands at PostgreSQL
    # (interfaces/cli/calendar.py); put the shipped calendar back after the test.
    monkeypatch.setattr(lc_cli, "calendar_source", lc_cli.calendar_source)
    # The facts only: no database to check the zone in force against (test_cli.py checks that).
    monkeypatch.delenv("DATABASE_URL", raising=False)
    cli = importlib.import_module("interfaces.cli.project")
    sent: list[RegisterProject] = []

    class Client:  # the typed client's two calls `register` makes, for a project not registered yet
        async def existing_run(self, project_id: str) -> None:
            return None

        async def register(self, reg: RegisterProject, contact: object = None) -> str:
            sent.append(reg)
            return "run-1"

    def run(call: Any, **_: Any) -> Any:
        return asyncio.run(call(Client()))

    monkeypatch.setattr(cli, "run", run)
    data = registration(zone="tunliu", regional_assessments=[]).model_dump(mode="json")
    for fact in ("special_construction", "lightning_special_site"):
        data.pop(fact)
    file = tmp_path / "p.json"
    file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["register", str(file), *args])
    return result.exit_code, result.output, sent[0] if sent else None


def test_the_file_alone_gets_the_registrations_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code, _, reg = registered(monkeypatch, tmp_path)
    assert code == 0 and reg is not None
    assert (
        reg.eia_category,
        reg.special_construction,
        reg.lightning_special_site,
        reg.pollutant_permit,
        reg.project_scale,
    ) == ("report_form", False, False, "none", "large")


def test_options_set_the_facts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    args = ["--eia-category", "report", "--special-construction", "--water-abstraction", "--pollutant-permit", "key"]
    code, _, reg = registered(monkeypatch, tmp_path, *args, "--project-scale", "medium")
    assert code == 0 and reg is not None
    assert (
        reg.eia_category,
        reg.special_construction,
        reg.water_abstraction,
        reg.pollutant_permit,
        reg.project_scale,
    ) == ("report", True, True, "key", "medium")


def test_an_unknown_category_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code, output, reg = registered(monkeypatch, tmp_path, "--eia-category", "big")
    assert code == 2 and reg is None and "report_form" in output


def test_an_unknown_scale_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code, output, reg = registered(monkeypatch, tmp_path, "--project-scale", "huge")
    assert code == 2 and reg is None and "medium" in output


def _register_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str) -> tuple[int, str, int]:
    """Run ``project register`` on a file holding ``text``; exit code, output, registrations sent."""
    monkeypatch.setattr(lc_cli, "calendar_source", lc_cli.calendar_source)
    cli = importlib.import_module("interfaces.cli.project")
    sent: list[RegisterProject] = []

    class Client:
        async def register(self, reg: RegisterProject, contact: object = None) -> str:
            sent.append(reg)
            return "run-1"

    monkeypatch.setattr(cli, "run", lambda call: asyncio.run(call(Client())))
    file = tmp_path / "p.json"
    file.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["register", str(file)])
    return result.exit_code, result.output, len(sent)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "厂房\u0000"}, "name"),
        ({"investment_yuan": 10000000000000000000}, "investment_yuan"),
        ({"investment_yuan": True}, "investment_yuan"),
        ({"investment_yuan": "150000000"}, "investment_yuan"),
        ({"standard_land_parcel": "yes"}, "standard_land_parcel"),
        ({"project_scale": "huge"}, "project_scale"),
        ({"name": "\u200b"}, "name"),
        ({"project_id": "p-1\n"}, "project_id"),
    ],
)
def test_a_bad_registration_file_names_the_field_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    data = {**registration(zone="tunliu", regional_assessments=[]).model_dump(mode="json"), **change}
    code, output, sent = _register_file(monkeypatch, tmp_path, json.dumps(data, ensure_ascii=False))
    assert code == 2 and sent == 0
    assert field in output


def test_a_duplicate_key_in_the_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    text = json.dumps(registration(zone="tunliu", regional_assessments=[]).model_dump(mode="json"), ensure_ascii=False)
    text = text.replace('"zone": "tunliu"', '"zone": "tunlu", "zone": "tunliu"')
    code, output, sent = _register_file(monkeypatch, tmp_path, text)
    assert code == 2 and sent == 0
    assert "zone: the key appears twice" in output
