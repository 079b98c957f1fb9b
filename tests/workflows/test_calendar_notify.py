"""A calendar load tells every running project, whatever one of them answers
(``interfaces.usecases``): a project that ended since the listing is passed over, not the end of
the loop; a command to an ended project says it ended (``ProjectFinished``), not that it is missing."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType

from interfaces import usecases
from interfaces.client import DaibanClient, ProjectFinished
from schemas.project import CalendarUpdate
from tests.harness import Harness
from tests.workflows.helpers import view


async def test_a_project_ended_since_the_listing_does_not_stop_the_others_being_told(dev: Harness) -> None:
    ended, running = await dev.start(zone="tunliu"), await dev.start(zone="tunliu")
    ended_id, running_id = (await view(ended)).project_id, (await view(running)).project_id
    version = (await view(running)).calendar_version
    await ended.terminate("withdrawn, as between a load's listing and its signals")
    daiban = DaibanClient(dev.client, dev.task_queue)
    with pytest.raises(ProjectFinished, match="has ended"):
        await daiban.calendar_updated(ended_id, CalendarUpdate(version=version))

    told, missed = await usecases._notify(daiban, [ended_id, running_id], version, None)

    assert (told, missed) == (1, [])
    signalled = [
        e
        async for e in running.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert [e.workflow_execution_signaled_event_attributes.signal_name for e in signalled] == ["calendar_updated"]
    await running.terminate("test finished")
