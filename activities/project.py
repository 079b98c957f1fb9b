"""Activities of the project workflow: every side effect, each idempotent (at-least-once safe).

- ``resolve_versions``: the content versions (catalog, zone policy, calendar in force) a new
  project registers under, loaded into this worker's registry and recorded for the project.
- ``apply_batch``: one flush of a project, its events and effects, in ONE PostgreSQL transaction
  (the transactional outbox, ``eventstore.batches``); department webhooks are called after the
  commit.
- ``record_fault``: a batch the storage refuses for good is recorded for operators (table
  ``project_faults``, an outbox notification, a metric) instead of being retried forever.

Failures are classified: what cannot heal by retrying (a value PostgreSQL refuses, an event that
conflicts with the stored stream, an unknown zone) raises ``ApplicationError(non_retryable=True)``
with a type from ``NON_RETRYABLE``; connection trouble is retried (visible in the UI as a pending
activity with its last error, and in the SDK's failure metrics).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import asyncpg
import httpx
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.adapters import delivery_key, refused, tell_not_delivered
from activities.heartbeat import beating
from activities.http import TIMEOUT, post_json
from catalog.content import REGISTRY, ContentVersions
from eventstore import batches, faults
from eventstore.calendars import current_calendar
from eventstore.content import store_versions
from eventstore.store import EventIdConflict, PredecessorNotStored, StreamVersionConflict
from eventstore.versions import current_catalog, current_zones, record_project_versions
from schemas.activities import (
    APPLY_BATCH,
    DELIVERY_ATTEMPTS,
    EVENT_CONFLICT,
    PREDECESSOR_ATTEMPTS,
    PREDECESSOR_NOT_STORED,
    PREDECESSOR_RETRY_SECONDS,
    PREDECESSOR_WAIT_SECONDS,
    RECORD_FAULT,
    RESOLVE_VERSIONS,
    STORAGE_REFUSED,
    UNKNOWN_ZONE,
    FaultRecorded,
    FaultReport,
    ResolveVersions,
)
from schemas.effects import Batch, SubmitApplication

log = structlog.get_logger(__name__)

T = TypeVar("T")


def _text(value: str, limit: int = 2_000) -> str:
    """Text PostgreSQL can store: no NUL characters, bounded."""
    return value.replace("\x00", "\\u0000")[:limit]


def predecessor_misses(details: Sequence[Any]) -> int:
    """How many earlier attempts of a batch found its predecessor missing (its heartbeat details:
    one int; none before the first miss)."""
    return details[0] if details and isinstance(details[0], int) else 0


def _carried_misses() -> list[int]:
    """The heartbeat details an attempt's background beats send: the predecessor misses it started
    with (none: no details), so a beat never loses the count; a new miss is beaten by
    ``_classified`` itself, before the attempt fails."""
    misses = predecessor_misses(activity.info().heartbeat_details)
    return [misses] if misses else []


async def _classified(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work``, turning failures that cannot heal into non-retryable ``ApplicationError``s."""
    try:
        return await work()
    except PredecessorNotStored as exc:
        missed = predecessor_misses(activity.info().heartbeat_details) + 1
        if missed < PREDECESSOR_ATTEMPTS:
            activity.heartbeat(missed)  # the next attempt's heartbeat_details
            raise ApplicationError(
                _text(f"{exc} (attempt {missed} of {PREDECESSOR_ATTEMPTS} to find it)"),
                type=PREDECESSOR_NOT_STORED,
                next_retry_delay=timedelta(seconds=PREDECESSOR_RETRY_SECONDS),
            ) from exc
        raise ApplicationError(
            _text(f"{exc} after {missed} attempts"), type=EVENT_CONFLICT, non_retryable=True
        ) from exc
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
        """The content versions a new project registers under: the catalog and the zone's policy in
        force (``eventstore.versions``: the newest loaded) and the calendar in force; this worker's
        registry has them, and ``project_content_versions`` records them under the project's id.

        Raises:
            ApplicationError(UnknownZone, non-retryable): no policy in force for the zone.
        """
        zones = await current_zones(self.pool)
        found_catalog = await current_catalog(self.pool)
        if inp.zone not in zones or found_catalog is None:
            raise ApplicationError(
                f"zone: unknown zone {inp.zone!r}; known: {', '.join(sorted(zones))}",
                type=UNKNOWN_ZONE,
                non_retryable=True,
            )
        (zone_v, zone), (catalog_v, catalog) = zones[inp.zone], found_catalog
        calendar = await current_calendar(self.pool)
        versions = ContentVersions(
            catalog=REGISTRY.add("catalog", catalog.model_dump(mode="json"), catalog_v),
            zone=REGISTRY.add("zone", zone.model_dump(mode="json"), zone_v),
            calendar=REGISTRY.add_calendar(calendar),
        )
        # Kept for as long as the project lives: workers load every stored version at start.
        await store_versions(self.pool, [(versions.calendar, "calendar", calendar)])
        workflow_id = activity.info().workflow_id
        if workflow_id:  # always, for the project workflow's own call
            await record_project_versions(self.pool, workflow_id.removeprefix("project-"), versions)
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
            # A batch dispatched while its predecessor was on its way (patch ``lean-batches``)
            # usually finds it stored within milliseconds: wait here, briefly, before a retry.
            waited, pause = 0.0, 0.01
            while True:
                try:
                    return await batches.apply_batch(self.pool, batch)
                except PredecessorNotStored:
                    if waited >= PREDECESSOR_WAIT_SECONDS:
                        raise
                    await asyncio.sleep(pause)
                    waited, pause = waited + pause, min(pause * 2, 0.25)

        async with beating(_carried_misses):  # a worker that dies mid-batch is noticed in seconds
            written = await _classified(write)
            calls = [
                (url, e)
                for e in batch.effects
                if isinstance(e, SubmitApplication)
                and (url := self.webhooks.get(e.department))
                and not batch.adapters_apart  # the workflow delivers them from the adapters' queue
            ]
            if calls:
                await self._deliver_inline(calls)
        log.info("batch applied", batch=batch.summary(), events_written=written)
        return written

    async def _deliver_inline(self, calls: list[tuple[str, SubmitApplication]]) -> None:
        """POST applications from the batch itself (runs started before patch ``adapter-queue``).

        The batch is committed by now, so a delivery that cannot succeed never fails it: a refusal
        (4xx but 408 and 429) is given up at once and one failing at the ``DELIVERY_ATTEMPTS``-th
        attempt too, the operators and the department told (``delivery`` notification, once per
        application), as ``deliver_applications`` does on the adapters' queue. Before, the error left
        unclassified and the batch was retried every 30 s for good, its outbox never dropped.

        Raises:
            ApplicationError: a department system failed this attempt (retried; the write is a no-op
                then, every key being a business key).
        """
        attempt = activity.info().attempt
        failed: list[str] = []
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            for url, effect in calls:
                try:
                    await post_json(client, url, effect.model_dump(mode="json"), delivery_key(effect))
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"[:500]
                    if refused(exc) or attempt >= DELIVERY_ATTEMPTS:
                        why = f"the {effect.department} system " + (
                            "refused it" if refused(exc) else f"failed {attempt} times"
                        )
                        await tell_not_delivered(self.pool, effect, error, why)
                    else:
                        failed.append(f"{delivery_key(effect)}: {error}")
        if failed:
            raise ApplicationError(f"batch stored; not delivered yet (retried): {'; '.join(failed)}")

    @activity.defn(name=RECORD_FAULT)
    async def record_fault(self, report: FaultReport) -> FaultRecorded:
        """Record a refused batch for the operators (idempotent on project, run and first version).

        Returns what was recorded (shown as the activity's result in the Temporal UI).
        """
        fault_id = f"{report.project_id}:fault:{report.run_id}:{report.first_event_version}"
        new = await faults.record_fault(
            self.pool,
            report.model_copy(update={"message": _text(report.message), "batch_summary": _text(report.batch_summary)}),
            notification_id=fault_id,
            message=_text(
                f"project {report.project_id} cannot record its events: {report.error_type}: {report.message}"
            ),
        )
        log.error(
            "project faulted: storage refused a batch",
            project_id=report.project_id,
            error_type=report.error_type,
            error=report.message,
            batch=report.batch_summary,
        )
        return FaultRecorded(
            fault_id=fault_id,
            project_id=report.project_id,
            error_type=report.error_type,
            refused=_text(f"{report.batch_summary}: {report.message}", 500),
            new=new,
        )
