"""Content versions: large immutable data (catalog, zone policy, calendar) by reference.

A project's workflow carries only the *content versions* (hashes) of the catalog, zone policy and
official calendar it runs under, never copies: its history and its carried state stay small, and
every project registered under the same content shares one decoded copy in the worker.

The worker, never workflow code, fills ``REGISTRY`` (at start from the shipped files and the
calendars stored in PostgreSQL, then whenever an operator loads a new version). Workflow code only
looks versions up. An unknown version raises ``UnknownContentVersion``, which is not a Temporal
failure, so it fails the *workflow task*, which the server retries until a worker that has the
version takes it; the workflow itself never fails for it. The replay tests fill the registry from
the committed versions their histories name.

Equal content always has the same version (a hash of its canonical JSON), so the version a history
names pins exactly the data its deadlines were computed from.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from catalog.models import Catalog, ZonePolicy
from legalclock import OfficialCalendar
from legalclock.official import content_version

M = TypeVar("M", bound=BaseModel)


class UnknownContentVersion(Exception):
    """A workflow asked for a content version this worker has not loaded (fails the task, not the workflow)."""


class ContentVersions(BaseModel):
    """What a project runs under: the versions of its catalog, zone policy and calendar."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    catalog: str
    zone: str
    calendar: str


def content_hash(model: BaseModel, prefix: str) -> str:
    """``prefix`` + "-" + 16 hex digits of the SHA-256 of the model's canonical JSON."""
    return f"{prefix}-{hashlib.sha256(model.model_dump_json().encode()).hexdigest()[:16]}"


def canonical_hash(model: BaseModel, prefix: str) -> str:
    """``prefix`` + "-" + 16 hex digits of the SHA-256 of the model's JSON with sorted keys.

    The version of a catalog or zone policy an operator loads: content read back from PostgreSQL
    (whose jsonb reorders keys) or written in another key order hashes the same.
    """
    text = json.dumps(model.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


class ContentRegistry:
    """Immutable content by version. Thread-safe for the worker's loader; reads never block long."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._catalogs: dict[str, Catalog] = {}
        self._zones: dict[str, ZonePolicy] = {}
        self._calendars: dict[str, OfficialCalendar] = {}

    def add_catalog(self, catalog: Catalog) -> str:
        """Register ``catalog``; return its version."""
        return self._add(self._catalogs, catalog, content_hash(catalog, "catalog"))

    def add_zone(self, zone: ZonePolicy) -> str:
        """Register a zone policy; return its version."""
        return self._add(self._zones, zone, content_hash(zone, f"zone-{zone.code}"))

    def add_calendar(self, calendar: OfficialCalendar) -> str:
        """Register an official calendar; its version is its content version (``cn-…``)."""
        if calendar.version != content_version(calendar.years):  # a hand-labelled calendar
            calendar = OfficialCalendar.from_years(calendar.years)
        return self._add(self._calendars, calendar, calendar.version)

    def _add(self, into: dict[str, M], model: M, version: str) -> str:
        with self._lock:
            into.setdefault(version, model)
        return version

    def catalog(self, version: str) -> Catalog:
        return self._get(self._catalogs, version, "catalog")

    def zone(self, version: str) -> ZonePolicy:
        return self._get(self._zones, version, "zone policy")

    def calendar(self, version: str) -> OfficialCalendar:
        return self._get(self._calendars, version, "calendar")

    def has_calendar(self, version: str) -> bool:
        return version in self._calendars

    def contents(self) -> dict[str, tuple[str, BaseModel]]:
        """Every version held, as ``version -> (kind, content)``; kind is catalog, zone or calendar."""
        with self._lock:
            out: dict[str, tuple[str, BaseModel]] = {v: ("catalog", c) for v, c in self._catalogs.items()}
            out.update({v: ("zone", z) for v, z in self._zones.items()})
            out.update({v: ("calendar", c) for v, c in self._calendars.items()})
        return out

    def add(self, kind: str, content: object, version: str) -> str:
        """Register stored content of ``kind`` (catalog, zone or calendar) under its recorded version.

        The version is the one recorded when the content was first used, not recomputed: a later
        release may add a defaulted field to a model, which would change the hash but not the
        content a running project was registered under.
        """
        if kind == "catalog":
            return self._add(self._catalogs, Catalog.model_validate(content), version)
        if kind == "zone":
            return self._add(self._zones, ZonePolicy.model_validate(content), version)
        if kind == "calendar":
            return self._add(self._calendars, OfficialCalendar.model_validate(content), version)
        raise ValueError(f"kind: unknown content kind {kind!r}")

    def _get(self, source: dict[str, M], version: str, what: str) -> M:
        found = source.get(version)
        if found is None:
            raise UnknownContentVersion(
                f"{what} version {version} is not loaded in this worker; the task is retried until one has it"
            )
        return found


# The one registry of the worker process (filled by worker.py and the tests, read by workflows).
REGISTRY = ContentRegistry()
