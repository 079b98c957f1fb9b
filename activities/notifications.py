"""The notifications relay: delivers the outbox to the zone's messaging gateway (SMS, WeChat Work, mail).

The lifecycle queues warnings, escalations, joint meetings and the like in the ``notifications``
table (``eventstore.outbox``) with the events of its batch; this relay posts each unsent one as
JSON to ``DAIBAN_NOTIFY_WEBHOOK`` with ``httpx.AsyncClient`` and records the outcome. No database
transaction is held across an HTTP call: a round claims a few rows in one short transaction
(``FOR UPDATE SKIP LOCKED`` and a lease, so several workers may relay at once, each attempt
counted), posts them with no transaction open, and records each outcome in a statement of its
own. The receiver gets an ``Idempotency-Key`` (the notification id), since a crash between the
POST and its record, or a lease that ran out, sends the same notification again.

The worker runs it (``run_forever``); any other process holding a pool (the CLI) can run a round
(``run_once``).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import asyncpg
import httpx
import structlog

from activities.http import TIMEOUT, post_json
from eventstore import outbox

log = structlog.get_logger(__name__)


class NotificationSender:
    """Posts unsent notifications to one webhook; ``run_once`` drains, ``run_forever`` tails.

    Args:
        pool: the process's pool.
        url: the messaging gateway's webhook.
        batch_size: notifications claimed per round.
        max_attempts: a notification is given up after this many deliveries failed (logged at
            error; it stays in the outbox, ``daiban notifications --unsent`` lists it).
        lease: how long a claimed notification is left to this relay before another may claim it;
            longer than a round of ``batch_size`` POSTs at the HTTP timeout.
        retry_base, retry_cap: after a failed delivery the next try waits ``retry_base`` doubled
            with each attempt, at most ``retry_cap``. The defaults (2 s, 1 h, 40 attempts) wait out
            a receiver's outage of about 30 hours (2 s + 4 s + ... + 2,048 s, then hourly).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        url: str,
        *,
        batch_size: int = 50,
        max_attempts: int = 40,
        lease: timedelta = timedelta(minutes=10),
        retry_base: timedelta = timedelta(seconds=2),
        retry_cap: timedelta = timedelta(hours=1),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.pool = pool
        self.url = url
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.lease = lease
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.transport = transport

    async def run_once(self) -> int:
        """Deliver what is due now, one round; return how many were sent."""
        due = await outbox.claim_due(self.pool, limit=self.batch_size, max_attempts=self.max_attempts, lease=self.lease)
        if not due:
            return 0
        sent = 0
        async with httpx.AsyncClient(timeout=TIMEOUT, transport=self.transport) as client:
            for n in due:
                body = n.model_dump() | {"created_at": n.created_at.isoformat()}
                try:
                    await post_json(client, self.url, body, n.notification_id)
                except Exception as exc:  # the receiver's failure is recorded, then retried later
                    error = f"{type(exc).__name__}: {exc}"
                    attempts = await outbox.mark_failed(
                        self.pool, n.notification_id, error, retry_base=self.retry_base, retry_cap=self.retry_cap
                    )
                    fields = {"notification_id": n.notification_id, "kind": n.kind, "attempts": attempts}
                    if attempts >= self.max_attempts:
                        log.error("notification given up: every delivery failed", **fields, error=error)
                    else:
                        log.warning("notification not delivered; it is tried again", **fields, error=error)
                    continue
                await outbox.mark_sent(self.pool, n.notification_id)
                sent += 1
        return sent

    async def run_forever(self, stop: asyncio.Event, poll_interval: float = 1.0) -> None:
        """Deliver until ``stop`` is set, waiting out database and receiver outages."""
        log.info("notification sender started", url=self.url)
        while not stop.is_set():
            try:
                await self.run_once()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("notification sender cannot reach the database", error=str(exc))
            except Exception:  # never ends on an error of its own
                log.exception("notification sender failed; the next round tries again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_interval)
        log.info("notification sender stopped")
