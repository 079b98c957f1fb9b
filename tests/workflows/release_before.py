"""The release before this one's continue-as-new, as a worker running it would: the carried state
compressed as base64 text in ``ProjectInput.carried_zlib``. That release already read the state as
bytes in the input payload's metadata (``workflows.start``), which this one writes; everything else
is this release's code (its reading included, which that release shipped)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from schemas.project import ProjectResult
    from workflows.lifecycle import ProjectMachine
    from workflows.project import ProjectWorkflow
    from workflows.start import NO_INPUT, ProjectInput, encode_carried


@workflow.defn(name="ProjectWorkflow")
class ProjectWorkflowReleaseBefore(ProjectWorkflow):
    @workflow.run
    async def run(self, raw: RawValue = NO_INPUT) -> ProjectResult:
        return await super().run(raw)

    def _continue_as_new(self, m: ProjectMachine, inp: ProjectInput) -> None:
        nxt = ProjectInput(registration=inp.registration, carried_zlib=encode_carried(m.state))
        workflow.continue_as_new(nxt.model_copy(update={"history_limit": inp.history_limit}))
