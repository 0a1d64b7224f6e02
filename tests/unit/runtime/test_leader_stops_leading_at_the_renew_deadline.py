"""A deposed leader must stop writing before anyone else can take the lease over.

The renew loop gives up at ``last renew + retry period + renew deadline``; writers check
``leading`` / ``ensure_leading()`` before each batch, which turn false at ``last renew +
renew deadline`` on the injected clock, whatever the loop has noticed so far.
"""

import pytest

from flotilla.runtime.clock import FakeClock
from flotilla.runtime.leader import LeadershipLost
from tests.unit.runtime.fake_leases import FakeLeaseServer, Fault, advance, candidate, running


async def test_leading_turns_false_at_the_renew_deadline_before_the_renew_loop_notices() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a = candidate(server, clock, "a")
    async with running(server, a):
        acquired = clock.monotonic()
        assert a.elector.leading
        a.elector.ensure_leading()
        server.break_for("a", Fault.HANG)  # every renewal from now on hangs

        await advance(clock, acquired + 10.0 - 0.25 - clock.monotonic())
        assert a.elector.leading
        a.elector.ensure_leading()

        await advance(clock, 0.25)
        assert not a.elector.leading
        with pytest.raises(LeadershipLost, match="flotilla-system/flotilla-leader"):
            a.elector.ensure_leading()
        # The renew loop is still waiting for its hung request: nothing was stopped yet.
        assert a.elector.is_leader
        assert not a.stopped.is_set()


async def test_each_successful_renewal_moves_the_deadline() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a = candidate(server, clock, "a")
    async with running(server, a):
        await advance(clock, 60.0)
        assert a.elector.leading
        a.elector.ensure_leading()


async def test_a_candidate_that_never_led_is_not_leading() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    server.write({"holderIdentity": "b", "leaseDurationSeconds": 15})
    a = candidate(server, clock, "a")
    async with running(server, a):
        assert not a.elector.leading
        with pytest.raises(LeadershipLost):
            a.elector.ensure_leading()


async def test_leading_is_false_once_leadership_is_lost() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a = candidate(server, clock, "a")
    async with running(server, a):
        server.write({**server.spec(), "holderIdentity": "intruder"})
        await advance(clock, 2.25)
        assert isinstance(a.outcome, LeadershipLost)
        assert not a.elector.leading
