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
"""

from __future__ import annotations

from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSED_THROUGH = ("workflows",)

RESTRICTIONS = SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)


def workflow_runner(sandboxed: bool) -> WorkflowRunner:
    """The sandbox with ``PASSED_THROUGH`` shared (``DAIBAN_WORKFLOW_SANDBOX``, on by default), or none."""
    return SandboxedWorkflowRunner(restrictions=RESTRICTIONS) if sandboxed else UnsandboxedWorkflowRunner()
