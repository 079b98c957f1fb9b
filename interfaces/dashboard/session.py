"""The dashboard's read session: a signed cookie after a login with a read credential.

The read credential is the token of an operator or reader of every zone (``DAIBAN_PRINCIPALS``,
``interfaces.auth.principals``; ``make run``'s ``dashboard``); the login form takes the token and
the cookie holds ``principal.expiry.signature``, the signature an HMAC-SHA256 keyed with that
principal's own token. No secret of its own: a session survives a gateway restart and ends when its
token is removed or rotated, or after ``SESSION_SECONDS``.
"""

from __future__ import annotations

import hashlib
import hmac
import time

COOKIE = "daiban_session"
SESSION_SECONDS = 8 * 3600


def _sign(token: str, principal: str, expires: int) -> str:
    return hmac.new(token.encode(), f"dashboard|{principal}|{expires}".encode(), hashlib.sha256).hexdigest()


def issue(principal: str, token: str, now: float | None = None) -> str:
    """The cookie value for ``principal`` holding ``token``, valid ``SESSION_SECONDS`` from ``now``."""
    expires = int((time.time() if now is None else now) + SESSION_SECONDS)
    return f"{principal}.{expires}.{_sign(token, principal, expires)}"


def verify(cookie: str | None, tokens: dict[str, str], now: float | None = None) -> str | None:
    """The principal of a valid, unexpired ``cookie`` given the known ``tokens`` (principal -> token);
    None for a missing, forged or expired one, one that claims to last longer than a session, or
    one whose principal has no token any more.

    The cookie proves only that its holder knows the principal's token (any principal can make one
    for itself): whether that principal may read the dashboard is checked on every request
    (``interfaces.dashboard.router``), not here."""
    if not cookie:
        return None
    parts = cookie.rsplit(".", 2)  # a principal may hold dots; the expiry and the signature do not
    if len(parts) != 3:
        return None
    principal_name, expires_text, signature = parts
    token = tokens.get(principal_name)
    if token is None or not expires_text.isdigit():
        return None
    expires = int(expires_text)
    current = time.time() if now is None else now
    # Signed by the principal's own token, a cookie could claim any expiry: none beyond a session's.
    if expires < current or expires > current + SESSION_SECONDS:
        return None
    if not hmac.compare_digest(signature, _sign(token, principal_name, expires)):
        return None
    return principal_name
