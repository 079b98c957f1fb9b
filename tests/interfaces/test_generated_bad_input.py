"""Generated bad input (issue 14): one field of a valid message made bad, refused with a 422 naming it.

Hypothesis takes a valid registration (the gateway's fixture) or a valid command (drawn from its
model, ``strategy_for``), replaces one field with a value its bounded type refuses (a control
character in a text, an identifier with a character outside its grammar or a trailing newline,
a number out of range or of the wrong type, a string, ``1`` or ``null`` for a flag, a value off
the enum, a list over its bound) and POSTs it: the answer is a 422 whose errors name that field,
never a 5xx, and nothing is started. Signed commands carry a valid department signature, so the
body is what is refused. The hand-made cases are in ``test_edge_input.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interfaces.auth import signed_headers
from schemas import commands
from schemas.project import RegisterProject
from tests.interfaces.conftest import DEPARTMENT_KEYS, Gateway, operator
from tests.interfaces.tally import record
from tests.interfaces.test_accepted_is_kept import examples

_CONTROL = st.sampled_from([chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]])
_WRONG_TYPES = st.sampled_from([[], {}, [1], {"a": 1}])


def _simple(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The field's own schema (the non-null branch of an optional), or None for nested objects."""
    if "anyOf" in schema:
        branches = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return _simple(branches[0]) if len(branches) == 1 else None
    if "$ref" in schema or schema.get("type") == "object":
        return None
    return schema


def bad_value(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the field's type refuses."""
    kind = schema.get("type")
    if "enum" in schema:
        return st.text(min_size=1, max_size=12).filter(lambda v: v not in schema["enum"]) | st.integers() | _WRONG_TYPES
    if kind == "string":
        high = schema.get("maxLength", 200)
        if "pattern" in schema:
            return st.one_of(
                st.from_regex(r"[A-Za-z0-9]{1,20}", fullmatch=True).map(lambda v: v + "\n"),
                st.from_regex(r"[A-Za-z0-9]{0,10}[ /:@#%\u00e9\u9879][A-Za-z0-9]{0,10}", fullmatch=True),
                st.just("x" * (high + 1)),
                st.just(""),
                st.integers(),
                st.booleans(),
                _WRONG_TYPES,
            )
        if schema.get("format") == "date-time":
            return st.one_of(st.just("2026-13-01T00:00:00+08:00"), st.just("yesterday"), st.integers(), _WRONG_TYPES)
        return st.one_of(
            st.tuples(st.text(max_size=20), _CONTROL, st.text(max_size=20)).map("".join),
            st.sampled_from([" ", "\u3000\u3000", "\u200b\u200c", "\ufeff", "\t \t"]),
            st.just("字" * (high + 1)),
            st.integers(),
            st.booleans(),
            _WRONG_TYPES,
        )
    if kind == "integer":
        low, high = schema.get("minimum", -(2**63)), schema.get("maximum", 2**63 - 1)
        return st.one_of(
            st.just(low - 1),
            st.just(high + 1),
            st.integers(min_value=high + 1),
            st.booleans(),
            st.integers(low, high).map(str),
            st.just(1.5),
            _WRONG_TYPES,
        )
    if kind == "number":
        high = schema.get("maximum", 10**6)
        return st.one_of(st.just(-1), st.just(high + 1), st.just(1e308), st.booleans(), st.just("10"), _WRONG_TYPES)
    if kind == "boolean":
        return st.sampled_from([1, 0, "yes", "true", None, [], {}])
    if kind == "array":
        high = schema.get("maxItems", 50)
        item = schema.get("items", {})
        filler: Any = "x" if item.get("type") == "string" else 1
        return st.one_of(st.just([filler] * (high + 1)), st.just("not a list"), st.integers(), st.just({}))
    return st.just(object())  # not reached for daiban's models


def _fields(model: type[Any]) -> dict[str, dict[str, Any]]:
    props = model.model_json_schema()["properties"]
    return {name: simple for name, schema in props.items() if (simple := _simple(schema)) is not None}


# The registration's fields the gateway checks against data (zones) or derives: made bad like the others.
REG_FIELDS = _fields(RegisterProject)
SETTINGS = settings(
    deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


def _named(r: Any, field: str) -> bool:
    try:
        detail = r.json()["detail"]
    except ValueError:
        return False
    return isinstance(detail, list) and any(e["loc"][:2] == ["body", field] for e in detail)


@settings(SETTINGS, max_examples=60)
@given(data=st.data())
async def test_a_generated_bad_registration_is_422_naming_the_field(gw: Gateway, data: st.DataObject) -> None:
    field = data.draw(st.sampled_from(sorted(REG_FIELDS)))
    value = data.draw(bad_value(REG_FIELDS[field]))
    body = {**gw.project(), field: value}
    r = await gw.http.post(
        "/projects",
        content=json.dumps(body, ensure_ascii=True).encode(),
        headers={**operator(), "Content-Type": "application/json"},
    )
    record("bad_input", f"generated registration {field}", r.status_code, named=_named(r, field), generated=True)
    assert r.status_code == 422 and _named(r, field), (field, value, r.status_code, r.text[:500])


COMMANDS = {c.name: c for c in commands.ALL}


@pytest.fixture(scope="module")
def bases() -> dict[str, dict[str, Any]]:
    """One valid example of each command, drawn from its model, to make one field bad."""
    return {name: examples(c.request, 1)[0].model_dump(mode="json") for name, c in COMMANDS.items()}


@settings(SETTINGS, max_examples=100)
@given(data=st.data())
async def test_a_generated_bad_command_is_422_naming_the_field(
    gw: Gateway, bases: dict[str, dict[str, Any]], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(COMMANDS)))
    command = COMMANDS[name]
    fields = _fields(command.request)
    field = data.draw(st.sampled_from(sorted(fields)))
    value = data.draw(bad_value(fields[field]))
    body = json.dumps({**bases[name], field: value}, ensure_ascii=True).encode()
    headers = {**operator(), "Content-Type": "application/json"}
    if command.signed:  # a valid signature over the bad body: the body is what is refused
        headers = {**signed_headers(DEPARTMENT_KEYS["ecology"], "ecology", "no-such-project", body), **headers}
        del headers["Authorization"]
    r = await gw.http.post(f"/projects/no-such-project/{command.dashed}", content=body, headers=headers)
    record("bad_input", f"generated {name} {field}", r.status_code, named=_named(r, field), generated=True)
    assert r.status_code == 422 and _named(r, field), (name, field, value, r.status_code, r.text[:500])
