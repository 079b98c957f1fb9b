"""The commands table (``schemas.commands``) and ``ProjectWorkflow``'s updates agree.

Public API only: the workflow's methods with their annotations, and the workflow metadata query
that every Temporal SDK answers (``__temporal_workflow_metadata``, what the Temporal UI shows of a
running workflow's handlers), asked of a project on the dev server.
"""

from __future__ import annotations

import typing

from temporalio.api.sdk.v1 import WorkflowMetadata

from interfaces import contracts
from schemas import commands
from tests.harness import Harness
from workflows.project import ProjectWorkflow


def test_each_command_is_an_update_method_taking_its_request_and_giving_its_answer() -> None:
    assert len(commands.BY_NAME) == len(commands.ALL), "one row per name"
    for command in commands.ALL:
        method = getattr(ProjectWorkflow, command.name)
        hints = typing.get_type_hints(method)
        assert hints.pop("return") is command.answer, command.name
        assert list(hints.values()) == [command.request], command.name
        # ``@workflow.update`` gives the method its ``validator`` decorator (the workflow uses each).
        assert callable(getattr(method, "validator", None)), f"{command.name} is not an update"
    assert [c.name for c in commands.ALL if c.signed] == ["decide", "verify", "extend_permit"]
    assert all(c.answer.__name__ == ("DecisionResult" if c.signed else "Ack") for c in commands.ALL)


async def test_the_running_workflow_has_exactly_the_tables_updates(dev: Harness) -> None:
    handle = await dev.start()
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    definition = metadata.definition
    assert definition.type == ProjectWorkflow.__name__
    assert {u.name: u.description for u in definition.update_definitions} == {
        c.name: c.description for c in commands.ALL
    }
    assert {s.name for s in definition.signal_definitions} == {s.__name__ for s in contracts.SIGNALS}
    builtin = {q.name for q in definition.query_definitions if q.name.startswith("__")}
    assert {q.name for q in definition.query_definitions} - builtin == {q.__name__ for q in contracts.QUERIES}
