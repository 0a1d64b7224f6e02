"""Failover: a NotReady cluster keeps its share for tolerationSeconds, then loses it."""

from __future__ import annotations

from flotilla.api.cluster import UNREACHABLE_TAINT, Taint
from flotilla.placement import NO_READY_CLUSTERS, ClusterView, schedule
from tests.unit.placement.fleets import NOW, ago, placement

UNREACHABLE = Taint(key=UNREACHABLE_TAINT, effect="NoExecute")


def down(name: str, seconds: float | None) -> ClusterView:
    since = None if seconds is None else ago(seconds)
    return ClusterView(name=name, ready=False, not_ready_since=since, taints=(UNREACHABLE,))


DIVIDED = placement(replicaScheduling={"type": "Divided"}, failover={"tolerationSeconds": 30})
PREVIOUS: dict[str, int | None] = {"a": 3, "b": 3, "c": 3}


def test_a_divided_share_moves_to_the_others_after_toleration_seconds() -> None:
    fleet = [down("a", 30), ClusterView(name="b"), ClusterView(name="c")]
    result = schedule(DIVIDED, 9, fleet, PREVIOUS, NOW)
    assert result.decisions == {"b": 5, "c": 4}
    assert result.failed_over == ("a",)
    assert (result.scheduled, result.reason) == (True, "Scheduled")
    assert "a" in result.message


def test_the_share_stays_before_toleration_seconds() -> None:
    fleet = [down("a", 29), ClusterView(name="b"), ClusterView(name="c")]
    result = schedule(DIVIDED, 9, fleet, PREVIOUS, NOW)
    assert result.decisions == PREVIOUS
    assert result.failed_over == ()


def test_an_unknown_outage_start_keeps_the_share() -> None:
    fleet = [down("a", None), ClusterView(name="b"), ClusterView(name="c")]
    assert schedule(DIVIDED, 9, fleet, PREVIOUS, NOW).decisions == PREVIOUS


def test_without_failover_the_share_stays() -> None:
    spec = placement(replicaScheduling={"type": "Divided"}, failover={"enabled": False})
    fleet = [down("a", 3600), ClusterView(name="b"), ClusterView(name="c")]
    result = schedule(spec, 9, fleet, PREVIOUS, NOW)
    assert (result.decisions, result.failed_over) == (PREVIOUS, ())


def test_a_not_ready_cluster_is_never_newly_chosen() -> None:
    fleet = [down("a", 1), down("b", None), ClusterView(name="c")]
    assert schedule(DIVIDED, 9, fleet, {}, NOW).decisions == {"c": 9}
    spec = placement(failover={"enabled": False})
    assert schedule(spec, 9, fleet, {"c": None}, NOW).decisions == {"c": None}


def test_duplicated_gets_a_replacement_within_max_clusters() -> None:
    spec = placement(maxClusters=2, failover={"tolerationSeconds": 0})
    fleet = [down("a", 0), ClusterView(name="b"), ClusterView(name="c"), ClusterView(name="d")]
    result = schedule(spec, 2, fleet, {"a": None, "b": None}, NOW)
    assert result.decisions == {"b": None, "c": None}
    assert result.failed_over == ("a",)


def test_duplicated_without_room_just_drops_the_lost_cluster() -> None:
    spec = placement(clusterAffinity={"clusterNames": ["a", "b"]})
    fleet = [down("a", 60), ClusterView(name="b"), ClusterView(name="c")]
    result = schedule(spec, 2, fleet, {"a": None, "b": None}, NOW)
    assert (result.decisions, result.failed_over) == ({"b": None}, ("a",))


def test_with_nowhere_to_go_the_previous_decisions_stand() -> None:
    fleet = [down("a", 60), down("b", 60)]
    previous: dict[str, int | None] = {"a": 4, "b": 5}
    result = schedule(DIVIDED, 9, fleet, previous, NOW)
    assert (result.scheduled, result.reason) == (False, NO_READY_CLUSTERS)
    assert (result.decisions, result.failed_over) == (previous, ())
