"""The figures of issue 14's closing note, counted from what the edge tests really send.

Each test that sends a bad input or an attempt beyond a role records its answer here
(``record``); the package's ``conftest.py`` prints one summary line at the end of the run
(``summary``), e.g.::

    edge figures: bad inputs tried 160 (hand-made 70, generated 90), refused with a field error 160,
    5xx 0, accepted-then-wedged 0; authorization attempts beyond role 40, refused 40

"Refused with a field error": a 4xx whose answer names the field, header or key (the test
asserts which). "Accepted-then-wedged": a bad input answered 2xx whose project then stopped
(none can be: each test asserts the 4xx). Generated inputs come from hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# accepted: a generated input the schemas accept, run through the real workflow (wedged or not).
Kind = Literal["bad_input", "beyond_role", "accepted"]


@dataclass(frozen=True)
class Attempt:
    kind: Kind
    what: str
    status: int
    named: bool  # the answer names the field (bad input) or the principal/reason (beyond role)
    generated: bool
    wedged: bool


ATTEMPTS: list[Attempt] = []
# Other runs' own figures (schemathesis's count of generated requests), printed after the line.
NOTES: list[str] = []


def record(
    kind: Kind, what: str, status: int, *, named: bool = True, generated: bool = False, wedged: bool = False
) -> None:
    """Count one attempt and its answer."""
    ATTEMPTS.append(Attempt(kind, what, status, named, generated, wedged))


def summary() -> str | None:
    """The closing note's figures, one line; None when no edge test ran."""
    bad = [a for a in ATTEMPTS if a.kind == "bad_input"]
    role = [a for a in ATTEMPTS if a.kind == "beyond_role"]
    accepted = [a for a in ATTEMPTS if a.kind == "accepted"]
    if not bad and not role and not accepted:
        return "\n".join(NOTES) or None
    generated = sum(a.generated for a in bad)
    refused = sum(400 <= a.status < 500 and a.named for a in bad)
    five = sum(a.status >= 500 for a in ATTEMPTS)
    wedged = sum(a.wedged for a in ATTEMPTS)
    role_refused = sum(400 <= a.status < 500 for a in role)
    return (
        f"edge figures: bad inputs tried {len(bad)} (hand-made {len(bad) - generated}, generated {generated}), "
        f"refused with a field error {refused}, 5xx {five}, accepted-then-wedged {wedged} "
        f"(of {len(accepted)} generated accepted inputs run through the real workflow); "
        f"authorization attempts beyond role {len(role)}, refused {role_refused}"
    ) + "".join(f"\n{n}" for n in NOTES)
