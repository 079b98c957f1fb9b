"""Who may write through the HTTP gateway: signed department envelopes and operator tokens.

Departments (decisions and verifications)
    Each department system holds a secret shared with daiban (``DAIBAN_DEPARTMENT_KEYS``, a JSON
    map department code -> secret). With it the system signs a **decision envelope**, the
    canonical JSON (keys sorted, no spaces, UTF-8) of::

        {"body_sha256": <hex sha256 of the exact request body bytes>,
         "decision_id": ..., "department": ..., "expires_at": <unix seconds>,
         "matter_code": ..., "project_id": <the project in the URL>}

    and sends ``X-Daiban-Department``, ``X-Daiban-Expires`` (the same unix seconds) and
    ``X-Daiban-Signature`` (lowercase hex HMAC-SHA256 of the envelope with the secret) with the
    JSON body. ``sign_envelope`` / ``signed_headers`` do it in Python; ``python -m interfaces.auth
    sign`` does it for curl. The body hash binds every field of the decision (kind, reasons,
    items), the project id binds it to one project, the expiry bounds how long a captured request
    is worth anything.

    The gateway answers, in this order:

    - 401 missing headers, unknown department, malformed or past expiry, an expiry further ahead
      than ``DAIBAN_ENVELOPE_MAX_TTL_SECONDS``, a signature that does not match (forged, or the
      body, project or expiry changed after signing);
    - 403 a correctly signed decision whose ``department`` is not the signing department;
    - 409 a decision id of this project already used for a **different** decision (replay).

    Replay protection and honest retries. The envelope's id is the project's decision id. The
    first request carrying it claims ``(project_id, decision_id)`` in PostgreSQL (table
    ``gateway_envelopes``, primary key), so the claim is atomic across gateway replicas and
    survives restarts. A later request with the same id is

    - an honest retry when it carries the same decision (same digest of the validated decision,
      whatever its formatting or signature, e.g. re-signed with a new expiry after a timeout): it
      goes on to the workflow, which answers a known decision id with its first answer
      (``duplicate: true``);
    - a replay otherwise (another kind, matter, department or reasons under a used id): 409.

    A captured request can thus only ever repeat its own decision, which changes nothing, and
    only until it expires. When the workflow refuses a decision (its update validator rejects
    it, so it left no trace) the claim is released, so the department can correct the decision
    and send it again under the same id.

    Independently of the gateway, the workflow's update validator rejects a decision whose
    department does not own the matter (``workflows.machine.validate_decision``): a department
    can only decide its own matters, whoever signs.

Agents, operators and other services (every other write)
    ``Authorization: Bearer <token>`` with a token from ``DAIBAN_OPERATOR_TOKENS`` (a JSON map
    principal -> token, e.g. ``{"portal": "...", "agent-li": "..."}``). The principal is logged
    with each write; tokens are compared in constant time and never logged. Reads need no
    credential.

Every rejection is logged with its reason (``gateway request rejected``). ``make run`` generates
development secrets into ``.daiban/dev-credentials.json`` when none are configured.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel

DEPARTMENT_HEADER = "X-Daiban-Department"
EXPIRES_HEADER = "X-Daiban-Expires"
SIGNATURE_HEADER = "X-Daiban-Signature"

Operation = Literal["decide", "verify"]


class AuthError(Exception):
    """A request the gateway refuses: ``status`` (401, 403 or 409) and the reason."""

    def __init__(self, status: int, reason: str, *, scheme: str = "Daiban-Envelope", **context: Any) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        # The credential a 401 asks for (WWW-Authenticate): the signed envelope or a bearer token.
        self.scheme = scheme
        self.context = context


# ---- signing (department systems, tests, README) -------------------------------------------------


def canonical_envelope(
    *, department: str, project_id: str, matter_code: str, decision_id: str, expires_at: int,
    body: bytes,
) -> bytes:
    """The bytes a department signs: canonical JSON of the envelope (see the module docstring)."""
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
    secret: str, *, department: str, project_id: str, matter_code: str, decision_id: str,
    expires_at: int, body: bytes,
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
    message = canonical_envelope(department=department, project_id=project_id, matter_code=matter_code,
                                 decision_id=decision_id, expires_at=expires_at, body=body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, department: str, project_id: str, body: bytes, *, ttl: int = 300,
    now: float | None = None,
) -> dict[str, str]:
    """Headers for POSTing ``body`` (a decision or verification, JSON) to ``project_id``.

    ``matter_code`` and ``decision_id`` are read from ``body``; the envelope expires ``ttl``
    seconds from ``now``.
    """
    fields = json.loads(body)
    expires_at = int((time.time() if now is None else now) + ttl)
    signature = sign_envelope(secret, department=department, project_id=project_id,
                              matter_code=str(fields.get("matter_code", "")),
                              decision_id=str(fields.get("decision_id", "")),
                              expires_at=expires_at, body=body)
    return {DEPARTMENT_HEADER: department, EXPIRES_HEADER: str(expires_at), SIGNATURE_HEADER: signature}


# ---- checking (the gateway) ----------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentCaller:
    """A department request whose headers are well-formed and whose expiry is acceptable."""

    department: str
    expires_at: int
    signature: str
    secret: str


class Authorizer:
    """Checks the gateway's credentials against the configured secrets."""

    def __init__(self, department_keys: dict[str, str], operator_tokens: dict[str, str],
                 max_ttl_seconds: int = 900) -> None:
        self.department_keys = dict(department_keys)
        self.operator_tokens = dict(operator_tokens)
        self.max_ttl_seconds = max_ttl_seconds

    def department(self, department: str | None, expires: str | None, signature: str | None,
                   *, now: float | None = None) -> DepartmentCaller:
        """Check the envelope headers that do not need the body; raise ``AuthError`` (401)."""
        missing = [name for name, value in ((DEPARTMENT_HEADER, department), (EXPIRES_HEADER, expires),
                                            (SIGNATURE_HEADER, signature)) if not value]
        if missing:
            raise AuthError(401, f"missing {', '.join(missing)}: decisions must be signed by the department")
        assert department and expires and signature
        secret = self.department_keys.get(department)
        if secret is None:
            raise AuthError(401, f"unknown department {department!r}", department=department)
        try:
            expires_at = int(expires)
        except ValueError:
            raise AuthError(401, f"{EXPIRES_HEADER} must be unix seconds", department=department) from None
        current = time.time() if now is None else now
        if expires_at < current:
            raise AuthError(401, f"envelope expired {int(current - expires_at)} s ago", department=department)
        if expires_at > current + self.max_ttl_seconds:
            raise AuthError(401, f"envelope expires more than {self.max_ttl_seconds} s ahead",
                            department=department)
        return DepartmentCaller(department, expires_at, signature.lower(), secret)

    def check_envelope(self, caller: DepartmentCaller, project_id: str, decision: Any, body: bytes) -> None:
        """Check the signature over the body (401), then the decision's department (403)."""
        expected = sign_envelope(caller.secret, department=caller.department, project_id=project_id,
                                 matter_code=decision.matter_code, decision_id=decision.decision_id,
                                 expires_at=caller.expires_at, body=body)
        if not hmac.compare_digest(expected, caller.signature):
            raise AuthError(401, "signature does not match the envelope (forged, or the body, project "
                                 "or expiry changed after signing)",
                            department=caller.department, project_id=project_id,
                            decision_id=decision.decision_id)
        if decision.department != caller.department:
            raise AuthError(403, f"department: signed by {caller.department}, the decision is "
                                 f"{decision.department}'s", department=caller.department,
                            project_id=project_id, decision_id=decision.decision_id)

    def operator(self, token: str | None) -> str:
        """The principal holding ``token``; ``AuthError`` (401) without a known token."""
        if not token:
            raise AuthError(401, "missing bearer token: writes need an operator or agent token", scheme="Bearer")
        principal = None
        for name, known in self.operator_tokens.items():
            # Compare against every token so the time taken does not say which one was close.
            if hmac.compare_digest(known.encode(), token.encode()):
                principal = name
        if principal is None:
            raise AuthError(401, "unknown bearer token", scheme="Bearer")
        return principal


# ---- replay protection (PostgreSQL) --------------------------------------------------------------


def decision_digest(operation: Operation, decision: BaseModel) -> str:
    """A digest of the validated decision: equal for the same decision however it was formatted."""
    return hashlib.sha256(f"{operation}:{decision.model_dump_json()}".encode()).hexdigest()


async def claim_envelope(
    db: asyncpg.Pool, operation: Operation, project_id: str, decision: Any, caller: DepartmentCaller,
) -> bool:
    """Claim the decision id for this decision; True the first time, False for an honest retry.

    Raises:
        AuthError: 409, the decision id was used for another decision of this project.
    """
    digest = decision_digest(operation, decision)
    uses = await db.fetchval(
        """INSERT INTO gateway_envelopes (project_id, decision_id, operation, department, matter_code,
                  decision_digest, first_signature, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8))
           ON CONFLICT (project_id, decision_id) DO UPDATE
               SET uses = gateway_envelopes.uses + 1, last_seen_at = now()
               WHERE gateway_envelopes.decision_digest = EXCLUDED.decision_digest
           RETURNING uses""",
        project_id, decision.decision_id, operation, caller.department, decision.matter_code, digest,
        caller.signature, caller.expires_at,
    )
    if uses is None:
        raise AuthError(409, f"decision_id: {decision.decision_id} was already used for another decision "
                             "on this project (replay refused); use a new decision id",
                        department=caller.department, project_id=project_id, decision_id=decision.decision_id)
    return bool(uses == 1)


async def release_envelope(db: asyncpg.Pool, operation: Operation, project_id: str, decision: Any) -> None:
    """Give a decision id back after the workflow refused the decision (it left no trace there)."""
    await db.execute(
        "DELETE FROM gateway_envelopes WHERE project_id = $1 AND decision_id = $2 AND decision_digest = $3",
        project_id, decision.decision_id, decision_digest(operation, decision),
    )


# ---- development credentials ---------------------------------------------------------------------


def dev_credentials(path: Path, departments: list[str]) -> dict[str, dict[str, str]]:
    """Read ``path``, or create it with random secrets for ``departments`` and an ``operator`` token.

    For ``make run`` only: production sets ``DAIBAN_DEPARTMENT_KEYS`` and ``DAIBAN_OPERATOR_TOKENS``.
    """
    if path.exists():
        data: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
        missing = [d for d in departments if d not in data.setdefault("department_keys", {})]
        if not missing:
            return data
    else:
        data = {"department_keys": {}, "operator_tokens": {"operator": secrets.token_urlsafe(24)}}
    for d in departments:
        data["department_keys"].setdefault(d, secrets.token_urlsafe(24))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
    return data


def dev_credentials_env(state_dir: Path) -> dict[str, str]:
    """``DAIBAN_DEPARTMENT_KEYS`` / ``DAIBAN_OPERATOR_TOKENS`` for ``make run``'s gateway."""
    from catalog.load import default_catalog

    creds = dev_credentials(state_dir / "dev-credentials.json", [d.code for d in default_catalog().departments])
    return {"DAIBAN_DEPARTMENT_KEYS": json.dumps(creds["department_keys"]),
            "DAIBAN_OPERATOR_TOKENS": json.dumps(creds["operator_tokens"])}


def _configured() -> tuple[dict[str, str], dict[str, str]]:
    """Secrets from the environment's settings, else from ``make run``'s dev credentials file."""
    from infra.settings import load_settings

    s = load_settings()
    keys = {k: v.get_secret_value() for k, v in s.department_keys.items()}
    tokens = {k: v.get_secret_value() for k, v in s.operator_tokens.items()}
    path = s.state_dir / "dev-credentials.json"
    if (not keys or not tokens) and path.exists():
        dev = json.loads(path.read_text(encoding="utf-8"))
        keys = keys or dev.get("department_keys", {})
        tokens = tokens or dev.get("operator_tokens", {})
    return keys, tokens


def main(argv: list[str] | None = None) -> int:
    """``python -m interfaces.auth sign|token``: sign a decision file or print a token, for curl."""
    parser = argparse.ArgumentParser(prog="python -m interfaces.auth", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sign = sub.add_parser("sign", help="print the signed-envelope headers for a decision file (curl -H @file)")
    sign.add_argument("file", type=Path, help="the JSON body to send (decision or verification)")
    sign.add_argument("--department", required=True)
    sign.add_argument("--project", required=True, help="project id in the URL")
    sign.add_argument("--ttl", type=int, default=300, help="seconds until the envelope expires")
    token = sub.add_parser("token", help="print an operator/agent bearer token")
    token.add_argument("--principal", default="operator")
    args = parser.parse_args(argv)
    keys, tokens = _configured()
    if args.command == "token":
        if args.principal not in tokens:
            print(f"no token for {args.principal!r}; set DAIBAN_OPERATOR_TOKENS or run make run", file=sys.stderr)
            return 2
        print(tokens[args.principal])
        return 0
    if args.department not in keys:
        print(f"no secret for department {args.department!r}; set DAIBAN_DEPARTMENT_KEYS or run make run",
              file=sys.stderr)
        return 2
    headers = signed_headers(keys[args.department], args.department, args.project, args.file.read_bytes(),
                             ttl=args.ttl)
    for name, value in headers.items():
        print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
