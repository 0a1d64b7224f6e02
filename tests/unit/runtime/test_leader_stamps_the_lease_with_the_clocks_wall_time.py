from datetime import UTC, datetime, timedelta

from flotilla.runtime.clock import FakeClock
from flotilla.runtime.leader import micro_time
from tests.unit.runtime.fake_leases import FakeLeaseServer, advance, candidate, running

WALL = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)


async def test_acquire_and_renew_times_come_from_the_injected_clock() -> None:
    server, clock = FakeLeaseServer(), FakeClock(wall=WALL)
    a = candidate(server, clock, "a")
    async with running(server, a):
        assert server.spec()["acquireTime"] == micro_time(WALL)
        await advance(clock, 2.0)
        spec = server.spec()
        assert spec["renewTime"] == micro_time(WALL + timedelta(seconds=2))
        assert spec["acquireTime"] == micro_time(WALL)
