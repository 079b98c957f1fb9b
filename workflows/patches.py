"""The project workflow's patches (``workflow.patched``), and the one marker that stands for them all.

Every change to what ``ProjectWorkflow`` issues came under a patch, so runs recorded before it replay
as they ran (tests/replay). A patch a run takes costs that run a marker event, an upsert of the
``TemporalChangeVersion`` search attribute listing every patch id taken so far, and the worker two
state machines for as long as the run is cached. With eleven patches a new run paid about 3.9 KB of
history in its first run and 1.3 KB in each continued run (``make bench``), and the cached runs'
memory grew with them.

Since patch ``consolidated-2026-12`` a run takes **one** marker, at the very start of its first
workflow task (``Patches.take``): taken, every patch its consolidation lists answers True without
a marker of its own. ``Patches.take`` asks the consolidations newest first (``CONSOLIDATIONS``); a
run recorded before one replays without its marker (``workflow.patched`` answers False there) and
takes the older one it recorded, or none: then each patch is asked on its own, where it always
was, exactly as before. A patch added later is asked on its own (``Patches.patched``) until a next
consolidation lists it (``consolidated-2026-12-b`` lists ``quiet-endings`` too, and
``consolidated-2026-12-c`` also ``owed-past-production`` and ``lapse-while-suspended``,
``consolidated-2026-12-d`` also ``event-day-periods`` and ``promise-only-limits``,
``consolidated-2026-12-e`` also ``enterprise-days-periods``, ``consolidated-2026-12-f`` also
``held-acceptance``, so a new run still pays one marker).
A patch's id never changes and is never reused.

Source: Temporal's versioning with patching (``workflow.patched``; a patch asked while replaying
answers whether the history holds its marker, otherwise True and records one).

Workflow code: deterministic, Temporal APIs only.
"""

from __future__ import annotations

from temporalio import workflow

# Patch: batches dispatched from the activation that filled the outbox, nothing issued on their
# results, alarm timers never cancelled (``workflows.pipeline``; tests/faults/evidence).
PIPELINED = "pipelined"
TWO_CLOCKS = "two-clocks"  # the statutory limit with the zone's promise beside it (``clock_model``)
DEEMED_BY_MATTER = "deemed-by-matter"  # deemed approval only for the matters a zone lists (``deemed_rule``)
ACCEPTANCE = "acceptance"  # applied for and accepted before the clock runs (``acceptance_rule``)
# Patch: a run without its own ``history_limit`` continues as new at ``SHORT_RUN_EVENTS`` events
# (before: 2,000), so a worker that lost its cached copy replays little. (It was first taken for
# a 60-update storm that stalled on long runs; the stall was Temporal's refusals of updates past
# its in-flight limit, each clearing the run's cached state on the server, and shorter runs only
# made it rarer: the client now stays under the limit, ``interfaces.admission``.)
SHORT_RUNS = "short-runs"
MODES_BY_RULE = "modes-by-rule"  # handling modes by the rules (``ProjectState.modes_rule``)
FILINGS = "filings-joint-acceptance"  # filings on receipt, joint opinion (``ProjectState.filing_rule``)
SCOPED_DECISIONS = "scoped-decisions"  # decision ids per department (``ProjectState.decision_scope``)
TEXTS_OUT = "texts-out"  # bounded summaries of free texts in the carried state (``ProjectState.texts_out``)
# Patch: the raw start input is checked and a bad one fails the workflow at once (before: the task
# failed on decoding, forever; ``workflows.start``).
CHECKED_START = "checked-start"
# Patch: a run continues as new with its carried state compressed (``ProjectInput.carried_zlib``).
CARRIED_APART = "carried-apart"
# Patch: applications go to department systems from the adapters' task queue
# (``deliver_applications``), not from ``apply_batch``; taken once per run, where its loop starts.
ADAPTER_QUEUE = "adapter-queue"
# Patch: a batch carries only what no batch of the run carried yet, stored after its predecessors
# (``Batch.after_version``); taken once per run, where its loop starts.
LEAN_BATCHES = "lean-batches"

# Patch: while the run is ending (continue-as-new due, or the project done), an iteration woken by
# an update or a timer starts no alarm timer, so it issues the same whether a batch's result came
# in the same activation before or after the update (``workflows.pipeline``; tests/faults/evidence).
QUIET_ENDINGS = "quiet-endings"

# Patch: a project registered since keeps what is owed past production: a bad rating's callback and
# fix clocks run on, and materials owed under tolerance may still be supplied
# (``ProjectState.production_rule``).
OWED_PAST_PRODUCTION = "owed-past-production"

# Patch: a project registered since reopens a permit's matter when the permit lapses while its
# approval is suspended for owed materials, which end with it (``ProjectState.permit_rule``).
LAPSED_PERMITS = "lapse-while-suspended"

# Patch: a project registered since counts every period but an application's from the day of its
# event, whatever the hour, where the zone deems after-hours applications accepted the next working
# day (``ProjectState.period_rule``; 民法典 §201).
EVENT_DAY_PERIODS = "event-day-periods"

# Patch: a project registered since breaches a matter the law sets no limit for (a contract) on the
# zone's promise, not as a legal breach, and refuses a §42 extension of it
# (``ProjectState.promise_only_rule``).
PROMISE_ONLY_LIMITS = "promise-only-limits"

# Patch: a project registered since runs the enterprise's own period stated in days (日) as a clock
# counted in days, not as the working days it spanned when it opened, so an official calendar
# adopted while it runs moves it only where its last day changes (``ProjectState.enterprise_period_rule``;
# 民法典 §201-§203).
DAYS_PERIODS = "enterprise-days-periods"

# Patch: a project registered since holds acceptance by silence on a provisional deadline until the
# official calendar or an operator confirms it (``ProjectState.acceptance_hold_rule``; 行政许可法 §32).
HELD_ACCEPTANCE = "held-acceptance"

# Patch: the one marker of a run started since, standing for every patch below (module docstring).
CONSOLIDATED = "consolidated-2026-12"
CONSOLIDATED_PATCHES = frozenset(
    {
        PIPELINED,
        TWO_CLOCKS,
        DEEMED_BY_MATTER,
        ACCEPTANCE,
        SHORT_RUNS,
        MODES_BY_RULE,
        FILINGS,
        SCOPED_DECISIONS,
        TEXTS_OUT,
        CHECKED_START,
        CARRIED_APART,
        ADAPTER_QUEUE,
        LEAN_BATCHES,
    }
)
# Patch: the one marker of a run started since, standing for the above and ``QUIET_ENDINGS``.
CONSOLIDATED_B = "consolidated-2026-12-b"
# Patch: the one marker of a run started since, standing for the above, ``OWED_PAST_PRODUCTION`` and
# ``LAPSED_PERMITS``.
CONSOLIDATED_C = "consolidated-2026-12-c"
# Patch: the one marker of a run started since, standing for the above, ``EVENT_DAY_PERIODS`` and
# ``PROMISE_ONLY_LIMITS``.
CONSOLIDATED_D = "consolidated-2026-12-d"
# Patch: the one marker of a run started since, standing for the above and ``DAYS_PERIODS``.
CONSOLIDATED_E = "consolidated-2026-12-e"
# Patch: the one marker of a run started since, standing for the above and ``HELD_ACCEPTANCE``.
CONSOLIDATED_F = "consolidated-2026-12-f"
# Each consolidation stands for the one before it and the patches added since.
_B_PATCHES = CONSOLIDATED_PATCHES | {QUIET_ENDINGS}
_C_PATCHES = _B_PATCHES | {OWED_PAST_PRODUCTION, LAPSED_PERMITS}
_D_PATCHES = _C_PATCHES | {EVENT_DAY_PERIODS, PROMISE_ONLY_LIMITS}
_E_PATCHES = _D_PATCHES | {DAYS_PERIODS}
_F_PATCHES = _E_PATCHES | {HELD_ACCEPTANCE}
# Newest first: the marker ``Patches.take`` asks for, and the patches it stands for.
CONSOLIDATIONS: tuple[tuple[str, frozenset[str]], ...] = (
    (CONSOLIDATED_F, _F_PATCHES),
    (CONSOLIDATED_E, _E_PATCHES),
    (CONSOLIDATED_D, _D_PATCHES),
    (CONSOLIDATED_C, _C_PATCHES),
    (CONSOLIDATED_B, _B_PATCHES),
    (CONSOLIDATED, CONSOLIDATED_PATCHES),
)


class Patches:
    """The patches of one run: ``take`` once, first thing in the run's first workflow task; then
    ``patched(id)`` wherever the code asks (True for a patch the run's consolidation lists;
    otherwise ``workflow.patched(id)``, recording that patch's own marker)."""

    def __init__(self, consolidated: frozenset[str] | None = None) -> None:
        self._consolidated = consolidated

    @classmethod
    def take(cls) -> Patches:
        """Ask for the consolidated markers, newest first: a new run records the newest; a run
        replaying finds the one it recorded, or none (a run recorded before any)."""
        for marker, patches in CONSOLIDATIONS:
            if workflow.patched(marker):
                return cls(patches)
        return cls(frozenset())

    @classmethod
    def one_by_one(cls) -> Patches:
        """Every patch asked on its own, as the releases before the consolidation did."""
        return cls(frozenset())

    @property
    def consolidated(self) -> frozenset[str]:
        """The patches the run's consolidated marker stands for (empty: asked one by one)."""
        if self._consolidated is None:
            raise RuntimeError("Patches.take must run first, in the run's first workflow task")
        return self._consolidated

    def patched(self, patch_id: str) -> bool:
        if patch_id in self.consolidated:
            return True
        return workflow.patched(patch_id)
