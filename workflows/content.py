"""The content a project's machine runs under, looked up in the worker's registry (never by I/O).

Workflow code: ``catalog.content.REGISTRY`` is filled by the worker; an unknown version raises
``UnknownContentVersion``, which fails the workflow task until a worker that has it takes it.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from catalog.content import REGISTRY, ContentVersions
    from catalog.models import ProjectFacts
    from workflows.lifecycle import ProjectContext, ProjectMachine, ProjectState


def context_of(versions: ContentVersions, facts: ProjectFacts | None = None) -> ProjectContext:
    """The content a project (with ``facts``: its type, its scale...) runs under, from the worker's
    registry."""
    return ProjectContext(
        REGISTRY.catalog(versions.catalog),
        REGISTRY.zone(versions.zone),
        REGISTRY.calendar(versions.calendar),
        facts.project_type if facts is not None else None,
        facts,
    )


def machine_of(state: ProjectState) -> ProjectMachine:
    """The machine over ``state``, under its content versions; it looks up the versions a content
    migration (``migrate_content``) names the same way."""
    facts = ProjectFacts.of(state.registration)
    return ProjectMachine(state, context_of(state.versions, facts), lambda versions: context_of(versions, facts))
