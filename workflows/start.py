"""The project workflow's input, and its own check of the raw start it was given.

``ProjectWorkflow`` takes its input as a raw payload (``temporalio.common.RawValue``) and decodes it
here, so a start through another SDK or the ``temporal`` CLI with an unknown field, a missing field,
a bare string, a bogus ``carried`` state or a ``history_limit`` out of bounds fails the workflow at
once with the field errors (``ApplicationError`` of type ``InvalidInput``, non-retryable) instead of
failing every workflow task forever. A start whose workflow id is not ``project-{project_id}`` is
refused the same way (type ``InvalidWorkflowId``): it may not take over another project's stream.

Since patch ``carried-apart`` a run continues as new with its carried state compressed
(``ProjectInput.carried_zlib``, ``encode_carried``): what a person sees as the input in the UI is
the registration and an opaque string, and each continue-as-new, which writes the input twice to
history (its event and the next run's start), writes a third of the bytes. Runs continued before
the patch carry it readable in ``ProjectInput.carried``, still read.

Since this release a run continues as new with its state as bytes in the input payload's metadata
(``CARRIED_METADATA``: ``encode_carried_bytes``, bytes rather than base64 text, a quarter fewer;
``continued_input`` builds such an input), and the JSON a person sees is the registration alone.
The release before already read that form and still wrote ``carried_zlib``: a worker of an older
release would take a run continued this way for a new registration (it knows no carried state but
``carried`` and ``carried_zlib``), so the reading shipped a release ahead of the writing (expand,
then contract) and a rollout starts from the release before (README, "Upgrading running
projects"). Every form ever written is still read.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer
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


# A carried state inflates to at most this many bytes (the largest seen is about 100 KB).
CARRIED_MAX_BYTES = 8 * 1024 * 1024
# The input payload's metadata key that may hold the compressed carried state (``encode_carried_bytes``),
# set only by continue-as-new (written since this release: module docstring).
CARRIED_METADATA = "daiban-carried-zlib"


class ProjectInput(OnlyWhatIsSet):
    """Start a project (``registration``) or continue one (``carried`` or ``carried_zlib``, set by
    continue-as-new)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    registration: p.RegisterProject
    carried: ProjectState | None = None
    # Since patch ``carried-apart``: the carried state as ``encode_carried`` writes it; decoded into
    # ``carried`` by ``decode_start`` (base64, at most ``CARRIED_MAX_BYTES`` once inflated).
    carried_zlib: str | None = Field(default=None, max_length=CARRIED_MAX_BYTES)
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


def encode_carried_bytes(state: ProjectState) -> bytes:
    """The carried state as ``continued_input`` carries it: the JSON ``ProjectInput`` writes for
    ``carried`` (defaults left out), zlib-compressed (level 6)."""
    data = ProjectInput(registration=state.registration, carried=state).model_dump_json(include={"carried"})
    return zlib.compress(data.encode("utf-8"), 6)


def encode_carried(state: ProjectState) -> str:
    """The carried state for ``ProjectInput.carried_zlib`` (patch ``carried-apart``):
    ``encode_carried_bytes`` in base64 (standard alphabet)."""
    return base64.b64encode(encode_carried_bytes(state)).decode("ascii")


def continued_input(payload: Payload, state: ProjectState) -> RawValue:
    """A continued run's input as ``ProjectWorkflow`` writes it since this release (module
    docstring): ``payload``, the JSON of a ``ProjectInput`` without a carried state as the data
    converter wrote it, with ``state`` compressed in its metadata under ``CARRIED_METADATA``
    (``decode_start`` reads it back)."""
    carried = Payload()
    carried.CopyFrom(payload)
    carried.metadata[CARRIED_METADATA] = encode_carried_bytes(state)
    return RawValue(carried)


def decode_carried(text: str) -> tuple[ProjectState | None, list[dict[str, Any]]]:
    """The state ``encode_carried`` wrote in ``text``, and the field errors (``loc`` starting with
    ``carried``) of one that does not decode. Read as a continued run's (``schemas.bounded.KEPT``:
    types and lengths checked, newer rules not)."""
    try:
        packed = base64.b64decode(text, validate=True)
    except ValueError as exc:
        return None, [{"loc": ["carried_zlib"], "msg": f"not a compressed carried state: {exc}", "type": "encoding"}]
    return decode_carried_bytes(packed, "carried_zlib")


def decode_carried_bytes(packed: bytes, field: str = "carried") -> tuple[ProjectState | None, list[dict[str, Any]]]:
    """The state ``encode_carried_bytes`` wrote in ``packed``, and the field errors of one that does
    not decode (``field``: where a bad stream is located). Read as ``decode_carried`` reads."""
    try:
        inflate = zlib.decompressobj()
        data = inflate.decompress(packed, CARRIED_MAX_BYTES)
        if inflate.unconsumed_tail or not inflate.eof:
            raise zlib.error(f"not one zlib stream of at most {CARRIED_MAX_BYTES} bytes")
    except zlib.error as exc:
        return None, [{"loc": [field], "msg": f"not a compressed carried state: {exc}", "type": "encoding"}]
    try:
        return _Carried.model_validate_json(data, context={KEPT: True}).carried, []
    except ValidationError as exc:
        return None, field_errors(exc)


class _Carried(BaseModel):
    """``encode_carried``'s JSON, ``{"carried": ...}``: its field errors are located at ``carried``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    carried: ProjectState


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
    """``decode_input``, with the carried state (``carried_zlib``, or the payload's
    ``CARRIED_METADATA``) decoded into ``carried``; a carried state only in a run continued as new
    (``continued``), and in one place only."""
    inp, errors = decode_input(raw, kept=continued)
    if inp is None:
        return inp, errors
    packed = raw.payload.metadata.get(CARRIED_METADATA)
    places = (("carried", inp.carried), ("carried_zlib", inp.carried_zlib), (CARRIED_METADATA, packed))
    given = [field for field, value in places if value is not None]
    if given and not continued:
        return None, [{"loc": [given[0]], "msg": "set only by continue-as-new, never by a start", "type": "forbidden"}]
    if len(given) > 1:
        return None, [{"loc": ["carried"], "msg": f"carried twice ({' and '.join(given)})", "type": "forbidden"}]
    if packed is not None:
        state, errors = decode_carried_bytes(packed, CARRIED_METADATA)
    elif inp.carried_zlib is not None:
        state, errors = decode_carried(inp.carried_zlib)
    else:  # a registration, or a run continued before patch carried-apart (``carried`` as it is)
        return inp, errors
    if state is None:
        return None, errors
    return inp.model_copy(update={"carried": state, "carried_zlib": None}), errors


def refuse(errors: list[dict[str, Any]]) -> ApplicationError:
    """The non-retryable failure of a start with ``errors``; the message lists them by field."""
    listed = "; ".join(f"{'.'.join(e['loc']) or 'input'}: {e['msg']}" for e in errors[:20])
    return ApplicationError(f"invalid start input: {listed}", errors, type=INVALID_INPUT, non_retryable=True)


class CarriedStateUnreadable(RuntimeError):
    """A run continued as new whose input (its carried state) this worker cannot read. Not an
    ``ApplicationError``: raised in a workflow, it fails the workflow task, which Temporal retries
    (the run waits for a worker that reads it), never the run."""


def unreadable(errors: list[dict[str, Any]]) -> CarriedStateUnreadable:
    """The workflow task failure of a continued run whose input does not decode (``errors`` by field)."""
    listed = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'input'}: {e['msg']}" for e in errors[:20])
    return CarriedStateUnreadable(
        f"this worker cannot read the state the project's previous run carried ({listed}); it was written "
        "by another release of daiban: run that release's workers (or a later one) to go on"
    )


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
