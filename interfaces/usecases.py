"""Use cases the CLI and the gateway share: they live once, here, below both (no SQL here either).

- ``publish_calendar``: merge a newly published official calendar into the one in force, store
  it, and signal every running project the new content version (workers load the content).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ConfigDict

from eventstore.calendars import current_calendar, store_calendar
from eventstore.store import Executor
from interfaces.client import DaibanClient
from legalclock import merge_calendar_file
from workflows.project import CalendarUpdate


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CalendarPublished(_Result):
    """What loading a calendar file did: versions, the years it changes, stored, projects told."""

    base_version: str
    version: str
    changed_years: list[int]
    stored: bool
    projects_notified: int


async def publish_calendar(
    db: Executor,
    client: Callable[[], Awaitable[DaibanClient]],
    text: str,
    by: str,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> CalendarPublished:
    """Merge calendar file ``text`` into the calendar in force, store it, tell every running project.

    Args:
        db: daiban's PostgreSQL.
        client: how to reach Temporal (called only when there are projects to tell).
        text: a calendar or notice file (``{"years": {...}}``).
        by: who loads it (recorded with the stored calendar).
        dry_run: only validate and say what would change.
        progress: called with (projects told, running projects) as the signals go out.

    Raises:
        legalclock.LegalClockError: the file is invalid (the message names the date).
    """
    base = await current_calendar(db)
    merged, changed = merge_calendar_file(base, text)
    result = CalendarPublished(
        base_version=base.version, version=merged.version, changed_years=changed, stored=False, projects_notified=0
    )
    if dry_run or not changed:
        return result
    stored = await store_calendar(db, merged, by)
    daiban = await client()
    # Projects receive the version only; every worker loads the stored content into its registry.
    update = CalendarUpdate(version=merged.version)
    running = [p.project_id for p in await daiban.list_projects("ExecutionStatus = 'Running'")]
    for done, project_id in enumerate(running, 1):
        await daiban.calendar_updated(project_id, update)
        if progress:
            progress(done, len(running))
    return result.model_copy(update={"stored": stored, "projects_notified": len(running)})
