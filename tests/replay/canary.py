"""The replay canary: ProjectWorkflow with one more timer before it starts (a breaking change)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.project import ProjectView
    from workflows.project import ProjectInput, ProjectWorkflow


@workflow.defn(name="ProjectWorkflow")
class ChangedProjectWorkflow(ProjectWorkflow):
    @workflow.run
    async def run(self, inp: ProjectInput) -> ProjectView:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(inp)
