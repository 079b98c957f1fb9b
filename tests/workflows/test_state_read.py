"""A state read through the typed client costs one call to Temporal: the ``state`` query (issue 17).

Counted with a client interceptor on a real dev server: a running project, a closed one (it answers
from its history) and an unknown id each cost one query and no ``describe``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from temporalio.client import (
    Client,
    DescribeWorkflowInput,
    Interceptor,
    OutboundInterceptor,
    QueryWorkflowInput,
)

from interfaces.client import DaibanClient, ProjectNotFound
from schemas.project import Withdraw
from tests.harness import Harness, registration
from tests.support import rid


class Calls(Interceptor):
    """Counts the client's calls to Temporal by kind."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        calls = self.calls

        class Counting(OutboundInterceptor):
            async def describe_workflow(self, input: DescribeWorkflowInput) -> Any:
                calls["describe"] += 1
                return await super().describe_workflow(input)

            async def query_workflow(self, input: QueryWorkflowInput) -> Any:
                calls["query"] += 1
                return await super().query_workflow(input)

        return Counting(next)


async def test_a_state_read_is_one_query(dev: Harness) -> None:
    counted = Calls()
    config = dev.client.config()
    config["interceptors"] = [counted]
    client = DaibanClient(Client(**config), dev.task_queue)
    reg = registration()
    await client.register(reg)
    dev.started.append(client.handle(reg.project_id))
    await client.state(reg.project_id)  # waits while the project registers
    counted.calls.clear()
    assert (await client.state(reg.project_id)).stage == "establishment"
    assert counted.calls == {"query": 1}

    ack = await client.withdraw(
        reg.project_id, Withdraw(request_id=rid(), reason="investment cancelled", by="agent-li")
    )
    assert ack.stage == "withdrawn" and ack.pending == []
    await client.handle(reg.project_id).result()
    counted.calls.clear()
    assert (await client.state(reg.project_id)).stage == "withdrawn"  # closed: answered from its history
    assert counted.calls == {"query": 1}

    counted.calls.clear()
    with pytest.raises(ProjectNotFound):
        await client.state("p-no-such-project")
    assert counted.calls == {"query": 1}
