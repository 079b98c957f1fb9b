"""The HTTP gateway: daiban's typed client and read models over JSON, for services in any language.

Run it with ``python -m interfaces.gateway`` or ``daiban-gateway`` (settings from the environment,
see ``infra.settings``); ``make run`` starts it on ``DAIBAN_GATEWAY_PORT`` (8080). OpenAPI at
``/openapi.json``, interactive docs at ``/docs``.

- Writes go through ``interfaces.client.DaibanClient`` and are retry-safe like it: registering a
  project id again answers 200 with the same project (201 the first time); a request id sent
  again (in the body, or as the ``Idempotency-Key`` header) gets the first answer. Request and
  response bodies are the models of ``schemas``.
- Every command's route is its update's name with dashes (``POST /projects/{id}/supply-materials``
  for the ``supply_materials`` update); the paths of earlier versions stay as deprecated aliases.
- Department decisions and verifications carry a signed envelope, every other request (reads too,
  but health, readiness, metrics and the docs) a principal's bearer token, within the principal's
  roles and scope (see ``interfaces.auth`` and ``interfaces.auth.principals``).
- Errors: one map from exception type to status (``errors.ERROR_MAP``).
- ``/healthz``: the process answers; ``/readyz``: Temporal and PostgreSQL answer (503 with the
  reasons otherwise; 200 "degraded" while the projector holds quarantined events); ``/metrics``:
  request counts and latencies per route and status.

Modules: ``app`` (the app, its lifespan and the entry point), ``deps`` (shared dependencies:
services, principals, department callers, path and header parameters), ``errors`` (the error
map), ``limits`` (the request size limit) and ``routers/`` per resource: ``projects``,
``departments`` (decisions, verifications, inbox), ``commands`` (agent and operator commands),
``calendar``, ``reports``, ``health``.
"""

from interfaces.gateway.app import create_app, main, serve

__all__ = ["create_app", "main", "serve"]
