from flotilla.runtime.clock import FakeClock
from tests.unit.runtime.fake_leases import (
    MICRO_TIME,
    NAME,
    NAMESPACE,
    FakeLeaseServer,
    advance,
    candidate,
    running,
)


async def test_a_missing_lease_is_created_and_its_creator_leads() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a = candidate(server, clock, "a")
    async with running(server, a):
        assert a.started.is_set()
        assert a.elector.is_leader
        assert server.methods("a") == ["GET", "POST"]
        lease = server.lease()
        assert lease["metadata"] == {
            "name": NAME,
            "namespace": NAMESPACE,
            "resourceVersion": "1",
            "uid": f"uid-{NAME}",
        }
        spec = lease["spec"]
        assert spec["holderIdentity"] == "a"
        assert spec["leaseDurationSeconds"] == 15
        assert spec["leaseTransitions"] == 0
        assert MICRO_TIME.match(spec["acquireTime"])
        assert spec["renewTime"] == spec["acquireTime"]


async def test_the_leader_renews_every_retry_period_keeping_acquire_time_and_transitions() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a = candidate(server, clock, "a")
    async with running(server, a):
        acquired = server.spec()
        await advance(clock, 1.9)
        assert server.methods("a") == ["GET", "POST"]
        await advance(clock, 0.2)
        assert server.methods("a") == ["GET", "POST", "PUT"]
        await advance(clock, 8.0)
        # The leader writes over what it wrote last: no GET while nothing interferes.
        assert server.methods("a") == ["GET", "POST"] + ["PUT"] * 5
        renewed = server.spec()
        assert renewed["holderIdentity"] == "a"
        assert renewed["acquireTime"] == acquired["acquireTime"]
        assert renewed["leaseTransitions"] == 0
        assert MICRO_TIME.match(renewed["renewTime"])
        assert renewed["renewTime"] >= acquired["renewTime"]
        assert server.lease()["metadata"]["resourceVersion"] == "6"
        assert a.leads == 1
