"""Read the shipped catalog and zone policies (I/O: activities and the CLI, never workflows)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from pydantic import TypeAdapter

from catalog.models import Catalog, ZonePolicy, check_zone


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The matter catalog shipped with daiban."""
    text = (resources.files("catalog") / "data" / "catalog.json").read_text(encoding="utf-8")
    return Catalog.model_validate_json(text)


@lru_cache(maxsize=1)
def default_zones() -> dict[str, ZonePolicy]:
    """The zone policies shipped with daiban, by zone code, each checked against the catalog."""
    text = (resources.files("catalog") / "data" / "zones.json").read_text(encoding="utf-8")
    zones = TypeAdapter(list[ZonePolicy]).validate_python(json.loads(text))
    for zone in zones:
        check_zone(default_catalog(), zone)
    return {z.code: z for z in zones}
