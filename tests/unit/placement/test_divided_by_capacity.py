"""Divided with Dynamic weighting: shares follow allocatable capacity."""

from __future__ import annotations

from flotilla.placement import ClusterView, schedule
from tests.unit.placement.fleets import NOW, placement

DYNAMIC = {"type": "Divided", "weighting": "Dynamic"}


def test_allocatable_pods_give_the_weight() -> None:
    fleet = [
        ClusterView(name="a", allocatable={"pods": "330", "cpu": "2"}),
        ClusterView(name="b", allocatable={"pods": "110", "cpu": "64"}),
    ]
    assert schedule(placement(replicaScheduling=DYNAMIC), 8, fleet, {}, NOW).decisions == {
        "a": 6,
        "b": 2,
    }


def test_whole_cpu_cores_stand_in_for_missing_pods() -> None:
    fleet = [
        ClusterView(name="a", allocatable={"cpu": "3"}),
        ClusterView(name="b", allocatable={"cpu": "1500m"}),
    ]
    assert schedule(placement(replicaScheduling=DYNAMIC), 8, fleet, {}, NOW).decisions == {
        "a": 6,
        "b": 2,
    }


def test_unknown_capacity_weighs_one() -> None:
    fleet = [
        ClusterView(name="a", allocatable={"pods": "1"}),
        ClusterView(name="b"),
        ClusterView(name="c", allocatable={"pods": "lots", "cpu": "?"}),
    ]
    assert schedule(placement(replicaScheduling=DYNAMIC), 3, fleet, {}, NOW).decisions == {
        "a": 1,
        "b": 1,
        "c": 1,
    }


def test_no_allocatable_pods_means_no_share() -> None:
    fleet = [ClusterView(name="a", allocatable={"pods": "0"}), ClusterView(name="b")]
    assert schedule(placement(replicaScheduling=DYNAMIC), 3, fleet, {}, NOW).decisions == {"b": 3}
