"""The project lifecycle as a pure state machine: no Temporal, no I/O, no clock of its own.

``ProjectWorkflow`` feeds it commands (updates) and the current instant, and carries out the
effects it asks for (one ``apply_batch`` activity per flush). Every state change appends a domain
event with a deterministic id (``{project_id}:{stream version}``) and the causing request id to
the outbox.

Split by concern: ``state`` (models and named state sets), ``base`` (events, effects, clocks),
``stages`` (registration, submission, approval, the stage sequence, the whole-process clock),
``acceptance`` (applications, acceptance 受理, completion notices, refusals), ``commands`` (each update's
``validate_X`` and ``X``), ``ladder`` (warnings, breaches, joint meetings), ``modes`` (handling modes
by the rules: tolerance, commitment, regional assessment, permit lapse; hooks over the others),
``views`` (what operators see), ``filings`` (filings on receipt, the enterprise's periods to file,
one joint acceptance opinion; hooks over the others), ``migration`` (an operator's move to other content
versions, every open clock recomputed), ``ratings`` (好差评: ratings, the callback and
fix clocks of a bad one). Keeping it pure means every rule is tested
without a server, replays deterministically, and the whole state crosses continue-as-new as one pydantic model.
"""

from __future__ import annotations

from workflows.lifecycle.commands import Commands
from workflows.lifecycle.filings import Filings
from workflows.lifecycle.ladder import Ladder
from workflows.lifecycle.migration import ContentLookup, Migration
from workflows.lifecycle.ratings import Ratings
from workflows.lifecycle.state import (
    Answer,
    MatterState,
    ProjectContext,
    ProjectState,
    Rejected,
    fingerprint,
    request_id_of,
)
from workflows.lifecycle.views import Views

__all__ = [
    "Answer",
    "ContentLookup",
    "MatterState",
    "ProjectContext",
    "ProjectMachine",
    "ProjectState",
    "Rejected",
    "fingerprint",
    "request_id_of",
]


class ProjectMachine(Ratings, Migration, Filings, Commands, Ladder, Views):
    """Rules of the lifecycle over a ``ProjectState`` and the content it runs under."""
