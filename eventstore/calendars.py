"""Official calendars an operator loaded (table ``calendars``); the newest one is in force."""

from __future__ import annotations

from eventstore.content import stored_contents
from eventstore.store import Executor, insert_once
from legalclock import OfficialCalendar, default_calendar

# Calendars by version: a version names its content (``legalclock.content_version``), so a calendar
# read once never changes. Bounded: a store holds a handful of versions.
_BY_VERSION: dict[str, OfficialCalendar] = {}
_KEPT = 32


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


async def stored_calendar(db: Executor, version: str) -> OfficialCalendar | None:
    """The calendar of ``version`` as stored (loaded by an operator, ``calendars``, or recorded for a
    project, ``content_versions``); None when this database holds no such version."""
    found = _BY_VERSION.get(version)
    if found is not None:
        return found
    content = (await stored_contents(db, [version])).get(version)
    if content is None:
        return None
    calendar = OfficialCalendar.model_validate(content)
    if len(_BY_VERSION) >= _KEPT:
        _BY_VERSION.clear()
    _BY_VERSION[version] = calendar
    return calendar
