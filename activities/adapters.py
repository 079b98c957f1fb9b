"""Department adapters: the activities that call department systems, on their own task queue.

``deliver_applications`` runs on ``schemas.activities.adapter_queue(task_queue)``, polled by the
workers whose ``DAIBAN_WORKER_QUEUES`` names ``adapters``; those workers hold the department
webhooks (``DAIBAN_DEPARTMENT_WEBHOOKS``), so a slow or failing department system occupies only
them, and they scale with the departments' traffic, apart from orchestration.

The workflow starts a delivery beside the batch that stores the applications (it never issues
anything on a batch's result: ``workflows.pipeline``), so the adapter first waits for the batch's
commit: an application not yet in the department's inbox raises ``BatchNotStored`` (retried).
Each POST carries ``Idempotency-Key: project/matter/submission``; a retried delivery may repeat a
POST, never under another key. A delivery is bounded (``DELIVERY_ATTEMPTS``): a department system
that refuses an application or stays down gets it no more, and the operators are told.
"""

from __future__ import annotations

import asyncpg
import httpx
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import beating
from activities.http import TIMEOUT, post_json
from eventstore.inbox import submission_stored
from eventstore.outbox import record_notification
from schemas.activities import BATCH_NOT_STORED, DELIVER_APPLICATIONS, DELIVERY_ATTEMPTS, DELIVERY_FAILED, Deliveries
from schemas.effects import SubmitApplication

log = structlog.get_logger(__name__)


class DepartmentAdapters:
    """Holds the pool (to see the batch's commit) and the department webhooks of this worker."""

    def __init__(self, pool: asyncpg.Pool, webhooks: dict[str, str] | None = None) -> None:
        self.pool = pool
        self.webhooks = webhooks or {}

    @activity.defn(name=DELIVER_APPLICATIONS)
    async def deliver_applications(self, inp: Deliveries) -> int:
        """POST each application whose department has a webhook, once its batch committed.

        Every application is tried at each attempt, so one department's system being down does not
        hold another's back; those delivered are kept in the heartbeat details and not POSTed again
        by the next attempt (a worker lost mid-attempt may repeat one, under the same key). An
        application a system refuses (HTTP 4xx other than 408 and 429) is not tried again; one whose
        system keeps failing is given up at attempt ``DELIVERY_ATTEMPTS``. Either way the operators
        get a ``delivery`` notification (once per application) and the application stays in the
        department's inbox, where its clerks see it.

        Returns the number of applications POSTed (0 when no department of the batch has a system).

        Raises:
            ApplicationError(BatchNotStored): an application is not in the inbox yet (retried; at
                the last attempt, DeliveryFailed and the operators told).
            ApplicationError(DeliveryFailed, non_retryable): refused, or the last attempt failed.
            ApplicationError: a department system failed this attempt (retried).
        """
        calls = [(url, a) for a in inp.applications if (url := self.webhooks.get(a.department))]
        if not calls:
            return 0
        info = activity.info()
        delivered: set[str] = set(info.heartbeat_details[0]) if info.heartbeat_details else set()
        failed: dict[str, tuple[SubmitApplication, str, bool]] = {}  # key: (application, error, refused)
        async with beating(lambda: [sorted(delivered)]):  # a worker that dies mid-delivery is noticed in seconds
            for _, a in calls:
                if not await submission_stored(self.pool, a.project_id, a.matter_code, a.submission):
                    key = delivery_key(a)
                    if info.attempt < DELIVERY_ATTEMPTS:
                        raise ApplicationError(f"application {key} is not stored yet", type=BATCH_NOT_STORED)
                    # Its batch never landed (the project parked by a refused batch, storage down
                    # for minutes): a retry of the batch delivers it again, from the new batch.
                    await self._told(a, "not stored yet", f"its batch was not stored after {info.attempt} attempts")
                    raise ApplicationError(
                        f"application {key} not delivered: its batch is not stored",
                        type=DELIVERY_FAILED,
                        non_retryable=True,
                    )
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                for url, a in calls:
                    key = delivery_key(a)
                    if key in delivered:
                        continue
                    try:
                        await post_json(client, url, a.model_dump(mode="json"), key)
                    except httpx.HTTPError as exc:
                        failed[key] = (a, f"{type(exc).__name__}: {exc}"[:500], refused(exc))
                    else:
                        delivered.add(key)
            activity.heartbeat(sorted(delivered))  # what this attempt delivered stands for the next
        if not failed:
            log.info("applications delivered", project_id=inp.project_id, count=len(calls))
            return len(calls)
        last = info.attempt >= DELIVERY_ATTEMPTS
        given_up = {k: f for k, f in failed.items() if f[2] or last}
        for a, error, was_refused in given_up.values():
            why = "refused it" if was_refused else f"failed {info.attempt} times"
            await self._told(a, error, f"the {a.department} system {why}")
        summary = "; ".join(f"{k}: {f[1]}" for k, f in failed.items())
        if len(given_up) == len(failed):
            raise ApplicationError(f"not delivered: {summary}", type=DELIVERY_FAILED, non_retryable=True)
        raise ApplicationError(f"not delivered yet (retried): {summary}")

    async def _told(self, a: SubmitApplication, error: str, why: str) -> None:
        await tell_not_delivered(self.pool, a, error, why)


async def tell_not_delivered(pool: asyncpg.Pool, a: SubmitApplication, error: str, why: str) -> None:
    """Tell the operators and the department that ``a`` was not delivered to the department's system,
    once (the notification id is the delivery's key); logged at error."""
    key = delivery_key(a)
    await record_notification(
        pool,
        f"{key}:delivery",
        a.project_id,
        "delivery",
        ["operators", a.department],
        f"{why}: application {a.matter_code} (submission {a.submission}) was not delivered to the "
        f"{a.department} system; it is in the department's inbox once its batch is stored",
        {"matter_code": a.matter_code, "submission": a.submission, "department": a.department, "error": error},
    )
    log.error("application not delivered; operators notified", key=key, error=error)


def delivery_key(a: SubmitApplication) -> str:
    """A delivery's ``Idempotency-Key`` (and its notification's id): ``project/matter/submission``."""
    return f"{a.project_id}/{a.matter_code}/{a.submission}"


def refused(exc: httpx.HTTPError) -> bool:
    """A department system's answer that a retry cannot change: 4xx but 408 (timeout) and 429 (busy)."""
    if not isinstance(exc, httpx.HTTPStatusError):
        return False
    status = exc.response.status_code
    return 400 <= status < 500 and status not in (408, 429)
