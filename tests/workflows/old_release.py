"""The release before patch ``adapter-queue``, as a worker still running it would: ``apply_batch``
calls the department systems itself, and every patch is asked on its own (no consolidated marker;
built like the replay canary, ``tests/replay/canary.py``)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy

with workflow.unsafe.imports_passed_through():
    from schemas.project import ProjectResult
    from workflows.patches import Patches
    from workflows.pipeline import Pipeline
    from workflows.project import ProjectWorkflow
    from workflows.start import NO_INPUT


def _pipeline_before_adapter_queue(retry: RetryPolicy, timeout: timedelta, patches: Patches) -> Pipeline:
    return Pipeline(retry, timeout)  # no patch marker, no delivery from the adapters' queue


@workflow.defn(name="ProjectWorkflow")
class ProjectWorkflowBeforeAdapterQueue(ProjectWorkflow):
    _new_pipeline = staticmethod(_pipeline_before_adapter_queue)
    _take_patches = staticmethod(Patches.one_by_one)

    @workflow.run
    async def run(self, raw: RawValue = NO_INPUT) -> ProjectResult:
        return await super().run(raw)
