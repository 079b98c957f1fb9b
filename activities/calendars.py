"""The official calendar in force; moved to the storage layer (``eventstore.calendars``).

Kept importable from here for the CLI until it imports ``eventstore.calendars`` itself.
"""

from __future__ import annotations

from eventstore.calendars import current_calendar, store_calendar

__all__ = ["current_calendar", "store_calendar"]
