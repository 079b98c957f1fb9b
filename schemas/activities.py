"""The activities' contract as the workflow sees it: names, inputs and error types.

The workflow calls activities by these names (it never imports ``activities``, which do I/O);
``activities.project`` implements them under the same names.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.base import Frozen
from schemas.effects import SubmitApplication

RESOLVE_VERSIONS = "resolve_versions"
APPLY_BATCH = "apply_batch"
RECORD_FAULT = "record_fault"

# Error types an activity raises (non-retryable) for failures that retrying cannot heal.
UNKNOWN_ZONE = "UnknownZone"
EVENT_CONFLICT = "EventConflict"
STORAGE_REFUSED = "StorageRefused"
NON_RETRYABLE = (UNKNOWN_ZONE, EVENT_CONFLICT, STORAGE_REFUSED)
# Retried: the batch follows a version the store does not hold (yet). Each such attempt waits
# ``PREDECESSOR_WAIT_SECONDS`` for it, then asks for its next attempt ``PREDECESSOR_RETRY_SECONDS``
# later (``next_retry_delay``), not on the activity's backoff (up to 30 s): a chain of batches
# waiting on a late head lands within seconds of it, not 30 s per link. The attempts that found
# the predecessor missing are counted in the heartbeat details (attempts failing otherwise, a
# PostgreSQL outage, do not count); the ``PREDECESSOR_ATTEMPTS``-th (about 10 minutes of the
# store answering without it) is an ``EVENT_CONFLICT``: nothing retries forever.
PREDECESSOR_NOT_STORED = "PredecessorNotStored"
PREDECESSOR_ATTEMPTS = 240
# Within one attempt, ``apply_batch`` waits this long (seconds) for the predecessor before failing it.
PREDECESSOR_WAIT_SECONDS = 2.0
PREDECESSOR_RETRY_SECONDS = 0.5

# The heartbeat timeout of ``apply_batch`` and ``deliver_applications``: an attempt whose worker
# died (killed, its host lost) is retried after this long, not after the 30 s start-to-close
# timeout. The activities beat every third of it while they work (``activities.heartbeat``), never
# in the first third: a batch that lands within seconds (nearly all) sends no heartbeat at all.
HEARTBEAT_TIMEOUT = timedelta(seconds=10)
# The worker's longest heartbeat throttle (``Worker(max_heartbeat_throttle_interval=...)``): the SDK
# sends at most one heartbeat per 0.8 of the timeout by default, so a beat made at a third reached
# the server up to 0.8 after the one before, a fifth of the timeout ahead of it (2 s here, 0.2 s in
# the tests' 1 s timeouts): a worker slowed by a burst timed out live attempts. Throttled to a third,
# each beat is sent when made, two thirds of the timeout ahead.
HEARTBEAT_THROTTLE = HEARTBEAT_TIMEOUT / 3


class ResolveVersions(Frozen):
    """Input of ``resolve_versions``: the zone a new project registers in."""

    zone: str


class FaultReport(Frozen):
    """Input of ``record_fault``: a batch that the storage refused for good, for the operators."""

    project_id: str
    run_id: str
    error_type: str
    message: str
    batch_summary: str
    first_event_version: int | None
    at: datetime


class FaultRecorded(Frozen):
    """Result of ``record_fault``: the fault as recorded, readable in the Temporal UI's activity result.

    ``fault_id`` names the row of ``project_faults`` (project, run, first event version) and is the
    operators' notification id; ``new`` is False when a retried activity found it recorded already.
    Histories recorded before this model carry a null result (``workflows.faulting`` takes both).
    """

    fault_id: str
    project_id: str
    error_type: str
    refused: str
    new: bool


# ---- department adapters: their own task queue ------------------------------------------------
# Calls to department systems (webhooks, e-licence) run on ``adapter_queue(task_queue)``, polled
# by the workers whose ``DAIBAN_WORKER_QUEUES`` names ``adapters``, so they scale and fail apart
# from orchestration (projects registered since patch ``adapter-queue``, ``workflows.pipeline``).
DELIVER_APPLICATIONS = "deliver_applications"
# Retried: the batch writing the application is not committed yet (the delivery leaves with it).
BATCH_NOT_STORED = "BatchNotStored"
# Not retried: a department system refused an application (an HTTP 4xx other than 408 and 429), or
# every attempt failed. The operators are notified; the application is in the department's inbox.
DELIVERY_FAILED = "DeliveryFailed"
# Attempts of one delivery: 1 s doubling to a minute between them, about 6 minutes of a department
# system being down, after which the delivery is given up (operators notified) so that it never
# holds the project (a run waits for its deliveries before it continues as new).
DELIVERY_ATTEMPTS = 12


def adapter_queue(task_queue: str) -> str:
    """The department adapters' task queue beside the orchestration queue ``task_queue``."""
    return f"{task_queue}-adapters"


class Deliveries(Frozen):
    """Input of ``deliver_applications``: applications of one batch, for their departments' systems.

    Each is POSTed once its batch has stored it in the department's inbox (the adapter waits for
    the commit, so a department never hears of an application the store does not hold).
    """

    project_id: str
    applications: list[SubmitApplication]
