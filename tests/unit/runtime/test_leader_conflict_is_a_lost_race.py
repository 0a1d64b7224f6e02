import httpx

from flotilla.runtime.clock import FakeClock
from tests.unit.runtime.fake_leases import FakeLeaseServer, advance, candidate, running

STALE = {
    "holderIdentity": "other",
    "leaseDurationSeconds": 15,
    "acquireTime": "2020-01-01T00:00:00.000000Z",
    "renewTime": "2020-01-01T00:00:00.000000Z",
    "leaseTransitions": 0,
}


async def test_a_conflict_on_takeover_is_a_lost_race_and_the_wait_starts_again() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    server.write(STALE)
    conflicts: list[str] = []

    def other_renews_first(caller: str, request: httpx.Request) -> None:
        if caller == "a" and request.method == "PUT" and not conflicts:
            server.write({**server.spec(), "renewTime": "2020-01-01T00:00:20.000000Z"})
            conflicts.append(caller)

    server.before_write = other_renews_first
    a = candidate(server, clock, "a")
    async with running(server, a):
        await advance(clock, 20.0)
        assert conflicts == ["a"]
        assert not a.elector.is_leader
        assert not a.finished.is_set()
        assert server.spec()["holderIdentity"] == "other"
        # The other holder's renewal was seen just now: another full lease duration to wait.
        await advance(clock, 10.0)
        assert not a.elector.is_leader
        await advance(clock, 15.0)
        assert a.elector.is_leader
        assert server.spec()["leaseTransitions"] == 1


async def test_a_conflict_on_create_is_a_lost_race_not_a_crash() -> None:
    server, clock = FakeLeaseServer(), FakeClock()

    def other_creates_first(caller: str, request: httpx.Request) -> None:
        if caller == "a" and request.method == "POST":
            server.write({**STALE, "renewTime": "2030-01-01T00:00:00.000000Z"})

    server.before_write = other_creates_first
    a = candidate(server, clock, "a")
    async with running(server, a):
        assert server.methods("a") == ["GET", "POST"]
        assert not a.elector.is_leader
        assert not a.finished.is_set()
        await advance(clock, 5.0)
        assert server.methods("a")[2] == "GET"
        assert not a.elector.is_leader
        assert server.spec()["holderIdentity"] == "other"
