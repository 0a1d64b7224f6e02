"""maxClusters: keep what was chosen, then take the heaviest, then go by name."""

from __future__ import annotations

from flotilla.placement import ClusterView, schedule
from tests.unit.placement.fleets import NOW, placement

FLEET = [
    ClusterView(name="a", weight=1),
    ClusterView(name="b", weight=3),
    ClusterView(name="c", weight=3),
    ClusterView(name="d", weight=2),
]


def test_higher_weight_then_name_order() -> None:
    assert sorted(schedule(placement(maxClusters=2), 1, FLEET, {}, NOW).decisions) == ["b", "c"]
    assert sorted(schedule(placement(maxClusters=3), 1, FLEET, {}, NOW).decisions) == [
        "b",
        "c",
        "d",
    ]


def test_previous_clusters_stay_chosen() -> None:
    result = schedule(placement(maxClusters=2), 1, FLEET, {"a": None, "d": None}, NOW)
    assert sorted(result.decisions) == ["a", "d"]


def test_a_lowered_limit_keeps_the_best_previous_ones() -> None:
    previous = {"a": None, "b": None, "d": None}
    assert sorted(schedule(placement(maxClusters=2), 1, FLEET, previous, NOW).decisions) == [
        "b",
        "d",
    ]


def test_static_weights_rank_before_cluster_weight() -> None:
    spec = placement(
        maxClusters=1,
        replicaScheduling={"staticWeights": [{"clusterNames": ["a"], "weight": 10}]},
    )
    assert list(schedule(spec, 1, FLEET, {}, NOW).decisions) == ["a"]


def test_capacity_ranks_dynamic_weighting() -> None:
    fleet = [
        ClusterView(name="big", allocatable={"pods": "300"}, weight=1),
        ClusterView(name="small", allocatable={"pods": "10"}, weight=100),
    ]
    spec = placement(maxClusters=1, replicaScheduling={"type": "Divided", "weighting": "Dynamic"})
    assert schedule(spec, 4, fleet, {}, NOW).decisions == {"big": 4}
