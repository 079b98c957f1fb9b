"""The typed client's and the CLI's service credentials: a principal and the contact keys.

A service (or a person at the CLI) that sends commands through ``interfaces.client.DaibanClient``
reaches Temporal directly: the gateway's checks are not on its path. With a **service credential**
(``DAIBAN_TOKEN``: the token of one of ``DAIBAN_PRINCIPALS``, the gateway's principals) the client
acts as that principal: every command is checked against its roles before it is sent
(``interfaces.auth.principals``, the gateway's own checks and messages) and ``by`` must be its
name. Without one, the client is one of the zone's trusted services (the gateway itself, the
worker's schedules, an operator's shell on the cluster) and checks nothing beyond the workflow's
own validators.

The enterprise contact's keys (``DAIBAN_CONTACT_KEYS``) let the client and the CLI store and read
the contact in PostgreSQL (``eventstore.contacts``), never through Temporal.

Both fall back to ``make run``'s development credentials (``$DAIBAN_STATE_DIR/dev-credentials.json``)
when the environment has none.
"""

from __future__ import annotations

import json
from typing import Any

from eventstore.contacts import ContactCipher
from infra.settings import ConfigError, PrincipalConfig, Settings
from interfaces.auth.devcreds import FILE_NAME
from interfaces.auth.principals import Principal, from_config
from interfaces.auth.verifying import AuthError, Authorizer


def _dev_file(settings: Settings) -> dict[str, Any]:
    path = settings.state_dir / FILE_NAME
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def principal_for(settings: Settings, token: str | None = None) -> Principal | None:
    """The principal holding ``token`` (default: ``DAIBAN_TOKEN``); None when no token is given.

    Raises:
        ConfigError: the token is no principal's (``DAIBAN_PRINCIPALS``, then the dev credentials).
    """
    if token is None:
        token = settings.token.get_secret_value() if settings.token else None
    if not token:
        return None
    configs = dict(settings.principals)
    where = "DAIBAN_PRINCIPALS"
    if not configs and not settings.operator_tokens:
        configs = {k: PrincipalConfig.model_validate(v) for k, v in _dev_file(settings).get("principals", {}).items()}
        where = f"DAIBAN_PRINCIPALS, then {(settings.state_dir / FILE_NAME).resolve()}"
    operators = {k: v.get_secret_value() for k, v in settings.operator_tokens.items()}
    try:
        return Authorizer({}, operators, principals=from_config(configs)).principal(token)
    except AuthError:
        raise ConfigError(f"DAIBAN_TOKEN: the token is no principal's (looked in {where})") from None


def contact_cipher(settings: Settings) -> ContactCipher | None:
    """The contact keys (``DAIBAN_CONTACT_KEYS``, then the dev credentials); None without any.

    Raises:
        ConfigError: a key that is not 32 bytes of base64, or an unknown ``DAIBAN_CONTACT_KEY_ID``.
    """
    keys = {k: v.get_secret_value() for k, v in settings.contact_keys.items()}
    if not keys:
        keys = dict(_dev_file(settings).get("contact_keys", {}))
    try:
        return ContactCipher.from_config(keys, settings.contact_key_id)
    except ValueError as exc:
        raise ConfigError(f"DAIBAN_CONTACT_KEYS: {exc}") from None
