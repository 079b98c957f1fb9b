"""The one mapper between the lifecycle's domain events (``schemas.events``) and the store's rows.

``to_envelope`` turns a domain event into the ``EventEnvelope`` the store appends (the workflow
builds the same envelope); ``to_domain`` reads a stored row back as its domain event.

Clock ids. Clock events (``ClockStopped``, ``ClockResumed``, ``LimitExtended``, ``DeadlineWarned``,
``DeadlineBreached``, ``EscalatedToLead``, ``JointMeetingConvened``) name their clock by id, while
``MatterSubmitted`` (and ``ApplicationAccepted``), ``ApplicationReceived``, ``StageStarted`` and
``ObligationOpened`` open a clock without naming it. The
read models join the two through the ids built here, which are the ones the lifecycle (``workflows/lifecycle``)
uses (``matter:<code>:<submission>``, ``acceptance:<code>:<submission>``, ``obligation:<code>:<kind>:<submission>``,
``stage:<stage>``, ``process``): a change there must be made here too. Any other id is kept as a
project-level clock.
"""

from __future__ import annotations

from datetime import datetime

from schemas.clocks import (  # re-exported: the one place clock ids are built and read
    PROCESS_CLOCK_ID,
    ClockRef,
    acceptance_clock_id,
    matter_clock_id,
    obligation_clock_id,
    parse_clock_id,
    permit_clock_id,
    stage_clock_id,
)
from schemas.events import EVENT_TYPES, DomainEvent, EventEnvelope


def to_envelope(
    stream_id: str,
    version: int,
    event_id: str,
    occurred_at: datetime,
    event: DomainEvent,
    causation_id: str | None = None,
) -> EventEnvelope:
    """The row for ``event``: its class name is the type, its JSON dump the payload.

    Raises:
        ValueError: ``event`` is about another project than the stream's.
    """
    if event.project_id != stream_id:
        raise ValueError(f"event of project {event.project_id} cannot go to stream {stream_id}")
    return EventEnvelope(
        event_id=event_id,
        stream_id=stream_id,
        version=version,
        event_type=type(event).__name__,
        occurred_at=occurred_at,
        payload=event.model_dump(mode="json"),
        causation_id=causation_id,
    )


def to_domain(event: EventEnvelope) -> DomainEvent | None:
    """The domain event a row holds, or None for a type this version of daiban does not know.

    Raises:
        pydantic.ValidationError: the payload does not fit its type (the vocabulary changed
            without an upcaster).
    """
    cls = EVENT_TYPES.get(event.event_type)
    return None if cls is None else cls.model_validate(event.payload)


__all__ = [
    "PROCESS_CLOCK_ID",
    "ClockRef",
    "acceptance_clock_id",
    "matter_clock_id",
    "obligation_clock_id",
    "parse_clock_id",
    "permit_clock_id",
    "stage_clock_id",
    "to_domain",
    "to_envelope",
]
