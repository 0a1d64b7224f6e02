import ipaddress

import pytest

from flotilla.devfleet.topology import HUB, MAX_MEMBERS, fleet_topology


def test_the_hub_comes_first_and_has_no_nodes() -> None:
    hub, *members = fleet_topology(3)
    assert hub.name == HUB
    assert hub.role == "hub"
    assert hub.nodes == 0
    assert [m.role for m in members] == ["member"] * 3


def test_every_cluster_has_its_own_name_address_and_ranges() -> None:
    clusters = fleet_topology(MAX_MEMBERS)
    for attribute in ("name", "address", "server", "pod_cidr", "service_cidr"):
        values = [getattr(cluster, attribute) for cluster in clusters]
        assert len(set(values)) == len(values), attribute
    pod_ranges = [ipaddress.ip_network(c.pod_cidr) for c in clusters]
    for i, left in enumerate(pod_ranges):
        for right in pod_ranges[i + 1 :]:
            assert not left.overlaps(right)


def test_addresses_are_loopback() -> None:
    for cluster in fleet_topology(MAX_MEMBERS):
        assert ipaddress.ip_address(cluster.address).is_loopback
        assert cluster.address.endswith(".1")


def test_members_carry_labels_for_placement() -> None:
    members = fleet_topology(3)[1:]
    assert {m.labels["env"] for m in members} >= {"production", "staging"}
    assert len({m.labels["region"] for m in members}) == 3
    for member in members:
        assert member.labels["zone"].startswith(member.labels["region"])


def test_same_size_gives_the_same_fleet() -> None:
    assert fleet_topology(4) == fleet_topology(4)
    assert fleet_topology(4)[:3] == fleet_topology(2)


@pytest.mark.parametrize("members", [0, MAX_MEMBERS + 1])
def test_fleet_size_is_bounded(members: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 10"):
        fleet_topology(members)
