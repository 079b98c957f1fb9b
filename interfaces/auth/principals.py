"""Who may do what through the gateway: principals, their roles and scopes, and the checks (pure code).

A **principal** is a named bearer-token holder (``DAIBAN_PRINCIPALS``, see ``infra.settings``)
with one or more roles:

- ``agent``: the project's agent or backup agent (AB岗) — its projects only (``agent`` or
  ``backup_agent`` of the project is the principal's name);
- ``lead``: the project lead (项目长) — projects whose ``project_lead`` is the principal's name;
- ``operator``: the zone's operators — every project of its ``zones`` (``"*"``: every zone),
  registration there, the official calendar, faulted projects and provisional deadlines;
- ``department``: a department's system (its ``department`` code) — stops, resumptions and
  extensions of its **own** matters' clocks (行政许可法 §42, §45: the deciding authority stops and
  extends its limit), its inbox; its decisions stay signed envelopes (``interfaces.auth``);
- ``registrar``: a service that registers projects (签约入库) in its ``zones`` (the zone portal);
- ``reader``: read-only services (the zone portal, the dashboard's users) — reads of its ``zones``.

What each command needs (``COMMAND_ROLES``): the project's agent, backup agent, lead or an
operator of its zone for the agents' commands; an operator of its zone (or the lead, for a joint
meeting's resolution) for the others; the department named in the body, and only it, for clock
stops, resumptions and extensions (or its signed envelope, ``routers/commands.py``); the signed
commands (``SIGNED_COMMANDS``) take the department's envelope at the gateway, its own principal
in the typed client. ``by`` is the authenticated principal: the gateway and the typed client
refuse a body naming anyone else (403 naming ``by``; the client also checks ``decided_by``).

Every function here raises ``AuthError`` (403, with the principal and the reason) or returns;
the gateway logs each refusal (``gateway request rejected``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from interfaces.auth.verifying import AuthError

if TYPE_CHECKING:
    from infra.settings import PrincipalConfig
    from schemas.events import ProjectHeader

Role = Literal["agent", "lead", "operator", "department", "registrar", "reader"]
ROLES: tuple[Role, ...] = ("agent", "lead", "operator", "department", "registrar", "reader")
ANY_ZONE = "*"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: ``name`` (an identifier, what ``by`` records), its roles, its scope.

    ``zones``: the zones an operator, registrar or reader covers (``"*"``: all); ``department``:
    a department principal's department code.
    """

    name: str
    roles: frozenset[Role]
    zones: frozenset[str] = field(default_factory=frozenset)
    department: str | None = None

    def has(self, role: Role) -> bool:
        return role in self.roles

    def covers(self, zone: str) -> bool:
        """True when the principal's zones include ``zone`` (or every zone)."""
        return ANY_ZONE in self.zones or zone in self.zones

    @property
    def all_zones(self) -> bool:
        return ANY_ZONE in self.zones


@dataclass(frozen=True)
class ProjectTeam:
    """What authorization needs of a project: its zone and its people (``ProjectHeader``'s fields)."""

    project_id: str
    zone: str
    agent: str
    backup_agent: str
    project_lead: str


def team_of(header: ProjectHeader) -> ProjectTeam:
    """The authorization facts of a project's header (its view)."""
    return ProjectTeam(header.project_id, header.zone, header.agent, header.backup_agent, header.project_lead)


# Department clock commands: the department named in the body, and no one else.
DEPARTMENT_COMMANDS = frozenset({"stop_clock", "resume_clock", "extend_limit"})
# Signed commands (``schemas.commands``: ``signed``): through the gateway, the department's envelope;
# through the typed client with a service credential, the department's own principal.
SIGNED_COMMANDS = frozenset({"decide", "verify", "extend_permit"})
# Project roles a command admits ("operator" means an operator of the project's zone).
COMMAND_ROLES: dict[str, frozenset[str]] = {
    "submit_application": frozenset({"agent", "lead", "operator"}),
    "supply_materials": frozenset({"agent", "lead", "operator"}),
    "resubmit": frozenset({"agent", "lead", "operator"}),
    "report_progress": frozenset({"agent", "lead", "operator"}),
    "reassign_agent": frozenset({"agent", "lead", "operator"}),
    "withdraw": frozenset({"agent", "lead", "operator"}),
    "resolve_meeting": frozenset({"lead", "operator"}),
    "confirm_deadline": frozenset({"operator"}),
    "retry_faulted": frozenset({"operator"}),
    "migrate_content": frozenset({"operator"}),
    "adopt_calendar": frozenset({"operator"}),
    # 好差评: the enterprise rates through the zone's portal (registrar) or an operator records it; the
    # callback and fix by the rated matter's department or the project lead (the workflow checks which:
    # ``by``, a department principal's name, which is its department code: ``infra.settings``).
    "rate": frozenset({"registrar", "operator"}),
    "record_callback": frozenset({"department", "lead"}),
    "record_fix": frozenset({"department", "lead"}),
}


def _refuse(principal: Principal, reason: str, **context: str) -> AuthError:
    return AuthError(403, reason, scheme="Bearer", principal=principal.name, **context)


def project_roles(principal: Principal, team: ProjectTeam) -> set[str]:
    """The roles ``principal`` holds on this project: agent (agent or backup), lead, operator (its zone)."""
    held: set[str] = set()
    if principal.has("agent") and principal.name in (team.agent, team.backup_agent):
        held.add("agent")
    if principal.has("lead") and principal.name == team.project_lead:
        held.add("lead")
    if principal.has("operator") and principal.covers(team.zone):
        held.add("operator")
    if principal.has("registrar") and principal.covers(team.zone):
        held.add("registrar")
    if principal.has("department"):
        held.add("department")
    return held


def check_command(principal: Principal, command: str, team: ProjectTeam, department: str | None = None) -> None:
    """May ``principal`` send ``command`` to the project? ``department``: the body's, for clock commands.

    Raises:
        AuthError: 403 naming the principal, the command and what it lacks.
    """
    context = {"command": command, "project_id": team.project_id}
    if command in DEPARTMENT_COMMANDS | SIGNED_COMMANDS:
        if not principal.has("department") or principal.department is None:
            what = "stops or extends its clock" if command in DEPARTMENT_COMMANDS else "sends it"
            raise _refuse(principal, f"{command}: only the department's own principal {what}", **context)
        if department != principal.department:
            raise _refuse(
                principal,
                f"department: {principal.name} acts for {principal.department}, not for {department}",
                **context,
            )
        return
    allowed = COMMAND_ROLES.get(command, frozenset({"operator"}))
    if not project_roles(principal, team) & allowed:
        who = " or ".join(sorted(allowed)).replace("operator", f"operator of zone {team.zone}")
        raise _refuse(principal, f"{command} on {team.project_id} needs its {who}; {principal.name} is none", **context)


def check_by(principal: Principal, claimed: str | None, field: str = "by") -> str:
    """The ``by`` to record: the principal's name; 403 naming ``field`` when the body claims another."""
    if claimed is not None and claimed != principal.name:
        raise _refuse(principal, f"{field}: authenticated as {principal.name}, the body claims {claimed}", field=field)
    return principal.name


def check_register(principal: Principal, zone: str) -> None:
    """Registration (签约入库): an operator or registrar of the zone."""
    if not (principal.has("operator") or principal.has("registrar")) or not principal.covers(zone):
        raise _refuse(principal, f"zone: {principal.name} may not register projects in {zone}", zone=zone)


def check_operator(principal: Principal, action: str) -> None:
    """A zone-independent operator action (the official calendar): an operator of every zone."""
    if not (principal.has("operator") and principal.all_zones):
        raise _refuse(principal, f"{action} needs an operator of every zone", action=action)


def check_read_project(principal: Principal, team: ProjectTeam) -> None:
    """Reading one project: its agent, backup, lead, a department, or an operator or reader of its zone."""
    if project_roles(principal, team) or principal.has("department"):
        return
    if principal.has("reader") and principal.covers(team.zone):
        return
    raise _refuse(
        principal, f"{principal.name} may not read {team.project_id} (zone {team.zone})", project_id=team.project_id
    )


def check_contact(principal: Principal, team: ProjectTeam) -> None:
    """The enterprise's contact (personal data): the project's agent, backup, lead or an operator of its zone."""
    if not project_roles(principal, team) & {"agent", "lead", "operator"}:
        raise _refuse(
            principal, f"contact: {principal.name} may not read {team.project_id}'s contact", project_id=team.project_id
        )


def readable_zones(principal: Principal) -> frozenset[str] | None:
    """The zones whose reports and lists the principal reads: None for every zone.

    Raises:
        AuthError: 403 for a principal without a zone-wide read role (agents, leads, departments).
    """
    if not (principal.has("operator") or principal.has("reader")):
        raise _refuse(principal, f"{principal.name} holds no zone-wide read role (operator or reader)")
    return None if principal.all_zones else principal.zones


def check_zone_filter(principal: Principal, zone: str | None) -> str | None:
    """A report's zone filter within the principal's zones: the filter, or 403 when out of scope or absent."""
    zones = readable_zones(principal)
    if zones is None:
        return zone
    if zone is None:
        if len(zones) == 1:
            return next(iter(zones))
        raise _refuse(principal, f"zone: {principal.name} reads zones {sorted(zones)}; name one", field="zone")
    if zone not in zones:
        raise _refuse(principal, f"zone: {principal.name} may not read zone {zone}", field="zone")
    return zone


def check_inbox(principal: Principal, department: str) -> None:
    """A department's inbox: that department, or an operator or reader of every zone."""
    if principal.has("department") and principal.department == department:
        return
    if (principal.has("operator") or principal.has("reader")) and principal.all_zones:
        return
    raise _refuse(principal, f"{principal.name} may not read {department}'s inbox", department=department)


def zone_clause(zones: Iterable[str]) -> str:
    """A visibility-query clause keeping ``zones`` (identifiers: no quoting needed)."""
    return "DaibanZone IN (" + ", ".join(f"'{z}'" for z in sorted(zones)) + ")"


def from_config(configs: Mapping[str, PrincipalConfig]) -> dict[str, tuple[str, Principal]]:
    """``DAIBAN_PRINCIPALS`` (``infra.settings.PrincipalConfig`` by name) -> name -> (token, principal)."""
    return {
        name: (
            c.token.get_secret_value(),
            Principal(name, frozenset(c.roles), frozenset(c.zones), c.department),
        )
        for name, c in configs.items()
    }
