"""Fixtures for the legal clock tests."""

from __future__ import annotations

import pytest

from legalclock import OfficeHours, OfficialCalendar, default_calendar


@pytest.fixture(scope="session")
def cal() -> OfficialCalendar:
    """The packaged official calendar (2004-2026)."""
    return default_calendar()


@pytest.fixture(scope="session")
def hours() -> OfficeHours:
    """Default office hours: 09:00-12:00 and 13:30-17:30."""
    return OfficeHours()
