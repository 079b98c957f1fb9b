"""Official calendars an operator loaded (table ``calendars``); the newest one is in force."""

from __future__ import annotations

from eventstore.store import Executor, insert_once
from legalclock import OfficialCalendar, default_calendar


async def current_calendar(db: Executor) -> OfficialCalendar:
    """The calendar new deadlines are computed with: the newest loaded, else the shipped one."""
    row = await db.fetchrow("SELECT content FROM calendars ORDER BY loaded_at DESC, version LIMIT 1")
    if row is None:
        return default_calendar()
    return OfficialCalendar.model_validate(row["content"])


async def store_calendar(db: Executor, calendar: OfficialCalendar, loaded_by: str) -> bool:
    """Record ``calendar`` as the one in force; False when that version was loaded before."""
    row = {"version": calendar.version, "content": calendar.model_dump(mode="json"), "loaded_by": loaded_by}
    return await insert_once(db, "calendars", row, conflict="(version)")
