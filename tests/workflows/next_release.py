"""A release after this one, as far as continue-as-new goes: it carries one more field in the
project's state (``next_rule``, as a release adding a rule version does), which this release
cannot read; everything else is this release's code. It reads its own form back.

``ProjectWorkflowHandingOver`` is that release continuing a project as new at once, onto the task
queue ``handover_queue(queue)``: a test lets this release's worker alone poll it, so the continued
run's first workflow task reaches a worker that cannot read its input (a rollback right after)."""

from __future__ import annotations

import json
import zlib

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from schemas.project import ProjectResult
    from workflows.lifecycle import ProjectMachine
    from workflows.project import ProjectWorkflow
    from workflows.start import CARRIED_METADATA, NO_INPUT, ProjectInput, continued_input

NEXT_FIELD = "next_rule"


def _recarried(packed: bytes, *, add: bool) -> bytes:
    data = json.loads(zlib.decompress(packed))
    if add:
        data["carried"][NEXT_FIELD] = 2
    else:
        data["carried"].pop(NEXT_FIELD, None)
    return zlib.compress(json.dumps(data).encode("utf-8"), 6)


@workflow.defn(name="ProjectWorkflow")
class ProjectWorkflowNextRelease(ProjectWorkflow):
    @workflow.init
    def __init__(self, raw: RawValue = NO_INPUT) -> None:
        packed = raw.payload.metadata.get(CARRIED_METADATA)
        if packed is not None:
            payload = Payload()
            payload.CopyFrom(raw.payload)
            payload.metadata[CARRIED_METADATA] = _recarried(packed, add=False)
            raw = RawValue(payload)
        super().__init__(raw)

    @workflow.run
    async def run(self, raw: RawValue = NO_INPUT) -> ProjectResult:
        return await super().run(raw)

    def _continue_as_new(self, m: ProjectMachine, inp: ProjectInput) -> None:
        nxt = ProjectInput(registration=inp.registration, history_limit=inp.history_limit)
        raw = continued_input(workflow.payload_converter().to_payload(nxt), m.state)
        raw.payload.metadata[CARRIED_METADATA] = _recarried(raw.payload.metadata[CARRIED_METADATA], add=True)
        workflow.continue_as_new(raw, task_queue=self._next_queue())

    def _next_queue(self) -> str | None:
        return None


def handover_queue(queue: str) -> str:
    return f"{queue}-handover"


@workflow.defn(name="ProjectWorkflow")
class ProjectWorkflowHandingOver(ProjectWorkflowNextRelease):
    @workflow.init
    def __init__(self, raw: RawValue = NO_INPUT) -> None:
        super().__init__(raw)

    @workflow.run
    async def run(self, raw: RawValue = NO_INPUT) -> ProjectResult:
        return await super().run(raw)

    def _continue_as_new_due(self) -> bool:
        return workflow.info().continued_run_id is None or super()._continue_as_new_due()

    def _next_queue(self) -> str | None:
        info = workflow.info()
        return handover_queue(info.task_queue) if info.continued_run_id is None else None
