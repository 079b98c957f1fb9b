"""Signing a department's envelope (decisions, clock commands): what a department system needs, standard library only.

See ``interfaces.auth`` for the envelope and what the gateway checks. Other languages rebuild
``canonical_envelope`` byte for byte (README, "Authorization").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import TypedDict, Unpack

DEPARTMENT_HEADER = "X-Daiban-Department"
EXPIRES_HEADER = "X-Daiban-Expires"
SIGNATURE_HEADER = "X-Daiban-Signature"


class Envelope(TypedDict):
    """What a department signs about a decision or verification (all keyword arguments)."""

    department: str  # the signing department's code
    project_id: str  # the project in the request's URL
    matter_code: str  # the decision's ``matter_code``
    decision_id: str  # the decision's ``decision_id``
    expires_at: int  # unix seconds after which the gateway refuses the request
    body: bytes  # the exact bytes of the JSON request body (the envelope holds its SHA-256)


def canonical_envelope(**envelope: Unpack[Envelope]) -> bytes:
    """The bytes a department signs: canonical JSON (keys sorted, no spaces, UTF-8) of the envelope."""
    signed = {
        "body_sha256": hashlib.sha256(envelope["body"]).hexdigest(),
        "decision_id": envelope["decision_id"],
        "department": envelope["department"],
        "expires_at": int(envelope["expires_at"]),
        "matter_code": envelope["matter_code"],
        "project_id": envelope["project_id"],
    }
    return json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_envelope(secret: str, **envelope: Unpack[Envelope]) -> str:
    """The ``X-Daiban-Signature`` of a decision: hex HMAC-SHA256, with the department's secret
    (``DAIBAN_DEPARTMENT_KEYS[department]``), of the canonical envelope."""
    return hmac.new(secret.encode(), canonical_envelope(**envelope), hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, department: str, project_id: str, body: bytes, *, ttl: int = 300, now: float | None = None
) -> dict[str, str]:
    """Headers for POSTing ``body`` (a decision or verification, JSON) to ``project_id``.

    ``matter_code`` and ``decision_id`` are read from ``body`` (a clock command's ``request_id``
    stands for its ``decision_id``: ``stop_clock``, ``resume_clock``, ``extend_limit``); the envelope
    expires ``ttl`` seconds from ``now``.
    """
    fields = json.loads(body)
    expires_at = int((time.time() if now is None else now) + ttl)
    signature = sign_envelope(
        secret,
        department=department,
        project_id=project_id,
        matter_code=str(fields.get("matter_code", "")),
        decision_id=str(fields.get("decision_id", fields.get("request_id", ""))),
        expires_at=expires_at,
        body=body,
    )
    return {DEPARTMENT_HEADER: department, EXPIRES_HEADER: str(expires_at), SIGNATURE_HEADER: signature}
