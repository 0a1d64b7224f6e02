import pytest

from flotilla.runtime.clock import FakeClock
from tests.unit.runtime.fake_leases import FakeLeaseServer, advance, candidate, running


def _held_by_other(renew_time: str) -> dict[str, object]:
    return {
        "holderIdentity": "other",
        "leaseDurationSeconds": 15,
        "acquireTime": "2020-01-01T00:00:00.000000Z",
        "renewTime": renew_time,
        "leaseTransitions": 3,
    }


@pytest.mark.parametrize(
    "renew_time",
    ["2000-01-01T00:00:00.000000Z", "2999-01-01T00:00:00.000000Z"],
    ids=["renewed-long-ago-by-server-time", "renewed-in-the-future-by-server-time"],
)
async def test_a_held_lease_is_taken_only_after_lease_duration_on_the_local_clock(
    renew_time: str,
) -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    server.write(_held_by_other(renew_time))
    a = candidate(server, clock, "a")
    async with running(server, a):
        await advance(clock, 14.75)
        assert not a.elector.is_leader
        assert server.spec()["holderIdentity"] == "other"
        # Attempts come every retry period, jittered up to 2.2x: at most 4.4 s late.
        await advance(clock, 0.25 + 4.5)
        assert a.elector.is_leader
        assert a.started.is_set()
        spec = server.spec()
        assert spec["holderIdentity"] == "a"
        assert spec["leaseTransitions"] == 4
        assert spec["acquireTime"] != "2020-01-01T00:00:00.000000Z"


async def test_a_holder_that_keeps_renewing_is_never_taken_over() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a = candidate(server, clock, "a")
    server.write(_held_by_other("2000-01-01T00:00:00.000000Z"))
    async with running(server, a):
        for second in range(1, 13):
            # The holder renews every 5 s, by a wall clock far behind ours.
            await advance(clock, 5.0)
            server.write({**server.spec(), "renewTime": f"2000-01-01T00:00:{second:02}.000000Z"})
            assert not a.elector.is_leader
        assert server.spec()["holderIdentity"] == "other"
        assert a.leads == 0
        assert "PUT" not in server.methods("a")
