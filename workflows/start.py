"""The project workflow's input, and its own check of the raw start it was given.

``ProjectWorkflow`` takes its input as a raw payload (``temporalio.common.RawValue``) and decodes it
here, so a start through another SDK or the ``temporal`` CLI with an unknown field, a missing field,
a bare string, a bogus ``carried`` state or a ``history_limit`` out of bounds fails the workflow at
once with the field errors (``ApplicationError`` of type ``InvalidInput``, non-retryable) instead of
failing every workflow task forever. A start whose workflow id is not ``project-{project_id}`` is
refused the same way (type ``InvalidWorkflowId``): it may not take over another project's stream.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, ValidationError, field_serializer
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from schemas import project as p
from schemas.activities import UNKNOWN_ZONE
from schemas.bounded import KEPT
from workflows.lifecycle import ProjectState
from workflows.pipeline import OnlyWhatIsSet

INVALID_INPUT = "InvalidInput"
INVALID_WORKFLOW_ID = "InvalidWorkflowId"
# The failures of a start refused before the project registered anything: its id may be registered again.
# (``UnknownZone``: ``schemas.activities.UNKNOWN_ZONE``, refused by the activity before registering.)
START_REFUSALS = frozenset({INVALID_INPUT, INVALID_WORKFLOW_ID, UNKNOWN_ZONE})
# Patch: the raw start input is checked and a bad one fails the workflow at once (before: the task
# failed on decoding, forever).
CHECKED_START = "checked-start"


class ProjectInput(OnlyWhatIsSet):
    """Start a project (``registration``) or continue one (``carried``, set by continue-as-new)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    registration: p.RegisterProject
    carried: ProjectState | None = None
    # Continue-as-new once history holds this many events (the server also suggests it); None:
    # ``SHORT_RUN_EVENTS`` (2,000 for runs started before patch ``short-runs``).
    history_limit: int | None = Field(default=None, ge=100, le=40_000, strict=True)

    @field_serializer("carried")
    def _carried_without_defaults(self, carried: ProjectState | None) -> dict[str, Any] | None:
        """The carried state without the fields at their defaults: read back the same (each has its
        default), and each continue-as-new writes it twice to history (its event, the next run's start)."""
        if carried is None:
            return None
        lean: dict[str, Any] = carried.model_dump(mode="json", exclude_defaults=True, exclude={"effects"})
        if carried.effects:  # whole: an effect's ``kind`` (its default) tells its type
            lean["effects"] = carried.model_dump(mode="json", include={"effects"})["effects"]
        return lean


# What a start without any argument decodes to (the SDK passes no payload at all).
NO_INPUT = RawValue(Payload())


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors as plain data: ``loc`` (the field's path), ``msg``, ``type``."""
    return [
        {"loc": [str(x) for x in e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]


def decode_input(raw: RawValue, *, kept: bool = False) -> tuple[ProjectInput | None, list[dict[str, Any]]]:
    """The start input in ``raw`` (JSON, as every SDK encodes it) and the field errors, if any.

    ``kept``: the input of a run continued as new, whose registration was accepted before today's
    rules (``schemas.bounded.KEPT``): types and lengths are checked, the newer rules are not.
    """
    payload = raw.payload
    if not payload.metadata and not payload.data:
        return None, [{"loc": [], "msg": "the start has no input (a ProjectInput is required)", "type": "missing"}]
    encoding = payload.metadata.get("encoding", b"").decode("utf-8", "replace")
    if encoding != "json/plain":
        return None, [
            {"loc": [], "msg": f"the input must be JSON (encoding json/plain), not {encoding!r}", "type": "encoding"}
        ]
    try:
        return ProjectInput.model_validate_json(payload.data, context={KEPT: kept}), []
    except ValidationError as exc:
        return None, field_errors(exc)


def decode_start(raw: RawValue, continued: bool) -> tuple[ProjectInput | None, list[dict[str, Any]]]:
    """``decode_input``, and ``carried`` only in a run continued as new (``continued``)."""
    inp, errors = decode_input(raw, kept=continued)
    if inp is not None and inp.carried is not None and not continued:
        errors = [{"loc": ["carried"], "msg": "set only by continue-as-new, never by a start", "type": "forbidden"}]
    return inp, errors


def refuse(errors: list[dict[str, Any]]) -> ApplicationError:
    """The non-retryable failure of a start with ``errors``; the message lists them by field."""
    listed = "; ".join(f"{'.'.join(e['loc']) or 'input'}: {e['msg']}" for e in errors[:20])
    return ApplicationError(f"invalid start input: {listed}", errors, type=INVALID_INPUT, non_retryable=True)


def refuse_workflow_id(workflow_id: str, inp: ProjectInput) -> ApplicationError | None:
    """The failure of a start whose workflow id is not its project's, or None."""
    expected = p.workflow_id_for(inp.registration.project_id)
    if workflow_id == expected:
        return None
    return ApplicationError(
        f"workflow id must be {expected!r} for project {inp.registration.project_id!r}, not {workflow_id!r}",
        type=INVALID_WORKFLOW_ID,
        non_retryable=True,
    )
