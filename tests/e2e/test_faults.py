"""``flotilla dev fault``: a crashed or hung member's API is unreachable; heal restores it
with its data."""

from collections.abc import AsyncIterator

import pytest

from flotilla.kube import RequestTimeout, TransportError, resource_path
from tests.e2e.localfleet import LocalFleet

PROBE = 2.0


@pytest.fixture
async def victim(fleet: LocalFleet, ns: str) -> AsyncIterator[str]:
    """The last member, with a ConfigMap in ``ns``; always healed afterwards."""
    name = fleet.members[-1].name
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep"}}
    config_map["data"] = {"before": "fault"}
    async with fleet.client(name) as client:
        await client.create(resource_path("v1", "configmaps", namespace=ns), config_map)
    yield name
    fleet.cli("fault", name, "heal")


async def _still_has_data(fleet: LocalFleet, name: str, ns: str) -> None:
    async with fleet.client(name) as client:
        await client.readyz()
        kept = await client.get(resource_path("v1", "configmaps", namespace=ns, name="keep"))
    assert kept["data"] == {"before": "fault"}


async def test_crash_makes_the_api_unreachable_and_heal_restores_it(
    fleet: LocalFleet, ns: str, victim: str
) -> None:
    fleet.cli("fault", victim, "crash")
    async with fleet.client(victim, timeout=PROBE) as client:
        with pytest.raises(TransportError):
            await client.get("/version")
    fleet.cli("fault", victim, "heal")
    await _still_has_data(fleet, victim, ns)


async def test_hang_makes_requests_time_out_and_heal_restores_it(
    fleet: LocalFleet, ns: str, victim: str
) -> None:
    fleet.cli("fault", victim, "hang")
    async with fleet.client(victim, timeout=PROBE) as client:
        with pytest.raises(RequestTimeout):
            await client.get("/version")
    fleet.cli("fault", victim, "heal")
    await _still_has_data(fleet, victim, ns)


async def test_a_fault_leaves_the_other_clusters_alone(
    fleet: LocalFleet, ns: str, victim: str
) -> None:
    fleet.cli("fault", victim, "crash")
    for cluster in fleet.clusters:
        if cluster.name != victim:
            async with fleet.client(cluster.name, timeout=PROBE) as client:
                await client.readyz()


def test_an_unknown_cluster_is_refused_with_the_known_names(fleet: LocalFleet) -> None:
    result = fleet.cli("fault", "mars", "crash", check=False)
    assert result.returncode == 1
    assert "unknown cluster 'mars'" in result.stderr
    assert fleet.members[0].name in result.stderr


def test_up_with_other_options_is_refused_while_running(fleet: LocalFleet) -> None:
    other = 1 if len(fleet.members) != 1 else 2
    result = fleet.cli("up", "--members", str(other), check=False)
    assert result.returncode == 1
    assert "flotilla dev down" in result.stderr
