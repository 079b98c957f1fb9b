"""Development credentials: ``.daiban/dev-credentials.json`` and ``python -m interfaces.auth sign|token``.

For ``make run`` only: production sets ``DAIBAN_DEPARTMENT_KEYS``, ``DAIBAN_PRINCIPALS`` and
``DAIBAN_CONTACT_KEYS`` (a development key ``dev-1`` encrypts the enterprise contacts here).

The development principals (``DEV_PRINCIPALS``; the README's examples use them): ``operator``
(operator of every zone), ``agent-li`` and ``agent-wang`` (agents), ``lead-zhao`` (project lead),
``portal`` (registers and reads in ``tunliu``, the zone portal), ``dashboard`` (reads every zone),
and one department principal per department of the catalog, named by its code (its clocks).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from interfaces.auth.signing import signed_headers

FILE_NAME = "dev-credentials.json"
# name -> roles and scope of the development principals (a token is added to each).
DEV_PRINCIPALS: dict[str, dict[str, Any]] = {
    "operator": {"roles": ["operator"], "zones": ["*"]},
    "agent-li": {"roles": ["agent"]},
    "agent-wang": {"roles": ["agent"]},
    "lead-zhao": {"roles": ["lead"]},
    "portal": {"roles": ["registrar", "reader"], "zones": ["tunliu"]},
    "dashboard": {"roles": ["reader"], "zones": ["*"]},
}


def _principals(departments: list[str]) -> dict[str, dict[str, Any]]:
    wanted = dict(DEV_PRINCIPALS)
    wanted.update({d: {"roles": ["department"], "department": d} for d in departments})
    return wanted


def dev_credentials(path: Path, departments: list[str]) -> dict[str, Any]:
    """Read ``path``, or create it (mode 600) with random secrets: a key per department of
    ``departments``, a principal (token, roles, scope) per ``DEV_PRINCIPALS`` and per department."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    keys: dict[str, str] = data.setdefault("department_keys", {})
    principals: dict[str, dict[str, Any]] = data.setdefault("principals", {})
    wanted = _principals(departments)
    contact_keys: dict[str, str] = data.setdefault("contact_keys", {})
    if all(d in keys for d in departments) and all(n in principals for n in wanted) and contact_keys:
        return data
    if not contact_keys:  # AES-256 for the enterprise contacts (eventstore.contacts)
        contact_keys["dev-1"] = base64.b64encode(secrets.token_bytes(32)).decode()
    data.pop("operator_tokens", None)  # version 1's file: its operator becomes a principal
    for d in departments:
        keys.setdefault(d, secrets.token_urlsafe(24))
    for name, scope in wanted.items():
        principals.setdefault(name, {"token": secrets.token_urlsafe(24), **scope})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
    return data


def dev_credentials_env(state_dir: Path) -> dict[str, str]:
    """``DAIBAN_DEPARTMENT_KEYS`` / ``DAIBAN_PRINCIPALS`` for ``make run``'s gateway."""
    from catalog.load import default_catalog

    creds = dev_credentials(state_dir / FILE_NAME, [d.code for d in default_catalog().departments])
    return {
        "DAIBAN_DEPARTMENT_KEYS": json.dumps(creds["department_keys"]),
        "DAIBAN_PRINCIPALS": json.dumps(creds["principals"]),
        "DAIBAN_CONTACT_KEYS": json.dumps(creds["contact_keys"]),
    }


def configured() -> tuple[dict[str, str], dict[str, str], str]:
    """Department secrets and principals' tokens (name -> token) from the environment's settings,
    else from ``make run``'s dev credentials file (``$DAIBAN_STATE_DIR/dev-credentials.json``);
    and where they were looked for, for errors."""
    from infra.settings import load_settings

    s = load_settings()
    keys = {k: v.get_secret_value() for k, v in s.department_keys.items()}
    tokens = {k: v.get_secret_value() for k, v in s.operator_tokens.items()}
    tokens.update({k: v.token.get_secret_value() for k, v in s.principals.items()})
    path = (s.state_dir / FILE_NAME).resolve()
    where = f"DAIBAN_DEPARTMENT_KEYS / DAIBAN_PRINCIPALS, then {path}"
    if (not keys or not tokens) and path.exists():
        dev = json.loads(path.read_text(encoding="utf-8"))
        keys = keys or dev.get("department_keys", {})
        tokens = tokens or {k: v["token"] for k, v in dev.get("principals", {}).items()}
        tokens = tokens or dev.get("operator_tokens", {})
    elif not keys or not tokens:
        where += " (missing: run make run, or `. .daiban/env` in this shell, or set DAIBAN_STATE_DIR)"
    return keys, tokens, where


async def _rekey_contacts() -> int:
    """Re-encrypt every contact not under the newest key (``eventstore.contacts.rekey``)."""
    from eventstore.contacts import ContactCipher, rekey
    from infra.db import create_pool
    from infra.settings import ConfigError, load_settings

    s = load_settings()
    cipher = ContactCipher.from_config({k: v.get_secret_value() for k, v in s.contact_keys.items()}, s.contact_key_id)
    if cipher is None or not s.database_url:
        raise ConfigError("DAIBAN_CONTACT_KEYS and DATABASE_URL are needed to re-encrypt the contacts")
    pool = await create_pool(s.database_url, min_size=0, max_size=1)
    try:
        return await rekey(pool, cipher)
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m interfaces.auth sign|token``: sign a decision file or print a token, for curl."""
    parser = argparse.ArgumentParser(prog="python -m interfaces.auth", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sign = sub.add_parser("sign", help="print the signed-envelope headers for a decision file (curl -H @file)")
    sign.add_argument("file", type=Path, help="the JSON body to send (decision or verification)")
    sign.add_argument("--department", required=True)
    sign.add_argument("--project", required=True, help="project id in the URL")
    sign.add_argument("--ttl", type=int, default=300, help="seconds until the envelope expires")
    token = sub.add_parser("token", help="print a principal's bearer token (operator, agent-li, ecology, ...)")
    token.add_argument("--principal", default="operator")
    sub.add_parser(
        "rekey-contacts", help="re-encrypt the enterprise contacts under DAIBAN_CONTACT_KEY_ID (key rotation)"
    )
    args = parser.parse_args(argv)
    from infra.settings import ConfigError

    if args.command == "rekey-contacts":
        try:
            changed = asyncio.run(_rekey_contacts())
        except (ConfigError, OSError, ValueError) as exc:
            print(f"daiban: {exc}", file=sys.stderr)
            return 2
        print(f"{changed} contact(s) re-encrypted")
        return 0

    try:
        keys, tokens, where = configured()
    except (ConfigError, OSError, ValueError) as exc:
        print(f"daiban: {exc}", file=sys.stderr)
        return 2
    if args.command == "token":
        if args.principal not in tokens:
            print(f"daiban: --principal: no token for {args.principal!r} (looked in {where})", file=sys.stderr)
            return 2
        print(tokens[args.principal])
        return 0
    if args.department not in keys:
        print(f"daiban: --department: no secret for {args.department!r} (looked in {where})", file=sys.stderr)
        return 2
    try:
        body = args.file.read_bytes()
    except OSError as exc:
        print(f"daiban: {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    for name, value in signed_headers(keys[args.department], args.department, args.project, body, ttl=args.ttl).items():
        print(f"{name}: {value}")
    return 0
