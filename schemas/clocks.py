"""Clock ids: built here, once, and read back here (the lifecycle and the event codec both use it).

``matter:<code>:<submission>``, ``acceptance:<code>:<submission>``,
``obligation:<code>:<kind>:<submission>``, ``enterprise:<code>:<submission>``, ``stage:<stage>``, ``process``,
``rating:<callback|fix>:<rating id>`` (a rating id is ``matter:<code>`` or ``agent:<agent>``), and
the read models' ``permit:<code>`` (a construction permit's start-by date).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from schemas.events import ClockScope

PROCESS_CLOCK_ID = "process"


def matter_clock_id(matter_code: str, submission: int) -> str:
    """The id of the decision clock of a matter's ``submission``."""
    return f"matter:{matter_code}:{submission}"


def acceptance_clock_id(matter_code: str, submission: int) -> str:
    """The id of the clock of a department's period to accept ``submission`` (行政许可法 §32's 5
    working days or the matter's own rule)."""
    return f"acceptance:{matter_code}:{submission}"


def stage_clock_id(stage: str) -> str:
    """The id of a stage's clock."""
    return f"stage:{stage}"


def obligation_clock_id(matter_code: str, obligation: str, submission: int) -> str:
    """The id of the clock of a tolerance or commitment obligation after ``submission``."""
    return f"obligation:{matter_code}:{obligation}:{submission}"


def enterprise_clock_id(matter_code: str, submission: int) -> str:
    """The id of the clock of the enterprise's own period to file ``matter_code`` (its next submission)."""
    return f"enterprise:{matter_code}:{submission}"


def rating_clock_id(kind: str, rating_id: str) -> str:
    """The id of the callback (``kind`` ``callback``) or fix (``fix``) clock of a bad rating."""
    return f"rating:{kind}:{rating_id}"


def permit_clock_id(matter_code: str) -> str:
    """The id of the read models' clock of a permit awaiting the start of construction (建筑法 §9):
    a period of the enterprise's, not a legal clock of the lifecycle's (``ProjectMachine.permit_expiry``)."""
    return f"permit:{matter_code}"


class ClockRef(NamedTuple):
    """What a clock id says about its clock; Nones for ids not built here."""

    scope: ClockScope | Literal["permit"] | None
    matter_code: str | None = None
    submission: int | None = None
    stage: str | None = None


def parse_clock_id(clock_id: str) -> ClockRef:
    """Read back an id built by the functions above."""
    kind, _, rest = clock_id.partition(":")
    if kind == "rating":
        target, _, name = rest.partition(":")[2].partition(":")
        return ClockRef("rating", name if target == "matter" and name else None)
    head, _, number = rest.rpartition(":")
    submission = int(number) if number.isdigit() else None
    if kind == "matter" and head and submission is not None:
        return ClockRef("matter", head, submission)
    if kind == "acceptance" and head and submission is not None:
        return ClockRef("acceptance", head, submission)
    if kind == "enterprise" and head and submission is not None:
        return ClockRef("enterprise", head, submission)
    if kind == "obligation" and ":" in head and submission is not None:
        return ClockRef("obligation", head.rpartition(":")[0], submission)
    if kind == "permit" and rest:
        return ClockRef("permit", rest)
    if kind == "stage" and rest:
        return ClockRef("stage", stage=rest)
    if clock_id == PROCESS_CLOCK_ID:
        return ClockRef("process")
    return ClockRef(None)
