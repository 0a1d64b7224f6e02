"""Spread constraints: enough distinct label values, or SpreadUnsatisfiable and no move."""

from __future__ import annotations

from flotilla.placement import SPREAD_UNSATISFIABLE, ClusterView, schedule
from tests.unit.placement.fleets import NOW, placement

FLEET = [
    ClusterView(name="eu-1", labels={"region": "eu"}, weight=5),
    ClusterView(name="eu-2", labels={"region": "eu"}, weight=4),
    ClusterView(name="us-1", labels={"region": "us"}, weight=1),
    ClusterView(name="ap-1", labels={"region": "ap"}, weight=1),
    ClusterView(name="bare", weight=9),
]


def spread(min_groups: int, max_groups: int | None = None) -> dict[str, object]:
    constraint: dict[str, object] = {"topologyKey": "region", "minGroups": min_groups}
    if max_groups is not None:
        constraint["maxGroups"] = max_groups
    return constraint


def test_one_cluster_per_missing_group_comes_before_weight() -> None:
    spec = placement(spreadConstraints=[spread(2)], maxClusters=2)
    # By weight alone eu-1 and eu-2 would win; the spread asks for a second region.
    assert sorted(schedule(spec, 1, FLEET, {}, NOW).decisions) == ["ap-1", "eu-1"]


def test_the_rest_is_filled_by_rank() -> None:
    spec = placement(spreadConstraints=[spread(2)], maxClusters=3)
    assert sorted(schedule(spec, 1, FLEET, {}, NOW).decisions) == ["ap-1", "eu-1", "eu-2"]


def test_max_groups_caps_the_fill() -> None:
    spec = placement(spreadConstraints=[spread(1, 1)])
    assert sorted(schedule(spec, 1, FLEET, {}, NOW).decisions) == ["eu-1", "eu-2"]


def test_a_cluster_without_the_label_is_in_no_group_and_not_chosen() -> None:
    spec = placement(spreadConstraints=[spread(1)])
    assert "bare" not in schedule(spec, 1, FLEET, {}, NOW).decisions


def test_too_few_groups_keep_the_previous_decisions() -> None:
    spec = placement(spreadConstraints=[spread(4)], replicaScheduling={"type": "Divided"})
    previous = {"eu-1": 2, "us-1": 1}
    result = schedule(spec, 3, FLEET, previous, NOW)
    assert (result.scheduled, result.reason) == (False, SPREAD_UNSATISFIABLE)
    assert result.decisions == previous
    assert result.failed_over == ()
    assert "'region'" in result.message
    assert "at least 4" in result.message
    assert "3 values" in result.message


def test_max_clusters_below_min_groups_is_unsatisfiable() -> None:
    spec = placement(spreadConstraints=[spread(3)], maxClusters=2)
    result = schedule(spec, 1, FLEET, {}, NOW)
    assert (result.scheduled, result.reason, result.decisions) == (False, SPREAD_UNSATISFIABLE, {})
    assert "maxClusters 2" in result.message


def test_min_groups_above_max_groups_is_unsatisfiable() -> None:
    spec = placement(spreadConstraints=[spread(3, 2)])
    result = schedule(spec, 1, FLEET, {}, NOW)
    assert (result.scheduled, result.reason) == (False, SPREAD_UNSATISFIABLE)
    assert "at most 2" in result.message


def test_every_constraint_is_met() -> None:
    fleet = [
        ClusterView(name="a", labels={"region": "eu", "zone": "1"}, weight=3),
        ClusterView(name="b", labels={"region": "eu", "zone": "1"}, weight=2),
        ClusterView(name="c", labels={"region": "eu", "zone": "2"}, weight=1),
        ClusterView(name="d", labels={"region": "us", "zone": "1"}, weight=1),
    ]
    spec = placement(
        spreadConstraints=[spread(2), {"topologyKey": "zone", "minGroups": 2}], maxClusters=3
    )
    decisions = schedule(spec, 1, fleet, {}, NOW).decisions
    chosen = [view.labels for view in fleet if view.name in decisions]
    assert len({labels["region"] for labels in chosen}) >= 2
    assert len({labels["zone"] for labels in chosen}) >= 2
    assert len(chosen) <= 3
