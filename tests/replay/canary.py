"""The replay canary: ProjectWorkflow with one more timer before it starts (a breaking change)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from schemas.project import ProjectResult
    from workflows.project import ProjectWorkflow
    from workflows.start import NO_INPUT


@workflow.defn(name="ProjectWorkflow")
class ChangedProjectWorkflow(ProjectWorkflow):
    @workflow.run
    async def run(self, raw: RawValue = NO_INPUT) -> ProjectResult:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(raw)
