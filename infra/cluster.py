"""Preparing a Temporal cluster's namespace for daiban: the namespace, its search attributes and,
with worker versioning, which release's workers take the tasks (the current version).

Each step is idempotent (what exists is left alone) and run from the setup step of a
deployment (``daiban setup all``: the compose file's ``setup`` service, the Kubernetes setup Job)
after ``daiban db migrate``. The dev server of ``make run`` is started with the search attributes
already, so there both steps find nothing to do.

One namespace per environment or province (``shanxi-prod``, ``shanxi-staging``): the namespace
is the unit of retention, of access (mTLS / API keys map to namespaces on a cluster), and of the
event store's binding (``eventstore.binding``: one event store per cluster and namespace).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeWorkerDeploymentRequest,
    RegisterNamespaceRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from infra.settings import ConfigError
from schemas import visibility

log = structlog.get_logger(__name__)
_NEW_NAMESPACE_WAIT_S = 30

# Temporal's own enum values for the SDK's indexed value types (``SearchAttributeIndexedValueType``).
_PROTO_TYPE = {
    "KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "KEYWORD_LIST": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    "BOOL": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "DATETIME": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "TEXT": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    "INT": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "FLOAT": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
}


async def ensure_namespace(client: Client, namespace: str, retention: timedelta) -> bool:
    """Register ``namespace`` with ``retention`` (closed workflows' histories kept that long) unless
    it exists; True when this call registered it. A cluster that forbids registering (a cloud
    namespace made in its console) raises the server's ``RPCError``, naming the namespace."""
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
        return False
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
    seconds = int(retention.total_seconds())
    try:
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=Duration(seconds=seconds))
        )
    except RPCError as err:
        if err.status == RPCStatusCode.ALREADY_EXISTS:  # another setup run won the race
            return False
        raise
    log.info("namespace registered", namespace=namespace, retention_days=retention.days)
    return True


async def _list_search_attributes(client: Client, namespace: str) -> Any:
    """The namespace's search attributes; a namespace registered a moment ago is waited for (the
    frontends learn of it when their namespace cache refreshes, every 10 s by default)."""
    for attempt in range(_NEW_NAMESPACE_WAIT_S):
        try:
            return await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=namespace)
            )
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND or attempt == _NEW_NAMESPACE_WAIT_S - 1:
                raise
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Add the search attributes of ``schemas.visibility`` missing from ``namespace``; return their names.

    Raises ``ValueError`` naming the attribute when one exists with another type (a cluster set up
    by hand), since daiban's queries would then fail.
    """
    listed = await _list_search_attributes(client, namespace)
    missing: dict[str, IndexedValueType.ValueType] = {}
    for key in visibility.ALL:
        want = _PROTO_TYPE[key.indexed_value_type.name]
        have = listed.custom_attributes.get(key.name)
        if have is None:
            missing[key.name] = want
        elif have != want:
            raise ValueError(
                f"search attribute {key.name} exists in namespace {namespace} as "
                f"{IndexedValueType.Name(have)}, daiban needs {IndexedValueType.Name(want)}"
            )
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
        log.info("search attributes added", namespace=namespace, names=sorted(missing))
    return sorted(missing)


async def make_current_version(
    client: Client, deployment: str, build_id: str, wait: timedelta = timedelta(minutes=10)
) -> bool:
    """Make build ``build_id`` the current version of worker deployment ``deployment`` (True), or
    find it current already (False): from then on Temporal hands the namespace's tasks of that
    deployment only to that release's workers (``DAIBAN_WORKER_DEPLOYMENT``/``DAIBAN_BUILD_ID``).

    A deployment with no current version yet (its first versioned release) takes it at once, before
    any of its workers polls (``allow_no_pollers``): tasks wait on their queues until they do. Over
    a current version whose workers poll, Temporal refuses a version that does not poll the same
    task queues yet (they would be left unversioned), so the call waits up to ``wait`` for the new
    release's workers to poll: the old release serves until then (its pods kept by a rolling update
    gated on ``serve_readiness``), so the switch leaves no pause, and never two releases serving
    one project at once. Runs begun on unversioned workers (before
    the first versioned release) stay with those while any polls. Rolling back is the same call
    with the previous build id, once its workers poll again.

    Raises ``ConfigError`` when the release's workers have not polled within ``wait``, and
    ``RPCError`` when the server refuses otherwise (e.g. worker deployments disabled on it).
    """
    if await current_build_id(client, deployment) == build_id:
        return False
    request = SetWorkerDeploymentCurrentVersionRequest(
        namespace=client.namespace,
        deployment_name=deployment,
        build_id=build_id,
        identity="daiban setup",
        allow_no_pollers=True,
    )
    deadline, waited = time.monotonic() + wait.total_seconds(), False
    while True:
        try:
            await client.workflow_service.set_worker_deployment_current_version(request)
            break
        except RPCError as exc:
            if exc.status != RPCStatusCode.FAILED_PRECONDITION or "missing active task queues" not in exc.message:
                raise
            if time.monotonic() >= deadline:
                raise ConfigError(
                    f"DAIBAN_BUILD_ID {build_id}: its workers have not polled every task queue of the current "
                    f"version of {deployment} within {wait.total_seconds():.0f} s; start them, then run "
                    "daiban setup current-version"
                ) from None
            if not waited:
                log.info("waiting for the release's workers to poll", deployment=deployment, build_id=build_id)
            waited = True
            await asyncio.sleep(1.0)
    log.info("current version set", deployment=deployment, build_id=build_id)
    return True


async def current_build_id(client: Client, deployment: str) -> str | None:
    """The build id of worker deployment ``deployment``'s current version; None when it has none
    (unknown to the namespace yet, or only unversioned workers current). Raises ``RPCError`` when
    the server does not answer."""
    try:
        info = (
            await client.workflow_service.describe_worker_deployment(
                DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=deployment)
            )
        ).worker_deployment_info
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return info.routing_config.current_deployment_version.build_id or None


async def serve_readiness(
    client: Client, deployment: str | None, build_id: str | None, path: Path, stop: asyncio.Event, every: float = 5.0
) -> bool:
    """Write ``path`` (``DAIBAN_READY_FILE``, a readiness probe's ``test -f``) once this worker
    serves; True when written, False when ``stop`` was set first.

    Unversioned (``deployment`` None), a worker serves as soon as it polls: the file is written at
    once. With worker versioning it serves only once ``build_id`` is the deployment's current
    version (``make_current_version``, the setup step), so the file waits for that, asking Temporal
    every ``every`` seconds (a failed call is logged and asked again). A rolling update of pods
    gated on it keeps the old release's pods, which serve until the switch, until the new ones do:
    no pause in between. The file holds the build id (or ``unversioned``).
    """
    if deployment is not None and build_id is not None:
        while True:
            try:
                if await current_build_id(client, deployment) == build_id:
                    break
            except RPCError as exc:
                log.warning("readiness: Temporal did not answer", deployment=deployment, error=exc.message)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if stop.is_set():
                return False
    await asyncio.to_thread(_write_ready, path, build_id or "unversioned")
    log.info("worker ready", ready_file=str(path), build_id=build_id)
    return True


def _write_ready(path: Path, build: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{build}\n")
