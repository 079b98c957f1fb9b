"""After a content migration the read models and the checklist sheet show the new limits.

Tunliu's project with project filing approved and EIA accepted (promise 7 working days) moves to a
policy that promises EIA in 3 and the drawing review (not yet open) in 4. ``ContentMigrated``
carries the checklist as it now stands: the open matters' rows take its limits, the decided one
keeps those it was decided under, and the one-time sheet (一次性告知清单) and the flowchart's inputs
read it. The lifecycle runs as pure code; its events are appended and projected on a database of
the test's own.
"""

from __future__ import annotations

from eventstore import queries as q
from eventstore.guides import project_guide
from eventstore.pictures import flowchart_inputs
from eventstore.versions import checklist_in_force
from schemas import events as ev
from schemas.stages import Stage
from tests import support as sp
from tests.eventstore.conftest import PrivateDb
from tests.eventstore.test_escalations import project
from tests.lifecycle.test_migration import migration, on_registry, promising

DRAWINGS = "construction-drawing-review"


async def rows(db: PrivateDb, pid: str) -> dict[str, q.MatterView]:
    view = await q.get_project(db.pool, pid)
    assert view is not None
    return {x.matter_code: x for x in view.matters}


async def test_the_open_matters_and_the_sheet_take_the_migrated_limits(private_db: PrivateDb) -> None:
    m = sp.machine("tunliu", stage=Stage.APPROVAL_LAND, clear=False)
    sp.decide(m, "project-filing")
    pid = m.state.registration.project_id
    new = promising(m.zone, eia=3, construction_drawing_review=4)
    registry = on_registry(m, new)
    await project(private_db, m)
    before = await rows(private_db, pid)
    filing_was = before["project-filing"]
    assert before["eia"].promised_days == sp.EIA_PROMISE and before[DRAWINGS].promised_days != 4
    assert (before["eia"].state, before[DRAWINGS].state, filing_was.state) == ("pending", "waiting", "approved")

    sp.ack(m, "migrate_content", migration(zone_version=registry.add_zone(new)), sp.T0)
    (event,) = [e for e in m.state.pending_events if e.event_type == "ContentMigrated"]
    carried = ev.ContentMigrated.model_validate(event.payload).checklist
    assert carried is not None and {i.matter_code: i.promised_days for i in carried}["eia"] == 3
    await project(private_db, m)

    after = await rows(private_db, pid)
    assert (after["eia"].promised_days, after[DRAWINGS].promised_days) == (3, 4)
    assert after["eia"].statutory_days == before["eia"].statutory_days
    decided = after["project-filing"]  # decided under the old content: its row is what was decided
    assert (decided.statutory_days, decided.promised_days) == (filing_was.statutory_days, filing_was.promised_days)

    guide = await project_guide(private_db.pool, pid)
    assert guide is not None
    assert {x.matter_code: x.promised_days for x in guide.matters if x.matter_code in ("eia", DRAWINGS)} == {
        "eia": 3,
        DRAWINGS: 4,
    }
    inputs = await flowchart_inputs(private_db.pool, pid)
    assert inputs is not None
    assert {i.matter_code: i.promised_days for i in inputs.checklist}["eia"] == 3


def test_a_migration_recorded_before_it_carried_the_checklist_keeps_the_previous() -> None:
    m = sp.machine("tunliu", clear=False)
    [registered] = [ev.ProjectRegistered.model_validate(e.payload) for e in m.state.pending_events[:1]]
    old = ev.ContentMigrated(
        project_id=registered.project_id, catalog_was="c1", catalog="c1", zone_was="z1", zone="z2", by="op", reason="r"
    )
    assert checklist_in_force([registered, old]) == registered.checklist
    newer = old.model_copy(update={"checklist": registered.checklist[:1]})
    assert checklist_in_force([registered, newer, old]) == registered.checklist[:1]
    assert checklist_in_force([old]) is None
