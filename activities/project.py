"""Activities of the project workflow: every side effect, each idempotent (at-least-once safe).

- ``resolve_versions``: the content versions (catalog, zone policy, calendar in force) a new
  project registers under, loaded into this worker's registry.
- ``apply_batch``: one flush of a project, its events and effects, in ONE PostgreSQL transaction
  (the transactional outbox); department webhooks are called after the commit.
- ``record_fault``: a batch the storage refuses for good is recorded for operators (table
  ``project_faults``, an outbox notification, a metric) instead of being retried forever.

Failures are classified: what cannot heal by retrying (a value PostgreSQL refuses, an event that
conflicts with the stored stream, an unknown zone) raises ``ApplicationError(non_retryable=True)``
with a type from ``NON_RETRYABLE``; connection trouble is retried (visible in the UI as a pending
activity with its last error, and in the SDK's failure metrics).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.calendars import current_calendar
from activities.content import store_versions
from activities.http import post_json
from catalog.content import REGISTRY, ContentVersions
from catalog.load import default_catalog, default_zones
from eventstore.queries import close_submission, record_notification, record_submission
from eventstore.store import EventIdConflict, NewEvent, StreamVersionConflict, append_in_transaction
from schemas.activities import (
    APPLY_BATCH,
    EVENT_CONFLICT,
    RECORD_FAULT,
    RESOLVE_VERSIONS,
    STORAGE_REFUSED,
    UNKNOWN_ZONE,
    FaultReport,
    ResolveVersions,
)
from schemas.effects import Batch, CloseSubmission, IssueLicense, Notify, RevokeLicense, SubmitApplication

log = structlog.get_logger(__name__)

T = TypeVar("T")


def _text(value: str, limit: int = 2_000) -> str:
    """Text PostgreSQL can store: no NUL characters, bounded."""
    return value.replace("\x00", "\\u0000")[:limit]


async def _classified(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work``, turning failures that cannot heal into non-retryable ``ApplicationError``s."""
    try:
        return await work()
    except (EventIdConflict, StreamVersionConflict) as exc:
        raise ApplicationError(_text(str(exc)), type=EVENT_CONFLICT, non_retryable=True) from exc
    except (ValueError, asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
        raise ApplicationError(_text(f"{type(exc).__name__}: {exc}"), type=STORAGE_REFUSED, non_retryable=True) from exc


class ProjectActivities:
    """Holds the process's one asyncpg pool and the department webhooks."""

    def __init__(self, pool: asyncpg.Pool, webhooks: dict[str, str] | None = None) -> None:
        self.pool = pool
        self.webhooks = webhooks or {}

    @activity.defn(name=RESOLVE_VERSIONS)
    async def resolve_versions(self, inp: ResolveVersions) -> ContentVersions:
        """The content versions a new project registers under; this worker's registry has them.

        Raises:
            ApplicationError(UnknownZone, non-retryable): no such zone.
        """
        zone = default_zones().get(inp.zone)
        if zone is None:
            raise ApplicationError(
                f"zone: unknown zone {inp.zone!r}; known: {', '.join(sorted(default_zones()))}",
                type=UNKNOWN_ZONE,
                non_retryable=True,
            )
        calendar, catalog = await current_calendar(self.pool), default_catalog()
        versions = ContentVersions(
            catalog=REGISTRY.add_catalog(catalog),
            zone=REGISTRY.add_zone(zone),
            calendar=REGISTRY.add_calendar(calendar),
        )
        # Kept for as long as the project lives: workers load every stored version at start.
        await store_versions(
            self.pool,
            [
                (versions.catalog, "catalog", catalog),
                (versions.zone, "zone", zone),
                (versions.calendar, "calendar", calendar),
            ],
        )
        return versions

    @activity.defn(name=APPLY_BATCH)
    async def apply_batch(self, batch: Batch) -> int:
        """Append the batch's events and carry out its effects in one transaction; then webhooks.

        Returns the number of events newly written (0 for a retried batch).

        A retried batch writes nothing twice (event ids, inbox keys, licence numbers and
        notification ids are business keys). Raises ``ApplicationError`` of a ``NON_RETRYABLE``
        type when the storage refuses the batch for good.
        """

        async def write() -> int:
            async with self.pool.acquire() as conn, conn.transaction():
                written = await append_in_transaction(conn, [NewEvent(**e.model_dump()) for e in batch.events])
                for effect in batch.effects:
                    await _perform(conn, effect)
                return written

        written = await _classified(write)
        for effect in batch.effects:
            if isinstance(effect, SubmitApplication) and (url := self.webhooks.get(effect.department)):
                key = f"{effect.project_id}/{effect.matter_code}/{effect.submission}"
                await asyncio.to_thread(post_json, url, effect.model_dump(mode="json"), key)
        log.info("batch applied", batch=batch.summary(), events_written=written)
        return written

    @activity.defn(name=RECORD_FAULT)
    async def record_fault(self, report: FaultReport) -> None:
        """Record a refused batch for the operators (idempotent on project, run and first version)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO project_faults (project_id, run_id, first_event_version, error_type, message,
                          batch_summary, faulted_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
                report.project_id,
                report.run_id,
                report.first_event_version if report.first_event_version is not None else -1,
                report.error_type,
                _text(report.message),
                _text(report.batch_summary),
                report.at,
            )
            await record_notification(
                conn,
                f"{report.project_id}:fault:{report.run_id}:{report.first_event_version}",
                report.project_id,
                "fault",
                ["operators"],
                _text(f"project {report.project_id} cannot record its events: {report.error_type}: {report.message}"),
                {},
            )
        log.error(
            "project faulted: storage refused a batch",
            project_id=report.project_id,
            error_type=report.error_type,
            error=report.message,
            batch=report.batch_summary,
        )


async def _perform(conn: asyncpg.Connection, effect: object) -> None:
    """One effect inside the batch's transaction."""
    if isinstance(effect, SubmitApplication):
        await record_submission(
            conn,
            effect.project_id,
            effect.matter_code,
            effect.submission,
            effect.department,
            effect.payload,
            effect.submitted_at,
        )
    elif isinstance(effect, CloseSubmission):
        await close_submission(
            conn, effect.project_id, effect.matter_code, effect.submission, effect.outcome, effect.closed_at
        )
    elif isinstance(effect, IssueLicense):
        await conn.execute(
            """INSERT INTO e_licenses (license_no, project_id, matter_code, department, holder)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (license_no) DO NOTHING""",
            effect.license_no,
            effect.project_id,
            effect.matter_code,
            effect.department,
            effect.enterprise,
        )
    elif isinstance(effect, RevokeLicense):
        await conn.execute(
            """UPDATE e_licenses SET revoked_at = now(), revoked_reason = $2
               WHERE license_no = $1 AND revoked_at IS NULL""",
            effect.license_no,
            effect.reason,
        )
    elif isinstance(effect, Notify):
        await record_notification(
            conn, effect.notification_id, effect.project_id, effect.notice, effect.recipients, effect.message, {}
        )
        log.info("notification", kind=effect.notice, recipients=effect.recipients, message=effect.message)
    else:  # the union is closed: a new effect kind must be handled here
        raise TypeError(f"unknown effect {effect!r}")
