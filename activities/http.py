"""JSON POSTs to the zone's other systems (department systems, the messaging gateway)."""

from __future__ import annotations

import json
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(10.0)


async def post_json(client: httpx.AsyncClient, url: str, body: Any, idempotency_key: str) -> None:
    """POST ``body`` as JSON; the key lets the receiver drop the duplicates a retry may send.

    Raises:
        httpx.HTTPError: a network error, or an answer other than 2xx.
    """
    response = await client.post(
        url,
        content=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": idempotency_key},
    )
    if not response.is_success:
        raise httpx.HTTPStatusError(
            f"{url} answered {response.status_code}", request=response.request, response=response
        )
