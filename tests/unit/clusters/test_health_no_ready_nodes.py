from flotilla.api import ClusterStatus
from flotilla.clusters.health import Inventory, next_status

from .probing import SETTINGS, T0, at, condition, success

NONE_READY = Inventory(version="v1.31.2", nodes=2, ready_nodes=0, capacity={}, allocatable={})


def test_a_reachable_cluster_whose_nodes_are_all_not_ready_is_not_ready() -> None:
    status = next_status(ClusterStatus(), success(inventory=NONE_READY), SETTINGS, now=T0)

    assert condition(status, "Reachable").status == "True"
    ready = condition(status, "Ready")
    assert (ready.status, ready.reason) == ("False", "NoReadyNodes")
    assert ready.message == "none of 2 nodes is Ready"


def test_the_cluster_stays_not_ready_on_probes_without_inventory() -> None:
    status = next_status(ClusterStatus(), success(inventory=NONE_READY), SETTINGS, now=T0)

    status = next_status(status, success(inventory=None), SETTINGS, now=at(1))

    assert condition(status, "Ready").reason == "NoReadyNodes"


def test_one_ready_node_is_enough() -> None:
    one_ready = Inventory(version="v1.31.2", nodes=2, ready_nodes=1, capacity={}, allocatable={})

    status = next_status(ClusterStatus(), success(inventory=one_ready), SETTINGS, now=T0)

    ready = condition(status, "Ready")
    assert (ready.status, ready.message) == ("True", "1/2 nodes Ready")
