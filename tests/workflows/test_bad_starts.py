"""Starts that cannot go wrong (issue 14): a start through another SDK or the ``temporal`` CLI.

Each bad start fails the workflow at once with its field errors (``InvalidInput`` or
``InvalidWorkflowId``, non-retryable) and no workflow task ever fails; a start naming another
project's workflow id does not keep that project from registering.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from interfaces.client import DaibanClient
from tests import support as sp
from tests.harness import Harness, registration
from tests.workflows.helpers import view
from workflows.start import CARRIED_METADATA, INVALID_INPUT, INVALID_WORKFLOW_ID, ProjectInput, continued_input


def _valid() -> dict[str, Any]:
    return registration().model_dump(mode="json")


def _with(**fields: Any) -> dict[str, Any]:
    return {"registration": {**_valid(), **fields}}


def _without(field: str) -> dict[str, Any]:
    reg = _valid()
    del reg[field]
    return {"registration": reg}


# (what is wrong, the raw input another SDK sends, the field its error names)
BAD_STARTS: list[tuple[str, Any, str]] = [
    ("unknown field", {"registration": _valid(), "priority": "high"}, "priority"),
    ("unknown registration field", _with(colour="red"), "registration.colour"),
    ("missing field", _without("zone"), "registration.zone"),
    ("bare string", "p-1", ""),
    ("bare number", 42, ""),
    ("null", None, ""),
    ("bogus carried state", {"registration": _valid(), "carried": {"stage": "nowhere"}}, "carried"),
    ("negative history_limit", {"registration": _valid(), "history_limit": -5}, "history_limit"),
    ("history_limit as a string", {"registration": _valid(), "history_limit": "500"}, "history_limit"),
    ("NUL in the name", _with(name="厂房\u0000"), "registration.name"),
    ("NUL in an agent", _with(agent="agent\u0000li"), "registration.agent"),
    ("investment over bigint", _with(investment_yuan=10000000000000000000), "registration.investment_yuan"),
    ("investment true", _with(investment_yuan=True), "registration.investment_yuan"),
    ("investment as a string", _with(investment_yuan="150000000"), "registration.investment_yuan"),
    ("standard_land_parcel 'yes'", _with(standard_land_parcel="yes"), "registration.standard_land_parcel"),
    ("whitespace-only name", _with(name="   "), "registration.name"),
    ("zero-width-only name", _with(name="\u200b\u200b"), "registration.name"),
    ("trailing newline in the project id", _with(project_id="p-1\n"), "registration.project_id"),
]


async def _failure(h: Any) -> ApplicationError:
    with pytest.raises(WorkflowFailureError) as caught:
        await h.result()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.non_retryable
    return cause


async def _task_failures(h: Any) -> int:
    failed = 0
    async for e in h.fetch_history_events():
        failed += e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    return failed


@pytest.mark.parametrize(("case", "raw", "field"), BAD_STARTS, ids=[c[0] for c in BAD_STARTS])
async def test_a_bad_start_fails_at_once_naming_the_field(dev: Harness, case: str, raw: Any, field: str) -> None:
    workflow_id = f"project-bad-{uuid.uuid4().hex[:8]}"
    if isinstance(raw, dict) and "registration" in raw:
        raw["registration"].setdefault("project_id", workflow_id.removeprefix("project-"))
        if raw["registration"].get("project_id") != "p-1\n":
            raw["registration"]["project_id"] = workflow_id.removeprefix("project-")
    h = await dev.client.start_workflow("ProjectWorkflow", raw, id=workflow_id, task_queue=dev.task_queue)
    cause = await _failure(h)
    assert cause.type == INVALID_INPUT, (case, cause)
    fields = [".".join(e["loc"]) for e in cause.details[0]]
    assert any(f.startswith(field) for f in fields), (case, fields)
    assert await _task_failures(h) == 0


async def test_a_start_without_input_fails_at_once(dev: Harness) -> None:
    h = await dev.client.start_workflow(
        "ProjectWorkflow", id=f"project-{uuid.uuid4().hex[:8]}", task_queue=dev.task_queue
    )
    cause = await _failure(h)
    assert cause.type == INVALID_INPUT
    assert await _task_failures(h) == 0


async def test_a_start_carrying_a_state_in_its_metadata_fails_at_once(dev: Harness) -> None:
    # Only continue-as-new puts a carried state in the input's metadata (``workflows.start``).
    m = sp.at_approval_land("yanhu")
    workflow_id = f"project-{m.state.registration.project_id}"
    payload = pydantic_data_converter.payload_converter.to_payloads([ProjectInput(registration=m.state.registration)])[
        0
    ]
    forged = continued_input(payload, m.state)
    h = await dev.client.start_workflow("ProjectWorkflow", forged, id=workflow_id, task_queue=dev.task_queue)
    cause = await _failure(h)
    assert cause.type == INVALID_INPUT
    assert [e["loc"] for e in cause.details[0]] == [[CARRIED_METADATA]]
    assert await _task_failures(h) == 0


async def test_a_start_naming_another_projects_id_is_refused_and_that_project_still_registers(dev: Harness) -> None:
    reg = registration()
    squatter = registration()  # a valid registration of another project, started under reg's workflow id
    h = await dev.client.start_workflow(
        "ProjectWorkflow",
        {"registration": squatter.model_dump(mode="json")},
        id=f"project-{reg.project_id}",
        task_queue=dev.task_queue,
    )
    cause = await _failure(h)
    assert cause.type == INVALID_WORKFLOW_ID
    assert await _task_failures(h) == 0
    # The real registration is not refused forever: it starts the project.
    client = DaibanClient(dev.client, dev.task_queue)
    run_id = await client.register(reg)
    assert run_id and run_id != h.result_run_id
    dev.started.append(dev.client.get_workflow_handle(f"project-{reg.project_id}"))
    state = await view(dev.client.get_workflow_handle(f"project-{reg.project_id}"))
    assert state.project_id == reg.project_id
    # Registering again answers the same run.
    assert await client.register(reg) == run_id


async def test_a_bad_update_through_any_sdk_is_refused_and_the_project_goes_on(dev: Harness) -> None:
    h = await dev.start(zone="tunliu")
    v = await view(h)
    pending = next(m for m in v.matters if m.state in ("pending", "received", "to_apply"))
    bad_updates: list[tuple[str, Any]] = [
        (
            "decide",
            {
                "decision_id": "d-1",
                "department": pending.department,
                "matter_code": pending.code,
                "kind": "approve",
                "decided_by": "clerk\u0000",
            },
        ),
        (
            "decide",
            {
                "decision_id": "d-1\n",
                "department": pending.department,
                "matter_code": pending.code,
                "kind": "approve",
                "decided_by": "clerk",
            },
        ),
        ("reassign_agent", {"request_id": "r-1", "to_agent": "agent-wang", "by": "lead-zhao", "reason": "\u200b"}),
        ("report_progress", {"request_id": "r-2", "percent": True, "by": "agent-li"}),
        ("withdraw", "just a string"),
        (
            "submit_application",
            {"request_id": "r-3", "matter_code": pending.code, "by": "agent-li", "materials": ["表"] * 101},
        ),
    ]
    for name, payload in bad_updates:
        with pytest.raises(WorkflowUpdateFailedError):
            await h.execute_update(name, payload)
    assert await _task_failures(h) == 0
    # It still answers, and a good command still applies.
    after = await view(h)
    assert after.project_id == v.project_id and after.events_emitted >= v.events_emitted
    ack = await h.execute_update(
        "reassign_agent", {"request_id": "r-4", "to_agent": "agent-wang", "by": "lead-zhao", "reason": "away"}
    )
    assert "agent-wang" in ack["message"]
