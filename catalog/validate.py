"""Validate a catalog or zone policy file an operator loads, and say how it differs (pure).

Every error of a file is reported at once, each naming its field as a dotted path: ``zones.<code>.
<field>`` for a zone policy, ``matters.<code>.<field>`` for a catalog (``[i]`` where an entry has
no code). A zone policy is checked against the catalog in force (``catalog.models.zone_errors``); a
catalog against every zone policy in force, so a new catalog cannot strand a zone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from catalog.models import Catalog, ZonePolicy, zone_errors


class FieldError(BaseModel):
    """One error of a file: the field's dotted path and what is wrong."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    message: str


class ContentInvalid(ValueError):
    """A file that cannot be loaded; ``errors`` holds every error found, each naming its field."""

    def __init__(self, what: str, errors: list[FieldError]) -> None:
        self.errors = errors
        lines = "\n".join(f"  {e.field}: {e.message}" for e in errors)
        super().__init__(f"{what}: {len(errors)} error(s), nothing loaded\n{lines}")


class Change(BaseModel):
    """One difference between two versions: the field's dotted path, its value before and after.

    ``was`` is None for an added field, ``now`` None for a removed one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    was: Any = None
    now: Any = None


def _path(prefix: str, loc: Iterable[int | str], raw: Any) -> str:
    """A pydantic location as a dotted path, list positions named by the entry's code if it has one."""
    parts = [prefix] if prefix else []
    node = raw
    for step in loc:
        if isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node):
            node = node[step]
            code = node.get("code") if isinstance(node, dict) else None
            parts.append(str(code) if code else f"[{step}]")
        else:
            node = node.get(step) if isinstance(node, dict) else None
            parts.append(str(step))
    return ".".join(parts)


def _split(line: str, fallback: str) -> FieldError:
    """``"path: message"`` (the models' own errors) as a field error; ``fallback`` when unnamed."""
    head, sep, rest = line.partition(": ")
    if sep and " " not in head:
        return FieldError(field=head, message=rest)
    return FieldError(field=fallback, message=line)


def _errors(exc: ValidationError, prefix: str, raw: Any) -> list[FieldError]:
    out: list[FieldError] = []
    for err in exc.errors():
        where = _path(prefix, err["loc"], raw)
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "value_error":  # the models' own checks name their fields themselves
            out.extend(_split(line, where) for line in msg.splitlines())
        else:
            out.append(FieldError(field=where, message=msg))
    return out


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContentInvalid(what, [FieldError(field="(file)", message=f"not JSON: {exc}")]) from None


def parse_zones(text: str, catalog: Catalog) -> list[ZonePolicy]:
    """The zone policies of a file (one zone object or a list of them), checked against ``catalog``.

    Raises:
        ContentInvalid: every error found (JSON, fields, duplicate codes, ``zone_errors``).
    """
    raw = _json(text, "zone file")
    items = raw if isinstance(raw, list) else [raw]
    zones: list[ZonePolicy] = []
    errors: list[FieldError] = []
    for i, item in enumerate(items):
        code = item.get("code") if isinstance(item, dict) else None
        prefix = f"zones.{code}" if code else f"zones.[{i}]"
        try:
            zones.append(ZonePolicy.model_validate(item))
        except ValidationError as exc:
            errors.extend(_errors(exc, prefix, item))
    codes = [z.code for z in zones]
    errors.extend(
        FieldError(field=f"zones.{c}.code", message="the file names this zone more than once")
        for c in sorted({c for c in codes if codes.count(c) > 1})
    )
    if not items:
        errors.append(FieldError(field="zones", message="the file holds no zone"))
    for zone in zones:
        errors.extend(_split(line, f"zones.{zone.code}") for line in zone_errors(catalog, zone))
    if errors:
        raise ContentInvalid("zone file", errors)
    return zones


def parse_catalog(text: str, zones: Iterable[ZonePolicy]) -> Catalog:
    """The catalog of a file, checked against every zone policy in ``zones`` (those in force).

    Raises:
        ContentInvalid: every error found (JSON, fields, the catalog's own checks, and each zone
            policy the new catalog could not honour).
    """
    raw = _json(text, "catalog file")
    try:
        catalog = Catalog.model_validate(raw)
    except ValidationError as exc:
        raise ContentInvalid("catalog file", _errors(exc, "", raw)) from None
    errors = _extension_errors(catalog)
    if errors:
        raise ContentInvalid("catalog file", errors)
    errors = [_split(line, f"zones.{z.code}") for z in zones for line in zone_errors(catalog, z)]
    if errors:
        raise ContentInvalid("catalog file (the zones in force cannot run on it)", errors)
    return catalog


def _extension_errors(catalog: Catalog) -> list[FieldError]:
    """A limit counted in days (日) must state its extension, not default it.

    The licensing law counts its own periods in working days (行政许可法 §82), so a limit in days is
    always another law's or regulation's; the default ``extension_max_days`` is §42's ten working
    days, which extend §42's own twenty. Such a limit takes its own law's extension (排污许可管理条例
    §12: 15 days) or none (环境影响评价法 §22: null). A limit in working days may be §42's own, so
    the check cannot tell whether its default is right; the catalog's legal basis says. Checked when
    a file is loaded, not on the versions already registered, so projects running under an earlier
    catalog keep theirs.
    """
    return [
        FieldError(
            field=f"matters.{m.code}.extension_max_days",
            message=(
                "a limit in days (日) is another law's: state that law's extension in days, or null where it "
                "provides none (行政许可法 §42's ten working days extend only its own twenty; 法律、法规另有"
                "规定的，依照其规定)"
            ),
        )
        for m in catalog.matters
        if m.statutory_days_counted == "days" and "extension_max_days" not in m.model_fields_set
    ]


def diff(was: BaseModel | None, now: BaseModel) -> list[Change]:
    """Every field that differs from ``was`` to ``now`` (all of ``now`` when there is no ``was``).

    Lists of entries with a ``code`` (matters, departments) are compared entry by entry.
    """
    out: list[Change] = []
    _diff("", None if was is None else was.model_dump(mode="json"), now.model_dump(mode="json"), out)
    return out


def _keyed(items: Any) -> dict[str, Any] | None:
    if isinstance(items, list) and all(isinstance(x, dict) and "code" in x for x in items):
        keyed = {str(x["code"]): x for x in items}
        return keyed if len(keyed) == len(items) else None
    return None


def _diff(path: str, was: Any, now: Any, out: list[Change]) -> None:
    if was == now:
        return
    if isinstance(was, list) and isinstance(now, list):
        a, b = _keyed(was), _keyed(now)
        if a is not None and b is not None:
            was, now = a, b
    if isinstance(was, dict) and isinstance(now, dict):
        for key in [*was, *(k for k in now if k not in was)]:
            _diff(f"{path}.{key}" if path else str(key), was.get(key), now.get(key), out)
        return
    out.append(Change(field=path or "(content)", was=was, now=now))
