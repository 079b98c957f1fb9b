"""The whole lifecycle on the dev server, driven by Updates alone, as department systems would."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from schemas import visibility
from schemas.project import (
    Decision,
    ExtendLimit,
    ProgressReport,
    ReassignAgent,
    Resubmit,
    ResumeClock,
    StopClock,
    Verification,
    Withdraw,
)
from schemas.stages import APPROVAL_STAGES
from tests.harness import Harness
from tests.support import rid
from tests.workflows.helpers import (
    apply,
    approve_all,
    decide,
    events,
    matter,
    open_all,
    search_attributes,
    types,
    view,
)
from workflows.project import ProjectWorkflow


async def rejected(call: object) -> str:
    """Await an update that must be rejected; return the reason."""
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await call  # type: ignore[misc]
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    return cause.message


async def test_registration_to_production_by_updates_alone(dev: Harness, pg_pool: asyncpg.Pool) -> None:
    h = await dev.start(zone="yanhu")
    v = await view(h)
    assert v.stage == "establishment"
    assert v.checklist[0].matter_code == "enterprise-registration"
    # Yanhu's regional assessments cover energy and soil & water: exempt, no application.
    assert {c.matter_code for c in v.checklist if c.mode == "regional_assessment"} == {
        "energy-review",
        "soil-water-conservation",
    }
    assert "land-pre-review" not in {c.matter_code for c in v.checklist}, "standard land parcel"

    # A rejection, then a fixed resubmission, on the way.
    await approve_all(h, "approval_land", accept=False)
    # The agent applies; project filing is complete on receipt of its information (备案, 条例 §13).
    assert matter(await view(h), "project-filing").state == "to_apply"
    await apply(h, "project-filing", "standard", "apply-filing", by="agent-li")
    filed = matter(await view(h), "project-filing")
    assert (filed.state, filed.approval_mode) == ("approved", "filed")
    await open_all(h, "land")
    # The land-use planning permit follows the land transfer contract (城乡规划法 §38).
    await decide(h, "land-contract", "resources", "contract", by="land-clerk")
    await open_all(h, "land-2")
    answer = await decide(
        h,
        "land-use-planning-permit",
        "resources",
        "luppp-no",
        "reject",
        by="planner",
        reasons=["red line does not match the transfer contract"],
    )
    v = await view(h)
    assert matter(v, "land-use-planning-permit").state == "rejected"
    # The answer says what the project waits for now, as the state does: no state read needed.
    assert answer.stage == v.stage and answer.pending_more == 0
    assert ("land-use-planning-permit", "resubmit", "agent-li") in {
        (x.matter_code, x.awaited, x.by) for x in answer.pending
    }
    awaited = ("to_apply", "received", "incomplete", "pending", "correction", "rejected", "suspended")
    waiting = {m.code for m in v.matters if m.stage == v.stage and m.state in awaited}
    assert {x.matter_code for x in answer.pending} == waiting
    await h.execute_update(
        ProjectWorkflow.resubmit,
        Resubmit(request_id=rid(), matter_code="land-use-planning-permit", by="agent-li", note="red line corrected"),
    )
    await h.execute_update(
        ProjectWorkflow.reassign_agent,
        ReassignAgent(request_id=rid(), to_agent="agent-wang", by="lead-zhao", reason="agent-li on leave (AB岗)"),
    )
    v = await approve_all(h, "construction")
    assert v.agent == "agent-wang" and v.backup_agent == "agent-li"
    sa = await search_attributes(h, DaibanStage="construction", DaibanAgent="agent-wang")
    assert not sa.get(visibility.OPEN_DEPARTMENTS) and sa.get(visibility.OVERDUE) is False
    for pct in (30, 70, 100):
        await h.execute_update(
            ProjectWorkflow.report_progress, ProgressReport(request_id=rid(), percent=pct, by="agent-wang")
        )
    v = await view(h)
    assert v.stage == "completion_acceptance"
    # Joint acceptance: completion filing waits for the six acceptances.
    assert matter(v, "completion-filing").state == "waiting"
    v = await approve_all(h, "in_production")
    assert v.waiting_for == "In production. Commitment verifications still open."
    owed = matter(v, "air-defence-review").obligations[0]
    assert owed.state == "open" and owed.clock.working_days_left is not None, "its clock still runs"
    # The workflow ends once the commitment (告知承诺) made for civil air defence is verified.
    await h.execute_update(
        ProjectWorkflow.verify,
        Verification(
            decision_id="ad-verify",
            department="air-defence",
            matter_code="air-defence-review",
            passed=True,
            by="inspector",
        ),
    )
    result = await h.result()  # the small summary; a query reads the closed project's full state
    assert (result.stage, result.outcome) == ("in_production", "completed")
    final = await view(h)
    assert result.matters == len(final.matters) and result.events_emitted == final.events_emitted
    assert result.approved == sum(m.state == "approved" for m in final.matters)
    assert final.stage == "in_production"
    assert all(m.state in ("approved", "exempt") for m in final.matters)
    lic = [m for m in final.matters if m.license_no]
    assert {"construction-permit", "enterprise-registration"} <= {m.code for m in lic}
    rows = await events(pg_pool, final.project_id, wait_for="ProjectInProduction")
    t = types(rows)
    assert t[0] == "ProjectRegistered" and t.count("ProjectInProduction") == 1
    assert "ObligationFulfilled" in t, "the civil air defence commitment was verified"
    assert t.count("StageCompleted") == len(APPROVAL_STAGES)
    assert [r["version"] for r in rows] == list(range(1, len(rows) + 1))
    assert {"MatterRejected", "AgentReassigned", "ELicenseIssued", "MatterExempted"} <= set(t)
    # Every approval followed an application and its acceptance (受理); a filing is complete on receipt.
    filed = sum(r["event_type"] == "MatterApproved" and r["payload"]["mode"] == "filed" for r in rows)
    assert filed >= 3, "project filing, fire acceptance filing, completion filing"
    assert t.count("ApplicationAccepted") >= t.count("MatterApproved") - filed
    assert {"JointAcceptanceOpinionIssued", "FilingPeriodOpened"} <= set(t)
    inbox = await pg_pool.fetchval(
        "SELECT count(*) FROM department_inbox WHERE project_id = $1 AND closed_at IS NULL", final.project_id
    )
    assert inbox == 0


async def test_updates_are_validated_before_history(dev: Harness) -> None:
    h = await dev.start(zone="tunliu")
    v = await view(h)
    not_applied = Decision(
        decision_id="x0", department="market", matter_code="enterprise-registration", kind="approve", decided_by="clerk"
    )
    assert "not pending a decision (state: to_apply)" in await rejected(
        h.execute_update(ProjectWorkflow.decide, not_applied)
    )
    await apply(h, "enterprise-registration", "standard", "apply-reg", by=v.agent)
    await decide(h, "enterprise-registration", "market", "accept-reg", "accept", by="clerk")
    good = Decision(
        decision_id="reg-1",
        department="market",
        matter_code="enterprise-registration",
        kind="approve",
        decided_by="clerk",
    )
    wrong_dept = good.model_copy(update={"decision_id": "x1", "department": "housing"})
    assert "belongs to market, not housing" in await rejected(h.execute_update(ProjectWorkflow.decide, wrong_dept))
    unknown = good.model_copy(update={"decision_id": "x2", "matter_code": "no-such-matter"})
    assert "not a matter of project" in await rejected(h.execute_update(ProjectWorkflow.decide, unknown))
    not_yet = Decision(
        decision_id="x3", department="housing", matter_code="construction-permit", kind="approve", decided_by="clerk"
    )
    assert "not pending a decision (state: waiting)" in await rejected(
        h.execute_update(ProjectWorkflow.decide, not_yet)
    )
    no_tolerance = good.model_copy(update={"decision_id": "x4", "kind": "accept_with_tolerance", "items": ["a"]})
    assert "cannot be handled by tolerance" in await rejected(h.execute_update(ProjectWorkflow.decide, no_tolerance))

    first = await h.execute_update(ProjectWorkflow.decide, good)
    again = await h.execute_update(ProjectWorkflow.decide, good)
    assert first.state == "approved" and not first.duplicate
    assert again.duplicate and again.state == "approved"
    late = good.model_copy(update={"decision_id": "reg-2"})
    assert "not pending" in await rejected(h.execute_update(ProjectWorkflow.decide, late))
    assert "progress is reported during construction" in await rejected(
        h.execute_update(ProjectWorkflow.report_progress, ProgressReport(request_id=rid(), percent=10, by="agent-li"))
    )
    # Rejected updates left nothing in history: only the accepted ones (and what they caused).
    accepted = [
        e
        for e in [e async for e in h.fetch_history_events()]
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert len(accepted) == 4, "the application, its acceptance, the decision and its duplicate"

    # Malformed input from a service in another language is refused with the field's name.
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await h.execute_update(
            "decide",
            {
                "decision_id": "raw",
                "department": "market",
                "matter_code": "project-filing",
                "kind": "approve",
                "decided_by": "clerk",
                "surprise": 1,
            },
        )
    cause = info.value.cause
    assert isinstance(cause, ApplicationError) and isinstance(cause.cause, ApplicationError)
    assert "surprise" in cause.cause.message and "Extra inputs are not permitted" in cause.cause.message
    accepted = [
        e
        for e in [e async for e in h.fetch_history_events()]
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert len(accepted) == 4, "the malformed update left no trace either"


@pytest.mark.parametrize(
    "stage",
    [
        "establishment",
        "approval_land",
        "engineering_permit",
        "construction_permit",
        "construction",
        "completion_acceptance",
    ],
)
async def test_withdrawal_in_any_stage_closes_everything(dev: Harness, pg_pool: asyncpg.Pool, stage: str) -> None:
    h = await dev.start(zone="yanhu")
    await approve_all(h, "construction" if stage == "completion_acceptance" else stage, prefix=f"w-{stage}")
    if stage in ("construction", "completion_acceptance"):
        percent = 100 if stage == "completion_acceptance" else 20
        await h.execute_update(
            ProjectWorkflow.report_progress, ProgressReport(request_id=rid(), percent=percent, by="agent-li")
        )
    assert (await view(h)).stage == stage
    ack = await h.execute_update(
        ProjectWorkflow.withdraw, Withdraw(request_id=rid(), reason="investment cancelled", by="agent-li")
    )
    assert ack.stage == "withdrawn"
    result = await h.result()
    assert (result.stage, result.outcome) == ("withdrawn", "withdrawn")
    final = await view(h)
    assert final.stage == "withdrawn"
    assert not any(m.state in ("pending", "correction") for m in final.matters)
    assert all(c.working_days_left is None for c in final.clocks), "every clock is closed"
    rows = await events(pg_pool, final.project_id, wait_for="ProjectWithdrawn")
    withdrawn = [r for r in rows if r["event_type"] == "ProjectWithdrawn"]
    assert len(withdrawn) == 1 and withdrawn[0]["payload"]["stage"] == stage
    open_rows = await pg_pool.fetchval(
        "SELECT count(*) FROM department_inbox WHERE project_id = $1 AND closed_at IS NULL", final.project_id
    )
    assert open_rows == 0


async def test_construction_continues_as_new_and_keeps_everything(dev: Harness, pg_pool: asyncpg.Pool) -> None:
    h = await dev.start(zone="yanhu", history_limit=200)
    v = await approve_all(h, "construction", prefix="can")
    first_run = (await h.describe()).run_id
    for pct in range(1, 40):
        await h.execute_update(
            ProjectWorkflow.report_progress, ProgressReport(request_id=rid(), percent=pct, by="agent-li")
        )
    latest = dev.client.get_workflow_handle(h.id)
    for _ in range(100):  # continue-as-new follows the last update's event flush
        if (await latest.describe()).run_id != first_run:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("history was not bounded by continue-as-new")
    v2 = await view(latest)
    assert v2.construction_percent == 39 and v2.events_emitted > v.events_emitted
    # Bounded: a run continues as new at its first settled point past 200 events, so it can end a
    # burst of updates' events beyond it (210 seen; under load, up to 297 while its last batch was
    # still landing), never a whole project's history: once the burst is over, the run in progress
    # is short, having continued as new if it was past its limit.
    for _ in range(100):
        length = len([e async for e in latest.fetch_history_events()])
        if length < 200 + 50:
            break
        await asyncio.sleep(0.1)
    assert length < 200 + 50
    # Decision ids processed before continue-as-new are still answered as duplicates.
    again = await decide(
        latest, "enterprise-registration", "market", "can-enterprise-registration-1", by="market-clerk"
    )
    assert again.duplicate
    rows = await events(pg_pool, v.project_id)
    assert [r["version"] for r in rows] == list(range(1, len(rows) + 1)), "one gap-free stream across runs"


async def test_expert_review_stops_the_clock_and_a_limit_is_extended_once(dev: Harness, pg_pool: asyncpg.Pool) -> None:
    h = await dev.start(zone="tunliu")
    await approve_all(h, "approval_land", prefix="x")
    await open_all(h, "x")
    eia = matter(await view(h), "eia")
    first_deadline = eia.clock.deadline
    stop = StopClock(
        request_id=rid(),
        matter_code="eia",
        department="ecology",
        kind="expert_review",
        reason="专家评审",
        expected_days=10,
    )
    await h.execute_update(ProjectWorkflow.stop_clock, stop)
    stopped = matter(await view(h), "eia")
    assert stopped.clock.paused and stopped.clock.deadline is None and stopped.state == "pending"
    assert "clock stopped" in (await view(h)).waiting_for
    # The same request again is answered with the first answer; a new stop is refused.
    again = await h.execute_update(ProjectWorkflow.stop_clock, stop)
    assert again.duplicate and again.request_id == stop.request_id
    another = stop.model_copy(update={"request_id": rid()})
    assert "is not running" in await rejected(h.execute_update(ProjectWorkflow.stop_clock, another))
    await h.execute_update(
        ProjectWorkflow.resume_clock, ResumeClock(request_id=rid(), matter_code="eia", department="ecology")
    )
    assert "not stopped" in await rejected(
        h.execute_update(
            ProjectWorkflow.resume_clock, ResumeClock(request_id=rid(), matter_code="eia", department="ecology")
        )
    )
    resumed = matter(await view(h), "eia")
    assert resumed.clock.deadline >= first_deadline
    # EIA's limit is its own law's (环境影响评价法 §22), which provides no extension: refused before history.
    no_extension = ExtendLimit(
        request_id=rid(), matter_code="eia", department="ecology", days=10, approved_by="局长 Wang", reason="r"
    )
    assert "provides no extension" in await rejected(h.execute_update(ProjectWorkflow.extend_limit, no_extension))
    # The land use planning permit's is the licensing law's own (20 working days, 行政许可法 §42): extended.
    await decide(h, "land-contract", "resources", "x-contract", by="resources-clerk")
    await open_all(h, "x")
    before = matter(await view(h), "land-use-planning-permit").clock
    extend = ExtendLimit(
        request_id=rid(),
        matter_code="land-use-planning-permit",
        department="resources",
        days=10,
        approved_by="局长 Wang",
        reason="complex case",
    )
    ack = await h.execute_update(ProjectWorkflow.extend_limit, extend)
    assert "extended by 10" in ack.message
    extended = matter(await view(h), "land-use-planning-permit").clock
    assert extended.extended and extended.limit_days == before.limit_days + 10
    assert extended.deadline > before.deadline
    # The same request id with another body is not taken for a retry.
    other = extend.model_copy(update={"days": 5})
    assert "already used for a different command" in await rejected(
        h.execute_update(ProjectWorkflow.extend_limit, other)
    )
    second = extend.model_copy(update={"request_id": rid()})
    assert "already extended once" in await rejected(h.execute_update(ProjectWorkflow.extend_limit, second))
    assert "belongs to resources" in await rejected(
        h.execute_update(ProjectWorkflow.extend_limit, second.model_copy(update={"department": "water"}))
    )
    rows = await events(pg_pool, (await view(h)).project_id, wait_for="LimitExtended")
    assert {"ClockStopped", "ClockResumed", "LimitExtended"} <= set(types(rows))
    ext = next(r for r in rows if r["event_type"] == "LimitExtended")
    assert ext["payload"]["approved_by"] == "局长 Wang" and ext["payload"]["days"] == 10


async def test_registering_again_returns_the_same_project_even_after_it_ended(dev: Harness) -> None:
    from interfaces.client import DaibanClient
    from tests.harness import registration

    client = DaibanClient(dev.client, dev.task_queue)
    reg = registration(zone="tunliu")
    first = await client.register(reg)
    assert await client.register(reg) == first
    await client.state(reg.project_id)
    await client.withdraw(reg.project_id, Withdraw(request_id=rid(), reason="cancelled", by="agent-li"))
    await dev.client.get_workflow_handle(f"project-{reg.project_id}").result()
    assert await client.register(reg) == first, "a finished project is answered, not restarted"
    assert (await client.state(reg.project_id)).stage == "withdrawn"


async def test_no_update_is_lost_while_the_project_continues_as_new(dev: Harness, pg_pool: asyncpg.Pool) -> None:
    from interfaces.client import DaibanClient

    h = await dev.start(zone="yanhu", history_limit=200)
    pid = (await approve_all(h, "construction", prefix="busy")).project_id
    client = DaibanClient(dev.client, dev.task_queue)
    runs: set[str | None] = set()
    sent: list[ProgressReport] = []
    latest = dev.client.get_workflow_handle(h.id)
    seen = {(await latest.describe()).run_id}
    # Updates, 5 at a time, until the project has continued as new twice (how many history events an
    # update costs depends on how many share a workflow task, so how many that takes varies).
    while len(seen) < 3 and len(sent) < 1_000:
        batch = [ProgressReport(request_id=rid(), percent=5, by="agent-li") for _ in range(5)]
        sent += batch
        # The client retries what leaves the outcome open (an update aborted by continue-as-new)
        # with the same request id: each is applied once.
        acks = await asyncio.gather(*(client.report_progress(pid, cmd) for cmd in batch))
        assert all(a.message == "construction at 5%" for a in acks)
        seen.add((await latest.describe()).run_id)
    for _ in range(50):  # every run of the project, as visibility lists them
        runs = {w.run_id async for w in dev.client.list_workflows(f"WorkflowId = '{h.id}'")}
        if len(runs) >= 3:
            break
        await asyncio.sleep(0.2)
    assert len(runs) >= 3, "the project continued as new, more than once, while updates kept arriving"
    # A retry of an early command, after several runs, still gets its first answer.
    again = await client.report_progress(pid, sent[0])
    assert again.duplicate and again.request_id == sent[0].request_id
    for _ in range(100):
        count = await pg_pool.fetchval(
            "SELECT count(*) FROM events WHERE stream_id = $1 AND event_type = 'ConstructionProgressReported'", pid
        )
        if count == len(sent):
            break
        await asyncio.sleep(0.1)
    assert count == len(sent), "every accepted update left its event, once"
    causes = await pg_pool.fetchval(
        "SELECT count(DISTINCT causation_id) FROM events WHERE stream_id = $1 AND event_type = $2",
        pid,
        "ConstructionProgressReported",
    )
    assert causes == len(sent), "each event names the command that caused it"
