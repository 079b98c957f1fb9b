"""The official calendar in force: the newest one an operator loaded, else the shipped one."""

from __future__ import annotations

import asyncpg

from legalclock import OfficialCalendar, default_calendar


async def current_calendar(pool: asyncpg.Pool) -> OfficialCalendar:
    """The calendar new deadlines are computed with."""
    row = await pool.fetchrow("SELECT content FROM calendars ORDER BY loaded_at DESC, version LIMIT 1")
    if row is None:
        return default_calendar()
    return OfficialCalendar.model_validate(row["content"])


async def store_calendar(pool: asyncpg.Pool, calendar: OfficialCalendar, loaded_by: str) -> bool:
    """Record ``calendar`` as the one in force; False when that version was loaded before."""
    status: str = await pool.execute(
        """INSERT INTO calendars (version, content, loaded_by) VALUES ($1, $2, $3)
           ON CONFLICT (version) DO NOTHING""",
        calendar.version,
        calendar.model_dump(mode="json"),
        loaded_by,
    )
    return status.endswith(" 1")
