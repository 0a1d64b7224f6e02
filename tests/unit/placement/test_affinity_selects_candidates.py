"""Cluster affinity: names, labels and exclusions decide which clusters may be chosen."""

from __future__ import annotations

from flotilla.placement import NO_MATCHING_CLUSTERS, ClusterView, schedule
from tests.unit.placement.fleets import NOW, placement

FLEET = [
    ClusterView(name="a", labels={"region": "eu", "tier": "gold"}),
    ClusterView(name="b", labels={"region": "us", "tier": "gold"}),
    ClusterView(name="c", labels={"region": "eu"}),
]


def test_without_affinity_every_cluster_is_chosen() -> None:
    result = schedule(placement(), 3, FLEET, {}, NOW)
    assert result.decisions == {"a": None, "b": None, "c": None}
    assert (result.scheduled, result.reason) == (True, "Scheduled")
    assert result.failed_over == ()


def test_cluster_names_restrict_the_choice() -> None:
    spec = placement(clusterAffinity={"clusterNames": ["c", "a", "missing"]})
    assert sorted(schedule(spec, 3, FLEET, {}, NOW).decisions) == ["a", "c"]


def test_label_selector_restricts_the_choice() -> None:
    spec = placement(
        clusterAffinity={
            "labelSelector": {
                "matchLabels": {"region": "eu"},
                "matchExpressions": [{"key": "tier", "operator": "Exists"}],
            }
        }
    )
    assert sorted(schedule(spec, 3, FLEET, {}, NOW).decisions) == ["a"]


def test_excluded_clusters_are_never_chosen_even_when_named() -> None:
    spec = placement(clusterAffinity={"clusterNames": ["a", "b"], "excludeClusters": ["b"]})
    assert sorted(schedule(spec, 3, FLEET, {"b": None}, NOW).decisions) == ["a"]


def test_no_matching_cluster_is_reported_and_nothing_is_placed() -> None:
    spec = placement(clusterAffinity={"labelSelector": {"matchLabels": {"region": "ap"}}})
    result = schedule(spec, 3, FLEET, {"a": None}, NOW)
    assert result.decisions == {}
    assert (result.scheduled, result.reason) == (False, NO_MATCHING_CLUSTERS)
    assert "3" in result.message


def test_an_empty_fleet_matches_nothing() -> None:
    result = schedule(placement(), None, [], {}, NOW)
    assert (result.decisions, result.reason) == ({}, NO_MATCHING_CLUSTERS)


def test_the_order_of_clusters_does_not_matter() -> None:
    spec = placement(replicaScheduling={"type": "Divided"}, maxClusters=2)
    forward = schedule(spec, 7, FLEET, {}, NOW)
    assert schedule(spec, 7, list(reversed(FLEET)), {}, NOW) == forward
