"""The next release's continue-as-new, as a worker running it would: the carried state as bytes in
the input payload's metadata (patch ``carried-binary``, ``workflows.start``), which this release
reads but does not write yet (a worker of the release before would take such a run for a new
registration). Everything else is this release's code."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from schemas.project import ProjectResult
    from workflows.lifecycle import ProjectMachine
    from workflows.project import ProjectWorkflow
    from workflows.start import NO_INPUT, ProjectInput, continued_input


@workflow.defn(name="ProjectWorkflow")
class ProjectWorkflowNextRelease(ProjectWorkflow):
    @workflow.run
    async def run(self, raw: RawValue = NO_INPUT) -> ProjectResult:
        return await super().run(raw)

    def _continue_as_new(self, m: ProjectMachine, inp: ProjectInput) -> None:
        nxt = ProjectInput(registration=inp.registration, history_limit=inp.history_limit)
        workflow.continue_as_new(continued_input(workflow.payload_converter().to_payload(nxt), m.state))
