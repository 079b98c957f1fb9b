"""The one exception hierarchy of the legal clock.

Every error derives from `LegalClockError`, itself a `ValueError`, so callers that only care
about "bad input" can catch `ValueError`, and the CLI can print any of them as one line.
"""

from __future__ import annotations


class LegalClockError(ValueError):
    """Invalid input to the legal clock (a bad limit, a naive datetime, an end before a start)."""


class CalendarDataError(LegalClockError):
    """Malformed official calendar data: bad JSON, wrong shape, bad or misfiled dates."""


class ClockStateError(LegalClockError):
    """A clock transition that is not allowed in the clock's current state."""


class ExtensionRefused(ClockStateError):
    """An extension the law does not allow; `rule` names the legal source it breaks."""

    rule = "行政许可法 §42"


class ExtensionAfterDeadline(ExtensionRefused):
    """The limit had already run out: §42 allows an extension decided within the period."""


class ExtensionTooLong(ExtensionRefused):
    """More days than the matter's legal maximum (§42: 10 single department, 15 joint)."""


class ExtensionRepeated(ExtensionRefused):
    """A second extension: §42 allows one."""
