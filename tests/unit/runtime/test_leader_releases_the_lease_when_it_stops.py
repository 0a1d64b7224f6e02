import asyncio

import httpx
import pytest

from flotilla.runtime.clock import FakeClock
from tests.unit.runtime.fake_leases import (
    FakeLeaseServer,
    advance,
    candidate,
    running,
    settle,
)


async def test_cancelling_the_leader_releases_the_lease_so_another_takes_over_at_once() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a, b = candidate(server, clock, "a"), candidate(server, clock, "b")
    lead_stopped_before_release: list[bool] = []

    def note_release(caller: str, request: httpx.Request) -> None:
        if caller == "a" and b'"holderIdentity": ""' in request.content:
            lead_stopped_before_release.append(a.stopped.is_set())

    server.before_write = note_release
    async with running(server, a, b):
        await advance(clock, 5.0)
        assert a.elector.is_leader
        await a.stop()
        assert lead_stopped_before_release == [True]
        assert not a.elector.is_leader
        released = server.spec()
        assert released["holderIdentity"] == ""
        assert released["leaseDurationSeconds"] == 1
        assert released["leaseTransitions"] == 0
        # b's next attempt comes within one jittered retry period, not a lease duration.
        await advance(clock, 4.5)
        assert b.elector.is_leader
        spec = server.spec()
        assert spec["holderIdentity"] == "b"
        assert spec["leaseTransitions"] == 1
        assert spec["leaseDurationSeconds"] == 15


async def test_cancelling_a_waiting_candidate_leaves_the_lease_alone() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a, b = candidate(server, clock, "a"), candidate(server, clock, "b")
    async with running(server, a, b):
        await b.stop()
        assert b.finished.is_set()
        assert server.methods("b") == ["GET"]
        assert server.spec()["holderIdentity"] == "a"


async def test_when_lead_returns_the_lease_is_released_and_run_returns() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a = candidate(server, clock, "a")
    done = asyncio.Event()

    async def lead() -> None:
        await done.wait()

    async with asyncio.TaskGroup() as group:
        running_a = group.create_task(a.elector.run(lead))
        await settle()
        assert a.elector.is_leader
        await advance(clock, 3.0)
        done.set()
        await settle()
        assert running_a.done()
    assert running_a.result() is None
    assert not a.elector.is_leader
    assert server.spec()["holderIdentity"] == ""
    await a.client.aclose()


async def test_an_error_from_lead_propagates_unchanged_after_the_lease_is_released() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a = candidate(server, clock, "a")

    async def lead() -> None:
        raise ValueError("controller crashed")

    with pytest.raises(ValueError, match="controller crashed"):
        await a.elector.run(lead)
    assert server.spec()["holderIdentity"] == ""
    assert not a.elector.is_leader
    await a.client.aclose()


async def test_another_candidate_does_not_wait_when_the_lease_was_released() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a = candidate(server, clock, "a")
    async with running(server, a):
        await a.stop()
    b = candidate(server, clock, "b")
    async with running(server, b):
        assert b.elector.is_leader
        assert server.methods("b") == ["GET", "PUT"]
