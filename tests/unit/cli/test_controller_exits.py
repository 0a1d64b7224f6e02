"""How ``flotilla controller run`` ends: the process, not only the manager, is under test.

The manager runs the elector inside TaskGroups, so its errors arrive in ExceptionGroups;
``run_until_stopped`` must still turn a lost lease into exit code 2 (restart me), a
terminal API error into that error (``fail_on_errors`` prints it, exit 1) and SIGTERM into a
clean stop that releases the lease.
"""

import asyncio
import os
import signal

import pytest

from flotilla.cli.controller import EXIT_LEADERSHIP_LOST, run_until_stopped
from flotilla.kube import Forbidden
from flotilla.runtime.clock import FakeClock
from tests.unit.runtime.fake_leases import (
    Candidate,
    FakeLeaseServer,
    Fault,
    advance,
    candidate,
    settle,
)


async def _lead_like_the_manager(leader: Candidate) -> None:
    # The manager's shape: a TaskGroup holding the serving task, the elector in the body.
    async with leader.client, asyncio.TaskGroup() as group:
        group.create_task(asyncio.Event().wait(), name="serving")
        await leader.elector.run(leader.lead)


def test_a_lost_lease_exits_with_code_2_not_a_traceback() -> None:
    server, clock = FakeLeaseServer(), FakeClock()

    async def work() -> None:
        leader = candidate(server, clock, "a")

        async def lose_the_lease() -> None:
            await leader.started.wait()
            server.break_for("a", Fault.UNAVAILABLE)
            await advance(clock, 13.0)

        async with asyncio.TaskGroup() as group:
            group.create_task(lose_the_lease())
            await _lead_like_the_manager(leader)

    assert run_until_stopped(work) == EXIT_LEADERSHIP_LOST == 2
    assert server.spec()["holderIdentity"] == "a", "not released: the API did not answer"


def test_a_terminal_api_error_comes_out_unwrapped() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    server.break_for("a", Fault.FORBIDDEN)

    async def work() -> None:
        await _lead_like_the_manager(candidate(server, clock, "a"))

    with pytest.raises(Forbidden):
        run_until_stopped(work)


def test_sigterm_stops_cleanly_and_releases_the_lease() -> None:
    server, clock = FakeLeaseServer(), FakeClock()

    async def work() -> None:
        leader = candidate(server, clock, "a")

        async def terminate() -> None:
            await leader.started.wait()
            await settle()
            os.kill(os.getpid(), signal.SIGTERM)

        async with asyncio.TaskGroup() as group:
            group.create_task(terminate())
            await _lead_like_the_manager(leader)

    assert run_until_stopped(work) == 0
    assert server.spec()["holderIdentity"] == ""
