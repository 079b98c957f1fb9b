"""The roles as pure code (``interfaces.auth.principals``): who may do what, without servers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from infra.settings import PrincipalConfig, Settings
from interfaces.auth.principals import (
    COMMAND_ROLES,
    DEPARTMENT_COMMANDS,
    Principal,
    ProjectTeam,
    check_by,
    check_command,
    check_read_project,
    check_register,
    check_zone_filter,
    from_config,
)
from interfaces.auth.verifying import AuthError, Authorizer
from schemas import commands

TEAM = ProjectTeam("p-1", "tunliu", "agent-li", "agent-wang", "lead-zhao")


def _p(name: str, *roles: str, zones: tuple[str, ...] = (), department: str | None = None) -> Principal:
    return Principal(name, frozenset(roles), frozenset(zones), department)  # type: ignore[arg-type]


def test_every_unsigned_command_has_its_roles() -> None:
    unsigned = {c.name for c in commands.ALL if not c.signed}
    assert unsigned == set(COMMAND_ROLES) | DEPARTMENT_COMMANDS


@pytest.mark.parametrize(
    ("principal", "command", "department"),
    [
        (_p("agent-zhang", "agent"), "reassign_agent", None),
        (_p("agent-zhang", "agent"), "withdraw", None),
        (_p("agent-li", "agent"), "retry_faulted", None),
        (_p("agent-li", "agent"), "resolve_meeting", None),
        (_p("ops-x", "operator", zones=("xiangyuan",)), "withdraw", None),
        (_p("dashboard", "reader", zones=("*",)), "withdraw", None),
        (_p("ecology", "department", department="ecology"), "extend_limit", "resources"),
        (_p("ecology", "department", department="ecology"), "withdraw", None),
        (_p("operator", "operator", zones=("*",)), "stop_clock", "resources"),
        (_p("agent-li", "agent"), "extend_limit", "resources"),
    ],
)
def test_beyond_role(principal: Principal, command: str, department: str | None) -> None:
    with pytest.raises(AuthError) as err:
        check_command(principal, command, TEAM, department)
    assert err.value.status == 403 and err.value.context["principal"] == principal.name


@pytest.mark.parametrize(
    ("principal", "command", "department"),
    [
        (_p("agent-li", "agent"), "withdraw", None),
        (_p("agent-wang", "agent"), "supply_materials", None),
        (_p("lead-zhao", "lead"), "resolve_meeting", None),
        (_p("ops-t", "operator", zones=("tunliu",)), "retry_faulted", None),
        (_p("resources", "department", department="resources"), "extend_limit", "resources"),
    ],
)
def test_within_role(principal: Principal, command: str, department: str | None) -> None:
    check_command(principal, command, TEAM, department)


def test_by_is_the_caller() -> None:
    li = _p("agent-li", "agent")
    assert check_by(li, "agent-li") == "agent-li" and check_by(li, None) == "agent-li"
    with pytest.raises(AuthError, match=r"^by: "):
        check_by(li, "lead-zhao")


def test_zones_of_registration_and_reads() -> None:
    portal = _p("portal", "registrar", "reader", zones=("tunliu",))
    check_register(portal, "tunliu")
    with pytest.raises(AuthError):
        check_register(portal, "xiangyuan")
    check_read_project(portal, TEAM)
    with pytest.raises(AuthError):
        check_read_project(_p("agent-zhang", "agent"), TEAM)
    assert check_zone_filter(portal, None) == "tunliu"
    with pytest.raises(AuthError, match=r"^zone: "):
        check_zone_filter(portal, "xiangyuan")


def test_configuration() -> None:
    s = Settings(
        principals={"resources": {"token": "t" * 16, "roles": ["department"], "department": "resources"}},
        operator_tokens={"legacy": "l" * 16},
    )
    auth = Authorizer(
        {}, {k: v.get_secret_value() for k, v in s.operator_tokens.items()}, 900, from_config(s.principals)
    )
    assert auth.principal("t" * 16).department == "resources"
    legacy = auth.principal("l" * 16)
    assert legacy.roles == {"operator"} and legacy.all_zones  # version 1's tokens: operators of every zone
    with pytest.raises(AuthError) as err:
        auth.principal("nope")
    assert err.value.status == 401
    for bad in (
        {"token": "t" * 16, "roles": ["department"]},  # which department?
        {"token": "t" * 16, "roles": ["reader"]},  # which zones?
        {"token": "short", "roles": ["agent"]},
        {"token": "t" * 16, "roles": ["root"]},
    ):
        with pytest.raises(ValidationError):
            PrincipalConfig.model_validate(bad)
