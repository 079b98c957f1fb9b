"""The one way daiban processes connect to Temporal: pydantic converter, one-line errors."""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from infra.settings import ConfigError, Settings


async def connect(settings: Settings, *, address: str | None = None, runtime: Runtime | None = None) -> Client:
    """A client on ``address`` (default: the settings'), or ``ConfigError`` saying what is wrong."""
    target = address or settings.temporal_address
    try:
        return await asyncio.wait_for(
            Client.connect(
                target,
                namespace=settings.temporal_namespace,
                data_converter=pydantic_data_converter,
                runtime=runtime,
            ),
            timeout=15,
        )
    except Exception as exc:  # the SDK raises RuntimeError for most connection failures
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"cannot reach Temporal at {target} (namespace {settings.temporal_namespace}): {detail}; "
            "start it (make run) or fix DAIBAN_TEMPORAL_ADDRESS"
        ) from None
