"""The ``daiban`` command line, run as a user runs it: a subprocess against the dev server and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from eventstore.projector import Projector
from interfaces.client import DaibanClient
from legalclock import CST
from legalclock.statutory import provisional_holidays
from tests.harness import Harness, registration
from tests.workflows.helpers import eventually, settle, view

DAIBAN = str(Path(sys.executable).parent / "daiban")
# The checkout under test: the script's editable install may point at another worktree sharing the venv.
ROOT = str(Path(__file__).resolve().parents[2])


async def daiban(h: Harness, dsn: str, *args: str, columns: int = 200) -> tuple[int, str, str]:
    env = dict(
        os.environ,
        DAIBAN_TEMPORAL_ADDRESS=h.client.service_client.config.target_host,
        DAIBAN_TASK_QUEUE=h.task_queue,
        DATABASE_URL=dsn,
        COLUMNS=str(columns),
        PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p),
    )
    proc = await asyncio.create_subprocess_exec(
        DAIBAN, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def ok_json(h: Harness, dsn: str, *args: str) -> Any:
    code, out, err = await daiban(h, dsn, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def department_args(
    verb: str, pid: str, matter: str, department: str, decision_id: str, by: str, *more: str
) -> list[str]:
    """``daiban decide|verify PID`` with a department's options (``more``: e.g. ``--kind approve``)."""
    return [verb, pid, "--matter", matter, "--department", department, "--decision-id", decision_id, "--by", by, *more]


def apply_args(pid: str, matter: str, *more: str) -> list[str]:
    """``daiban project submit-application PID`` by agent-li (``more``: its ``--material`` options)."""
    return ["project", "submit-application", pid, "--matter", matter, "--by", "agent-li", *more]


async def test_an_agent_runs_a_project_from_the_terminal(
    dev: Harness, pg_dsn: str, pg_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    reg = registration(zone="tunliu", regional_assessments=[])  # Tunliu has made none
    pid = reg.project_id
    file = tmp_path / "project.json"
    file.write_text(reg.model_dump_json(), encoding="utf-8")
    first = await ok_json(dev, pg_dsn, "project", "register", str(file))
    again = await ok_json(dev, pg_dsn, "project", "register", str(file))
    assert first.pop("created") is True and again.pop("created") is False, (first, again)
    assert first == again, "registering twice is the same project"
    code, out, _ = await daiban(dev, pg_dsn, "project", "register", str(file))
    assert code == 0 and out.startswith(f"already registered {pid}"), out
    shown = await ok_json(dev, pg_dsn, "project", "show", pid)
    assert shown["stage"] == "establishment" and shown["project_id"] == pid
    assert {m["code"]: m["state"] for m in shown["matters"]}["enterprise-registration"] == "to_apply"

    # The agent applies; the application waits in market's inbox to be accepted (受理).
    handle = dev.client.get_workflow_handle(f"project-{pid}")
    ack = await ok_json(
        dev, pg_dsn, *apply_args(pid, "enterprise-registration", "--material", "设立登记申请书", "--material", "章程")
    )
    assert "received" in ack["message"] and ack["request_id"], ack
    await settle(handle)  # the application reaches the inbox with the batch that records it
    inbox = await ok_json(dev, pg_dsn, "inbox", "market")
    assert [i["phase"] for i in inbox if i["project_id"] == pid] == ["acceptance"]
    code, out, err = await daiban(dev, pg_dsn, "inbox", "market")
    assert code == 0, err
    to_accept, to_decide = out.split("To decide")
    assert "To accept (受理)" in to_accept and pid in to_accept and pid not in to_decide, out
    res = await ok_json(
        dev,
        pg_dsn,
        *department_args(
            "decide", pid, "enterprise-registration", "market", "cli-1", "clerk", "--kind", "approve", "--instant"
        ),
    )
    assert res["state"] == "approved"
    # The enterprise rates the matter and the agent (好差评, as in the README); a bad rating is called back and fixed.
    rate = ("project", "rate", pid, "--by", "ent-zhang")
    ack = await ok_json(
        dev, pg_dsn, *rate, "--target", "matter", "--matter", "enterprise-registration", "--grade", "very_good"
    )
    assert "非常满意" in ack["message"]
    ack = await ok_json(dev, pg_dsn, *rate, "--target", "agent", "--grade", "bad", "--text", "材料清单讲了三遍")
    assert "callback and fix clocks opened" in ack["message"]
    code, out, err = await daiban(dev, pg_dsn, *rate, "--target", "agent", "--grade", "good")
    assert code == 1 and "one rating per service" in err, err
    note = ("--rating", "agent:agent-li", "--by", "lead-zhao", "--note")
    assert "recorded" in (await ok_json(dev, pg_dsn, "project", "record-callback", pid, *note, "已电话回访"))["message"]
    assert (
        "recorded" in (await ok_json(dev, pg_dsn, "project", "record-fix", pid, *note, "一次性告知清单已改"))["message"]
    )
    # The project filing is complete on receipt of its information (备案): nothing to accept or decide.
    res = await ok_json(dev, pg_dsn, *apply_args(pid, "project-filing", "--material", "备案信息表"))
    assert res["message"].endswith("approved"), res
    # Deciding before accepting is refused (exit 1); the EIA is accepted, then sent back for correction.
    await ok_json(dev, pg_dsn, *apply_args(pid, "eia", "--material", "环境影响报告表"))
    code, out, err = await daiban(
        dev, pg_dsn, *department_args("decide", pid, "eia", "ecology", "cli-3x", "r", "--kind", "approve")
    )
    assert code == 1 and "not accepted yet" in err and err.count("\n") == 1, err
    res = await ok_json(
        dev, pg_dsn, *department_args("decide", pid, "eia", "ecology", "cli-3a", "r", "--kind", "accept")
    )
    assert res["state"] == "pending"
    # Accepted, it is the department's to decide (its clock running).
    await settle(handle)
    code, out, err = await daiban(dev, pg_dsn, "inbox", "ecology")
    to_accept, to_decide = out.split("To decide")
    assert code == 0 and pid not in to_accept and pid in to_decide, out
    assert [i["phase"] for i in await ok_json(dev, pg_dsn, "inbox", "ecology") if i["project_id"] == pid] == [
        "decision"
    ]
    res = await ok_json(
        dev,
        pg_dsn,
        *department_args(
            "decide", pid, "eia", "ecology", "cli-3", "r", "--kind", "request_correction", "--item", "noise data"
        ),
    )
    assert res["state"] == "correction"
    ack = await ok_json(
        dev, pg_dsn, "project", "supply-materials", pid, "--matter", "eia", "--by", "agent-li", "--item", "noise data"
    )
    assert "pending again" in ack["message"]
    ack = await ok_json(
        dev, pg_dsn, "project", "reassign", pid, "--to", "agent-wang", "--by", "lead-zhao", "--reason", "leave"
    )
    assert ack["message"] == "agent is now agent-wang"  # `reassign`: version 1's verb, a hidden alias
    ack = await ok_json(
        dev, pg_dsn, "project", "reassign-agent", pid, "--to", "agent-li", "--by", "lead-zhao", "--reason", "back"
    )
    assert ack["message"] == "agent is now agent-li"
    ack = await ok_json(
        dev, pg_dsn, "project", "reassign-agent", pid, "--to", "agent-wang", "--by", "lead-zhao", "--reason", "leave"
    )

    # A human reads tables; a refused command is one line and exit code 1.
    code, out, err = await daiban(dev, pg_dsn, "project", "show", pid)
    assert code == 0 and "eia" in out and "waiting for" in out
    code, out, err = await daiban(
        dev, pg_dsn, *department_args("decide", pid, "eia", "housing", "cli-4", "x", "--kind", "approve")
    )
    assert code == 1 and err.count("\n") == 1 and "belongs to ecology, not housing" in err
    # Bad input: exit 2, naming the field, nothing sent.
    code, out, err = await daiban(
        dev, pg_dsn, *department_args("decide", pid, "eia", "ecology", "cli-5", "x", "--kind", "reject")
    )
    assert code == 2 and "reasons" in err and err.count("\n") == 1
    code, out, err = await daiban(dev, pg_dsn, "project", "show", "no-such-project")
    assert code == 2 and "no project 'no-such-project'" in err

    await settle(handle)  # every event recorded before the projector runs
    await Projector(pg_pool).run_once()
    timeline = await ok_json(dev, pg_dsn, "project", "timeline", pid)
    kinds = [e["event_type"] for e in timeline]
    assert kinds[0] == "ProjectRegistered" and "CorrectionRequested" in kinds and "AgentReassigned" in kinds
    assert {"ApplicationReceived", "ApplicationAccepted"} <= set(kinds), kinds
    departments = await ok_json(dev, pg_dsn, "report", "departments")
    assert any(d["department"] == "market" and d["decided"] >= 1 for d in departments)
    zones = await ok_json(dev, pg_dsn, "report", "zone")
    assert any(z["zone"] == "tunliu" and z["projects"] >= 1 for z in zones)
    assert all(c["project_id"] != pid for c in await ok_json(dev, pg_dsn, "report", "credit", "--zone", "tunliu"))
    # The year the project was registered in (Beijing time; the dev server runs on the wall clock).
    year = str(datetime.fromisoformat(timeline[0]["occurred_at"]).astimezone(CST).year)
    figures = await ok_json(dev, pg_dsn, "report", "figures", "--zone", "tunliu", "--period", year)
    assert figures["period"] == year and figures["shares"][0]["projects"] >= 1
    satisfaction = await ok_json(dev, pg_dsn, "report", "satisfaction", "--period", year)
    assert satisfaction["period"] == year and isinstance(satisfaction["rows"], list)
    code, out, err = await daiban(dev, pg_dsn, "report", "figures", "--period", "2026-Q5")
    assert code == 2 and "period: '2026-Q5'" in err
    assert isinstance(await ok_json(dev, pg_dsn, "overdue"), list)
    for _ in range(100):  # the notify activity runs a moment after the update returned
        if await pg_pool.fetchval(
            "SELECT count(*) FROM notifications WHERE project_id = $1 AND kind = 'reassigned'", pid
        ):
            break
        await asyncio.sleep(0.1)
    outbox = await ok_json(dev, pg_dsn, "notifications", "--project", pid)
    assert {"checklist", "accepted", "correction", "reassigned"} <= {n["kind"] for n in outbox}
    rebuilt = await ok_json(dev, pg_dsn, "rebuild-read-models")
    assert rebuilt["events_replayed"] >= len(timeline)
    assert [e["event_type"] for e in await ok_json(dev, pg_dsn, "project", "timeline", pid)] == kinds

    listed = await ok_json(dev, pg_dsn, "project", "list", "--query", f"DaibanProjectId = '{pid}'")
    assert listed and listed[0]["project_id"] == pid
    # A healthy project is not among the stuck ones (the server accepts the combined query).
    assert await ok_json(dev, pg_dsn, "project", "list", "--stuck", "--query", f"DaibanProjectId = '{pid}'") == []
    # A query Temporal refuses is bad input (exit 2), in one line naming what is wrong.
    code, _, err = await daiban(dev, pg_dsn, "project", "list", "--query", "NoSuchAttribute = 1")
    assert code == 2 and err.count("\n") == 1 and "NoSuchAttribute" in err, err
    ack = await ok_json(dev, pg_dsn, "project", "withdraw", pid, "--reason", "plan changed", "--by", "agent-wang")
    assert ack["stage"] == "withdrawn"


async def test_calendar_commands(dev: Harness, pg_dsn: str, tmp_path: Path) -> None:
    added = await ok_json(dev, pg_dsn, "calendar", "add", "2026-09-28", "20")
    assert added["deadline"].startswith("2026-10-30T17:30")
    code, _, err = await daiban(dev, pg_dsn, "calendar", "count", "2026-10-30", "2026-09-28")
    assert code == 2 and err.count("\n") == 1
    # PostgreSQL unreachable is configuration (exit 2), one line naming it.
    code, _, err = await daiban(dev, "postgresql://postgres@127.0.0.1:1/daiban", "calendar", "add", "2026-09-28", "20")
    assert code == 2 and err.startswith("daiban: cannot reach PostgreSQL at "), err
    bad = tmp_path / "bad.json"
    bad.write_text('{"years": {"2027": {"holidays": {"2027-10-01": "x"}, "workdays": {"2027-10-01": "y"}}}}')
    code, _, err = await daiban(dev, pg_dsn, "calendar", "load", str(bad), "--dry-run")
    assert code == 2 and "2027-10-01" in err


async def test_loading_a_new_years_calendar_recomputes_running_projects(
    dev: Harness, pg_dsn: str, pg_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # 2028 (not 2027, which other tests count on being provisional) as the State Council would publish it.
    h = await dev.start(zone="tunliu")
    before = await view(h)
    notice = tmp_path / "2028.json"
    # The statutory days stay (a notice never removes them); it adds National Day's swap.
    statutory = {d.isoformat(): name.removesuffix(" (provisional)") for d, name in provisional_holidays(2028).items()}
    notice.write_text(
        json.dumps(
            {
                "years": {
                    "2028": {
                        "holidays": {**statutory, **{f"2028-10-0{d}": "国庆节" for d in range(1, 8)}},
                        "workdays": {"2028-10-08": "国庆节调休"},
                    }
                }
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    dry = await ok_json(dev, pg_dsn, "calendar", "load", str(notice), "--dry-run")
    assert dry["changed_years"] == [2028] and dry["stored"] is False
    loaded = await ok_json(dev, pg_dsn, "calendar", "load", str(notice), "--by", "operator-li")
    assert loaded["stored"] is True and loaded["projects_notified"] >= 1
    after = await eventually(h, lambda v: v.calendar_version == loaded["version"], "calendar adopted")
    assert after.calendar_version != before.calendar_version
    row = await pg_pool.fetchrow("SELECT loaded_by FROM calendars WHERE version = $1", loaded["version"])
    assert row is not None and row["loaded_by"] == "operator-li"
    again = await ok_json(dev, pg_dsn, "calendar", "load", str(notice))
    assert again["changed_years"] == [] and again["stored"] is False, "loading the same notice twice changes nothing"
    # ...but tells the running projects the calendar in force again: a load cut short is finished so.
    assert again["projects_notified"] >= 1 and again["not_notified"] == []


# About 75 ``daiban`` processes, each starting Python and its imports (1.5 to 2 s on two cores).
@pytest.mark.timeout(360)
async def test_a_projects_whole_life_from_the_terminal(dev: Harness, pg_dsn: str, tmp_path: Path) -> None:
    """Registration to production with nothing but `daiban` commands (departments decide too)."""
    reg = registration(zone="yanhu")
    pid = reg.project_id
    (tmp_path / "p.json").write_text(reg.model_dump_json(), encoding="utf-8")
    await ok_json(dev, pg_dsn, "project", "register", str(tmp_path / "p.json"))

    async def approve_until(stage: str) -> dict[str, Any]:
        """Each stage as its agent and departments run it: apply (with the signed commitment of a
        commitment matter, approved on receipt), accept (受理), approve."""
        for _ in range(12):
            shown: dict[str, Any] = await ok_json(dev, pg_dsn, "project", "show", pid)
            if shown["stage"] == stage:
                return shown
            applied = [m for m in shown["matters"] if m["state"] == "to_apply"]
            for m in applied:
                commitment = []
                if m["mode"] == "commitment":
                    commitment = ["--commitment-text", "cn-2026-1", "--signed-by", "法定代表人"]
                    commitment += ["--signed-at", "2026-01-05T09:00:00+08:00"]
                ack = await ok_json(dev, pg_dsn, *apply_args(pid, m["code"], "--material", "申请表", *commitment))
                assert "received" in ack["message"], ack
            shown = await ok_json(dev, pg_dsn, "project", "show", pid)
            to_decide = [m for m in shown["matters"] if m["state"] in ("received", "pending")]
            assert to_decide or applied, shown["waiting_for"]
            for m in to_decide:
                kinds = ["accept", "approve"] if m["state"] == "received" else ["approve"]
                for kind in kinds:
                    res = await ok_json(
                        dev,
                        pg_dsn,
                        *department_args(
                            "decide",
                            pid,
                            m["code"],
                            m["department"],
                            f"t-{m['code']}-{m['submissions']}-{kind}",
                            f"{m['department']}-clerk",
                            "--kind",
                            kind,
                        ),
                    )
                    assert res["state"] == ("pending" if kind == "accept" else "approved"), res
        raise AssertionError(f"never reached {stage}")

    await approve_until("construction")
    await ok_json(dev, pg_dsn, "project", "report-progress", pid, "--percent", "60", "--by", "agent-li")
    ack = await ok_json(dev, pg_dsn, "project", "complete", pid, "--by", "agent-li")
    assert ack["stage"] == "completion_acceptance"
    shown = await approve_until("in_production")
    assert "verifications still open" in shown["waiting_for"]
    for m in shown["matters"]:
        if any(o["kind"] == "verification" and o["state"] == "open" for o in m["obligations"]):
            await ok_json(
                dev,
                pg_dsn,
                *department_args(
                    "verify", pid, m["code"], m["department"], f"t-verify-{m['code']}", "inspector", "--passed"
                ),
            )
    final = await ok_json(dev, pg_dsn, "project", "show", pid)
    assert final["stage"] == "in_production" and final["waiting_for"] == "In production."


async def test_output_a_person_can_read(dev: Harness, pg_dsn: str, tmp_path: Path) -> None:
    """Ids whole in a narrow piped table, Beijing times without microseconds, every error one line."""
    reg = registration(zone="tunliu", regional_assessments=[]).model_copy(
        update={"project_id": "cli-a-rather-long-project-id-" + os.urandom(3).hex()}
    )
    file = tmp_path / "project.json"
    file.write_text(reg.model_dump_json(), encoding="utf-8")
    code, out, err = await daiban(dev, pg_dsn, "project", "register", str(file))
    assert code == 0 and out.startswith(f"registered {reg.project_id}"), err
    query = f"DaibanProjectId = '{reg.project_id}'"
    code, out, err = await daiban(dev, pg_dsn, "project", "list", "--query", query, columns=60)
    assert code == 0 and reg.project_id in out and "…" not in out, out
    for _ in range(100):  # the registration's events are written a moment later
        if (await daiban(dev, pg_dsn, "project", "timeline", reg.project_id, "--json"))[0] == 0:
            break
        await asyncio.sleep(0.1)
    code, out, err = await daiban(dev, pg_dsn, "project", "timeline", reg.project_id, columns=160)
    assert code == 0 and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? \+08:00", out), out
    assert not re.search(r"\d\d:\d\d:\d\d\.\d", out) and "UTC" not in out, out

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"project_id": "bad id!", "zone": "tunliu", "investment_yuan": -1}), encoding="utf-8")
    code, _, err = await daiban(dev, pg_dsn, "project", "register", str(bad))
    assert code == 2 and err.count("\n") == 1 and err.startswith("daiban: "), err
    assert all(f in err for f in ("project_id:", "investment_yuan:", "name:", "agent:")), err

    args = department_args("decide", reg.project_id, "eia", "ecology", "cli-r", "x", "--kind", "reject")
    code, _, err = await daiban(dev, pg_dsn, *args)
    assert code == 2 and "--reason" in err and err.count("\n") == 1, err

    empty = f"daiban_empty_{os.urandom(4).hex()}"
    admin = await asyncpg.connect(pg_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{empty}"')
        base = pg_dsn.rsplit("/", 1)[0]
        code, _, err = await daiban(dev, f"{base}/{empty}", "inbox", "ecology")
        assert code == 2 and err.count("\n") == 1 and "has no daiban tables" in err and "db migrate" in err, err
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{empty}" WITH (FORCE)')
        await admin.close()


async def test_registering_in_an_unknown_zone_fails_at_once_and_starts_nothing(
    dev: Harness, pg_dsn: str, tmp_path: Path
) -> None:
    """The CLI checks the zone in force before it starts anything, as the gateway does: exit 2 and
    the field named; before, it printed 'registered' and the start failed in Temporal, leaving an
    id that 'project register' then called 'already registered (finished)'."""
    reg = registration(zone="tunliu", regional_assessments=[]).model_copy(update={"zone": "mars"})
    file = tmp_path / "mars.json"
    file.write_text(reg.model_dump_json(), encoding="utf-8")
    code, out, err = await daiban(dev, pg_dsn, "project", "register", str(file))
    assert code == 2 and "zone: unknown zone 'mars'" in out + err, (code, out, err)
    assert await DaibanClient(dev.client, dev.task_queue).existing_run(reg.project_id) is None, "nothing started"
