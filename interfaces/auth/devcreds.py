"""Development credentials: ``.daiban/dev-credentials.json`` and ``python -m interfaces.auth sign|token``.

For ``make run`` only: production sets ``DAIBAN_DEPARTMENT_KEYS`` and ``DAIBAN_OPERATOR_TOKENS``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

from interfaces.auth.signing import signed_headers

FILE_NAME = "dev-credentials.json"


def dev_credentials(path: Path, departments: list[str]) -> dict[str, dict[str, str]]:
    """Read ``path``, or create it (mode 600) with random secrets for ``departments`` and an ``operator`` token."""
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

    creds = dev_credentials(state_dir / FILE_NAME, [d.code for d in default_catalog().departments])
    return {
        "DAIBAN_DEPARTMENT_KEYS": json.dumps(creds["department_keys"]),
        "DAIBAN_OPERATOR_TOKENS": json.dumps(creds["operator_tokens"]),
    }


def configured() -> tuple[dict[str, str], dict[str, str], str]:
    """Secrets from the environment's settings, else from ``make run``'s dev credentials file
    (``$DAIBAN_STATE_DIR/dev-credentials.json``); and where they were looked for, for errors."""
    from infra.settings import load_settings

    s = load_settings()
    keys = {k: v.get_secret_value() for k, v in s.department_keys.items()}
    tokens = {k: v.get_secret_value() for k, v in s.operator_tokens.items()}
    path = (s.state_dir / FILE_NAME).resolve()
    where = f"DAIBAN_DEPARTMENT_KEYS / DAIBAN_OPERATOR_TOKENS, then {path}"
    if (not keys or not tokens) and path.exists():
        dev = json.loads(path.read_text(encoding="utf-8"))
        keys = keys or dev.get("department_keys", {})
        tokens = tokens or dev.get("operator_tokens", {})
    elif not keys or not tokens:
        where += " (missing: run make run, or `. .daiban/env` in this shell, or set DAIBAN_STATE_DIR)"
    return keys, tokens, where


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
    from infra.settings import ConfigError

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
