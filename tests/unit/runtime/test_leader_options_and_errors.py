import socket
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from flotilla.kube import ConnectionConfig, Forbidden, KubeClient
from flotilla.runtime.clock import FakeClock
from flotilla.runtime.leader import LeaderElector, default_identity, micro_time
from tests.unit.runtime.fake_leases import FakeLeaseServer, Fault, advance, candidate, running

CONFIG = ConnectionConfig(server="https://hub.test:6443")


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"lease_duration": 10.0}, "lease_duration must be greater than renew_deadline"),
        ({"retry_period": 9.0}, "renew_deadline must be greater than"),
        ({"retry_period": 0.0}, "must be positive"),
        ({"identity": ""}, "identity must not be empty"),
    ],
)
async def test_inconsistent_options_are_refused(options: dict[str, object], complaint: str) -> None:
    async with KubeClient(CONFIG) as client:
        with pytest.raises(ValueError, match=complaint):
            LeaderElector(client, namespace="ns", name="lease", **options)  # type: ignore[arg-type]


async def test_the_default_identity_is_the_hostname_and_a_random_suffix() -> None:
    async with KubeClient(CONFIG) as client:
        elector = LeaderElector(client, namespace="ns", name="lease")
    host, _, suffix = elector.identity.rpartition("_")
    assert host == socket.gethostname()
    uuid.UUID(suffix)
    assert default_identity() != default_identity()


def test_times_are_written_in_rfc3339_with_microseconds() -> None:
    moment = datetime(2006, 1, 2, 15, 4, 5, 7, tzinfo=timezone(timedelta(hours=2)))
    assert micro_time(moment) == "2006-01-02T13:04:05.000007Z"
    assert micro_time(moment.astimezone(UTC)) == "2006-01-02T13:04:05.000007Z"


async def test_a_terminal_error_while_waiting_is_raised_not_retried() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    server.break_for("a", Fault.FORBIDDEN)
    a = candidate(server, clock, "a")
    async with running(server, a):
        assert isinstance(a.outcome, Forbidden)
        assert server.methods("a") == ["GET"]
        assert a.leads == 0


async def test_a_terminal_error_while_leading_stops_lead_and_is_raised() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a = candidate(server, clock, "a")
    async with running(server, a):
        server.break_for("a", Fault.FORBIDDEN)
        await advance(clock, 2.0)
        assert isinstance(a.outcome, Forbidden)
        assert a.stopped.is_set()
        assert not a.elector.is_leader


async def test_run_cannot_be_entered_twice_at_once() -> None:
    server, clock = FakeLeaseServer(), FakeClock()
    a = candidate(server, clock, "a")
    async with running(server, a):
        assert a.elector.is_leader

        async def lead() -> None:
            return None

        with pytest.raises(RuntimeError, match="already running"):
            await a.elector.run(lead)
        assert a.elector.is_leader
