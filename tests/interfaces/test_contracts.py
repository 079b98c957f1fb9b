"""The published contract: checked-in JSON Schemas match the code, and plain JSON really works.

The ``temporal`` CLI stands in for a service in another language: it sends plain JSON payloads,
exactly what the README tells such services to send.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import sys
import uuid
from pathlib import Path
from typing import Any

from interfaces.contracts import CONTRACTS_DIR, drift, generate
from schemas import commands
from tests.interfaces.conftest import Gateway, operator

TEMPORAL = Path(sys.executable).parent / "temporal"


def test_checked_in_contracts_match_the_code() -> None:
    problems = drift()
    assert not problems, (
        "contracts/ is out of date with schemas/ or ProjectWorkflow: run `python -m interfaces.contracts` "
        "and commit the result:\n  " + "\n  ".join(problems)
    )


def test_index_names_every_message_of_the_workflow() -> None:
    index = json.loads((CONTRACTS_DIR / "index.json").read_text(encoding="utf-8"))
    assert index["workflow"]["type"] == "ProjectWorkflow"
    assert index["workflow"]["workflow_id"] == "project-{project_id}"
    assert index["workflow"]["task_queue"] == "daiban"
    assert set(index["updates"]) == set(commands.BY_NAME)  # the table is the workflow's updates: test_commands.py
    assert set(index["signals"]) == {"calendar_updated"}
    assert set(index["queries"]) == {"state", "clock_ledger", "migration_preview"}
    assert index["queries"]["migration_preview"]["input"] == "query.migration_preview.input.json"
    messages = [*index["updates"].values(), *index["signals"].values(), *index["queries"].values()]
    for entry in [index["workflow"], *messages]:
        for key in ("input", "result"):
            if entry.get(key):
                assert (CONTRACTS_DIR / entry[key]).is_file(), entry[key]
    start = json.loads((CONTRACTS_DIR / index["workflow"]["input"]).read_text(encoding="utf-8"))
    assert set(start["properties"]) == {"registration", "history_limit"}, "carried is internal"
    assert index["workflow"]["internal_input_metadata"] == ["daiban-carried-zlib"], "so is the metadata carrying it"
    assert start["required"] == ["registration"] and start["additionalProperties"] is False
    assert "ProjectState" not in start.get("$defs", {})
    decide = json.loads(generate()["update.decide.input.json"])
    assert decide["properties"]["decision_id"]["pattern"].startswith("^[A-Za-z0-9]")


async def _temporal(*args: str, check: bool = True) -> Any:
    """Run the ``temporal`` CLI with JSON output; None for a failure when not ``check``."""
    proc = await asyncio.create_subprocess_exec(
        str(TEMPORAL),
        *args,
        "--output",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    if proc.returncode != 0 and not check:
        return None
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_temporal_example() -> list[list[str]]:
    """The ``temporal`` commands of the README's example for services in other languages, as argv."""
    text = README.read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if "--type ProjectWorkflow" in b)
    # `until .venv/bin/temporal workflow query ...; do sleep 1; done`: the command it repeats.
    block = re.sub(r"^until (.*); do sleep \d+; done$", r"\1", block, flags=re.M)
    commands = shlex.split(block.replace("\\\n", " "), comments=True)
    argvs: list[list[str]] = []
    for word in commands:
        if word == ".venv/bin/temporal":
            argvs.append([])
        else:
            argvs[-1].append(word)
    return argvs


async def test_the_readme_temporal_cli_example_works(gw: Gateway) -> None:
    """The README's ``temporal workflow start``, ``query`` and ``update execute`` commands, run as
    written (plain JSON), on a fresh project id and this worker's task queue."""
    address = gw.settings.temporal_address
    pid = f"p-cli-{uuid.uuid4().hex[:8]}"
    argvs = _readme_temporal_example()
    assert [a[:2] for a in argvs] == [
        ["workflow", "start"],
        ["workflow", "query"],
        ["workflow", "update"],
        ["workflow", "update"],
        ["workflow", "update"],
    ], argvs
    # The agent applies, the department accepts (受理), then decides: the order of the lifecycle.
    updates = [a[a.index("--name") + 1] for a in argvs if a[1] == "update"]
    assert updates == ["submit_application", "decide", "decide"], updates

    def adapted(argv: list[str]) -> list[str]:
        out = ["--address", address]
        for i, word in enumerate(argv):
            if argv[i - 1] == "--workflow-id":
                assert word == "project-p-1", argv
                word = f"project-{pid}"
            elif argv[i - 1] == "--task-queue":
                assert word == "daiban", argv
                word = gw.settings.task_queue
            elif argv[i - 1] == "--input":
                payload = json.loads(word)  # the README's JSON parses as written
                if "registration" in payload:
                    assert payload["registration"]["project_id"] == "p-1"
                    payload["registration"]["project_id"] = pid
                word = json.dumps(payload, ensure_ascii=False)
            out.append(word)
        return out

    start, query, *update_argvs = (adapted(a) for a in argvs)
    started = await _temporal(*start)
    gw.harness.started.append(gw.harness.client.get_workflow_handle(f"project-{pid}"))
    assert started["workflowId"] == f"project-{pid}"
    for _ in range(50):  # the query fails until the first workflow task has registered the project
        state = await _temporal(*query, check=False)
        if state:
            break
        await asyncio.sleep(0.1)
    assert state["queryResult"][0]["stage"] == "establishment"
    matters = {m["code"]: m["state"] for m in state["queryResult"][0]["matters"]}
    assert matters["enterprise-registration"] == "to_apply"
    results = [(await _temporal(*argv))["result"] for argv in update_argvs]
    applied, accepted, approved = results
    assert applied["request_id"] == "apply-p1-er" and "received" in applied["message"], applied
    # Each answer says what the project waits for next (no state read needed after a decision).
    pending = {"matter_code": "enterprise-registration", "department": "market", "awaited": "decide", "by": "market"}
    assert accepted.pop("pending")[0].items() >= pending.items(), accepted
    assert accepted == {
        "decision_id": "mr-p1-accept",
        "matter_code": "enterprise-registration",
        "state": "pending",
        "duplicate": False,
        "stage": "establishment",
        "pending_more": 0,
    }
    assert approved.pop("pending") and approved == {
        "decision_id": "mr-p1",
        "matter_code": "enterprise-registration",
        "state": "approved",
        "duplicate": False,
        "stage": "approval_land",
        "pending_more": 0,
    }
    view = (await gw.http.get(f"/projects/{pid}", headers=operator())).json()
    assert view["stage"] == "approval_land"
