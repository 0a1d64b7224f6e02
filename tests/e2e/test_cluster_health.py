"""The cluster health controller against real members: Ready, capacity, crash and hang
detection, recovery, and leader election between two controllers."""

from collections.abc import Iterator
from typing import Any

import pytest

from flotilla.api import ClusterName
from flotilla.kube import Invalid, resource_path
from tests.e2e.controllers import ControllerProcess, Controllers
from tests.e2e.localfleet import LocalFleet
from tests.e2e.waiting import eventually

HUB = ClusterName("hub")
LEASE = resource_path(
    "coordination.k8s.io/v1", "leases", namespace="flotilla-system", name="flotilla-controller"
)


async def _cluster(fleet: LocalFleet, name: str) -> dict[str, Any]:
    async with fleet.client(HUB) as hub:
        cluster: dict[str, Any] = await hub.get(f"/apis/flotilla.io/v1alpha1/clusters/{name}")
    return cluster


def _condition(cluster: dict[str, Any], type_: str) -> dict[str, Any]:
    for condition in cluster.get("status", {}).get("conditions", []):
        if condition["type"] == type_:
            return dict(condition)
    return {}


def _ready_is(status: str):  # type: ignore[no-untyped-def]
    def check(cluster: dict[str, Any]) -> bool:
        return _condition(cluster, "Ready").get("status") == status

    return check


async def _wait_cluster(fleet: LocalFleet, name: str, check: Any, *, timeout: float, what: str):  # type: ignore[no-untyped-def]
    async def probe() -> dict[str, Any] | None:
        cluster = await _cluster(fleet, name)
        return cluster if check(cluster) else None

    return await eventually(probe, timeout=timeout, what=f"{name}: {what}")


@pytest.fixture(scope="module")
def controller(controllers: Controllers) -> Iterator[ControllerProcess]:
    yield controllers.start()


async def test_members_become_ready_with_version_and_capacity(
    fleet: LocalFleet, controller: ControllerProcess
) -> None:
    for member in fleet.members:
        cluster = await _wait_cluster(
            fleet, member.name, _ready_is("True"), timeout=30, what="Ready"
        )
        status = cluster["status"]
        assert status["kubernetesVersion"].startswith("v1.")
        assert status["nodes"] == member.nodes
        assert status["allocatable"]["cpu"] == str(16 * member.nodes)
        assert status["apiLatencyMs"] >= 0
        assert _condition(cluster, "Reachable")["status"] == "True"

    # Ready may be an earlier controller's write: this one's gauge comes with its first probe
    async def probed() -> bool:
        return 'flotilla_cluster_ready{cluster="' in controller.metrics()

    await eventually(probed, timeout=30, what="this controller's flotilla_cluster_ready")


@pytest.mark.parametrize("fault", ["crash", "hang"])
async def test_a_lost_member_becomes_not_ready_tainted_and_recovers(
    fleet: LocalFleet, controller: ControllerProcess, fault: str
) -> None:
    victim = fleet.members[-1].name
    await _wait_cluster(fleet, victim, _ready_is("True"), timeout=30, what="Ready before")
    fleet.cli("fault", victim, fault)
    try:
        lost = await _wait_cluster(
            fleet, victim, _ready_is("False"), timeout=20, what=f"NotReady after {fault}"
        )
        assert _condition(lost, "Ready")["reason"] == "Unreachable"
        assert _condition(lost, "Reachable")["status"] == "False"
        taints = [t["key"] for t in lost["status"].get("taints", [])]
        assert taints == ["flotilla.io/unreachable"]
        for other in fleet.members[:-1]:
            assert _ready_is("True")(await _cluster(fleet, other.name)), other.name
    finally:
        fleet.cli("fault", victim, "heal")
    back = await _wait_cluster(fleet, victim, _ready_is("True"), timeout=30, what="Ready again")
    assert back["status"].get("taints", []) == []


async def test_a_cluster_whose_secret_is_gone_says_so(
    fleet: LocalFleet, controller: ControllerProcess
) -> None:
    name = "no-secret"
    body = {
        "apiVersion": "flotilla.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": name},
        "spec": {"kubeconfigSecretRef": {"name": "does-not-exist"}},
    }
    async with fleet.client(HUB) as hub:
        await hub.create("/apis/flotilla.io/v1alpha1/clusters", body)
    try:
        cluster = await _wait_cluster(
            fleet, name, _ready_is("False"), timeout=20, what="Ready=False"
        )
        ready = _condition(cluster, "Ready")
        assert ready["reason"] == "CredentialsMissing"
        assert "flotilla cluster add" in ready["message"]
    finally:
        async with fleet.client(HUB) as hub:
            await hub.delete(f"/apis/flotilla.io/v1alpha1/clusters/{name}")
    assert controller.process.poll() is None


async def test_an_invalid_cluster_is_rejected_by_the_api_server(fleet: LocalFleet) -> None:
    body = {
        "apiVersion": "flotilla.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "bad-weight"},
        "spec": {"kubeconfigSecretRef": {"name": "x"}, "weight": 5000},
    }
    async with fleet.client(HUB) as hub:
        with pytest.raises(Invalid, match=r"spec.weight"):
            await hub.create("/apis/flotilla.io/v1alpha1/clusters", body)


async def _holder(fleet: LocalFleet) -> str | None:
    async with fleet.client(HUB) as hub:
        lease = await hub.get(LEASE)
    return lease["spec"].get("holderIdentity") or None


async def test_a_standby_takes_over_when_the_leader_dies(
    fleet: LocalFleet, controllers: Controllers
) -> None:
    first = controllers.start("--leader-elect", identity="e2e-first")
    leader = await eventually(lambda: _holder(fleet), timeout=30, what="a leader")
    second = controllers.start("--leader-elect", identity="e2e-second")
    assert leader == "e2e-first"
    first.kill()

    async def new_leader() -> str | None:
        holder = await _holder(fleet)
        return holder if holder == "e2e-second" else None

    await eventually(new_leader, timeout=25, what="the standby leading")
    assert "leader_election_master_status" in second.metrics()
    second.stop()
