"""The legal clock of one matter: acceptance, limit, stopped periods and one extension.

Counting rule (行政许可法: periods count working days, the acceptance day excluded):

* A whole limit of N working days ends at the close of office hours of the Nth working day
  after the acceptance day, whatever the hour of acceptance.
* A limit with a half part (N = k + 0.5) counts sessions instead, and the *acceptance
  session* is not counted: the session of the acceptance day in progress at, or next starting
  after, the acceptance instant. Accepted on a working day before the morning session closes
  (including before opening), the first counted half is that day's afternoon: 0.5 ends at the
  day's close, k + 0.5 at the close of the kth working day after. Accepted later that day, at
  lunch, after hours or on a non-working day, the first counted half is the next working
  morning: 0.5 ends at the next working day's noon. So deadlines never decrease as N grows
  (in the first case k + 0.5 and k share a deadline).
* An extension moves the end of the limit by its days, counted in sessions from the
  unextended end (before stops): +0.5 after a close of day ends at the next working noon,
  +0.5 after a noon at that day's close, +1 a day later.
* Stopped periods (补正, expert review, hearings, testing, public notice) move the deadline by
  the working time they cover (office-hours time on working days). Stops before counting
  starts cost nothing; a stop that begins after the deadline does not move it (the matter was
  already overdue). While a stop is open the deadline is unknown: `Deadline.paused`.
* A deadline is provisional when the counting touched a year without official data.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, model_validator

from legalclock.common import Days, FrozenModel, Instant, check_days, to_local
from legalclock.errors import ClockStateError, LegalClockError
from legalclock.official import DayIndex, OfficialCalendar
from legalclock.workingtime import OfficeHours, day_end, instant, ordinal_of, position


class SuspensionKind(StrEnum):
    """Why a clock is stopped."""

    CORRECTION = "correction"  # 补正: waiting for missing materials
    EXPERT_REVIEW = "expert_review"  # 专家评审
    HEARING = "hearing"  # 听证
    TESTING = "testing"  # 检验、检测、检疫
    PUBLIC_NOTICE = "public_notice"  # 公示


class Suspension(FrozenModel):
    """A period during which the clock is stopped; `end` is None while it lasts."""

    kind: SuspensionKind
    start: Instant
    end: Instant | None = None
    reason: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Suspension:
        if self.end is not None and self.end < self.start:
            raise LegalClockError(
                f"suspension end {self.end.isoformat()} is before its start "
                f"{self.start.isoformat()}"
            )
        return self


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

    @model_validator(mode="after")
    def _ledger_ordered(self) -> Clock:
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
                f"extension.at {self.extension.at.isoformat()} is before accepted_at "
                f"{self.accepted_at.isoformat()}"
            )
        return self

    @property
    def total_days(self) -> float:
        """The limit including the extension."""
        return self.limit_days + (self.extension.days if self.extension else 0.0)

    @property
    def stopped(self) -> bool:
        """Whether a stop is open."""
        return bool(self.suspensions) and self.suspensions[-1].end is None

    def stop(self, kind: SuspensionKind, at: datetime, reason: str = "") -> Clock:
        """Stop the clock (e.g. a correction request).

        Raises:
            ClockStateError: If the clock is already stopped.
        """
        if self.stopped:
            last = self.suspensions[-1]
            raise ClockStateError(
                f"clock is already stopped since {last.start.isoformat()} ({last.kind}); "
                "resume it first"
            )
        stop = Suspension(kind=kind, start=at, reason=reason)
        return self._with(suspensions=(*self.suspensions, stop))

    def resume(self, at: datetime) -> Clock:
        """Restart a stopped clock.

        Raises:
            ClockStateError: If the clock is not stopped.
        """
        if not self.stopped:
            raise ClockStateError("clock is not stopped; nothing to resume")
        last = self.suspensions[-1]
        ended = Suspension(kind=last.kind, start=last.start, end=at, reason=last.reason)
        return self._with(suspensions=(*self.suspensions[:-1], ended))

    def extend(self, days: float, approved_by: str, reason: str, at: datetime) -> Clock:
        """Extend the limit once by `days` working days (a multiple of 0.5).

        Raises:
            ClockStateError: If the limit was already extended.
        """
        if self.extension is not None:
            done = self.extension
            raise ClockStateError(
                f"the limit was already extended once (by {done.days:g} working days, approved "
                f"by {done.approved_by} at {done.at.isoformat()}); a second extension is not "
                "allowed"
            )
        extension = Extension(days=days, approved_by=approved_by, reason=reason, at=at)
        return self._with(extension=extension)

    def deadline(self, calendar: OfficialCalendar, hours: OfficeHours) -> Deadline:
        """When the limit runs out (close of office hours), or paused while stopped."""
        index = calendar.day_index
        start, budget = self._plan(index, hours)
        reached = self._counted_stops(index, hours, start, budget)[1]
        return self._as_deadline(calendar, index, hours, reached)

    def budget(self, calendar: OfficialCalendar, hours: OfficeHours, now: datetime) -> Budget:
        """Working days used and left at `now`; stopped time does not count as used."""
        index = calendar.day_index
        start, budget = self._plan(index, hours)
        stops, reached = self._counted_stops(index, hours, start, budget)
        deadline = self._as_deadline(calendar, index, hours, reached)
        at = position(index, hours, now, "now")
        stopped = sum(max(0, min(at, at if end is None else end) - begin) for begin, end in stops)
        used = max(0, at - start) - stopped
        scale = self._days_per_us(hours, budget)
        used_days = round(used * scale, 6)
        return Budget(
            measured_at=now,
            limit_days=self.total_days,
            used_days=used_days,
            left_days=round(self.total_days - used_days, 6),
            share_used=round(used / budget, 6) if budget else 1.0,
            overdue=used > budget,
            stopped=self.stopped,
            provisional=deadline.provisional
            or index.provisional(self.accepted_at.date(), to_local(now, "now").date()),
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
        start, budget = self._plan(index, hours)
        thresholds: list[int] = []
        if share is not None:
            if not 0 <= share <= 1:
                raise LegalClockError(f"share must be between 0 and 1, got {share}")
            thresholds.append(round(share * budget))
        if days_before is not None:
            before = check_days(days_before, "days_before")
            thresholds.append(budget - round(before / self._days_per_us(hours, budget)))
        reached = self._counted_stops(index, hours, start, max(0, min(thresholds)))[1]
        return self._as_deadline(calendar, index, hours, reached)

    def _with(self, **changes: object) -> Clock:
        # Through the constructor, so the ledger is validated again.
        fields = {name: getattr(self, name) for name in Clock.model_fields}
        return Clock(**{**fields, **changes})

    def _plan(self, index: DayIndex, hours: OfficeHours) -> tuple[int, int]:
        """Position where counting starts and the budget in working microseconds."""
        local = self.accepted_at
        ordinal = ordinal_of(index, local.date())
        start = day_end(index, hours, ordinal)
        half = (self.limit_days * 2) % 2
        if half and index.is_working(ordinal) and local.time() < hours.morning_end:
            # The acceptance session is the morning, so the afternoon is the first half.
            start -= hours.day_us - hours.morning_us
        budget = _sessions(hours, start, self.limit_days)
        if self.extension is not None:
            budget += _sessions(hours, start + budget, self.extension.days)
        return start, budget

    def _counted_stops(
        self, index: DayIndex, hours: OfficeHours, start: int, used: int
    ) -> tuple[list[tuple[int, int | None]], int | None]:
        """Stops that delay reaching `used` working time, and the position where it is reached.

        The position is None if an open stop comes first.
        """
        target = start + used
        counted: list[tuple[int, int | None]] = []
        for stop in self.suspensions:
            begin = max(position(index, hours, stop.start, "suspension start"), start)
            if begin >= target:
                break
            if stop.end is None:
                counted.append((begin, None))
                return counted, None
            end = max(position(index, hours, stop.end, "suspension end"), start)
            counted.append((begin, end))
            target += end - begin
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
        # Scaled on the budget so a half-day budget (one session, 3 h or 4 h) reads as 0.5.
        return self.total_days / budget if budget else 1 / hours.day_us


def _sessions(hours: OfficeHours, boundary: int, days: float) -> int:
    """Working time of `days` counted in sessions from a session boundary (noon or close)."""
    whole, half = divmod(round(days * 2), 2)
    if not half:
        return whole * hours.day_us
    at_close = boundary % hours.day_us == 0
    next_session = hours.morning_us if at_close else hours.day_us - hours.morning_us
    return whole * hours.day_us + next_session


def add_working_days(
    calendar: OfficialCalendar, hours: OfficeHours, start: datetime, days: float
) -> Deadline:
    """The deadline of a limit of `days` working days for a matter accepted at `start`.

    Args:
        calendar: The official calendar.
        hours: Office hours.
        start: Aware acceptance instant.
        days: Working days, >= 0, a multiple of 0.5.
    """
    check_days(days, "days")
    return Clock(accepted_at=start, limit_days=days).deadline(calendar, hours)
