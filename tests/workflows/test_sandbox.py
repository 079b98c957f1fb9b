"""The workflow sandbox as the worker runs it (``infra.sandbox``): daiban's workflow modules are
shared by the runs instead of re-imported for each, and that is safe.

- A run on the worker's runner finds the host's ``workflows.project``, not a copy of its own, and
  still cannot reach the clock or the file system (the sandbox's restrictions stand).
- What is shared keeps no state across runs: the ``workflows`` modules hold constants only (and
  the content registry, which runs read by version), the workflow classes no mutable attributes.
- The ``workflows`` modules import nothing that is not deterministic: only the project's pure
  packages (import-linter keeps the I/O layers out), pydantic, temporalio and a few stdlib
  modules, and they never read the wall clock.
- The runner's shortcut for the SDK's per-payload context question gives, on every call of a
  whole recorded lifecycle's replay, the answer the SDK's own sandboxed runner gives.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import pkgutil
import types
import uuid
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import ActivitySerializationContext
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker, WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError, SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

import workflows
import workflows.project  # in the probe's sandbox: the host's module if passed through, else a copy

with workflow.unsafe.imports_passed_through():
    from catalog.content import REGISTRY
    from infra.sandbox import RESTRICTIONS, DirectContextInstance, Sandbox, workflow_runner
    from tests.replay.test_replay import HISTORIES, load, load_content
    from worker import WORKFLOWS


@workflow.defn
class SandboxProbe:
    """Runs in the sandbox (this test module is not passed through): what a workflow run sees."""

    @workflow.run
    async def run(self, host_class_id: int) -> dict[str, bool]:
        seen = {"shared_project_module": id(workflows.project.ProjectWorkflow) == host_class_id}
        try:
            datetime.now()
            seen["clock"] = True
        except RestrictedWorkflowAccessError:
            seen["clock"] = False
        try:
            open("/dev/null").close()  # noqa: ASYNC230
            seen["files"] = True
        except RestrictedWorkflowAccessError:
            seen["files"] = False
        return seen


async def _probe(client: Client, runner: WorkflowRunner) -> dict[str, bool]:
    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[SandboxProbe], workflow_runner=runner):
        result: dict[str, bool] = await client.execute_workflow(
            SandboxProbe.run,
            id(workflows.project.ProjectWorkflow),
            id=f"sandbox-probe-{uuid.uuid4().hex[:8]}",
            task_queue=queue,
            execution_timeout=timedelta(seconds=30),
        )
    return result


async def test_a_run_shares_the_workflow_modules_and_still_cannot_reach_the_clock_or_files(
    dev_env: WorkflowEnvironment,
) -> None:
    assert await _probe(dev_env.client, workflow_runner(sandboxed=True)) == {
        "shared_project_module": True,
        "clock": False,
        "files": False,
    }
    # The SDK's default sandbox executes the workflow module again for each run: what PASSED_THROUGH saves.
    default = await _probe(dev_env.client, SandboxedWorkflowRunner())
    assert default == {"shared_project_module": False, "clock": False, "files": False}


# ---- the context shortcut answers as the SDK does ------------------------------------------------


async def test_the_context_shortcut_answers_every_call_as_the_sdk_s_sandbox_does() -> None:
    calls: list[tuple[Any, Any]] = []

    class Both(DirectContextInstance):
        def get_serialization_context(self, command_info: Any) -> Any:
            ours = super().get_serialization_context(command_info)
            calls.append((ours, _Instance.get_serialization_context(self, command_info)))
            return ours

        def get_external_store_context(self, command_info: Any) -> Any:
            ours = super().get_external_store_context(command_info)
            calls.append((ours, _Instance.get_external_store_context(self, command_info)))
            return ours

    class Checking(Sandbox):
        def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
            return Both(det, self.runner_class, self.restrictions)

    load_content()
    runner = Checking(restrictions=RESTRICTIONS)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter, workflow_runner=runner)
    await replayer.replay_workflow(load(HISTORIES / "lifecycle_to_production.json"))
    assert len(calls) > 100
    assert any(isinstance(ours, ActivitySerializationContext) for ours, _ in calls), "activities' own contexts"
    assert [ours for ours, _ in calls] == [sdk for _, sdk in calls]


# ---- what is shared keeps no state ----------------------------------------------------------------

_IMMUTABLE = (str, int, float, bool, bytes, type(None), tuple, frozenset, date, timedelta, tzinfo)
_DEFINITIONS = (types.FunctionType, types.BuiltinFunctionType, types.ModuleType, type, staticmethod, classmethod)


def _workflow_modules() -> list[types.ModuleType]:
    names = ["workflows", *(m.name for m in pkgutil.walk_packages(workflows.__path__, "workflows."))]
    return [importlib.import_module(n) for n in names]


def _stateless(value: Any) -> bool:
    if isinstance(value, _IMMUTABLE + _DEFINITIONS):
        return not isinstance(value, tuple) or all(_stateless(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # temporalio's RetryPolicy is a plain dataclass; daiban's are only read (workflows.project, pipeline).
        return value.__dataclass_params__.frozen or isinstance(value, RetryPolicy)  # type: ignore[attr-defined]
    # typing constructs (Literal[...], Annotated[...], Callable[...]) and __future__ features
    return type(value).__module__ in ("typing", "__future__", "collections.abc")


def test_the_workflow_modules_hold_no_state_but_the_content_registry() -> None:
    stateful = [
        f"{m.__name__}.{k}: {type(v).__name__}"
        for m in _workflow_modules()
        for k, v in vars(m).items()
        if not k.startswith("__") and v is not REGISTRY and not _stateless(v)
    ]
    assert stateful == []


def test_the_workflow_classes_have_no_mutable_attributes() -> None:
    mutable = [
        f"{cls.__name__}.{k}: {type(v).__name__}"
        for wf in WORKFLOWS
        for cls in wf.__mro__
        if cls is not object
        for k, v in vars(cls).items()
        if not k.startswith("__") and not _stateless(v) and not callable(v) and not isinstance(v, property)
    ]
    assert mutable == []


# ---- nothing non-deterministic imported --------------------------------------------------------------

_PROJECT = {"workflows", "schemas", "catalog", "legalclock"}  # pure layers (pyproject's import-linter contracts)
_LIBRARIES = {"pydantic", "temporalio", "typing", "typing_extensions", "__future__"}
# Deterministic stdlib modules the workflow code uses (codecs, hashes, containers, asyncio for the SDK's
# deterministic event loop); datetime only for types and arithmetic (below).
_STDLIB = {"asyncio", "base64", "calendar", "collections", "contextlib", "dataclasses", "datetime", "hashlib", "zlib"}
_WALL_CLOCK = {"now", "today", "utcnow", "fromtimestamp", "utcfromtimestamp"}


def _sources() -> list[Path]:
    return sorted(Path(workflows.__path__[0]).rglob("*.py"))


def test_the_workflow_modules_import_only_deterministic_modules() -> None:
    allowed = _PROJECT | _LIBRARIES | _STDLIB
    outside = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            outside += [f"{path.name}: {n}" for n in names if n.split(".")[0] not in allowed]
    assert outside == []


def test_the_workflow_modules_never_read_the_wall_clock() -> None:
    reads = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in _WALL_CLOCK
                and isinstance(node.value, ast.Name)
                and node.value.id in ("datetime", "date", "time")
            ):
                reads.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
    assert reads == []


def test_the_checks_would_see_state_and_wall_clock_reads() -> None:
    """The checks above are not vacuous: they flag what they look for."""
    assert not _stateless({}) and not _stateless([1]) and not _stateless((1, []))
    assert _stateless(UTC) and _stateless(RetryPolicy()) and _stateless(("a", 1))
    tree = ast.parse("from datetime import datetime\nx = datetime.now()\nimport random\n")
    assert any(isinstance(n, ast.Attribute) and n.attr in _WALL_CLOCK for n in ast.walk(tree))
    assert len(_sources()) > 10 and len(_workflow_modules()) > 10
