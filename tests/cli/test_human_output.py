"""Issue 15's human output items that ``test_cli.test_output_a_person_can_read`` leaves out: a
decision's answer and the zone report print as tables (not JSON or a Python dict), flags are
documented as flags, and the auth helper on a missing file says so in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg

from eventstore.projector import Projector
from tests.cli.test_cli import DAIBAN, ROOT, apply_args, daiban, department_args
from tests.harness import Harness, registration
from tests.workflows.helpers import settle


async def test_a_decision_and_the_zone_report_print_as_tables(
    dev: Harness, pg_dsn: str, pg_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    reg = registration(zone="tunliu", regional_assessments=[])
    file = tmp_path / "project.json"
    file.write_text(reg.model_dump_json(), encoding="utf-8")
    assert (await daiban(dev, pg_dsn, "project", "register", str(file)))[0] == 0
    code, _, err = await daiban(
        dev, pg_dsn, *apply_args(reg.project_id, "enterprise-registration", "--material", "章程")
    )
    assert code == 0, err
    await settle(dev.client.get_workflow_handle(f"project-{reg.project_id}"))
    args = department_args(
        "decide",
        reg.project_id,
        "enterprise-registration",
        "market",
        "hum-1",
        "clerk",
        "--kind",
        "approve",
        "--instant",
    )
    code, out, err = await daiban(dev, pg_dsn, *args, columns=80)
    assert code == 0, err
    assert out.splitlines()[0].strip() == reg.project_id and "approved" in out, out
    assert not out.lstrip().startswith(("{", "[")) and '"state"' not in out, out

    await Projector(pg_pool).run_once()
    code, out, err = await daiban(dev, pg_dsn, "report", "zone", columns=100)
    assert code == 0, err
    assert "tunliu" in out and "{'" not in out and not out.lstrip().startswith("{"), out


def test_flags_are_documented_as_flags() -> None:
    env = dict(os.environ, COLUMNS="120", PYTHONPATH=ROOT)
    for command in (["project", "list"], ["decide"]):
        done = subprocess.run([DAIBAN, *command, "--help"], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0 and "<bool>" not in done.stdout, done.stdout
    assert "--instant / --no-instant" in done.stdout, done.stdout


def test_signing_a_missing_file_is_one_line() -> None:
    env = dict(os.environ, PYTHONPATH=ROOT, DAIBAN_DEPARTMENT_KEYS='{"ecology": "a-secret-of-the-department"}')
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "interfaces.auth",
            "sign",
            "--department",
            "ecology",
            "--project",
            "p-1",
            "missing.json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("daiban: ") and "missing.json" in done.stderr, done.stderr
