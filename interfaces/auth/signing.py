"""Signing a department's decision envelope: what a department system needs, standard library only.

See ``interfaces.auth`` for the envelope and what the gateway checks. Other languages rebuild
``canonical_envelope`` byte for byte (README, "Department authorization").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

DEPARTMENT_HEADER = "X-Daiban-Department"
EXPIRES_HEADER = "X-Daiban-Expires"
SIGNATURE_HEADER = "X-Daiban-Signature"


def canonical_envelope(
    *, department: str, project_id: str, matter_code: str, decision_id: str, expires_at: int, body: bytes
) -> bytes:
    """The bytes a department signs: canonical JSON (keys sorted, no spaces, UTF-8) of the envelope."""
    envelope = {
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "decision_id": decision_id,
        "department": department,
        "expires_at": int(expires_at),
        "matter_code": matter_code,
        "project_id": project_id,
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_envelope(
    secret: str, *, department: str, project_id: str, matter_code: str, decision_id: str, expires_at: int, body: bytes
) -> str:
    """The ``X-Daiban-Signature`` of a decision: hex HMAC-SHA256 of the canonical envelope.

    Args:
        secret: the department's secret (``DAIBAN_DEPARTMENT_KEYS[department]``).
        department: the signing department's code.
        project_id: the project in the request's URL.
        matter_code: the decision's ``matter_code``.
        decision_id: the decision's ``decision_id``.
        expires_at: unix seconds after which the gateway refuses the request.
        body: the exact bytes of the JSON request body.
    """
    message = canonical_envelope(
        department=department,
        project_id=project_id,
        matter_code=matter_code,
        decision_id=decision_id,
        expires_at=expires_at,
        body=body,
    )
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, department: str, project_id: str, body: bytes, *, ttl: int = 300, now: float | None = None
) -> dict[str, str]:
    """Headers for POSTing ``body`` (a decision or verification, JSON) to ``project_id``.

    ``matter_code`` and ``decision_id`` are read from ``body``; the envelope expires ``ttl``
    seconds from ``now``.
    """
    fields = json.loads(body)
    expires_at = int((time.time() if now is None else now) + ttl)
    signature = sign_envelope(
        secret,
        department=department,
        project_id=project_id,
        matter_code=str(fields.get("matter_code", "")),
        decision_id=str(fields.get("decision_id", "")),
        expires_at=expires_at,
        body=body,
    )
    return {DEPARTMENT_HEADER: department, EXPIRES_HEADER: str(expires_at), SIGNATURE_HEADER: signature}
