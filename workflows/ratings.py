"""The rating updates of ``ProjectWorkflow`` (好差评: ``rate``, ``record_callback``, ``record_fix``).

A mixin of the workflow class (``workflows/project.py`` keeps its line budget): each update applies
its pure transition (``workflows.lifecycle.ratings``) through the workflow's ``_ack`` and its
validator through ``_check``, exactly like the workflow's own update pairs.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas import commands as c
    from schemas import project as p


class RatingUpdates:
    """``rate``, ``record_callback`` and ``record_fix``, each with its validator."""

    def _ack(self, name: str, cmd: BaseModel) -> p.Ack:
        raise NotImplementedError  # ProjectWorkflow's

    def _check(self, name: str, cmd: BaseModel) -> None:
        raise NotImplementedError  # ProjectWorkflow's

    @workflow.update(description=c.RATE.description)
    def rate(self, cmd: p.Rate) -> p.Ack:
        return self._ack("rate", cmd)

    @rate.validator
    def validate_rate(self, cmd: p.Rate) -> None:
        self._check("rate", cmd)

    @workflow.update(description=c.RECORD_CALLBACK.description)
    def record_callback(self, cmd: p.RecordCallback) -> p.Ack:
        return self._ack("record_callback", cmd)

    @record_callback.validator
    def validate_record_callback(self, cmd: p.RecordCallback) -> None:
        self._check("record_callback", cmd)

    @workflow.update(description=c.RECORD_FIX.description)
    def record_fix(self, cmd: p.RecordFix) -> p.Ack:
        return self._ack("record_fix", cmd)

    @record_fix.validator
    def validate_record_fix(self, cmd: p.RecordFix) -> None:
        self._check("record_fix", cmd)
