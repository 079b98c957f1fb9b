"""The content a project runs under, looked up by its content versions (never read by I/O here)."""

from __future__ import annotations

from catalog.content import REGISTRY, ContentVersions
from workflows.lifecycle import ProjectContext


def context_of(versions: ContentVersions) -> ProjectContext:
    """The content a project runs under, from the worker's registry (never read by I/O here)."""
    return ProjectContext(
        REGISTRY.catalog(versions.catalog), REGISTRY.zone(versions.zone), REGISTRY.calendar(versions.calendar)
    )
