"""The project's commands: one table that the typed client, the gateway, the CLI and the contracts read.

A command is an update of ``ProjectWorkflow``, and its ``name`` is the update's name in every
layer: the client's method (``DaibanClient.supply_materials``), the gateway's route (``POST
/projects/{id}/supply-materials``), the CLI's verb (``project supply-materials``) and the contract
files (``update.supply_materials.input.json``). Each row names the update's input model
(``request``), its result (``answer``) and whether a department signs it (``signed``: ``decide``,
``verify`` and ``extend_permit``, idempotent on their ``decision_id`` and answered with a ``DecisionResult``); the
others are agents' and operators' commands, idempotent on their ``request_id`` and answered with
an ``Ack``. ``_DESCRIPTIONS`` holds each update's description (the gateway documents its routes
with it).

``tests/interfaces/test_commands.py`` checks that the table and the workflow's updates agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from schemas import project as p

Req = TypeVar("Req", bound=BaseModel)
Ans = TypeVar("Ans", bound=BaseModel)


@dataclass(frozen=True)
class Command(Generic[Req, Ans]):
    """One update of ``ProjectWorkflow``: its name, input model, result model and description."""

    name: str
    request: type[Req]
    answer: type[Ans]
    # Sent by a department, signed (the gateway checks the envelope), idempotent on ``decision_id``.
    signed: bool = False

    @property
    def description(self) -> str:
        """What the command does, as the workflow's update declares it."""
        return _DESCRIPTIONS[self.name]

    @property
    def dashed(self) -> str:
        """The name with dashes: the CLI's verb and the last part of the gateway's path."""
        return self.name.replace("_", "-")


# The update's descriptions, as the workflow declares them (the gateway's route documentation).
_DESCRIPTIONS = {
    "decide": (
        "A department accepts a received application, notifies once what is missing or refuses it "
        "(accept, request_completion, refuse), or decides an accepted one (approve, reject, correction, "
        "tolerance, commitment); a repeated decision id gets the first answer."
    ),
    "verify": (
        "The department's after-the-fact verification of a commitment-based approval; "
        "a failure revokes and reopens the matter."
    ),
    "submit_application": (
        "The agent applies for a matter with its materials (and the signed commitment of a commitment "
        "matter); the department has its period to accept it (行政许可法 §32: 5 working days unless the "
        "matter's own rule sets another)."
    ),
    "supply_materials": (
        "The agent completes an application after a completion notice, supplies correction materials, or "
        "secondary materials owed under tolerance."
    ),
    "resubmit": "The agent applies again for a rejected matter (received for acceptance, or its clock starts again).",
    "stop_clock": "The department stops a matter's clock for expert review, a hearing, testing or public notice.",
    "resume_clock": "The department restarts a stopped clock.",
    "extend_limit": "Extend a matter's limit once, naming who approved it and why.",
    "reassign_agent": "Hand the project to the backup agent (AB岗) or a new agent.",
    "report_progress": "Construction progress in percent; 100 opens the joint completion acceptance.",
    "resolve_meeting": "Record the resolution of a joint meeting (联席会议).",
    "withdraw": "Withdraw the project; open matters are closed.",
    "confirm_deadline": (
        "An operator confirms a provisional deadline (a year without the official notice), so the "
        "deemed approval held on it is taken."
    ),
    "extend_permit": (
        "The issuing department extends a permit whose construction has not started, applied for before "
        "expiry: at most twice, 3 months each (建筑法 §9)."
    ),
    "retry_faulted": "After a fault (storage refused a batch) is repaired: try the batch again.",
    "adopt_calendar": (
        "A newly loaded official calendar (content version) for a running project: its open deadlines "
        "recompute; refused for a version no worker holds yet or one that drops an official year."
    ),
    "migrate_content": (
        "An operator moves a running project to another version of its zone's policy and/or the catalog; "
        "every open clock is recomputed from it (refused when the project's checklist or zone would change)."
    ),
    "rate": (
        "The enterprise rates a decided matter's handling or the agent's service (好差评: very_good ... "
        "very_bad), once per service; a bad rating opens a callback and a fix clock (国办发〔2019〕51号)."
    ),
    "record_callback": "The rated matter's department or the project lead records the callback (回访) on a bad rating.",
    "record_fix": "The rated matter's department or the project lead records the fix (整改) of a bad rating.",
}

DECIDE = Command("decide", p.Decision, p.DecisionResult, signed=True)
VERIFY = Command("verify", p.Verification, p.DecisionResult, signed=True)
SUBMIT_APPLICATION = Command("submit_application", p.SubmitApplication, p.Ack)
SUPPLY_MATERIALS = Command("supply_materials", p.SupplyMaterials, p.Ack)
RESUBMIT = Command("resubmit", p.Resubmit, p.Ack)
STOP_CLOCK = Command("stop_clock", p.StopClock, p.Ack)
RESUME_CLOCK = Command("resume_clock", p.ResumeClock, p.Ack)
EXTEND_LIMIT = Command("extend_limit", p.ExtendLimit, p.Ack)
REASSIGN_AGENT = Command("reassign_agent", p.ReassignAgent, p.Ack)
REPORT_PROGRESS = Command("report_progress", p.ProgressReport, p.Ack)
RESOLVE_MEETING = Command("resolve_meeting", p.ResolveMeeting, p.Ack)
WITHDRAW = Command("withdraw", p.Withdraw, p.Ack)
CONFIRM_DEADLINE = Command("confirm_deadline", p.ConfirmDeadline, p.Ack)
RETRY_FAULTED = Command("retry_faulted", p.RetryFaulted, p.Ack)
EXTEND_PERMIT = Command("extend_permit", p.PermitExtension, p.DecisionResult, signed=True)
MIGRATE_CONTENT = Command("migrate_content", p.MigrateContent, p.Ack)
ADOPT_CALENDAR = Command("adopt_calendar", p.AdoptCalendar, p.Ack)
RATE = Command("rate", p.Rate, p.Ack)
RECORD_CALLBACK = Command("record_callback", p.RecordCallback, p.Ack)
RECORD_FIX = Command("record_fix", p.RecordFix, p.Ack)

# Every command, in the order of the workflow's contract.
ALL: tuple[Command[Any, Any], ...] = (
    DECIDE,
    VERIFY,
    SUBMIT_APPLICATION,
    SUPPLY_MATERIALS,
    RESUBMIT,
    STOP_CLOCK,
    RESUME_CLOCK,
    EXTEND_LIMIT,
    REASSIGN_AGENT,
    REPORT_PROGRESS,
    RESOLVE_MEETING,
    WITHDRAW,
    CONFIRM_DEADLINE,
    RETRY_FAULTED,
    EXTEND_PERMIT,
    MIGRATE_CONTENT,
    ADOPT_CALENDAR,
    RATE,
    RECORD_CALLBACK,
    RECORD_FIX,
)
BY_NAME: dict[str, Command[Any, Any]] = {c.name: c for c in ALL}
