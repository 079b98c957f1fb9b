"""Use cases the CLI and the gateway share: they live once, here, below both (no SQL here either).

- ``register_project``: register a project with an exact answer under concurrency: of concurrent
  registrations of one id exactly one is ``created``, the others get the same run; another body
  for a known id is refused naming the fields that differ.
- ``publish_calendar``: merge a newly published official calendar into the one in force, store
  it, and signal every running project the new content version (workers load the content).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Literal

import structlog
from pydantic import BaseModel, ConfigDict

from eventstore import registrations
from eventstore.calendars import current_calendar, store_calendar
from eventstore.store import Executor
from eventstore.versions import current_zone, current_zones
from interfaces.client import DaibanClient, DaibanError, InvalidInput, ProjectFinished, ProjectNotFound, checked
from legalclock import CST, CalendarDiff, OfficialCalendar, diff_calendar_file, merge_calendar_file
from schemas.project import CalendarUpdate, RegisterProject

log = structlog.get_logger(__name__)


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegistrationConflict(DaibanError):
    """A known project id registered again with other values; ``fields`` name what differs."""

    def __init__(self, project_id: str, fields: list[str]) -> None:
        super().__init__(
            f"project_id: {project_id} is registered with other values for {', '.join(fields)}; "
            "a registration is never changed by registering again"
        )
        self.project_id = project_id
        self.fields = fields


class Registration(_Result):
    """A registration's answer: the project's run, and whether this call started it."""

    run_id: str
    created: bool


async def register_project(
    db: Executor,
    daiban: DaibanClient,
    reg: RegisterProject,
    principal: str,
    *,
    covers: Callable[[str], bool] | None = None,
    wait: float = 10.0,
    _tries: int = 3,
) -> Registration:
    """Register ``reg`` once, whoever else registers the same project id at the same time.

    The first caller claims the project id in PostgreSQL (``eventstore.registrations``) and starts
    the project; the others wait up to ``wait`` seconds for its run and answer it (``created``
    false). A project registered before the claims existed is found running and answered so.
    ``covers``: whether the caller registers in a zone (the gateway's principal; None: every zone).
    A project id held in a zone it does not cover is a conflict on ``zone`` alone: its other values
    are never compared, so a caller cannot learn them field by field.

    Raises:
        InvalidInput: a field daiban cannot keep, an unknown zone (nothing claimed, nothing started).
        RegistrationConflict: the project id is registered with other values.
        ProjectFinished: the project has finished; its id is never reused.
    """
    reg = checked(reg)
    await _check_against_zone(db, reg)
    body = reg.model_dump(mode="json")
    claim = await registrations.claim_registration(db, reg.project_id, body, principal)
    if not claim.fresh:
        held = claim.registration
        if covers is not None and not covers(str(held.get("zone"))):
            raise RegistrationConflict(reg.project_id, ["zone"])
        differ = sorted(k for k in body.keys() | held.keys() if body.get(k) != held.get(k))
        if differ:
            raise RegistrationConflict(reg.project_id, differ)
        found = claim if claim.run_id else await registrations.wait_for_run(db, reg.project_id, wait)
        if found is None or found.run_id is None:
            if _tries <= 1:
                return Registration(run_id=await daiban.register(reg), created=False)
            return await register_project(db, daiban, reg, principal, covers=covers, wait=wait, _tries=_tries - 1)
        existing = await daiban.existing_run(reg.project_id)
        if existing is not None and not existing.running and not await daiban.start_refused(reg.project_id):
            raise ProjectFinished("project_id: this project has finished; a project id is never reused")
        return Registration(run_id=found.run_id, created=False)
    existing = await daiban.existing_run(reg.project_id)
    try:
        if existing is not None and not existing.running and not await daiban.start_refused(reg.project_id):
            await registrations.record_run(db, reg.project_id, existing.run_id, False)
            raise ProjectFinished("project_id: this project has finished; a project id is never reused")
        run_id = await daiban.register(reg)
    except ProjectFinished:
        raise
    except BaseException:
        await registrations.release_registration(db, reg.project_id)
        raise
    created = existing is None or not existing.running
    await registrations.record_run(db, reg.project_id, run_id, created)
    return Registration(run_id=run_id, created=created)


async def check_registration(db: Executor, reg: RegisterProject) -> None:
    """``reg`` against the zone's data in force (``_check_against_zone``): what every tool checks
    before it starts a project. Raises ``InvalidInput`` naming the field."""
    await _check_against_zone(db, checked(reg))


async def _check_against_zone(db: Executor, reg: RegisterProject) -> None:
    """The registration against the zone's data in force, as the workflow will read it: a zone
    daiban has, regional assessments (区域评估) the zone made, and standard land or standard
    factories only where the zone supplies them.

    Raises:
        InvalidInput: naming the field.
    """
    found = await current_zone(db, reg.zone)
    if found is None:
        known = ", ".join(sorted(await current_zones(db)))
        raise InvalidInput([{"loc": ["zone"], "msg": f"unknown zone {reg.zone!r}; known: {known}"}])
    zone = found[1]
    made = zone.regional_assessments
    errors = [
        {
            "loc": ["regional_assessments", i, "assessment"],
            "msg": f"zone {reg.zone} has no regional assessment {fit.assessment!r}; "
            f"its assessments: {', '.join(made) or 'none'}",
        }
        for i, fit in enumerate(reg.regional_assessments)
        if fit.assessment not in made
    ]
    # A standard-land parcel skips the land pre-review, a standard-factory tenant the land and
    # planning matters: only where the zone supplies them (``ZonePolicy.standard_land`` / ``standard_factories``).
    if reg.standard_land_parcel and not zone.standard_land:
        errors.append({"loc": ["standard_land_parcel"], "msg": f"zone {reg.zone} supplies no standard land (标准地)"})
    if reg.project_type == "standard_factory_tenant" and not zone.standard_factories:
        errors.append({"loc": ["project_type"], "msg": f"zone {reg.zone} builds no standard factories (标准化厂房)"})
    if errors:
        raise InvalidInput(errors)


class DeadlineMove(_Result):
    """A running project's deadline that the new calendar moves (``working_days`` > 0: later).

    ``limit``: the law's deadline (``statutory``) or the zone's promise on the same clock
    (``promised``, the one the zone answers for and escalates on).
    """

    project_id: str
    clock_id: str
    label: str
    before: datetime | None
    after: datetime | None
    working_days: int
    limit: Literal["statutory", "promised"] = "statutory"


class CalendarPublished(_Result):
    """What loading a calendar file did (or, dry, would do): every changed day, every moved deadline."""

    base_version: str
    version: str
    changed_years: list[int]
    stored: bool
    projects_notified: int
    changes: CalendarDiff
    moves: list[DeadlineMove] = []
    # Running projects whose deadlines could not be previewed (their worker did not answer).
    unpreviewed: list[str] = []
    # Running projects that could not be told (Temporal did not answer): loading the file again,
    # even unchanged, tells every running project the calendar in force.
    not_notified: list[str] = []


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
    changes = diff_calendar_file(base, text)
    merged, changed = merge_calendar_file(base, text)
    result = CalendarPublished(
        base_version=base.version,
        version=merged.version,
        changed_years=changed,
        stored=False,
        projects_notified=0,
        changes=changes,
    )
    if not changed and dry_run:
        return result
    daiban = await client()
    running = [p.project_id for p in await daiban.list_projects("ExecutionStatus = 'Running'")]
    if not changed:
        # Nothing new: still tell every running project the version in force (a no-op for those
        # on it), so loading the file again finishes a load whose notifications were cut short.
        notified, missed = await _notify(daiban, running, base.version, progress)
        return result.model_copy(update={"projects_notified": notified, "not_notified": missed})
    # Concurrently, a few at a time; a project whose worker does not answer is listed, not awaited.
    gate = asyncio.Semaphore(16)

    async def preview(project_id: str) -> list[DeadlineMove] | None:
        async with gate:
            try:
                return await _moves(daiban, project_id, base, merged)
            except DaibanError:
                return None
            except Exception as exc:  # an answer this gateway cannot read (another release's worker)
                log.warning("deadlines not previewed", project_id=project_id, error=str(exc))
                return None

    previews = await asyncio.gather(*(preview(p) for p in running))
    moves = [m for found in previews if found for m in found]
    unpreviewed = [p for p, found in zip(running, previews, strict=True) if found is None]
    result = result.model_copy(update={"moves": moves, "unpreviewed": unpreviewed})
    if dry_run:
        return result
    stored = await store_calendar(db, merged, by)
    notified, missed = await _notify(daiban, running, merged.version, progress)
    return result.model_copy(update={"stored": stored, "projects_notified": notified, "not_notified": missed})


async def _notify(
    daiban: DaibanClient, running: list[str], version: str, progress: Callable[[int, int], None] | None
) -> tuple[int, list[str]]:
    """Tell each running project calendar ``version``; (how many were told, those Temporal refused).

    Projects receive the version only; every worker loads the stored content into its registry. A
    project that ended since the listing needs nothing; one that cannot be told now is listed, and
    the others are told all the same (one failure stopped the loop before, leaving the rest on the
    old calendar).
    """
    # A signal, not the checked update ``adopt_calendar``: this load stored the version itself (so a
    # worker loads it within seconds), and a signal waits in Temporal while no worker runs, where an
    # update needs one to answer; a project whose worker is down is told all the same.
    update = CalendarUpdate(version=version)
    notified, missed = 0, []
    for done, project_id in enumerate(running, 1):
        try:
            await daiban.calendar_updated(project_id, update)
            notified += 1
        except (ProjectNotFound, ProjectFinished):
            pass  # ended since the listing (a finished run takes no signal)
        except DaibanError as exc:
            log.warning("running project not told of the calendar", project_id=project_id, error=str(exc))
            missed.append(project_id)
        if progress:
            progress(done, len(running))
    return notified, missed


async def _moves(
    daiban: DaibanClient, project_id: str, base: OfficialCalendar, merged: OfficialCalendar
) -> list[DeadlineMove]:
    """The project's open deadlines that ``merged`` moves, recomputed from their legal ledgers: each
    clock's statutory deadline and, where the zone promised less, its promised one."""
    out = []
    index = merged.day_index
    for ledger in await daiban.clock_ledger(project_id):
        pairs = zip(ledger.deadlines(base), ledger.deadlines(merged), strict=True)
        for limit, (before, after) in zip((ledger.limit, "promised"), pairs, strict=True):
            if before == after:
                continue
            shift = 0
            if before is not None and after is not None:
                # Working days between the two dates (Beijing time), signed.
                a, b = sorted((before.astimezone(CST).date().toordinal(), after.astimezone(CST).date().toordinal()))
                shift = (index.working_before(b) - index.working_before(a)) * (1 if after > before else -1)
            out.append(
                DeadlineMove(
                    project_id=project_id,
                    clock_id=ledger.clock_id,
                    label=ledger.label,
                    before=before,
                    after=after,
                    working_days=shift,
                    limit=limit,
                )
            )
    return out
