"""One flush of a project, its events and its effects, in ONE transaction (the outbox pattern).

``apply_batch`` appends the batch's events to the project's stream and writes its effects (inbox
rows, licences, outbox notifications) atomically: either all of it is stored or nothing is. Every
write is idempotent on business keys, so a retried batch writes nothing twice. Calls to other
systems (department webhooks, the messaging gateway) happen after the commit, elsewhere.
"""

from __future__ import annotations

import asyncpg
import structlog

from catalog.content import ContentVersions
from eventstore.inbox import accept_submission, close_submission, record_submission
from eventstore.licences import issue_license, revoke_license, set_license_status
from eventstore.outbox import record_notification
from eventstore.store import Connection, append_in_transaction, require_version
from eventstore.versions import record_migrated_versions
from schemas.effects import (
    AcceptSubmission,
    Batch,
    CloseSubmission,
    Effect,
    IssueLicense,
    Notify,
    RecordContentVersions,
    RevokeLicense,
    SetLicenseStatus,
    SubmitApplication,
)

log = structlog.get_logger(__name__)


async def apply_batch(db: asyncpg.Pool | Connection, batch: Batch) -> int:
    """Append ``batch``'s events and carry out its effects in one transaction; return events written.

    With a pool, a connection and a transaction of its own; with a connection, a transaction (or a
    savepoint, inside the caller's) on it.

    Raises:
        EventIdConflict, StreamVersionConflict: the events conflict with the stored stream.
        PredecessorNotStored: the stream does not hold the version before the first event, or
            ``after_version`` (an earlier batch is still on its way): may heal by waiting.
        ValueError, asyncpg.DataError, asyncpg.IntegrityConstraintViolationError: the storage
            refuses the batch's values.
    """
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await apply_batch(conn, batch)
    async with db.transaction():
        if batch.after_version and not batch.events:  # effects after a batch still on its way
            await require_version(db, batch.project_id, batch.after_version)
        written = await append_in_transaction(db, batch.events)
        for effect in batch.effects:
            await _perform(db, effect)
        return written


async def _perform(conn: Connection, effect: Effect) -> None:
    """One effect inside the batch's transaction."""
    if isinstance(effect, SubmitApplication):
        await record_submission(conn, effect)
    elif isinstance(effect, AcceptSubmission):
        await accept_submission(conn, effect)
    elif isinstance(effect, CloseSubmission):
        await close_submission(
            conn, effect.project_id, effect.matter_code, effect.submission, effect.outcome, effect.closed_at
        )
    elif isinstance(effect, IssueLicense):
        await issue_license(
            conn,
            effect.license_no,
            effect.project_id,
            effect.matter_code,
            effect.department,
            effect.enterprise,
            deemed=effect.deemed,
        )
    elif isinstance(effect, RevokeLicense):
        await revoke_license(conn, effect.license_no, effect.reason)
    elif isinstance(effect, SetLicenseStatus):
        await set_license_status(conn, effect.license_no, effect.status, effect.reason, effect.version)
    elif isinstance(effect, Notify):
        await record_notification(
            conn, effect.notification_id, effect.project_id, effect.notice, effect.recipients, effect.message, {}
        )
        log.info("notification", kind=effect.notice, recipients=effect.recipients, message=effect.message)
    elif isinstance(effect, RecordContentVersions):
        versions = ContentVersions(catalog=effect.catalog, zone=effect.zone, calendar=effect.calendar)
        await record_migrated_versions(conn, effect.project_id, versions, effect.version)
    else:  # the union is closed: a new effect kind must be handled here
        raise TypeError(f"unknown effect {effect!r}")
