"""The workflow runner of daiban's workers: Temporal's sandbox with daiban's workflow modules shared.

The sandbox re-imports, for each workflow run it keeps in its cache, every module that is not
passed through. daiban's workflow code passes through everything it imports at the import sites
(``workflow.unsafe.imports_passed_through``); ``PASSED_THROUGH`` adds the ``workflows`` package,
so the workflow modules themselves (``workflows.project``, ``workflows.duties``) are not executed
again per run: that copy cost about 100 KiB a run (their code objects, classes and update
definitions; README "Workflow sandbox").

Sharing them is safe because they keep no state across runs: module constants, and the content
registry (``catalog.content.REGISTRY``) that the worker fills and runs only read by version; nor do
they import an I/O layer or a source of non-determinism (clocks, randomness, the environment).
``tests/workflows/test_sandbox.py`` checks both; import-linter checks the layers (pyproject). The
sandbox still restricts the builtins (``open``...) for all workflow code, and what workflow code
in modules not passed through reaches (``datetime.now``, ``random``...).

``Sandbox`` also answers the SDK's per-payload question without entering the sandbox. For every
payload sequence of an activation and of its completion (three passes each: references, external
storage, codec), temporalio 1.35 asks the run for its serialization context, and the sandboxed
runner answers by compiling and ``exec``-ing a line of source inside the sandbox's import
restrictions, some 9 times per workflow task (``python -m benchmarks.replay_cost`` prints the
cost per task under each runner; ``tests/workflows/test_sandbox.py`` checks that the answers are
the SDK's, call for call). ``Sandbox`` asks the same
object the same question directly (``InSandbox.get_serialization_context``, SDK code computing
the context from the run's info and its pending commands): the same answer, with no workflow code
run, so nothing of the sandbox's protection is given up. It relies on two internals of the pinned
SDK (``_Instance.globals_and_locals``, its ``__temporal_in_sandbox`` entry), which the test pins.
"""

from __future__ import annotations

from typing import Any

from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox._runner import _Instance

PASSED_THROUGH = ("workflows",)

RESTRICTIONS = SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)


class DirectContextInstance(_Instance):
    """A sandboxed run whose serialization and store contexts are asked of its ``InSandbox`` directly."""

    def get_serialization_context(self, command_info: Any) -> Any:
        in_sandbox: Any = self.globals_and_locals["__temporal_in_sandbox"]
        return in_sandbox.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: Any) -> Any:
        in_sandbox: Any = self.globals_and_locals["__temporal_in_sandbox"]
        return in_sandbox.get_external_store_context(command_info)


class Sandbox(SandboxedWorkflowRunner):
    """Temporal's sandbox, its runs answering the per-payload context question directly (module docstring)."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return DirectContextInstance(det, self.runner_class, self.restrictions)


def workflow_runner(sandboxed: bool) -> WorkflowRunner:
    """The sandbox with ``PASSED_THROUGH`` shared (``DAIBAN_WORKFLOW_SANDBOX``, on by default), or none."""
    return Sandbox(restrictions=RESTRICTIONS) if sandboxed else UnsandboxedWorkflowRunner()
