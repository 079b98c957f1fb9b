"""A project's one-time checklist sheet (一次性告知清单, ``catalog.guide``) read from storage.

Built from the project's ``ProjectRegistered`` event (its header and the checklist issued; after a
content migration the checklist it carried, ``checklist_in_force``) and the catalog and zone
versions it runs under (``project_content_versions``, the contents in ``content_versions``). A
project registered before its versions were recorded (before migration 0100) is shown with the
versions in force, and says so in its versions' names.
"""

from __future__ import annotations

from catalog.guide import Guide, build_guide
from catalog.models import Catalog, ZonePolicy
from eventstore.codec import to_domain
from eventstore.content import stored_contents
from eventstore.store import Executor, read_stream
from eventstore.versions import checklist_in_force, current_catalog, current_zone
from schemas import events as ev


async def project_guide(db: Executor, project_id: str) -> Guide | None:
    """The project's sheet; None when the project has no registration event (unknown project).

    Raises:
        LookupError: the catalog or zone policy the project names is stored nowhere.
    """
    kinds = ("ProjectRegistered", "ContentMigrated")
    events = [to_domain(e) for e in await read_stream(db, project_id) if e.event_type in kinds]
    event = next((e for e in events if isinstance(e, ev.ProjectRegistered)), None)
    checklist = checklist_in_force(events)
    if event is None or checklist is None:
        return None
    row = await db.fetchrow("SELECT catalog, zone FROM project_content_versions WHERE project_id = $1", project_id)
    if row is not None:
        contents = await stored_contents(db, [row["catalog"], row["zone"]])
        if row["catalog"] not in contents or row["zone"] not in contents:
            raise LookupError(f"project_id: the content versions of {project_id!r} are not stored")
        catalog_v, catalog = row["catalog"], Catalog.model_validate(contents[row["catalog"]])
        zone_v, zone = row["zone"], ZonePolicy.model_validate(contents[row["zone"]])
    else:
        found_catalog, found_zone = await current_catalog(db), await current_zone(db, event.zone)
        if found_catalog is None or found_zone is None:
            raise LookupError(f"zone: no catalog or policy in force for zone {event.zone!r}")
        (catalog_v, catalog), (zone_v, zone) = found_catalog, found_zone
        catalog_v, zone_v = f"{catalog_v} (in force; not recorded)", f"{zone_v} (in force; not recorded)"
    header = ev.ProjectHeader.model_validate(event.model_dump(include=set(ev.ProjectHeader.model_fields)))
    return build_guide(catalog, zone, header, checklist, catalog_version=catalog_v, zone_version=zone_v)
