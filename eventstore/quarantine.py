"""The projector's quarantine (table ``projection_quarantine``, migration 0071), for operators.

An event the projector cannot project is recorded here with its error, and the later events of
its stream are held back behind it, until ``projector.retry_quarantined`` projects them after
the cause is fixed, or a rebuild does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from eventstore.store import Connection, Executor, StoredEvent, columns

CHECKPOINT = "read_models"  # the row of projection_checkpoints the projector owns

QuarantineReason = Literal["failed", "held_back"]


class QuarantinedEvent(BaseModel):
    """One event the projector set aside (a row of ``projection_quarantine``).

    ``reason`` is ``failed`` (projecting it raised ``error``) or ``held_back`` (an earlier event
    of its stream is quarantined; ``error`` names it). ``resolved_at`` and ``resolution``
    (``retried`` or ``rebuilt``) are set once it was projected after all.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    position: int
    event_id: str
    stream_id: str
    version: int
    event_type: str
    reason: QuarantineReason
    error: str
    attempts: int = 1
    quarantined_at: datetime | None = None
    last_attempt_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None


class RetryResult(BaseModel):
    """What ``retry_quarantined`` did: events projected now, events still quarantined."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    resolved: int
    still_quarantined: int
    errors: list[QuarantinedEvent]


# What an entry keeps of the stored event: its place in the store and its identity.
_STORED_FIELDS = {"position", "event_id", "stream_id", "version", "event_type"}


def entry(stored: StoredEvent, reason: QuarantineReason, error: str) -> QuarantinedEvent:
    """The quarantine entry of ``stored``: why it was set aside (``reason``, ``error``)."""
    return QuarantinedEvent(**stored.model_dump(include=_STORED_FIELDS), reason=reason, error=error)


def held_back(stored: StoredEvent, behind: int) -> QuarantinedEvent:
    """The entry of an event held back behind its stream's quarantined event at position ``behind``."""
    return entry(stored, "held_back", f"held back behind the quarantined event at position {behind}")


async def record_quarantine(conn: Connection, entries: Sequence[QuarantinedEvent]) -> None:
    if not entries:
        return
    # A rebuild meets events quarantined before: they are quarantined again, one more attempt.
    await conn.execute(
        """INSERT INTO projection_quarantine AS q (projection, position, event_id, stream_id,
                  version, event_type, reason, error)
           SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::int[], $6::text[],
                                    $7::text[], $8::text[])
           ON CONFLICT (projection, position) DO UPDATE SET
               reason = EXCLUDED.reason, error = EXCLUDED.error, attempts = q.attempts + 1,
               last_attempt_at = now(), resolved_at = NULL, resolution = NULL""",
        CHECKPOINT,
        *columns(entries, "position", "event_id", "stream_id", "version", "event_type", "reason", "error"),
    )


# ---- the quarantine, for operators --------------------------------------------------------------

_QUARANTINE_COLUMNS = (
    "position, event_id, stream_id, version, event_type, reason, error, attempts, quarantined_at, "
    "last_attempt_at, resolved_at, resolution"
)


async def quarantined_count(db: Executor) -> int:
    """How many events are quarantined and not resolved (0: the read models miss nothing)."""
    return int(
        await db.fetchval(
            "SELECT count(*) FROM projection_quarantine WHERE projection = $1 AND resolved_at IS NULL",
            CHECKPOINT,
        )
    )


async def list_quarantine(
    db: Executor,
    *,
    stream_id: str | None = None,
    include_resolved: bool = False,
    limit: int = 1000,
) -> list[QuarantinedEvent]:
    """Quarantined events in position order: unresolved only unless ``include_resolved``.

    ``stream_id`` keeps one project's; at most ``limit`` rows.
    """
    rows = await db.fetch(
        f"""SELECT {_QUARANTINE_COLUMNS} FROM projection_quarantine
            WHERE projection = $1 AND ($2 OR resolved_at IS NULL)
              AND ($3::text IS NULL OR stream_id = $3)
            ORDER BY position LIMIT $4""",
        CHECKPOINT,
        include_resolved,
        stream_id,
        limit,
    )
    return [QuarantinedEvent(**dict(r)) for r in rows]
