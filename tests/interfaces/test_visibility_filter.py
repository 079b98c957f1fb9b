"""A caller's visibility filter cannot reach outside the parentheses daiban wraps it in
(``schemas.visibility.self_contained``; the gateway's zone filter and the client's project filter
rely on it), checked against an independent oracle: strip the quoted strings by regular
expression, then cancel ``()`` pairs until none is left."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.visibility import self_contained

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")


def oracle(query: str) -> bool:
    if "\\" in query:
        return False
    bare = _QUOTED.sub("", query)
    if any(q in bare for q in "'\"`"):
        return False
    parens = "".join(ch for ch in bare if ch in "()")
    while "()" in parens:
        parens = parens.replace("()", "")
    return parens == ""


@given(st.text(alphabet="()'\"`\\ aZ=", max_size=30))
def test_self_contained_agrees_with_the_oracle(query: str) -> None:
    assert (self_contained(query) is None) == oracle(query), query


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("DaibanZone = 'tunliu') OR (DaibanZone = 'yanhu'", "a ')' without its '('"),
        ("(DaibanOverdue = true", "a '(' without its ')'"),
        ("DaibanAgent = 'li", "an unclosed '"),
        ("DaibanAgent = 'li\\' OR 1=1", "a backslash"),
    ],
)
def test_an_escaping_filter_is_named(query: str, why: str) -> None:
    assert self_contained(query) == why


@pytest.mark.parametrize(
    "query", ["", "DaibanOverdue = true", "DaibanAgent = 'a)b'", "(DaibanStage = 'x' OR DaibanStage = 'y')"]
)
def test_a_self_contained_filter_passes(query: str) -> None:
    assert self_contained(query) is None
