from flotilla.api import ClusterStatus
from flotilla.clusters.health import next_status

from .probing import SETTINGS, T0, THREE_NODES, condition, success


def test_a_successful_probe_makes_the_cluster_reachable_and_ready() -> None:
    status = next_status(ClusterStatus(), success(), SETTINGS, now=T0)

    reachable, ready = condition(status, "Reachable"), condition(status, "Ready")
    assert (reachable.status, reachable.reason) == ("True", "ProbeSucceeded")
    assert (ready.status, ready.reason, ready.message) == (
        "True",
        "ClusterReady",
        "3/3 nodes Ready",
    )


def test_a_successful_probe_copies_nodes_and_capacity_from_the_inventory() -> None:
    status = next_status(ClusterStatus(), success(latency_ms=7.5), SETTINGS, now=T0)

    assert status.kubernetes_version == "v1.31.2"
    assert (status.nodes, status.ready_nodes) == (3, 3)
    assert status.capacity == THREE_NODES.capacity
    assert status.allocatable == THREE_NODES.allocatable
    assert status.api_latency_ms == 7.5
    assert status.last_probe_time == T0
    assert status.consecutive_failures == 0


def test_a_probe_without_inventory_keeps_the_inventory_seen_before() -> None:
    before = next_status(ClusterStatus(), success(), SETTINGS, now=T0)

    after = next_status(before, success(inventory=None), SETTINGS, now=T0)

    assert (after.nodes, after.ready_nodes, after.capacity) == (3, 3, THREE_NODES.capacity)


def test_next_status_leaves_the_current_status_alone() -> None:
    current = ClusterStatus()

    next_status(current, success(), SETTINGS, now=T0)

    assert current == ClusterStatus()
