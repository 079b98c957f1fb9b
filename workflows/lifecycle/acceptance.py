"""The application and acceptance step (申请与受理, 行政许可法 §29-32), for projects under acceptance rule 2.

When a matter's turn comes it is open for the agent's application (``to_apply``); nothing runs
against the department yet. The agent submits the application with its materials
(``submit_application``); the department has its period to accept (``MatterSpec.acceptance``: 5
working days by §32 ¶1(4), or the matter's own rule's, e.g. 3 days (日) by 排污许可管理条例 §9(4)) to

- accept it (``decide`` kind ``accept``): the decision clock starts at acceptance, or at the
  receipt where the matter's rule counts its limit from it (``MatterSpec.limit_from``: 建筑工程施工许可管理办法
  §5(三), 环境影响评价法 §22), the zone's promise still at acceptance;
- notify the agent once of everything missing (``request_completion``, 补正告知): the application
  goes back to the agent (``incomplete``), who completes it (``supply_materials``) and it is
  received again, with a new period to accept; a second notice on the same application is refused unless the
  department says the first was incomplete, which records its fault (§72(4));
- refuse to accept it with reasons (``refuse``, 不予受理, §32 ¶1(1)-(2)): the agent may apply again.

Silence for the whole period is acceptance on receipt (§32 ¶1(4): 逾期不告知的，自收到申请材料之日起即为受理):
the decision clock starts at the receipt, so those days count against the limit, and the event
says the acceptance was deemed. An instant matter (即办件) is accepted and decided in one step (an
instant ``approve`` or ``reject`` on the received application). A matter the zone handles by
commitment (告知承诺) is accepted and approved on receipt of the signed commitment.
"""

from __future__ import annotations

from datetime import datetime

from catalog.models import ACCEPTANCE_DAYS
from schemas import effects as fx
from schemas import events as ev
from schemas import project as p
from schemas.clocks import acceptance_clock_id
from workflows import clocks
from workflows.lifecycle.stages import Stages
from workflows.lifecycle.state import MatterState, Rejected, TrackedClock

__all__ = ["ACCEPTANCE_DAYS", "Acceptance"]


class Acceptance(Stages):
    """Applications, their acceptance (受理), completion notices (补正告知) and refusals (不予受理)."""

    def _acceptance_clock(self, m: MatterState) -> TrackedClock | None:
        tc = self.state.clocks.get(acceptance_clock_id(m.code, m.submissions))
        return tc if tc is not None and not tc.closed else None

    def _end_acceptance(self, m: MatterState, now: datetime) -> None:
        """The department's period to accept ends: it accepted, notified, refused, or was silent."""
        tc = self._acceptance_clock(m)
        if tc is not None:
            self._close_clock(tc.clock_id, now)

    def _new_application(self, m: MatterState, now: datetime) -> None:
        """A new application (not the completion of one): its notices and requests count afresh."""
        m.completion_notices = m.supplementary_requests = 0
        self._receive(m, now, completes_notice=False)

    def validate_submit_application(self, cmd: p.SubmitApplication) -> MatterState:
        """Raise ``Rejected`` unless the agent may apply for ``cmd.matter_code`` now."""
        m = self.matter(cmd.matter_code)
        self._require_active(m)
        if self.state.acceptance_rule == 1:
            raise Rejected(
                f"matter_code: project {self.pid} was registered before the acceptance step; its matters "
                "are submitted when their stage opens"
            )
        if m.state == "incomplete":
            raise Rejected(
                f"matter_code: the application for {m.code} went back with a completion notice; complete it "
                "with supply_materials (it is the same application, 行政许可法 §32)"
            )
        if m.state not in ("to_apply", "rejected"):
            raise Rejected(f"matter_code: {m.code} is not open for an application (state: {m.state})")
        if m.mode == "commitment" and cmd.commitment is None:
            raise Rejected(
                f"commitment: {m.code} is handled by commitment (告知承诺); the application carries the "
                "enterprise's signed commitment (text version, signer, time)"
            )
        return m

    def submit_application(self, cmd: p.SubmitApplication, now: datetime) -> p.Ack:
        """The department receives the application; its period to accept starts (``MatterSpec.acceptance``)."""
        m = self.validate_submit_application(cmd)
        m.materials = list(cmd.materials)
        m.commitment = ev.SignedCommitment(**cmd.commitment.model_dump()) if cmd.commitment else None
        self._new_application(m, now)
        return self._ack(f"application for {m.code} received (submission {m.submissions}); {m.state}")

    def _receive(self, m: MatterState, now: datetime, *, completes_notice: bool) -> None:
        spec = self._spec(m)
        since = m.ready_since or now
        preparation = clocks.days_between(since, now, self.ctx.calendar, self.event_zone)
        m.submissions += 1
        m.state = "received"
        m.received_at = now
        m.clock_id = None
        tc = self._new_clock(
            acceptance_clock_id(m.code, m.submissions),
            "acceptance",
            f"{spec.name_zh} acceptance ({spec.department})",
            spec.acceptance.days,
            now,
            department=spec.department,
            matter_code=m.code,
            counted=spec.acceptance.counted,
        )
        due = self.deadline(tc).at
        self._emit(
            ev.ApplicationReceived(
                **self._matter_fields(m),
                submission=m.submissions,
                materials=m.materials,
                acceptance_deadline=due,
                preparation_days=preparation,
                completes_notice=completes_notice,
                commitment=m.commitment,
            ),
            now,
        )
        self.state.effects.append(self._application_effect(m, now, due, None, phase="acceptance"))
        if m.mode == "commitment" and m.commitment is not None:
            # 告知承诺: the signed commitment is accepted and approved on the spot (国办发〔2020〕42号 §三).
            by = m.commitment.signed_by
            self._accept(m, f"commitment:{m.submissions}", by, now, now, deemed=False)
            self._approve(m, f"commitment:{m.submissions}", "commitment", by, now)

    def _accept(
        self, m: MatterState, decision_id: str, by: str, accepted_at: datetime, now: datetime, *, deemed: bool
    ) -> None:
        """受理 at ``accepted_at`` (the receipt when deemed): the decision clock starts there, or at the
        receipt where the matter's limit counts from it (``MatterSpec.limit_from``)."""
        self._end_acceptance(m, now)
        m.state = "pending"
        deadline, promised = self._start_decision_clock(m, accepted_at, m.received_at)
        self._emit(
            ev.ApplicationAccepted(
                **self._decision_fields(m, deadline, promised),
                accepted_at=accepted_at,
                deemed=deemed,
                decision_id=decision_id,
            ),
            now,
        )
        self.state.effects.append(
            fx.AcceptSubmission(**self._submission_of(m), accepted_at=accepted_at, deadline=deadline)
        )
        if deemed:
            self._notify(
                "deemed_acceptance",
                [self.state.agent, f"dept:{self._spec(m).department}"],
                f"{self._spec(m).name_zh}: no acceptance decision within {self._spec(m).acceptance.text()}; the "
                f"application counts as accepted on receipt ({clocks.local_text(accepted_at)})",
                now,
            )

    def _deem_accepted(self, tc: TrackedClock, now: datetime, *, confirmed: bool = False) -> None:
        """Silence for the whole period to accept: accepted on receipt (行政许可法 §32 ¶1(4)).

        Under acceptance hold rule 2 a period that ended on a provisional deadline (counted over a year
        without the State Council's notice) is held instead (``DeemedAcceptanceHeld``) unless an
        operator ``confirmed`` it: acceptance by silence takes the department's one completion notice
        away for good, so it waits for the official calendar (``_release_held``) like deemed approval.
        """
        tc.breached = True
        m = self.state.matters.get(tc.matter_code or "")
        if m is None or m.state != "received" or self._acceptance_clock(m) is not tc or m.received_at is None:
            self._close_clock(tc.clock_id, now)
            return
        info = self.deadline(tc)
        if self.state.acceptance_hold_rule == 2 and info.provisional and not confirmed:
            assert info.at is not None
            tc.deemed_held = True
            department = self._spec(m).department
            held = ev.DeemedAcceptanceHeld(
                **self._on_clock(tc, department=False), matter_code=m.code, department=department, deadline=info.at
            )
            self._emit(held, now)
            self._notify(
                "deemed_acceptance_held",
                [self.state.agent, f"dept:{department}", self.state.registration.project_lead],
                f"{self._spec(m).name_zh}: the {self._spec(m).acceptance.text()} to accept ended "
                f"{clocks.local_text(info.at)} on a provisional calendar (no State Council notice for its "
                "year); acceptance by silence waits for the official calendar or an operator's "
                "confirm_deadline, and the department may still accept, notify or refuse",
                now,
            )
            return
        tc.deemed_held = False
        self._accept(m, f"deemed:{tc.clock_id}", self._spec(m).department, m.received_at, now, deemed=True)

    def _check_acceptance(self, m: MatterState, d: p.Decision, now: datetime | None) -> None:
        """What a department may decide on a received application (before its limit runs)."""
        if d.kind not in p.ACCEPTANCE_KINDS and not (d.instant and d.kind in ("approve", "reject")):
            raise Rejected(
                f"kind: the application for {m.code} is not accepted yet; accept it, notify what is missing "
                "(request_completion) or refuse to accept it (refuse) first (行政许可法 §32)"
            )
        tc = self._acceptance_clock(m)
        # A held period (acceptance hold rule 2) ended on a provisional deadline: not known to be over.
        due = self.deadline(tc).at if tc is not None and not tc.deemed_held else None
        if now is not None and due is not None and now >= due:
            raise Rejected(
                f"kind: the {self._spec(m).acceptance.text()} to accept {m.code} ran out at "
                f"{clocks.local_text(due)}; the application counts as accepted on receipt"
            )
        if d.kind == "request_completion" and m.completion_notices and not d.first_notice_incomplete:
            raise Rejected(
                f"kind: a completion notice on this application for {m.code} was already issued; the one notice "
                "lists everything missing (行政许可法 §32 ¶1(4)); a second needs first_notice_incomplete with "
                "reasons, recorded as the department's fault (§72(4))"
            )

    def _accept_decided(self, m: MatterState, d: p.Decision, now: datetime) -> None:
        self._accept(m, d.decision_id, d.decided_by, now, now, deemed=False)
        due = self.answerable_deadline(self.state.clocks[m.clock_id or ""]).at
        self._notify(
            "accepted",
            [self.state.agent],
            f"{self._spec(m).name_zh}: application accepted (受理); decision due "
            f"{clocks.local_text(due) if due else 'after the stop'}",
            now,
        )

    def _request_completion(self, m: MatterState, d: p.Decision, now: datetime) -> None:
        """补正告知: the application goes back to the agent with everything missing listed once."""
        self._end_acceptance(m, now)
        m.completion_notices += 1
        m.state = "incomplete"
        m.ready_since = now
        self._emit(
            ev.CompletionRequested(
                **self._matter_fields(m),
                decision_id=d.decision_id,
                decided_by=d.decided_by,
                items=d.items,
                notice=m.completion_notices,
            ),
            now,
        )
        if d.first_notice_incomplete:
            self._emit(
                ev.DepartmentFaultRecorded(
                    **self._matter_fields(m),
                    fault="completion notice did not list everything missing",
                    reasons=d.reasons,
                    law="行政许可法 §32 ¶1(4), §72(4)",
                ),
                now,
            )
        self._close_submission(m, "completion_requested", now)
        self._notify(
            "completion",
            [self.state.agent],
            f"{self._spec(m).name_zh}: the application lacks {', '.join(d.items)}; complete it and it is "
            "received again (一次性告知, 行政许可法 §32)",
            now,
        )

    def _refuse(self, m: MatterState, d: p.Decision, now: datetime) -> None:
        """不予受理 with reasons: the application is closed; the agent may apply again."""
        self._end_acceptance(m, now)
        m.state = "to_apply"
        m.ready_since = now
        self._emit(
            ev.ApplicationRefused(
                **self._matter_fields(m), decision_id=d.decision_id, decided_by=d.decided_by, reasons=d.reasons
            ),
            now,
        )
        self._close_submission(m, "refused", now)
        self._notify(
            "refused",
            [self.state.agent],
            f"{self._spec(m).name_zh}: application not accepted (不予受理): {'; '.join(d.reasons)}",
            now,
        )

    def check_completion_size(self, cmd: p.SupplyMaterials) -> None:
        """Refuse, before history, a completion that would take the application past
        ``MAX_MATERIALS`` materials: each completion adds what it names, and the application's list
        is in the state and in every ``ApplicationReceived``. The validator's only (``Commands.check``),
        so a history recorded before the cap replays as it ran."""
        m = self.matter(cmd.matter_code)
        if m.state == "incomplete":
            total = len({*m.materials, *cmd.items})
            if total > p.MAX_MATERIALS:
                raise Rejected(
                    f"items: the application for {m.code} would hold {total} materials, at most "
                    f"{p.MAX_MATERIALS}; supply what the completion notice asks for"
                )

    def _complete_application(self, m: MatterState, cmd: p.SupplyMaterials, now: datetime) -> p.Ack:
        """The agent completes an application sent back with a notice: it is received again."""
        m.materials = [*m.materials, *(i for i in cmd.items if i not in m.materials)]
        self._receive(m, now, completes_notice=True)
        return self._ack(f"application for {m.code} completed and received again (submission {m.submissions})")
