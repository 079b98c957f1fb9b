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
    department does not own the matter (``validate_decide``, the ``decide`` update's validator):
    a department can only decide its own matters, whoever signs.

Principals (every other request, reads included)
    ``Authorization: Bearer <token>`` with the token of a principal of ``DAIBAN_PRINCIPALS`` (a
    JSON map name -> token, roles, zones, department; ``infra.settings.PrincipalConfig``). Each
    acts within its roles and scope (``interfaces.auth.principals``): agents and leads on their
    projects, operators and readers in their zones, a department on its own clocks; ``by`` is the
    principal's name (a body naming anyone else: 403 naming ``by``). Version 1's
    ``DAIBAN_OPERATOR_TOKENS`` (name -> token) are operators of every zone. Tokens are compared in
    constant time and never logged; health, readiness, metrics and the docs need none.

Every rejection is logged with its reason (``gateway request rejected``). ``make run`` generates
development secrets into ``.daiban/dev-credentials.json`` when none are configured.

Modules (a department system needs only the first; it imports neither FastAPI nor asyncpg):

- ``interfaces.auth.signing``: the canonical envelope, ``sign_envelope``, ``signed_headers``;
- ``interfaces.auth.verifying``: the gateway's checks (``Authorizer``, ``AuthError``) and the
  decision-id claims, stored by ``eventstore.envelopes``;
- ``interfaces.auth.principals``: principals, their roles and scopes, and what each may do;
- ``interfaces.auth.devcreds``: ``make run``'s development credentials and
  ``python -m interfaces.auth sign|token``.

This package re-exports the signing names and the development credentials.
"""

from interfaces.auth.devcreds import dev_credentials, dev_credentials_env, main
from interfaces.auth.signing import (
    DEPARTMENT_HEADER,
    EXPIRES_HEADER,
    SIGNATURE_HEADER,
    canonical_envelope,
    sign_envelope,
    signed_headers,
)

__all__ = [
    "DEPARTMENT_HEADER",
    "EXPIRES_HEADER",
    "SIGNATURE_HEADER",
    "canonical_envelope",
    "dev_credentials",
    "dev_credentials_env",
    "main",
    "sign_envelope",
    "signed_headers",
]
