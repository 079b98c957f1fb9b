"""Promise-only rule 2 on the pure lifecycle: a matter the law sets no decision limit for (the land
transfer contract, 城市房地产管理法 §15: a contract, not an administrative licence) runs on the zone's
promise alone. Missing it is the zone's failure towards the enterprise (督办), not the department's
legal breach, and 行政许可法 §42, which extends a licence's statutory limit, does not apply to it.
"""

from __future__ import annotations

from typing import Literal

import pytest

from tests import support as sp
from workflows.lifecycle import ProjectMachine, Rejected

CONTRACT = "land-contract"


def contract_pending(rule: Literal[1, 2], *, keep_events: bool = False) -> ProjectMachine:
    """Tunliu's stage 1, approved until the land transfer contract is pending, outbox drained
    (``keep_events``: every event kept, to be stored and projected)."""
    m = sp.machine("tunliu", acceptance_rule=2, promise_only_rule=rule, clear=not keep_events)
    for _ in range(10):
        if sp.state_of(m, CONTRACT) == "pending":
            break
        sp.open_applications(m)
        for code, x in list(m.state.matters.items()):
            if code != CONTRACT and x.state == "pending":
                sp.decide(m, code)
    assert sp.state_of(m, CONTRACT) == "pending"
    assert m.ctx.specs[CONTRACT].statutory_days is None
    if not keep_events:
        sp.drain(m)
    return m


def breach_of_contract(m: ProjectMachine) -> dict[str, object]:
    clock = sp.matter_clock(m, CONTRACT)
    m.fire_alarms(sp.deadline_of(m, clock))
    [breached] = [e.payload for e in sp.events_of(m, "DeadlineBreached") if e.payload["clock_id"] == clock]
    return breached


def test_a_contract_past_the_zones_promise_is_a_missed_promise_not_a_legal_breach() -> None:
    m = contract_pending(2)
    breached = breach_of_contract(m)
    assert breached["limit"] == "promised"
    assert sp.events_of(m, "EscalatedToLead"), "督办 all the same"
    assert sp.state_of(m, CONTRACT) == "pending", "nothing is deemed on a contract"


def test_a_contracts_promise_is_not_extended_under_article_42() -> None:
    m = contract_pending(2)
    with pytest.raises(Rejected, match=r"matter_code: land-contract is a contract .* §42"):
        m.check("extend_limit", sp.extend_limit(CONTRACT, 5))


def test_projects_registered_before_promise_only_rule_2_keep_the_legal_breach_and_the_extension() -> None:
    m = contract_pending(1)
    m.check("extend_limit", sp.extend_limit(CONTRACT, 5))
    assert breach_of_contract(m)["limit"] == "statutory"


def test_an_approvals_statutory_limit_is_still_extended_and_a_legal_breach() -> None:
    m = sp.at_approval_land("tunliu")
    m.state.promise_only_rule = 2
    clock = sp.matter_clock(m, sp.LAND_PRE)
    m.check("extend_limit", sp.extend_limit(sp.LAND_PRE, 5))
    m.fire_alarms(sp.statutory_deadline_of(m, clock))
    limits = [e.payload["limit"] for e in sp.events_of(m, "DeadlineBreached") if e.payload["clock_id"] == clock]
    assert limits[-1] == "statutory"


@pytest.mark.parametrize(("rule", "recorded"), [(2, None), (1, 2.0)])
def test_a_contract_records_no_statutory_limit_under_rule_2(rule: Literal[1, 2], recorded: float | None) -> None:
    """The checklist line, the acceptance and the approval say the law sets the contract no limit
    (``statutory_days`` None), so no report judges it against the law; before rule 2 they recorded
    the zone's promise (2 working days) as if it were the law's."""
    m = contract_pending(rule, keep_events=True)
    [item] = [i for i in m.state.checklist if i.matter_code == CONTRACT]
    assert (item.statutory_days, item.promised_days) == (recorded, 2.0)
    [registered] = sp.events_of(m, "ProjectRegistered")
    [line] = [i for i in registered.payload["checklist"] if i["matter_code"] == CONTRACT]
    assert line["statutory_days"] == recorded
    [accepted] = [e.payload for e in sp.events_of(m, "ApplicationAccepted") if e.payload["matter_code"] == CONTRACT]
    assert accepted["statutory_days"] == recorded
    sp.decide(m, CONTRACT)
    [approved] = [e.payload for e in sp.events_of(m, "MatterApproved") if e.payload["matter_code"] == CONTRACT]
    assert (approved["statutory_days"], approved["on_time"]) == (recorded, True)
    # An approval keeps its statutory limit under either rule.
    [eia] = [i for i in m.state.checklist if i.matter_code == "eia"]
    assert eia.statutory_days == m.ctx.specs["eia"].statutory_days == 30
