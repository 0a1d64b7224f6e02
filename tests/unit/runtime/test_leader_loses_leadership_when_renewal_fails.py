import pytest

from flotilla.runtime.clock import FakeClock
from flotilla.runtime.leader import LeadershipLost
from tests.unit.runtime.fake_leases import FakeLeaseServer, Fault, advance, candidate, running

TRANSIENT = [Fault.UNAVAILABLE, Fault.TIMEOUT, Fault.HANG]


@pytest.mark.parametrize("fault", TRANSIENT, ids=[fault.name.lower() for fault in TRANSIENT])
async def test_renewal_failing_past_the_renew_deadline_cancels_lead_and_raises(
    fault: Fault,
) -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a = candidate(server, clock, "a")
    async with running(server, a):
        assert a.elector.is_leader
        server.break_for("a", fault)
        # The renewal that starts one retry period later has the renew deadline to succeed.
        await advance(clock, 2.0 + 10.0 - 0.25)
        assert a.elector.is_leader
        assert not a.stopped.is_set()
        await advance(clock, 0.5)
        assert not a.elector.is_leader
        assert a.stopped.is_set()
        assert a.finished.is_set()
        assert isinstance(a.outcome, LeadershipLost)
        # Lost well before another candidate could see the lease expire (15 s).
        assert server.spec()["holderIdentity"] == "a"


async def test_a_failure_shorter_than_the_renew_deadline_is_ridden_out() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a = candidate(server, clock, "a")
    async with running(server, a):
        server.break_for("a", Fault.UNAVAILABLE)
        await advance(clock, 9.0)
        server.heal("a")
        await advance(clock, 30.0)
        assert a.elector.is_leader
        assert a.leads == 1
        assert not a.stopped.is_set()
        assert server.spec()["holderIdentity"] == "a"


async def test_a_lease_found_naming_another_holder_ends_leadership_at_once() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a = candidate(server, clock, "a")
    async with running(server, a):
        server.write({**server.spec(), "holderIdentity": "intruder"})
        await advance(clock, 2.25)
        assert isinstance(a.outcome, LeadershipLost)
        assert a.stopped.is_set()
        assert server.spec()["holderIdentity"] == "intruder"
