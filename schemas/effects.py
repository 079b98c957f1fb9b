"""Work the lifecycle asks of the outside world, typed: what crosses from workflow to activity.

The pure lifecycle appends effects to its outbox; the workflow hands each flush's effects and
events to one activity, ``apply_batch``, which carries them out in one PostgreSQL transaction (the
transactional outbox pattern). Every effect is a frozen model with a ``kind`` literal, so an
unknown kind fails validation instead of becoming something else, and datetimes stay datetimes.

Idempotency keys come from business keys (project, matter, submission, event id), never random,
so a retried batch writes nothing twice.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from schemas.base import Frozen
from schemas.events import EventEnvelope


class _Effect(Frozen):
    project_id: str


class SubmitApplication(_Effect):
    """File an application in the department's inbox (and its webhook, if it has one)."""

    kind: Literal["submit"] = "submit"
    matter_code: str
    submission: int
    department: str
    payload: dict[str, Any]
    submitted_at: datetime
    # ``acceptance``: received, for the department to accept within its period to accept (行政许可法
    # §32: 5 working days, or the matter's own rule);
    # ``decision``: accepted (or submitted before the acceptance step), for it to decide.
    phase: Literal["acceptance", "decision"] = "decision"


class AcceptSubmission(_Effect):
    """An inbox row's application was accepted (受理): it moves from "to accept" to "to decide"."""

    kind: Literal["accept_submission"] = "accept_submission"
    matter_code: str
    submission: int
    accepted_at: datetime
    deadline: datetime | None


class CloseSubmission(_Effect):
    """Take a decided or withdrawn application out of the department's open inbox."""

    kind: Literal["close_submission"] = "close_submission"
    matter_code: str
    submission: int
    outcome: str
    closed_at: datetime


class IssueLicense(_Effect):
    """Record an e-licence (电子证照); its number is computed by the lifecycle (``license_number``)."""

    kind: Literal["issue_license"] = "issue_license"
    license_no: str
    matter_code: str
    department: str
    enterprise: str
    submission: int
    # Minted on deemed approval (超时默认): no department signed it (the licence record says so).
    deemed: bool = False


class RevokeLicense(_Effect):
    """Mark an e-licence revoked (a failed commitment verification)."""

    kind: Literal["revoke_license"] = "revoke_license"
    license_no: str
    reason: str


class SetLicenseStatus(_Effect):
    """Set an e-licence's status (valid, suspended, lapsed); ``version`` orders the changes.

    ``version`` is the stream version of the ``LicenseStatusChanged`` event that caused it: a
    batch applied again after a later one never turns the status back.
    """

    kind: Literal["license_status"] = "license_status"
    license_no: str
    status: Literal["valid", "suspended", "lapsed"]
    reason: str
    version: int


class Notify(_Effect):
    """A notification for the outbox; the sender delivers it to the zone's messaging gateway."""

    kind: Literal["notify"] = "notify"
    notification_id: str
    notice: str
    recipients: list[str]
    message: str


class RecordContentVersions(_Effect):
    """A migrated project's content versions (``project_content_versions``): its licences are then
    issued under the new zone policy, and ``daiban zone load --dry-run`` shows the new versions."""

    kind: Literal["content_versions"] = "content_versions"
    catalog: str
    zone: str
    calendar: str
    # The stream version of the ``ContentMigrated`` event: orders migrations (a batch applied again).
    version: int


Effect = Annotated[
    SubmitApplication
    | AcceptSubmission
    | CloseSubmission
    | IssueLicense
    | RevokeLicense
    | SetLicenseStatus
    | Notify
    | RecordContentVersions,
    Field(discriminator="kind"),
]


class Batch(Frozen):
    """One flush of a project: effects and events, applied in one transaction by ``apply_batch``.

    ``events`` are appended to the project's stream (idempotent on event id); ``effects`` are
    written to the inbox, licence and outbox tables (idempotent on their business keys).

    On the wire (the activity's input in history) each event leaves out what the batch implies:
    ``stream_id`` and its payload's ``project_id`` when both are the project's, ``event_id`` when
    it is ``{stream_id}:{version}``, and ``occurred_at`` and
    ``causation_id`` when they are the previous event's (a flush's events share them); each effect
    leaves out its ``project_id`` when it is the project's (and then a licence's ``license_no``
    when it is ``license_number``'s). Read back (``events_filled_in``), they are filled in again; a
    full envelope or effect reads as before.
    """

    project_id: str
    events: list[EventEnvelope] = []
    effects: list[Effect] = []
    # True: the workflow sends the applications to department systems itself, from the adapters'
    # task queue (``deliver_applications``); ``apply_batch`` calls no webhook.
    adapters_apart: bool = False
    # The stream version that must be stored before this batch (0: none). Since patch
    # ``lean-batches`` a batch carries only what follows the batches in flight before it; one with
    # events waits for its first event's predecessor, one with effects only for this version.
    after_version: int = Field(default=0, ge=0)

    @model_serializer(mode="wrap")
    def _without_what_the_batch_implies(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        pid = self.project_id
        previous: dict[str, Any] = {}
        lean = []
        for full in data.get("events", []):
            e = dict(full)
            payload = e.get("payload")
            # The stream is left out only with the payload's project id: read back, both are the project's.
            if e.get("stream_id") == pid and isinstance(payload, dict) and payload.get("project_id") == pid:
                del e["stream_id"]
                e["payload"] = {k: v for k, v in payload.items() if k != "project_id"}
                if e.get("event_id") == f"{pid}:{e['version']}":
                    del e["event_id"]
            for key in ("occurred_at", "causation_id"):
                if previous and key in e and e[key] == previous.get(key):
                    del e[key]
            previous = full
            lean.append(e)
        if "events" in data:
            data["events"] = lean
        effects = []
        for full in data.get("effects", []):
            f = dict(full)
            if f.get("project_id") == pid:
                del f["project_id"]
                if f.get("kind") == "issue_license" and f.get("license_no") == license_number(
                    pid, f["matter_code"], f["submission"]
                ):
                    del f["license_no"]
            effects.append(f)
        if "effects" in data:
            data["effects"] = effects
        return data

    @model_validator(mode="before")
    @classmethod
    def _events_with_what_the_batch_implies(cls, data: Any) -> Any:
        return events_filled_in(data)

    def summary(self) -> str:
        """What the batch does, in one line for the Temporal UI's activity summary."""
        parts: list[str] = []
        kinds: dict[str, int] = {}
        for e in self.effects:
            kinds[e.kind] = kinds.get(e.kind, 0) + 1
        parts += [f"{n} {k}" for k, n in sorted(kinds.items())]
        if self.events:
            types = sorted({e.event_type for e in self.events})
            shown = ", ".join(types[:4]) + (f" +{len(types) - 4}" if len(types) > 4 else "")
            parts.append(f"{len(self.events)} events ({shown})")
        return "; ".join(parts) or "nothing"


def events_filled_in(data: Any) -> Any:
    """A batch's data (a dict, as read from the wire) with each event's and effect's left-out
    fields filled in (``Batch``: an event's ``stream_id`` and its payload's ``project_id`` the
    project's; ``event_id`` ``{stream_id}:{version}``; ``occurred_at`` and ``causation_id``
    the previous event's; an effect's ``project_id`` the project's, and then a licence's
    ``license_no`` ``license_number``'s); anything else unchanged."""
    if not isinstance(data, dict):
        return data
    pid = data.get("project_id")
    out = dict(data)
    if isinstance(data.get("events"), list):
        previous: dict[str, Any] = {}
        events: list[Any] = []
        for e in data["events"]:
            if isinstance(e, dict):
                e = dict(e)
                if "stream_id" not in e:
                    e["stream_id"] = pid
                    if isinstance(e.get("payload"), dict) and "project_id" not in e["payload"]:
                        e["payload"] = {"project_id": pid, **e["payload"]}
                if "version" in e:
                    e.setdefault("event_id", f"{e['stream_id']}:{e['version']}")
                for key in ("occurred_at", "causation_id"):
                    if key not in e and key in previous:
                        e[key] = previous[key]
                previous = e
            events.append(e)
        out["events"] = events
    if isinstance(data.get("effects"), list):
        effects: list[Any] = []
        for f in data["effects"]:
            if isinstance(f, dict) and "project_id" not in f:
                f = {"project_id": pid, **f}
                if f.get("kind") == "issue_license" and "license_no" not in f and isinstance(pid, str):
                    f["license_no"] = license_number(pid, str(f.get("matter_code")), int(f.get("submission", 0)))
            effects.append(f)
        out["effects"] = effects
    return out


def license_number(project_id: str, matter_code: str, submission: int) -> str:
    """A deterministic e-licence number: the same approval always gets the same number."""
    digest = hashlib.sha256(f"{project_id}/{matter_code}/{submission}".encode()).hexdigest()[:10].upper()
    return f"DZZZ-{matter_code.upper()[:12]}-{digest}"
