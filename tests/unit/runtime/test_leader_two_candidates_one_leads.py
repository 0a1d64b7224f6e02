from flotilla.runtime.clock import FakeClock
from flotilla.runtime.leader import LeadershipLost
from tests.unit.runtime.fake_leases import (
    Candidate,
    FakeLeaseServer,
    Fault,
    advance_watching,
    candidate,
    running,
)


def _never_both(a: Candidate, b: Candidate) -> None:
    assert not (a.elector.is_leader and b.elector.is_leader)
    assert not (a.leading_now and b.leading_now)


async def test_of_two_candidates_on_one_lease_exactly_one_leads() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a, b = candidate(server, clock, "a"), candidate(server, clock, "b")
    async with running(server, a, b):

        def exactly_one() -> None:
            _never_both(a, b)
            assert a.elector.is_leader != b.elector.is_leader

        exactly_one()
        await advance_watching(clock, 60.0, exactly_one)
        assert a.leads + b.leads == 1
        assert server.spec()["leaseTransitions"] == 0
        assert not a.finished.is_set()
        assert not b.finished.is_set()


async def test_a_leader_cut_off_from_the_api_steps_down_before_the_other_takes_over() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a = candidate(server, clock, "a")
    b = candidate(server, clock, "b")
    async with running(server, a, b):
        assert a.elector.is_leader
        server.break_for("a", Fault.UNAVAILABLE)
        await advance_watching(clock, 30.0, lambda: _never_both(a, b))
        assert isinstance(a.outcome, LeadershipLost)
        assert a.stopped.is_set()
        assert b.elector.is_leader
        assert b.leads == 1
        spec = server.spec()
        assert spec["holderIdentity"] == "b"
        assert spec["leaseTransitions"] == 1
