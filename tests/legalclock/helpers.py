"""Helpers the legal clock tests share."""

from __future__ import annotations

from datetime import datetime

from legalclock import CST, Clock, OfficeHours, OfficialCalendar


def cst(text: str) -> datetime:
    """An ISO date or datetime in Beijing time."""
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def due(clock: Clock, cal: OfficialCalendar, hours: OfficeHours) -> datetime:
    """The clock's deadline (it must have one: not stopped)."""
    at = clock.deadline(cal, hours).at
    assert at is not None
    return at
