"""The gateway's checks: department envelopes, operator tokens, decision-id claims (replays).

See ``interfaces.auth`` for the design. The claims are stored by ``eventstore.envelopes``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from eventstore import envelopes
from eventstore.store import Executor
from interfaces.auth.signing import DEPARTMENT_HEADER, EXPIRES_HEADER, SIGNATURE_HEADER, sign_envelope
from schemas.project import Decision, PermitExtension, Verification

if TYPE_CHECKING:
    from interfaces.auth.principals import Principal

# The name of a signed command (``schemas.commands``: ``decide``, ``verify``, ``extend_permit``) an
# envelope is claimed for.
Operation = str
DepartmentCommand = Decision | Verification | PermitExtension
# Header grammars, checked before anything is compared (a non-ASCII header is refused, not a 500).
_HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class AuthError(Exception):
    """A request the gateway refuses: ``status`` (401, 403 or 409) and the reason."""

    def __init__(self, status: int, reason: str, *, scheme: str = "Daiban-Envelope", **context: Any) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        # The credential a 401 asks for (WWW-Authenticate): the signed envelope or a bearer token.
        self.scheme = scheme
        self.context = context


@dataclass(frozen=True)
class DepartmentCaller:
    """A department request whose headers are well-formed and whose expiry is acceptable."""

    department: str
    expires_at: int
    signature: str
    secret: str


class Authorizer:
    """Checks the gateway's credentials against the configured secrets."""

    def __init__(
        self,
        department_keys: dict[str, str],
        operator_tokens: dict[str, str],
        max_ttl_seconds: int = 900,
        principals: dict[str, tuple[str, Principal]] | None = None,
    ) -> None:
        """``operator_tokens``: version 1's name -> token (operators of every zone); ``principals``:
        name -> (token, principal) (``interfaces.auth.principals.configured``)."""
        from interfaces.auth.principals import Principal

        self.department_keys = dict(department_keys)
        self.principals: dict[str, tuple[str, Principal]] = {
            name: (token, Principal(name, frozenset({"operator"}), frozenset({"*"})))
            for name, token in operator_tokens.items()
        }
        self.principals.update(principals or {})
        self.operator_tokens = {name: token for name, (token, _) in self.principals.items()}
        self.max_ttl_seconds = max_ttl_seconds

    def department(
        self, department: str | None, expires: str | None, signature: str | None, *, now: float | None = None
    ) -> DepartmentCaller:
        """Check the envelope headers that do not need the body; raise ``AuthError`` (401)."""
        headers = ((DEPARTMENT_HEADER, department), (EXPIRES_HEADER, expires), (SIGNATURE_HEADER, signature))
        missing = [name for name, value in headers if not value]
        if missing or not (department and expires and signature):
            raise AuthError(401, f"missing {', '.join(missing)}: decisions must be signed by the department")
        secret = self.department_keys.get(department)
        if secret is None:
            raise AuthError(401, f"unknown department {department!r}", department=department)
        if not _UNIX_SECONDS.fullmatch(expires):
            raise AuthError(401, f"{EXPIRES_HEADER} must be unix seconds", department=department)
        expires_at = int(expires)
        current = time.time() if now is None else now
        if expires_at < current:
            raise AuthError(401, f"envelope expired {int(current - expires_at)} s ago", department=department)
        if expires_at > current + self.max_ttl_seconds:
            raise AuthError(401, f"envelope expires more than {self.max_ttl_seconds} s ahead", department=department)
        if not _HEX_SIGNATURE.fullmatch(signature):
            raise AuthError(401, f"{SIGNATURE_HEADER} must be 64 hex digits (HMAC-SHA256)", department=department)
        return DepartmentCaller(department, expires_at, signature.lower(), secret)

    def check_envelope(
        self, caller: DepartmentCaller, project_id: str, decision: DepartmentCommand, body: bytes
    ) -> None:
        """Check the signature over the body (401), then the decision's department (403)."""
        self.check_signed(caller, project_id, decision.decision_id, decision.matter_code, decision.department, body)

    def check_signed(
        self, caller: DepartmentCaller, project_id: str, signed_id: str, matter_code: str, department: str, body: bytes
    ) -> None:
        """Check a signed command: the signature over the envelope (401), then its department (403).

        ``signed_id``: the envelope's ``decision_id`` (a decision's, or a clock command's ``request_id``).
        """
        expected = sign_envelope(
            caller.secret,
            department=caller.department,
            project_id=project_id,
            matter_code=matter_code,
            decision_id=signed_id,
            expires_at=caller.expires_at,
            body=body,
        )
        context = {"department": caller.department, "project_id": project_id, "decision_id": signed_id}
        if not hmac.compare_digest(expected, caller.signature):
            raise AuthError(
                401,
                "signature does not match the envelope (forged, or the body, project or expiry changed after signing)",
                **context,
            )
        if department != caller.department:
            raise AuthError(403, f"department: signed by {caller.department}, the body is {department}'s", **context)

    def principal(self, token: str | None) -> Principal:
        """The principal holding ``token``; ``AuthError`` (401) without a known token."""
        if not token:
            raise AuthError(401, "missing bearer token: this request needs a principal's token", scheme="Bearer")
        found = None
        for known, principal in self.principals.values():
            # Compare against every token so the time taken does not say which one was close.
            if hmac.compare_digest(known.encode(), token.encode()):
                found = principal
        if found is None:
            raise AuthError(401, "unknown bearer token", scheme="Bearer")
        return found

    def operator(self, token: str | None) -> str:
        """The name of the principal holding ``token`` (``principal``)."""
        return self.principal(token).name


# ---- replay protection ---------------------------------------------------------------------------


def decision_digest(operation: Operation, decision: BaseModel) -> str:
    """A digest of the validated decision: equal for the same decision however it was formatted."""
    return hashlib.sha256(f"{operation}:{decision.model_dump_json()}".encode()).hexdigest()


async def claim_envelope(
    db: Executor, operation: Operation, project_id: str, decision: DepartmentCommand, caller: DepartmentCaller
) -> bool:
    """Claim the decision id for this decision; True the first time, False for an honest retry.

    Raises:
        AuthError: 409, the decision id was used for another decision of this project.
    """
    uses = await envelopes.claim_envelope(
        db,
        project_id=project_id,
        decision_id=decision.decision_id,
        operation=operation,
        department=caller.department,
        matter_code=decision.matter_code,
        digest=decision_digest(operation, decision),
        signature=caller.signature,
        expires_at=caller.expires_at,
    )
    if uses is None:
        raise AuthError(
            409,
            f"decision_id: {decision.decision_id} was already used for another decision of {caller.department} "
            "on this project "
            "(replay refused); use a new decision id",
            department=caller.department,
            project_id=project_id,
            decision_id=decision.decision_id,
        )
    return uses == 1


async def release_envelope(db: Executor, operation: Operation, project_id: str, decision: DepartmentCommand) -> None:
    """Give a decision id back after the workflow refused the decision (it left no trace there)."""
    digest = decision_digest(operation, decision)
    await envelopes.release_envelope(
        db, project_id=project_id, department=decision.department, decision_id=decision.decision_id, digest=digest
    )
