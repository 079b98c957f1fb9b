"""The activities' contract as the workflow sees it: names, inputs and error types.

The workflow calls activities by these names (it never imports ``activities``, which do I/O);
``activities.project`` implements them under the same names.
"""

from __future__ import annotations

from datetime import datetime

from schemas.base import Frozen

RESOLVE_VERSIONS = "resolve_versions"
APPLY_BATCH = "apply_batch"
RECORD_FAULT = "record_fault"

# Error types an activity raises (non-retryable) for failures that retrying cannot heal.
UNKNOWN_ZONE = "UnknownZone"
EVENT_CONFLICT = "EventConflict"
STORAGE_REFUSED = "StorageRefused"
NON_RETRYABLE = (UNKNOWN_ZONE, EVENT_CONFLICT, STORAGE_REFUSED)
# Retried: the batch follows a version the store does not hold (yet); after
# ``PREDECESSOR_ATTEMPTS`` attempts it is an ``EVENT_CONFLICT`` (nothing retries forever).
PREDECESSOR_NOT_STORED = "PredecessorNotStored"
PREDECESSOR_ATTEMPTS = 30


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
