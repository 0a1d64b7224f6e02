"""Divided with Static weighting: shares follow staticWeights, default 1."""

from __future__ import annotations

from flotilla.placement import NO_WEIGHT, ClusterView, schedule
from tests.unit.placement.fleets import NOW, placement

FLEET = [
    ClusterView(name="a", labels={"tier": "gold"}),
    ClusterView(name="b", labels={"tier": "gold"}),
    ClusterView(name="c"),
]


def divided(*weights: dict[str, object]) -> dict[str, object]:
    return {"type": "Divided", "weighting": "Static", "staticWeights": list(weights)}


def test_without_weights_replicas_are_shared_evenly_by_largest_remainder() -> None:
    spec = placement(replicaScheduling=divided())
    assert schedule(spec, 7, FLEET, {}, NOW).decisions == {"a": 3, "b": 2, "c": 2}
    assert schedule(spec, 9, FLEET, {}, NOW).decisions == {"a": 3, "b": 3, "c": 3}


def test_the_first_matching_entry_gives_the_weight() -> None:
    spec = placement(
        replicaScheduling=divided(
            {"clusterNames": ["b"], "weight": 1},
            {"labelSelector": {"matchLabels": {"tier": "gold"}}, "weight": 3},
        )
    )
    # Weights a=3, b=1, c=1 (default): 10 replicas are 6, 2, 2.
    assert schedule(spec, 10, FLEET, {}, NOW).decisions == {"a": 6, "b": 2, "c": 2}


def test_cluster_weight_does_not_divide() -> None:
    fleet = [ClusterView(name="a", weight=9), ClusterView(name="b", weight=1)]
    spec = placement(replicaScheduling=divided())
    assert schedule(spec, 4, fleet, {}, NOW).decisions == {"a": 2, "b": 2}


def test_weight_zero_clusters_are_not_chosen() -> None:
    spec = placement(replicaScheduling=divided({"clusterNames": ["c"], "weight": 0}))
    assert schedule(spec, 5, FLEET, {"c": 2}, NOW).decisions == {"a": 3, "b": 2}


def test_all_weights_zero_keep_the_previous_decisions() -> None:
    spec = placement(replicaScheduling=divided({"labelSelector": {}, "weight": 0}))
    result = schedule(spec, 5, FLEET, {"a": 5}, NOW)
    assert (result.scheduled, result.reason, result.decisions) == (False, NO_WEIGHT, {"a": 5})


def test_more_clusters_than_replicas_keep_the_clusters_with_zero() -> None:
    spec = placement(replicaScheduling=divided())
    assert schedule(spec, 1, FLEET, {}, NOW).decisions == {"a": 1, "b": 0, "c": 0}
    assert schedule(spec, 0, FLEET, {}, NOW).decisions == {"a": 0, "b": 0, "c": 0}


def test_the_same_clusters_are_chosen_whatever_the_replica_count() -> None:
    spec = placement(replicaScheduling=divided(), maxClusters=2)
    chosen = {frozenset(schedule(spec, n, FLEET, {}, NOW).decisions) for n in (None, 0, 1, 5)}
    assert chosen == {frozenset({"a", "b"})}


def test_negative_replicas_count_as_zero() -> None:
    spec = placement(replicaScheduling=divided())
    assert schedule(spec, -3, FLEET, {}, NOW).decisions == {"a": 0, "b": 0, "c": 0}
