"""Content migration (issue 13): a running project moves to other catalog or zone policy versions.

A project keeps the content versions it registered under (``ProjectState.versions``) until an
operator migrates it explicitly (update ``migrate_content``, recorded as ``ContentMigrated``):

- The target content is looked up by version (``contents``: the worker's registry in the workflow,
  never I/O); a version this worker has not loaded is refused by the validator, naming the field.
- Refused before history: an ended project (withdrawn, in production); a zone policy of another
  zone; content the project already runs under; a zone policy that does not fit the catalog
  (``catalog.models.zone_errors``); content that would change the project's checklist (the one-time
  notice handed to the enterprise, 一次性告知: a matter added or removed, or one whose department,
  stage or handling mode changes); content that sets or removes the whole-process cap of a running
  approval process (its clock counts approval time since registration).
- Applied: the context and ``state.versions`` are swapped and the checklist takes the new limits;
  every open clock is recomputed from the new content on its own ledger (acceptance, stops and an
  extension kept): a matter clock's statutory limit and promise (``MatterSpec.clock_days`` and
  ``promised_days``; one clock at the shorter for clock model 1), the running stage's limit
  (``ZonePolicy.stage_limits``), the whole-process cap (``process_caps``), an obligation's period
  (``tolerance_supply_days``, ``commitment_verification_days``) and the enterprise's period to file
  (``enterprise_days``) and the department's period to accept (``MatterSpec.acceptance``: 行政许可法
  §32's 5 working days unless the matter's own rule sets another) in its own unit.
  A matter clock whose limit now counts from the receipt (``MatterSpec.limit_from``) starts at its
  application's receipt, its promise still at the acceptance; one that no longer does, at the acceptance.
  A limit the new policy sets for a running stage that had none counts from the migration (the
  zone's promise is made then); one it removes closes the stage's clock.
  Office hours and the ladder's settings come from the new policy too. As for a new official
  calendar (``Ladder.calendar_changed``), a deadline moved into the future re-arms its ladder.
- The agent and the project lead are told; ``RecordContentVersions`` updates the project's row in
  ``project_content_versions`` (licences are issued under the new policy's seal).

``preview_migration`` computes the same on a copy, changing nothing (the ``migration_preview`` query,
the CLI's ``--dry-run``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from catalog.content import ContentVersions, UnknownContentVersion
from catalog.models import CAPPED_STAGES, ProjectFacts, derive_checklist, handling_mode, zone_errors
from schemas import effects as fx
from schemas import events as ev
from schemas import project as p
from schemas.clocks import PROCESS_CLOCK_ID, stage_clock_id
from schemas.events import ChecklistItem
from schemas.stages import APPROVAL_STAGES
from workflows import clocks
from workflows.lifecycle.filings import Filings
from workflows.lifecycle.state import ProjectContext, ProjectState, Rejected, TrackedClock

# Looks content versions up: the worker's registry in the workflow (``workflows.content.context_of``).
ContentLookup = Callable[[ContentVersions], ProjectContext]


def _field(cmd: p.MigrateContent) -> str:
    """The field a refusal names: the version that brings the change."""
    return "zone_version" if cmd.zone_version is not None else "catalog_version"


class Migration(Filings):
    """The ``migrate_content`` command and its preview (see the module docstring)."""

    def __init__(self, state: ProjectState, ctx: ProjectContext, contents: ContentLookup | None = None) -> None:
        super().__init__(state, ctx)
        self.contents = contents

    def _target_versions(self, cmd: p.MigrateContent) -> ContentVersions:
        was = self.state.versions
        return was.model_copy(
            update={"zone": cmd.zone_version or was.zone, "catalog": cmd.catalog_version or was.catalog}
        )

    def _target(self, cmd: p.MigrateContent) -> ProjectContext:
        """The target content (raises ``UnknownContentVersion``: on replay, the task waits for it)."""
        if self.contents is None:
            raise Rejected(f"{_field(cmd)}: this machine has no content lookup; migrations need one")
        return self.contents(self._target_versions(cmd))

    def validate_migrate_content(self, cmd: p.MigrateContent) -> ProjectContext:
        """Raise ``Rejected`` unless the project may move to ``cmd``'s versions; return their content."""
        self._require_active()
        try:
            target = self._target(cmd)
        except UnknownContentVersion as exc:
            what = str(exc).split(";")[0]  # "<kind> version <v> is not loaded in this worker"
            field = "catalog_version" if cmd.catalog_version and cmd.catalog_version in what else "zone_version"
            raise Rejected(
                f"{field}: {what}; a version just loaded reaches every worker within seconds "
                "(`daiban zone versions` / `daiban catalog versions` list the stored ones)"
            ) from None
        self._check_target(cmd, target)
        return target

    def _check_target(self, cmd: p.MigrateContent, target: ProjectContext) -> None:
        reg, was, to = self.state.registration, self.state.versions, self._target_versions(cmd)
        if target.zone.code != reg.zone:
            raise Rejected(
                f"zone_version: {to.zone} is a policy of zone {target.zone.code}; project {self.pid} runs in "
                f"zone {reg.zone} (a project never changes zone)"
            )
        if to == was:
            raise Rejected(f"{_field(cmd)}: project {self.pid} already runs under catalog {was.catalog}, {was.zone}")
        errors = zone_errors(target.catalog, target.zone)
        if errors:
            raise Rejected(f"{_field(cmd)}: zone policy {to.zone} does not fit catalog {to.catalog}: {errors[0]}")
        changes = self._checklist_changes(target)
        if changes:
            raise Rejected(
                f"{_field(cmd)}: the new content would change the project's checklist (一次性告知清单): "
                f"{'; '.join(changes)}; a running project keeps the checklist it was handed"
            )
        limits = self._limit_changes(target)
        if limits:
            raise Rejected(f"{_field(cmd)}: {'; '.join(limits)}; migrate once the approval process has ended")

    def _checklist_under(self, target: ProjectContext) -> list[ChecklistItem]:
        """The checklist the project would have been handed under ``target`` (as ``register`` makes
        it: under modes rule 2 a regional assessment the project does not fit is applied for)."""
        derived = derive_checklist(target.catalog, target.zone, ProjectFacts.of(self.state.registration))
        items = self._as_handed(derived, target.catalog.matter)
        if not self._by_rule:
            return items
        twin = type(self)(self.state, target)  # reads the registration and the target zone only
        out = []
        for item in items:
            spec = target.catalog.matter(item.matter_code)
            if item.mode == "regional_assessment" and twin._misfit(spec) is not None:
                item = item.model_copy(update={"mode": handling_mode(spec, target.zone, assessments=False)})
            out.append(item)
        return out

    def _checklist_changes(self, target: ProjectContext) -> list[str]:
        """How the checklist derived from ``target`` differs in its matters from the project's."""
        new = {i.matter_code: i for i in self._checklist_under(target)}
        old = {i.matter_code: i for i in self.state.checklist}
        out = [f"adds {code}" for code in new if code not in old]
        out += [f"removes {code}" for code in old if code not in new]
        for code in (c for c in old if c in new):
            for name in ("department", "stage", "mode"):
                if getattr(old[code], name) != getattr(new[code], name):
                    out.append(f"{code}'s {name} {getattr(old[code], name)} → {getattr(new[code], name)}")
        return out

    def _limit_changes(self, target: ProjectContext) -> list[str]:
        """A whole-process cap the running approval process would gain or lose (its clock counts the
        approval time since registration, which a cap set now could not know)."""
        kind = self.state.registration.project_type
        process = self.state.clocks.get(PROCESS_CLOCK_ID)
        capped = process is not None and not process.closed
        if self.state.stage in CAPPED_STAGES and capped != bool(target.zone.process_caps.get(kind)):
            verb = "removes the whole-process cap" if capped else "sets a whole-process cap"
            return [f"process_caps.{kind}: the new policy {verb} of the running approval process"]
        return []

    def _new_limits(self, tc: TrackedClock) -> tuple[float | None, float | None]:
        """``tc``'s limit and promise under the current content (its own when none derives from it;
        None: a stage whose limit the new policy removes)."""
        m = self.state.matters.get(tc.matter_code or "")
        if tc.scope == "matter" and m is not None:
            spec = self._spec(m)
            if self.state.clock_model == 1:
                return spec.limit_days, None
            shorter = spec.promised_days is not None and spec.promised_days < spec.clock_days
            return spec.clock_days, spec.promised_days if shorter else None
        if tc.scope == "stage":
            stage = next((s for s in APPROVAL_STAGES if stage_clock_id(s) == tc.clock_id), None)
            return self.zone.stage_limits.get(stage) if stage is not None else None, tc.promised_days
        if tc.scope == "process":
            days = self.zone.process_caps.get(self.state.registration.project_type)
            return days or tc.clock.limit_days, tc.promised_days
        if tc.scope == "obligation" and m is not None:
            kind = next((o.kind for o in m.obligations if o.clock_id == tc.clock_id), None)
            spec = self._spec(m)
            if kind == "supply_materials":
                return spec.tolerance_supply_days, None
            if kind == "verification":
                return spec.commitment_verification_days, None
        if tc.scope == "enterprise" and m is not None and self._spec(m).enterprise_days:
            return self._filing_period(m, tc.clock.accepted_at)[0], None
        if tc.scope == "acceptance" and m is not None:  # the period to accept (行政许可法 §32 or the matter's rule)
            return self._spec(m).acceptance.days, None
        return tc.clock.limit_days, tc.promised_days

    def _new_counting(self, tc: TrackedClock, limit: float) -> clocks.Counted:
        """How ``tc``'s new ``limit`` counts: a matter clock on its statutory limit in that limit's unit
        (``MatterSpec.statutory_days_counted``: 日 or 工作日; an extension keeps its days, now counted in
        it), a period to accept in its own (``MatterSpec.acceptance``), the enterprise's period to file
        as it opens (``_filing_period``), any other clock as before."""
        m = self.state.matters.get(tc.matter_code or "")
        if tc.scope == "matter" and m is not None and m.clock_id == tc.clock_id:
            return self._spec(m).counted_for(limit)
        if tc.scope == "acceptance" and m is not None:
            return self._spec(m).acceptance.counted
        if tc.scope == "enterprise" and m is not None and self._spec(m).enterprise_days:
            return self._filing_counted(m)
        return tc.clock.counted

    def _new_start(self, tc: TrackedClock) -> tuple[datetime, datetime | None]:
        """Where ``tc``'s limit counts from under the current content, and the acceptance when apart
        (``MatterSpec.limit_from``: the receipt of the application it decides; ``TrackedClock.acceptance``)."""
        m = self.state.matters.get(tc.matter_code or "")
        start, acceptance = tc.clock.accepted_at, tc.acceptance
        if tc.scope != "matter" or m is None or m.clock_id != tc.clock_id or self.state.clock_model != 2:
            return start, acceptance
        accepted = acceptance or start
        received = m.received_at
        if self._spec(m).limit_from == "receipt" and received is not None and received < accepted:
            return received, accepted
        return accepted, None

    def migrate_content(self, cmd: p.MigrateContent, now: datetime) -> p.Ack:
        """Move to ``cmd``'s versions and recompute every open clock (see the module docstring)."""
        target = self._target(cmd)  # before validating: on replay an unknown version fails the task
        self._check_target(cmd, target)
        self._require_active()
        was, to = self.state.versions, self._target_versions(cmd)
        open_clocks = [tc for tc in self.state.clocks.values() if not tc.closed]
        before = {
            tc.clock_id: (tc.clock.limit_days, tc.promised_days, self.deadline(tc).at, self.promised_deadline(tc))
            for tc in open_clocks
        }
        self.state.checklist = self._checklist_under(target)
        self.ctx = target
        self.state.versions = to
        moves: list[ev.DeadlineMove] = []
        for tc in open_clocks:
            limit, promise = self._new_limits(tc)
            start, acceptance = self._new_start(tc)
            limit_was, promise_was, at_was, promised_was = before[tc.clock_id]
            if limit is None:  # the zone no longer promises the running stage anything: its clock closes
                self._close_clock(tc.clock_id, now)
                at = promised = promise_was = promised_was = None
            else:
                update = {"limit_days": limit, "accepted_at": start, "counted": self._new_counting(tc, limit)}
                tc.clock = tc.clock.model_copy(update=update)
                tc.promised_days = promise
                tc.acceptance = acceptance
                at, promised = self.deadline(tc).at, self.promised_deadline(tc)
                if (limit, promise, at, promised) == (limit_was, promise_was, at_was, promised_was):
                    continue
            moves.append(
                ev.DeadlineMove(
                    clock_id=tc.clock_id,
                    label=tc.label,
                    limit_days_was=limit_was,
                    limit_days=limit,
                    deadline_was=at_was,
                    deadline=at,
                    promised_days_was=promise_was,
                    promised_days=promise,
                    promised_deadline_was=promised_was,
                    promised_deadline=promised,
                )
            )
            if limit is None:
                continue
            # As for a new calendar: a deadline now in the future re-arms its part of the ladder.
            if at is not None and at > now and at != at_was:
                tc.breached = tc.deemed_held = False
            answerable = self.answerable_deadline(tc).at
            if answerable is not None and answerable > now:
                tc.warned = tc.promise_breached = False
        moves += self._new_stage_limit(now)
        self._emit(
            ev.ContentMigrated(
                project_id=self.pid,
                catalog_was=was.catalog,
                catalog=to.catalog,
                zone_was=was.zone,
                zone=to.zone,
                by=cmd.by,
                reason=cmd.reason,
                moves=moves,
                checklist=self.state.checklist,
            ),
            now,
        )
        self.state.effects.append(
            fx.RecordContentVersions(project_id=self.pid, **to.model_dump(), version=self.state.version)
        )
        self._notify(
            "content_migrated",
            [self.state.agent, self.state.registration.project_lead],
            f"{self.state.registration.name}: now under {to.zone} and {to.catalog} ({cmd.reason}); "
            f"{len(moves)} deadline(s) moved",
            now,
        )
        for tc in open_clocks:  # a held deemed approval whose deadline is now official and passed
            self._release_held(tc, now)
        return self._ack(f"content migrated to {to.zone}, {to.catalog}; {len(moves)} deadline(s) moved")

    def _new_stage_limit(self, now: datetime) -> list[ev.DeadlineMove]:
        """A limit the new policy sets for the running stage, which ran without one: the zone's new
        promise is made now, so it counts from the migration (a promise binds from when it is made)."""
        stage = self.state.stage
        limit = self.zone.stage_limits.get(stage) if stage in APPROVAL_STAGES else None
        tc = self.state.clocks.get(stage_clock_id(stage))
        if not limit or (tc is not None and not tc.closed):
            return []
        lead = self.zone.stage_leads.get(stage) if self.state.filing_rule == 2 else None
        tc = self._new_clock(stage_clock_id(stage), "stage", f"stage {stage}", limit, now, department=lead)
        return [
            ev.DeadlineMove(
                clock_id=tc.clock_id,
                label=tc.label,
                limit_days_was=None,
                limit_days=limit,
                deadline_was=None,
                deadline=self.deadline(tc).at,
            )
        ]

    def preview_migration(self, cmd: p.MigrateContent, now: datetime) -> p.MigrationPreview:
        """What ``migrate_content`` would do, computed on a copy: nothing here changes.

        Raises:
            Rejected: the migration would be refused (the same reason).
        """
        twin = type(self)(self.state.model_copy(deep=True), self.ctx, self.contents)
        twin.validate_migrate_content(cmd)
        twin.state.pending_events = []
        twin.migrate_content(cmd, now)
        done = ev.ContentMigrated.model_validate(twin.state.pending_events[0].payload)
        return p.MigrationPreview(**done.model_dump(include={"catalog_was", "catalog", "zone_was", "zone", "moves"}))
