"""JSON POSTs to the zone's other systems (department systems, the messaging gateway)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def post_json(url: str, body: Any, idempotency_key: str) -> None:
    """POST ``body`` as JSON; the key lets the receiver drop the duplicates a retry may send.

    Blocking: call it with ``asyncio.to_thread``. Raises on a network error or a non-2xx answer.
    """
    req = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": idempotency_key},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        if resp.status >= 300:
            raise RuntimeError(f"{url} answered {resp.status}")
