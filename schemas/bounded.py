"""The bounded types every input of daiban is made of: nothing accepted that cannot be kept.

One set, shared by the typed client, the gateway (its OpenAPI shows the patterns and lengths), the
CLI and the workflow's own validators, so a value one of them accepts is a value all the others,
PostgreSQL (``text``, ``jsonb``, ``bigint``, ``double precision``) and Temporal (JSON payloads)
keep:

- ``Identifier``: 1-64 ASCII letters, digits, ``.``, ``_``, ``-``, starting with a letter or digit,
  matched over the **whole** string (``re.fullmatch``: ``$`` would let ``"p-1\\n"`` through).
- ``Name`` (one line, <= 200 characters) and ``Text(n)`` (may hold line breaks and tabs, <= n
  characters): no control character (PostgreSQL refuses NUL in ``text`` and ``jsonb``), no lone
  UTF-16 surrogate (not encodable in UTF-8), not made only of whitespace or invisible (format)
  characters such as zero-width spaces.
- ``Flag``, ``Count``, ``Yuan``, ``WorkingDays``: strict (no ``true`` as 1, no ``"150000000"`` as a
  number, no ``"yes"`` as true), within what the storage holds.
- every list of a message has a maximum length (``Field(max_length=...)``), so a whole message has
  a maximum size (``MAX_COMMAND_BYTES``).

Errors are pydantic's: each names its field (``loc``) and says what the value must be.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StrictBool, StrictInt, StringConstraints, ValidationInfo, WithJsonSchema

# The identifier grammar, as the OpenAPI shows it; checked with fullmatch.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ID_MAX = 64
NAME_MAX = 200
# Control characters (C0 but tab/newline/carriage return in texts, DEL, C1) and lone surrogates.
_CONTROL_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")
# Visible nothing: whitespace, separators and format characters (zero-width space, joiners, BOM...).
_INVISIBLE = frozenset({"Zs", "Zl", "Zp", "Cf", "Cc"})
# The largest message (a registration, a command) in bytes of JSON: the largest each model's field
# bounds allow (a registration with ten regional assessments in 4-byte characters, about 105 KB)
# fits, and it stays far below Temporal's payload limits (warning at 512 KB, refusal at 2 MB), with
# room for the events a command produces in the same history.
MAX_MESSAGE_BYTES = 128 * 1024
# Above JavaScript's exact integers and far below PostgreSQL's bigint (9.2e18), so a zone's sums fit too.
YUAN_MAX = 10**15


# Validation context key: values daiban accepted before these rules (a running project's registration,
# carried across continue-as-new) are kept as they were, so no running project stops on a rule that
# came after its registration. Lengths and types were the same then; the kept checks are marked below.
KEPT = "kept"


def _kept(info: ValidationInfo | None) -> bool:
    return bool(info is not None and isinstance(info.context, dict) and info.context.get(KEPT))


def identifier(value: str, info: ValidationInfo | None = None) -> str:
    """``value`` when it is an identifier as a whole string; ValueError otherwise (kept: see ``KEPT``)."""
    if not _ID.fullmatch(value) and not _kept(info):
        raise ValueError("must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return value


def _checked(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: str, info: ValidationInfo | None = None) -> str:
        if _kept(info):
            return value
        bad = pattern.search(value)
        if bad is not None:
            char = bad.group()
            raise ValueError(f"{what} must not contain the control character U+{ord(char):04X}")
        if all(unicodedata.category(ch) in _INVISIBLE or ch.isspace() for ch in value):
            raise ValueError(f"{what} must contain visible characters, not only whitespace or zero-width ones")
        return value

    return check


def printable_line(value: str, info: ValidationInfo | None = None) -> str:
    """``value`` when it is one line of visible text (see the module docstring); ValueError otherwise."""
    result: str = _checked(_CONTROL_LINE, "a name")(value, info)
    return result


def printable_text(value: str, info: ValidationInfo | None = None) -> str:
    """``value`` when it is visible text, line breaks and tabs allowed; ValueError otherwise."""
    result: str = _checked(_CONTROL_TEXT, "a text")(value, info)
    return result


def _optional_text(value: str, info: ValidationInfo) -> str:
    # An empty note is "no note"; anything else follows the rules of a text.
    return value if value == "" else printable_text(value, info)


# The validators of the types below take the validation context (pydantic passes it to a
# validator whose second parameter has no default).
def _line(value: str, info: ValidationInfo) -> str:
    return printable_line(value, info)


def _text(value: str, info: ValidationInfo) -> str:
    return printable_text(value, info)


def _identifier(value: str, info: ValidationInfo) -> str:
    return identifier(value, info)


def _yuan(value: int, info: ValidationInfo) -> int:
    if value > YUAN_MAX and not _kept(info):
        raise ValueError(f"must be at most {YUAN_MAX} yuan")
    return value


Identifier = Annotated[
    str,
    StringConstraints(strict=True, min_length=1, max_length=ID_MAX),
    AfterValidator(_identifier),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": ID_MAX, "pattern": ID_PATTERN}),
]
Name = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=NAME_MAX), AfterValidator(_line)]


# One line of visible text of another length than a ``Name`` (a clock id, a content version).
ShortLine = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64), AfterValidator(_line)]
Line = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=120), AfterValidator(_line)]
# Free text: a commitment's wording, a verification's findings (line breaks allowed).
LONG_TEXT = 2000
LongText = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=LONG_TEXT), AfterValidator(_text)]
# An optional note: empty, or a ``LongText``.
Note = Annotated[str, StringConstraints(strict=True, max_length=LONG_TEXT), AfterValidator(_optional_text)]

Flag = StrictBool
Yuan = Annotated[
    StrictInt,
    Field(ge=0),
    AfterValidator(_yuan),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": YUAN_MAX}),
]
Percent = Annotated[StrictInt, Field(ge=0, le=100)]
# Working days in half days: a float the storage (double precision) and JSON hold exactly.
WorkingDays = Annotated[float, Field(strict=True, gt=0, le=365, multiple_of=0.5, allow_inf_nan=False)]


class DuplicateKey(ValueError):
    """A JSON object names ``key`` twice (parsers disagree on which value wins: refuse both)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"{key}: the key appears twice in one object; send it once")
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKey(key)
        seen[key] = value
    return seen


def loads(text: str | bytes) -> Any:
    """JSON ``text`` parsed, refusing an object with a duplicate key.

    Raises:
        DuplicateKey: naming the key.
        json.JSONDecodeError: not JSON.
    """
    return json.loads(text, object_pairs_hook=_no_duplicates)
