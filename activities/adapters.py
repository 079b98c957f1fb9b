"""Department adapters: the activities that call department systems, on their own task queue.

``deliver_applications`` runs on ``schemas.activities.adapter_queue(task_queue)``, polled by the
workers whose ``DAIBAN_WORKER_QUEUES`` names ``adapters``; those workers hold the department
webhooks (``DAIBAN_DEPARTMENT_WEBHOOKS``), so a slow or failing department system occupies only
them, and they scale with the departments' traffic, apart from orchestration.

The workflow starts a delivery beside the batch that stores the applications (it never issues
anything on a batch's result: ``workflows.pipeline``), so the adapter first waits for the batch's
commit: an application not yet in the department's inbox raises ``BatchNotStored`` (retried).
Each POST carries ``Idempotency-Key: project/matter/submission``; a retried delivery may repeat a
POST, never under another key.
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
from schemas.activities import BATCH_NOT_STORED, DELIVER_APPLICATIONS, Deliveries

log = structlog.get_logger(__name__)


class DepartmentAdapters:
    """Holds the pool (to see the batch's commit) and the department webhooks of this worker."""

    def __init__(self, pool: asyncpg.Pool, webhooks: dict[str, str] | None = None) -> None:
        self.pool = pool
        self.webhooks = webhooks or {}

    @activity.defn(name=DELIVER_APPLICATIONS)
    async def deliver_applications(self, inp: Deliveries) -> int:
        """POST each application whose department has a webhook, once its batch committed.

        Returns the number of applications POSTed (0 when no department of the batch has a system).

        Raises:
            ApplicationError(BatchNotStored): an application is not in the inbox yet (retried).
            httpx.HTTPError: a department system failed to take it (retried).
        """
        calls = [(url, a) for a in inp.applications if (url := self.webhooks.get(a.department))]
        if not calls:
            return 0
        async with beating():  # a worker that dies mid-delivery is noticed in seconds
            for _, a in calls:
                if not await submission_stored(self.pool, a.project_id, a.matter_code, a.submission):
                    raise ApplicationError(
                        f"application {a.project_id}/{a.matter_code}/{a.submission} is not stored yet",
                        type=BATCH_NOT_STORED,
                    )
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                for url, a in calls:
                    key = f"{a.project_id}/{a.matter_code}/{a.submission}"
                    await post_json(client, url, a.model_dump(mode="json"), key)
            log.info("applications delivered", project_id=inp.project_id, count=len(calls))
        return len(calls)
