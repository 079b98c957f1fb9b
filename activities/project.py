"""Activities of the project workflow: every side effect, each idempotent (at-least-once safe).

Each activity's input is a frozen model; its idempotency key is derived from business keys
(project, matter, submission, event id), never random, so a retry after a crash writes nothing
twice.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from typing import Any

import asyncpg
import structlog
from pydantic import BaseModel, ConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.calendars import current_calendar
from activities.http import post_json
from catalog.load import default_catalog, default_zones
from schemas.events import EventEnvelope
from workflows.machine import ProjectContext

log = structlog.get_logger(__name__)


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LoadContext(_In):
    zone: str
    year: int


class RecordEvents(_In):
    events: list[EventEnvelope]


class SubmitApplication(_In):
    project_id: str
    matter_code: str
    submission: int
    department: str
    payload: dict[str, Any]
    submitted_at: datetime


class CloseSubmission(_In):
    project_id: str
    matter_code: str
    submission: int
    outcome: str
    closed_at: datetime


class IssueLicense(_In):
    project_id: str
    matter_code: str
    department: str
    enterprise: str
    submission: int


class RevokeLicense(_In):
    license_no: str
    reason: str


class Notify(_In):
    notification_id: str
    project_id: str
    kind: str
    recipients: list[str]
    message: str


def license_number(project_id: str, matter_code: str, submission: int) -> str:
    """A deterministic e-license number: the same approval always gets the same number."""
    digest = hashlib.sha256(f"{project_id}/{matter_code}/{submission}".encode()).hexdigest()[:10].upper()
    return f"DZZZ-{matter_code.upper()[:12]}-{digest}"


class ProjectActivities:
    """Holds the process's one asyncpg pool and the department webhooks."""

    def __init__(self, pool: asyncpg.Pool, webhooks: dict[str, str] | None = None) -> None:
        self.pool = pool
        self.webhooks = webhooks or {}

    @activity.defn
    async def load_context(self, inp: LoadContext) -> ProjectContext:
        """The catalog, the zone's policy and the current official calendar for a new project."""
        zone = default_zones().get(inp.zone)
        if zone is None:
            raise ApplicationError(
                f"zone: unknown zone {inp.zone!r}; known: {', '.join(sorted(default_zones()))}",
                type="UnknownZone",
                non_retryable=True,
            )
        calendar = await current_calendar(self.pool)
        return ProjectContext(
            catalog=default_catalog(),
            zone=zone,
            calendar=calendar.slice(inp.year - 1, inp.year + 6),
        )

    @activity.defn
    async def record_events(self, inp: RecordEvents) -> int:
        """Append a batch of domain events; a retried batch writes nothing twice."""
        from eventstore.store import NewEvent, append

        written = await append(self.pool, [NewEvent(**e.model_dump()) for e in inp.events])
        log.info("events recorded", written=written, batch=len(inp.events))
        return written

    @activity.defn
    async def submit_application(self, inp: SubmitApplication) -> None:
        """File the application in the department's inbox and call its webhook if it has one."""
        from eventstore.queries import record_submission

        await record_submission(
            self.pool, inp.project_id, inp.matter_code, inp.submission, inp.department, inp.payload, inp.submitted_at
        )
        url = self.webhooks.get(inp.department)
        if url:
            key = f"{inp.project_id}/{inp.matter_code}/{inp.submission}"
            await asyncio.to_thread(post_json, url, inp.model_dump(mode="json"), key)
        log.info(
            "application submitted",
            matter=inp.matter_code,
            department=inp.department,
            submission=inp.submission,
            webhook=bool(url),
        )

    @activity.defn
    async def close_submission(self, inp: CloseSubmission) -> None:
        """Take a decided or withdrawn application out of the department's open inbox."""
        from eventstore.queries import close_submission

        await close_submission(self.pool, inp.project_id, inp.matter_code, inp.submission, inp.outcome, inp.closed_at)

    @activity.defn
    async def issue_license(self, inp: IssueLicense) -> str:
        """Record the e-license (电子证照) for an approval; return its number."""
        number = license_number(inp.project_id, inp.matter_code, inp.submission)
        await self.pool.execute(
            """INSERT INTO e_licenses (license_no, project_id, matter_code, department, holder)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (license_no) DO NOTHING""",
            number,
            inp.project_id,
            inp.matter_code,
            inp.department,
            inp.enterprise,
        )
        log.info("e-license issued", license_no=number, matter=inp.matter_code)
        return number

    @activity.defn
    async def revoke_license(self, inp: RevokeLicense) -> None:
        """Mark an e-license revoked (a failed commitment verification); a retry changes nothing."""
        await self.pool.execute(
            """UPDATE e_licenses SET revoked_at = now(), revoked_reason = $2
               WHERE license_no = $1 AND revoked_at IS NULL""",
            inp.license_no,
            inp.reason,
        )
        log.info("e-license revoked", license_no=inp.license_no, reason=inp.reason)

    @activity.defn
    async def notify(self, inp: Notify) -> None:
        """Write a notification to the outbox (a sender delivers it) and to the log."""
        from eventstore.queries import record_notification

        await record_notification(
            self.pool, inp.notification_id, inp.project_id, inp.kind, inp.recipients, inp.message, {}
        )
        log.info("notification", kind=inp.kind, recipients=inp.recipients, message=inp.message)
