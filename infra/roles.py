"""What each deployed daiban process must be given, for deployment files and their test.

A deployment runs three kinds of daiban process: ``worker`` (``python -m worker``), ``gateway``
(``daiban-gateway``) and ``setup`` (``daiban setup all``, once per release). ``REQUIRED`` lists,
for each, the settings it cannot run in a cluster without: each entry is a tuple of environment
variables of which one is enough (``DAIBAN_TEMPORAL_ADDRESS`` or Temporal's own
``TEMPORAL_ADDRESS``). Defaults that only suit a developer's machine count as missing here: the
Temporal address (``127.0.0.1:7233``), the ``default`` namespace, a gateway or a worker's metrics
listening on loopback. The gateway's callers are ``DAIBAN_PRINCIPALS`` (each scoped; version 1's
unscoped ``DAIBAN_OPERATOR_TOKENS`` is for upgrades only) and the contacts' keys are required, or
a registration carrying a contact is refused.
``tests/infra/test_deploy.py`` checks ``infra/deploy/`` against it.
"""

from __future__ import annotations

from infra.settings import Settings

TEMPORAL_ADDRESS = ("DAIBAN_TEMPORAL_ADDRESS", "TEMPORAL_ADDRESS")
TEMPORAL_NAMESPACE = ("DAIBAN_TEMPORAL_NAMESPACE", "TEMPORAL_NAMESPACE")
_COMMON: tuple[tuple[str, ...], ...] = (("DATABASE_URL",), TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, ("DAIBAN_LOG_FORMAT",))

REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "worker": (*_COMMON, ("DAIBAN_WORKER_QUEUES",), ("DAIBAN_METRICS_PORT",), ("DAIBAN_METRICS_HOST",)),
    "gateway": (
        *_COMMON,
        ("DAIBAN_GATEWAY_HOST",),
        ("DAIBAN_DEPARTMENT_KEYS",),
        ("DAIBAN_PRINCIPALS",),
        ("DAIBAN_CONTACT_KEYS",),
    ),
    "setup": _COMMON,
}

# Temporal's client configuration (``temporalio.envconfig``), read by every daiban process.
TEMPORAL_ENV = frozenset(
    {
        "TEMPORAL_ADDRESS",
        "TEMPORAL_NAMESPACE",
        "TEMPORAL_API_KEY",
        "TEMPORAL_TLS",
        "TEMPORAL_TLS_CLIENT_CERT_PATH",
        "TEMPORAL_TLS_CLIENT_KEY_PATH",
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
        "TEMPORAL_TLS_SERVER_NAME",
        "TEMPORAL_PROFILE",
        "TEMPORAL_CONFIG_FILE",
    }
)


def known_variables() -> frozenset[str]:
    """Every environment variable a daiban process reads (a deployment setting any other is a typo)."""
    names = {"DATABASE_URL"}
    names |= {f"DAIBAN_{name.upper()}" for name in Settings.model_fields if name != "database_url"}
    return frozenset(names | TEMPORAL_ENV)


def missing(role: str, env: set[str] | frozenset[str]) -> list[str]:
    """The requirements of ``role`` that ``env`` (variable names given to the process) leaves unmet."""
    return [" or ".join(group) for group in REQUIRED[role] if not any(name in env for name in group)]
