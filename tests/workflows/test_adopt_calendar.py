"""Update ``adopt_calendar``: a calendar version no worker holds is refused before history, so a
mistaken or forged version can no longer stall a project as the signal ``calendar_updated`` does
(its workflow task fails until a worker holds the version, for good when none ever will)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from catalog.content import REGISTRY
from interfaces.client import DaibanClient, NotReady
from legalclock import OfficialCalendar, YearCalendar
from schemas.commands import ADOPT_CALENDAR
from schemas.project import AdoptCalendar
from tests.harness import Harness
from tests.workflows.helpers import official_2027, open_all, view
from workflows.project import CONTENT_NOT_LOADED, REJECTED, ProjectWorkflow


async def _updates_in_history(h: WorkflowHandle[Any, Any]) -> list[str]:
    return [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        async for e in h.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]


async def _refused(h: WorkflowHandle[Any, Any], cmd: AdoptCalendar) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await h.execute_update(ProjectWorkflow.adopt_calendar, cmd)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def test_an_unknown_version_is_refused_before_history_and_a_stored_one_is_adopted(dev: Harness) -> None:
    h = await dev.start(zone="tunliu")
    before = await open_all(h)
    accepted_before = await _updates_in_history(h)

    unknown = await _refused(h, AdoptCalendar(version="cn-000000000000", by="operator-li", request_id="cal-1"))
    assert cause_is(unknown, CONTENT_NOT_LOADED, "version: calendar cn-000000000000 is not loaded on this worker")
    # An older calendar, held by the worker, that lacks an official year the project's calendar holds.
    current = REGISTRY.calendar(before.calendar_version)
    newest = max(current.years)
    older = REGISTRY.add_calendar(OfficialCalendar.from_years({y: d for y, d in current.years.items() if y != newest}))
    dropped = await _refused(h, AdoptCalendar(version=older, by="operator-li", request_id="cal-2"))
    assert cause_is(dropped, REJECTED, f"version: calendar {older} has no official data for {newest}")
    assert await _updates_in_history(h) == accepted_before  # neither refusal left a trace
    assert (await view(h)).calendar_version == before.calendar_version

    # The project goes on: a known version is adopted, and a resend gets the first answer.
    # (Built on the project's calendar: other tests may have loaded later years into the one in force.)
    new = REGISTRY.add_calendar(current.with_year(2027, official_2027().years[2027]))
    cmd = AdoptCalendar(version=new, by="operator-li", request_id="cal-3")
    ack = await h.execute_update(ProjectWorkflow.adopt_calendar, cmd)
    assert ack.message == f"calendar {new} adopted: open deadlines recomputed" and not ack.duplicate
    again = await h.execute_update(ProjectWorkflow.adopt_calendar, cmd)
    assert again.duplicate and again.message == ack.message
    assert (await view(h)).calendar_version == new
    same = await h.execute_update(ProjectWorkflow.adopt_calendar, cmd.model_copy(update={"request_id": "cal-4"}))
    assert same.message == f"calendar {new} already in force"
    assert (await _updates_in_history(h))[len(accepted_before) :] == ["adopt_calendar"] * 3
    await h.terminate("test finished")


async def test_the_client_retries_until_the_worker_holds_the_version_and_then_says_not_ready(dev: Harness) -> None:
    h = await dev.start(zone="tunliu")
    pid = (await view(h)).project_id
    daiban = DaibanClient(dev.client, dev.task_queue)
    never = AdoptCalendar(version="cn-000000000001", by="operator-li")
    with pytest.raises(NotReady, match=r"^version: calendar cn-000000000001 is not loaded on this worker"):
        await daiban.send(ADOPT_CALENDAR, pid, never, wait=1.0)
    # Stored moments ago: the worker's refresher loads it while the client retries.
    current = REGISTRY.calendar((await view(h)).calendar_version)
    late = current.with_year(2041, YearCalendar(holidays={date(2041, 1, 1): "元旦"}, workdays={}))
    version = late.version
    sent = asyncio.create_task(daiban.send(ADOPT_CALENDAR, pid, AdoptCalendar(version=version, by="operator-li")))
    await asyncio.sleep(1.0)
    assert not sent.done()
    REGISTRY.add_calendar(late)
    ack = await sent
    assert ack.message == f"calendar {version} adopted: open deadlines recomputed"
    await h.terminate("test finished")


def cause_is(cause: ApplicationError, type_: str, message_start: str) -> bool:
    assert cause.type == type_ and cause.non_retryable, (cause.type, cause.message)
    assert cause.message.startswith(message_start), cause.message
    return True
