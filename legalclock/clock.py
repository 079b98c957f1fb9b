"""The legal clock of one matter: acceptance, limit, stopped periods and one extension.

Counting rules, each with its source (the arithmetic is in `legalclock.workingtime.plan_days`):

* Periods count working days of the official calendar (行政许可法 §82: 本法规定的期限以工作日
  计算，不含法定节假日). The day of acceptance is not counted and a period ends at the close of its
  last day (民法典 §201, §203): a whole limit of N days ends at the close of office hours of the
  Nth working day after the day of acceptance, whatever the hour of acceptance.
* Half days (the zone's rule, e.g. 半日结): accepted in a morning, 0.5 ends at that day's close;
  accepted later, at the close of the next working morning; k + 0.5 (k >= 1) ends at the close of
  the morning after the kth working day. A limit of 0 is decided on the spot (行政许可法 §34).
  Deadlines strictly increase with the limit, so `count_working_days` inverts them exactly.
* Acceptance after office hours or on a rest day: the zone's `OfficeHours.after_hours_acceptance`.
* Stops (行政许可法 §45: time for hearings, tendering, auction, testing, appraisal and expert
  review is not counted; 补正 after acceptance likewise) count in whole days: stopped on day S
  and resumed on day R, the working days in (S, R] are not counted. Day S itself counts (like
  the day of acceptance, the day of the event; R is the day the clock restarts), so a same-day
  stop moves nothing, and deadlines stay at the close of a session. A stop moves the deadline
  only if it began before the deadline (a matter already overdue stays overdue); days before
  counting starts were not counted anyway. While a stop is open the deadline is unknown
  (`Deadline.paused`); its declared length (§45: the applicant is told in writing how long) gives
  the instant it overruns (`Clock.stop_overrun_at`).
* One extension (行政许可法 §42): decided while the limit runs, at most the matter's legal
  maximum (10 working days for one department, 15 for joint handling), with approver and reason.
  The extended limit counts like a limit of limit + extension days.
* A deadline is provisional when the counting touched a year without a State Council notice.

A limit another law states in calendar days (日; ``Clock.counted == "days"``) counts by the civil
code instead (民法典 §201, §203): the day of acceptance is not counted, the Nth calendar day after
it is the last, moved to the first working day after a rest day it falls on, and the limit ends at
the close of that day's office hours. A stop adds the calendar days in (S, R]; one begun on the last
day, or on the rest days the end was moved over, leaves no day to count, so the limit then ends on
the day of resumption. The extension counts in days too (the matter's own law, e.g. 排污许可管理条例
§12: 30 days, 45 with an on-site check). Budgets and warnings stay on the working-time axis: such a
clock's budget is the working time from acceptance to that deadline less its stops, so ``used_days``
and ``left_days`` are working days and ``limit_days`` the working days its calendar days span.
Only the move over rest days reads the calendar, so the deadline is provisional only when its
last days fall in a year without a notice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from legalclock.common import Days, FrozenModel, Instant, check_days, to_local
from legalclock.errors import (
    ClockStateError,
    ExtensionAfterDeadline,
    ExtensionRepeated,
    ExtensionTooLong,
    LegalClockError,
)
from legalclock.official import MAX_YEAR, MIN_YEAR, DayIndex, OfficialCalendar
from legalclock.workingtime import (
    OfficeHours,
    day_end,
    effective_acceptance,
    instant,
    ordinal_of,
    plan_days,
    position,
)

Counted = Literal["working_days", "days"]
"""How a clock's limit counts: ``working_days`` (行政许可法 §82: the licensing law's own periods), or
``days``, calendar days (日) as a matter's own law states them, by 民法典 §201 and §203."""


class SuspensionKind(StrEnum):
    """Why a clock is stopped after acceptance (行政许可法 §45, and 补正 after acceptance).

    The one-time correction notice before acceptance (§32) stops nothing: no limit runs yet.
    """

    CORRECTION = "correction"  # 补正: supplementary materials requested after acceptance
    EXPERT_REVIEW = "expert_review"  # 专家评审
    HEARING = "hearing"  # 听证
    TESTING = "testing"  # 检验、检测、检疫
    APPRAISAL = "appraisal"  # 鉴定
    TENDERING = "tendering"  # 招标
    AUCTION = "auction"  # 拍卖
    PUBLIC_NOTICE = "public_notice"  # 公示
    # The whole-process cap only: no approval is with a department (the enterprise's own time,
    # corrections, §45 procedures), which the reform does not count as approval time.
    APPLICANT = "applicant"


class Suspension(FrozenModel):
    """A period during which the clock is stopped; `end` is None while it lasts."""

    kind: SuspensionKind
    start: Instant
    end: Instant | None = None
    reason: str = ""
    # Declared length in working days (§45: the applicant is told in writing how long); None
    # only in ledgers written before stops declared it.
    expected_days: Days | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Suspension:
        if self.end is not None and self.end < self.start:
            raise LegalClockError(f"suspension end {self.end.isoformat()} is before its start {self.start.isoformat()}")
        if self.expected_days is not None:
            check_days(self.expected_days, "expected_days", positive=True)
        return self

    def overrun_at(self, calendar: OfficialCalendar, hours: OfficeHours) -> Deadline | None:
        """When the stop outlasts its declared length, counted in working days from its start.

        Stopped on day S for W declared days, it overruns at the close of the Wth working day
        after S: resumed by then, no more than W working days went uncounted. None when no
        length was declared.
        """
        if self.expected_days is None:
            return None
        return add_working_days(calendar, hours, self.start, self.expected_days)


class Extension(FrozenModel):
    """The one approved extension of a limit (e.g. 行政许可法 §42: +10 days by the agency head)."""

    days: Days
    approved_by: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    at: Instant

    @model_validator(mode="after")
    def _positive(self) -> Extension:
        check_days(self.days, "days", positive=True)
        return self


class Deadline(FrozenModel):
    """A computed instant (deadline or warning) and how far it can be trusted.

    `at` is None exactly when `paused`: an open stop makes the instant unknown.
    """

    at: Instant | None
    provisional: bool
    paused: bool
    calendar_version: str

    @model_validator(mode="after")
    def _paused_iff_unknown(self) -> Deadline:
        if (self.at is None) != self.paused:
            raise LegalClockError("at must be None exactly when paused is true")
        return self


class Budget(FrozenModel):
    """Use of a clock's working-day budget at one instant (`measured_at`).

    Days are working days; `left_days` is negative when overdue.
    """

    measured_at: Instant
    limit_days: float
    used_days: float
    left_days: float
    share_used: float
    overdue: bool
    stopped: bool
    provisional: bool
    deadline: Deadline


class Clock(FrozenModel):
    """The legal clock of one matter; methods return new clocks (the ledger is append-only).

    Whether `limit_days` is statutory or promised is the caller's choice: run one clock each.
    """

    accepted_at: Instant
    limit_days: Days
    suspensions: tuple[Suspension, ...] = ()
    extension: Extension | None = None
    # How the limit (and its extension) count: working days, or calendar days (日) by 民法典 §201-§203.
    counted: Counted = "working_days"

    @model_validator(mode="after")
    def _ledger_ordered(self) -> Clock:
        if self.counted == "days":
            for field, value in (("limit_days", self.limit_days), ("extension.days", self.extension_days)):
                if not float(value).is_integer() or (field == "limit_days" and value < 1):
                    raise LegalClockError(
                        f"{field} of a limit in calendar days (日) must be a whole number of days"
                        f"{' >= 1' if field == 'limit_days' else ''}, got {value:g}"
                    )
        previous: Suspension | None = None
        for i, stop in enumerate(self.suspensions):
            if stop.start < self.accepted_at:
                raise LegalClockError(
                    f"suspensions[{i}] starts at {stop.start.isoformat()}, before accepted_at "
                    f"{self.accepted_at.isoformat()}"
                )
            if previous is not None and previous.end is None:
                raise LegalClockError(f"suspensions[{i - 1}] is still open; only the last may be")
            if previous is not None and previous.end is not None and stop.start < previous.end:
                raise LegalClockError(
                    f"suspensions[{i}] starts at {stop.start.isoformat()}, before the previous "
                    f"one ended at {previous.end.isoformat()}"
                )
            previous = stop
        if self.extension is not None and self.extension.at < self.accepted_at:
            raise LegalClockError(
                f"extension.at {self.extension.at.isoformat()} is before accepted_at {self.accepted_at.isoformat()}"
            )
        return self

    @property
    def total_days(self) -> float:
        """The limit including the extension, in the clock's unit (``counted``)."""
        return self.limit_days + self.extension_days

    @property
    def extension_days(self) -> float:
        """The extension's days (0 without one), in the clock's unit."""
        return self.extension.days if self.extension else 0.0

    @property
    def stopped(self) -> bool:
        """Whether a stop is open."""
        return bool(self.suspensions) and self.suspensions[-1].end is None

    def stop(
        self,
        kind: SuspensionKind,
        at: datetime,
        reason: str = "",
        expected_days: float | None = None,
    ) -> Clock:
        """Stop the clock (e.g. supplementary materials requested, an expert review).

        Args:
            kind: Why.
            at: When.
            reason: Told to the applicant.
            expected_days: How long the stop is expected to last, in working days (§45).

        Raises:
            ClockStateError: If the clock is already stopped.
        """
        if self.stopped:
            last = self.suspensions[-1]
            raise ClockStateError(
                f"clock is already stopped since {last.start.isoformat()} ({last.kind}); resume it first"
            )
        stop = Suspension(kind=kind, start=at, reason=reason, expected_days=expected_days)
        return self._with(suspensions=(*self.suspensions, stop))

    def resume(self, at: datetime) -> Clock:
        """Restart a stopped clock.

        Raises:
            ClockStateError: If the clock is not stopped.
        """
        if not self.stopped:
            raise ClockStateError("clock is not stopped; nothing to resume")
        last = self.suspensions[-1]
        ended = Suspension(**{**dict(last), "end": at})
        return self._with(suspensions=(*self.suspensions[:-1], ended))

    def stop_overrun_at(self, calendar: OfficialCalendar, hours: OfficeHours) -> Deadline | None:
        """When the open stop outlasts its declared length; None if not stopped or undeclared.

        The lifecycle warns and escalates at this instant as it does at a deadline.
        """
        if not self.stopped:
            return None
        return self.suspensions[-1].overrun_at(calendar, hours)

    def extend(
        self,
        days: float,
        approved_by: str,
        reason: str,
        at: datetime,
        *,
        calendar: OfficialCalendar | None = None,
        hours: OfficeHours | None = None,
        max_days: float | None = None,
    ) -> Clock:
        """Extend the limit once by `days` working days (行政许可法 §42).

        Args:
            days: Working days, > 0, a multiple of 0.5.
            approved_by: Who approved it (§42: the head of the agency, or of the government
                for joint handling).
            reason: Why; told to the applicant.
            at: When it was decided.
            calendar: The official calendar; with `hours`, checks the limit is still running.
            hours: Office hours.
            max_days: The matter's legal maximum (§42: 10 for one department, 15 for joint
                handling); the catalog owns the value.

        Raises:
            ExtensionRepeated: If the limit was already extended (§42 allows one extension).
            ExtensionTooLong: If `days` exceeds `max_days`.
            ExtensionAfterDeadline: If the limit had run out at `at` (§42: decided within it).
        """
        if self.extension is not None:
            done = self.extension
            raise ExtensionRepeated(
                f"the limit was already extended once (by {done.days:g} working days, approved "
                f"by {done.approved_by} at {done.at.isoformat()}); a second extension is not "
                "allowed (行政许可法 §42: one extension)"
            )
        if max_days is not None and days > max_days:
            raise ExtensionTooLong(
                f"an extension of {days:g} working days exceeds the legal maximum of "
                f"{max_days:g} for this matter (行政许可法 §42, or the matter's own law)"
            )
        if (calendar is None) != (hours is None):
            raise LegalClockError("extend needs both calendar and hours, or neither")
        if calendar is not None and hours is not None:
            budget = self.budget(calendar, hours, at)
            ends = budget.deadline.at
            # Outside office hours the position is clamped to the close, so ``overdue`` stays false
            # from the deadline's close until the next working day opens: compare the instants.
            if budget.overdue or (ends is not None and to_local(at, "at") > ends):
                raise ExtensionAfterDeadline(
                    f"the limit ran out at {budget.deadline.at.isoformat() if budget.deadline.at else '?'}, "
                    f"before the extension decided at {to_local(at, 'at').isoformat()}; an "
                    "extension must be decided within the limit (行政许可法 §42)"
                )
        extension = Extension(days=days, approved_by=approved_by, reason=reason, at=at)
        return self._with(extension=extension)

    def deadline(self, calendar: OfficialCalendar, hours: OfficeHours) -> Deadline:
        """When the limit runs out (close of office hours), or paused while stopped."""
        index = calendar.day_index
        if self.counted == "days":
            return self._days_axis(calendar, index, hours).deadline
        start, budget = self._plan(index, hours)
        reached = self._counted_stops(index, hours, start, budget)[1]
        return self._as_deadline(calendar, index, hours, reached)

    def budget(self, calendar: OfficialCalendar, hours: OfficeHours, now: datetime) -> Budget:
        """Working days used and left at `now`; stopped time does not count as used.

        For a limit in calendar days, `limit_days` is the working days from acceptance to its
        deadline less its stops (while a stop is open, as if it were resumed at `now`).
        """
        index = calendar.day_index
        if self.counted == "days":
            axis = self._days_axis(calendar, index, hours, now)
            start, budget, stops, deadline = axis.start, axis.budget, axis.stops, axis.deadline
        else:
            start, budget = self._plan(index, hours)
            stops, reached = self._counted_stops(index, hours, start, budget)
            deadline = self._as_deadline(calendar, index, hours, reached)
        at = position(index, hours, now, "now")
        stopped = sum(max(0, min(at, at if end is None else end) - begin) for begin, end in stops)
        used = max(0, at - start) - stopped
        scale = self._days_per_us(hours, budget)
        used_days = round(used * scale, 6)
        limit_days = self.total_days if self.counted == "working_days" else round(budget / hours.day_us, 6)
        return Budget(
            measured_at=now,
            limit_days=limit_days,
            used_days=used_days,
            left_days=round(limit_days - used_days, 6),
            share_used=round(used / budget, 6) if budget else 1.0,
            overdue=used > budget,
            stopped=self.stopped,
            provisional=deadline.provisional or index.provisional(self.accepted_at.date(), to_local(now, "now").date()),
            deadline=deadline,
        )

    def warning_at(
        self,
        calendar: OfficialCalendar,
        hours: OfficeHours,
        share: float | None = 0.8,
        days_before: float | None = None,
    ) -> Deadline:
        """When to warn (预警): at `share` used or `days_before` left, whichever comes first.

        Args:
            calendar: The official calendar.
            hours: Office hours.
            share: Share of the budget, 0..1, or None to warn on `days_before` only.
            days_before: Working days left (multiple of 0.5), or None to use `share` only.
        """
        if share is None and days_before is None:
            raise LegalClockError("warning_at needs share or days_before")
        index = calendar.day_index
        if self.counted == "days":
            axis = self._days_axis(calendar, index, hours)
            if axis.end is None:
                return axis.deadline
            start, budget = axis.start, axis.budget
        else:
            start, budget = self._plan(index, hours)
        thresholds: list[int] = []
        if share is not None:
            if not 0 <= share <= 1:
                raise LegalClockError(f"share must be between 0 and 1, got {share}")
            thresholds.append(round(share * budget))
        if days_before is not None:
            before = check_days(days_before, "days_before")
            thresholds.append(budget - round(before / self._days_per_us(hours, budget)))
        target = max(0, min(thresholds))
        if self.counted == "days":
            return self._as_deadline(calendar, index, hours, self._reached(axis.start + target, axis))
        reached = self._counted_stops(index, hours, start, target)[1]
        return self._as_deadline(calendar, index, hours, reached)

    def _with(self, **changes: object) -> Clock:
        # Through the constructor, so the ledger is validated again.
        fields = {name: getattr(self, name) for name in Clock.model_fields}
        return Clock(**{**fields, **changes})

    def _plan(self, index: DayIndex, hours: OfficeHours) -> tuple[int, int]:
        """Position where counting starts and the budget in working microseconds."""
        return plan_days(index, hours, self.accepted_at, self.total_days)

    def _counted_stops(
        self, index: DayIndex, hours: OfficeHours, start: int, used: int
    ) -> tuple[list[tuple[int, int | None]], int | None]:
        """Stops that delay reaching `used` working time, and the position where it is reached.

        Each stop that began before that position excludes the working days in (S, R], as the
        interval of positions from the close of day S (or the target, if reached first that day)
        onwards. The position is None if an open stop comes first.
        """
        target = start + used
        counted: list[tuple[int, int | None]] = []
        for stop in self.suspensions:
            if position(index, hours, stop.start, "suspension start") >= target:
                break
            stopped_day = max(day_end(index, hours, ordinal_of(index, stop.start.date())), start)
            begin = min(stopped_day, target)
            if stop.end is None:
                counted.append((begin, None))
                return counted, None
            resumed_day = max(day_end(index, hours, ordinal_of(index, stop.end.date())), start)
            skipped = resumed_day - stopped_day
            counted.append((begin, begin + skipped))
            target += skipped
        return counted, target

    def _as_deadline(
        self, calendar: OfficialCalendar, index: DayIndex, hours: OfficeHours, reached: int | None
    ) -> Deadline:
        first = self.accepted_at.date()
        if reached is None:
            last = self.suspensions[-1].start.date()
            return Deadline(
                at=None,
                provisional=index.provisional(first, last),
                paused=True,
                calendar_version=calendar.version,
            )
        # Not before acceptance: a zero limit accepted after hours is due on the spot.
        at = max(instant(index, hours, reached), self.accepted_at)
        return Deadline(
            at=at,
            provisional=index.provisional(first, at.date()),
            paused=False,
            calendar_version=calendar.version,
        )

    def _days_per_us(self, hours: OfficeHours, budget: int) -> float:
        # Scaled on the budget so a half-day budget (one session, 3 h or 4 h) reads as 0.5; a limit
        # in calendar days reads in working days (whole days of office hours).
        if self.counted == "days":
            return 1 / hours.day_us
        return self.total_days / budget if budget else 1 / hours.day_us

    def _days_axis(
        self, calendar: OfficialCalendar, index: DayIndex, hours: OfficeHours, now: datetime | None = None
    ) -> _DaysAxis:
        """A limit in calendar days (民法典 §201, §203) on the working-time axis.

        Counting starts after the day of acceptance; each stop that began before the end as moved
        by the stops before it adds the calendar days in (S, R] (an open stop: the end is unknown,
        or with `now`, as if resumed then, for the budget). The stops' intervals on the axis are
        from the close of day S to the close of day R, as for a limit in working days.
        """
        accepted = effective_acceptance(index, hours, self.accepted_at).date()
        start = day_end(index, hours, ordinal_of(index, accepted))
        raw = accepted + timedelta(days=math.ceil(self.total_days))  # whole by validation
        stops: list[tuple[int, int | None]] = []
        starts: list[int] = []
        open_stop: date | None = None
        for stop in self.suspensions:
            began = position(index, hours, stop.start, "suspension start")
            if began >= day_end(index, hours, _first_working_from(index, raw)):
                break  # began after the limit ran out: an overdue matter stays overdue
            starts.append(began)
            stopped = max(stop.start.date(), accepted)
            begin = max(day_end(index, hours, ordinal_of(index, stopped)), start)
            if stop.end is not None:
                resumed = stop.end.date()
            elif now is None:
                stops.append((begin, None))
                paused = _paused(calendar, stop)
                return _DaysAxis(start=start, stops=stops, starts=starts, end=None, budget=0, deadline=paused)
            else:  # for the budget: as if resumed at `now` (used time stays frozen meanwhile)
                open_stop = max(to_local(now, "now"), stop.start).date()
                resumed = open_stop
            # The days left at the stop count again from its day of resumption; a stop begun on the
            # last day (or on rest days the end was moved over) leaves none: the limit ends on R.
            raw = max(raw + (resumed - stopped), resumed)
            stops.append((begin, max(day_end(index, hours, ordinal_of(index, resumed)), begin)))
        last = _first_working_from(index, raw)
        end = day_end(index, hours, last)
        budget = end - start - sum(e - b for b, e in stops if e is not None)
        if open_stop is not None:
            paused = _paused(calendar, self.suspensions[-1])
            return _DaysAxis(start=start, stops=stops, starts=starts, end=end, budget=budget, deadline=paused)
        deadline = self._as_deadline(calendar, index, hours, end)
        assert deadline.at is not None
        # Only the move over rest days read the calendar.
        deadline = deadline.model_copy(update={"provisional": index.provisional(raw, deadline.at.date())})
        return _DaysAxis(start=start, stops=stops, starts=starts, end=end, budget=budget, deadline=deadline)

    @staticmethod
    def _reached(target: int, axis: _DaysAxis) -> int | None:
        """The position where `target` is reached: each stop begun before it pushes it on by its
        interval's length, as a limit in working days does (None: an open stop comes first)."""
        for began, (begin, end) in zip(axis.starts, axis.stops, strict=True):
            if began >= target:
                break
            if end is None:
                return None
            target += end - begin
        return target


@dataclass(frozen=True, slots=True)
class _DaysAxis:
    """A limit in calendar days laid on the working-time axis (``Clock._days_axis``; internal, so a
    plain dataclass: no validation on every deadline computed in a workflow task).

    `start`: the position where counting starts; `stops`: the counted stops as position intervals
    (end None while open), `starts` the positions they began at; `end`: the deadline's position
    (None while an open stop counts); `budget`: the working time to it less the stops, in
    microseconds.
    """

    start: int
    stops: list[tuple[int, int | None]]
    starts: list[int]
    end: int | None
    budget: int
    deadline: Deadline


def _paused(calendar: OfficialCalendar, stop: Suspension) -> Deadline:
    """The unknown deadline of a limit in calendar days during an open stop: it falls on or after
    the stop's day, so it is provisional at least if that day's year is."""
    day = stop.start.date()
    return Deadline(
        at=None, provisional=calendar.day_index.provisional(day, day), paused=True, calendar_version=calendar.version
    )


def _first_working_from(index: DayIndex, day: date) -> int:
    """The ordinal of `day` if a working day, else of the first working day after it (民法典 §203 ¶1)."""
    ordinal = ordinal_of(index, day)
    while not index.is_working(ordinal):
        ordinal += 1
    if ordinal > index.last:
        raise LegalClockError(f"the result falls outside the supported years {MIN_YEAR}-{MAX_YEAR}")
    return ordinal


def add_working_days(calendar: OfficialCalendar, hours: OfficeHours, start: datetime, days: float) -> Deadline:
    """The deadline of a limit of `days` working days for a matter accepted at `start`.

    Args:
        calendar: The official calendar.
        hours: Office hours.
        start: Aware acceptance instant.
        days: Working days, >= 0, a multiple of 0.5.
    """
    check_days(days, "days")
    return Clock(accepted_at=start, limit_days=days).deadline(calendar, hours)
