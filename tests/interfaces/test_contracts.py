"""The published contract: checked-in JSON Schemas match the code, and plain JSON really works.

The ``temporal`` CLI stands in for a service in another language: it sends plain JSON payloads,
exactly what the README tells such services to send.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from interfaces.contracts import CONTRACTS_DIR, drift, generate
from schemas import commands
from tests.interfaces.conftest import Gateway

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
    assert set(index["signals"]) == {"calendar_updated"} and set(index["queries"]) == {"state", "clock_ledger"}
    messages = [*index["updates"].values(), *index["signals"].values(), *index["queries"].values()]
    for entry in [index["workflow"], *messages]:
        for key in ("input", "result"):
            if entry.get(key):
                assert (CONTRACTS_DIR / entry[key]).is_file(), entry[key]
    start = json.loads((CONTRACTS_DIR / index["workflow"]["input"]).read_text(encoding="utf-8"))
    assert set(start["properties"]) == {"registration", "history_limit"}, "carried is internal"
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


async def test_the_readme_temporal_cli_example_works(gw: Gateway) -> None:
    """``temporal workflow start`` and ``update execute`` with plain JSON, as in the README."""
    address = gw.settings.temporal_address
    pid = f"p-cli-{uuid.uuid4().hex[:8]}"
    registration = {
        "project_id": pid,
        "name": "新建年产5万吨新材料项目",
        "enterprise": "山西示例新材料有限公司",
        "zone": "tunliu",
        "project_type": "general",
        "investment_yuan": 150000000,
        "standard_land_parcel": True,
        "agent": "agent-li",
        "backup_agent": "agent-wang",
        "project_lead": "lead-zhao",
    }
    started = await _temporal(
        "workflow",
        "start",
        "--address",
        address,
        "--type",
        "ProjectWorkflow",
        "--task-queue",
        gw.settings.task_queue,
        "--workflow-id",
        f"project-{pid}",
        "--input",
        json.dumps({"registration": registration}, ensure_ascii=False),
    )
    gw.harness.started.append(gw.harness.client.get_workflow_handle(f"project-{pid}"))
    assert started["workflowId"] == f"project-{pid}"
    decision = {
        "decision_id": "mr-0001",
        "department": "market",
        "matter_code": "enterprise-registration",
        "kind": "approve",
        "decided_by": "market-clerk",
        "instant": True,
    }
    for _ in range(50):  # the query fails until the first workflow task has registered the project
        state = await _temporal(
            "workflow", "query", "--address", address, "--workflow-id", f"project-{pid}", "--name", "state", check=False
        )
        if state:
            break
        await asyncio.sleep(0.1)
    assert state["queryResult"][0]["stage"] == "establishment"
    updated = await _temporal(
        "workflow",
        "update",
        "execute",
        "--address",
        address,
        "--workflow-id",
        f"project-{pid}",
        "--name",
        "decide",
        "--input",
        json.dumps(decision),
    )
    assert updated["result"] == {
        "decision_id": "mr-0001",
        "matter_code": "enterprise-registration",
        "state": "approved",
        "duplicate": False,
    }
    view = (await gw.http.get(f"/projects/{pid}")).json()
    assert view["stage"] == "approval_land"
