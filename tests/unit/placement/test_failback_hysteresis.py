"""Failback: whether work returns to a cluster that came back, and not before it settled."""

from __future__ import annotations

from flotilla.placement import ClusterView, schedule
from tests.unit.placement.fleets import NOW, ago, placement

# After a failed over: b and c carry everything.
AFTER_FAILOVER: dict[str, int | None] = {"b": 5, "c": 4}


def back(seconds: float | None = None) -> ClusterView:
    return ClusterView(name="a", ready_since=None if seconds is None else ago(seconds))


def fleet(a: ClusterView) -> list[ClusterView]:
    return [a, ClusterView(name="b"), ClusterView(name="c")]


def test_without_failback_work_stays_where_it_went() -> None:
    spec = placement(
        replicaScheduling={"type": "Divided"}, failover={"tolerationSeconds": 30, "failback": False}
    )
    result = schedule(spec, 9, fleet(back(3600)), AFTER_FAILOVER, NOW)
    assert result.decisions == AFTER_FAILOVER


def test_with_failback_a_settled_cluster_gets_its_share_back() -> None:
    spec = placement(
        replicaScheduling={"type": "Divided"}, failover={"tolerationSeconds": 30, "failback": True}
    )
    result = schedule(spec, 9, fleet(back(30)), AFTER_FAILOVER, NOW)
    assert result.decisions == {"a": 3, "b": 3, "c": 3}


def test_a_cluster_is_newly_chosen_only_once_ready_for_toleration_seconds() -> None:
    spec = placement(replicaScheduling={"type": "Divided"}, failover={"tolerationSeconds": 30})
    assert schedule(spec, 9, fleet(back(29)), AFTER_FAILOVER, NOW).decisions == AFTER_FAILOVER
    assert "a" in schedule(spec, 9, fleet(back(None)), AFTER_FAILOVER, NOW).decisions


def test_the_first_choice_does_not_wait_for_clusters_to_settle() -> None:
    spec = placement(replicaScheduling={"type": "Divided"}, failover={"tolerationSeconds": 30})
    assert schedule(spec, 9, fleet(back(1)), {}, NOW).decisions == {"a": 3, "b": 3, "c": 3}


def test_without_failover_a_cluster_need_not_settle() -> None:
    spec = placement(replicaScheduling={"type": "Divided"}, failover={"enabled": False})
    assert "a" in schedule(spec, 9, fleet(back(1)), AFTER_FAILOVER, NOW).decisions


def test_without_failback_a_replacement_is_kept_after_the_return() -> None:
    spec = placement(maxClusters=2, failover={"failback": False})
    previous: dict[str, int | None] = {"b": None, "c": None}
    assert schedule(spec, 1, fleet(back(3600)), previous, NOW).decisions == previous


def test_without_failback_a_lost_cluster_is_still_replaced() -> None:
    spec = placement(maxClusters=2, failover={"failback": False, "tolerationSeconds": 0})
    views = [
        back(3600),
        ClusterView(name="b", ready=False, not_ready_since=ago(5)),
        ClusterView(name="c"),
    ]
    result = schedule(spec, 1, views, {"b": None, "c": None}, NOW)
    assert (result.decisions, result.failed_over) == ({"a": None, "c": None}, ("b",))


def test_without_failback_work_moves_when_the_previous_choice_breaks_the_spec() -> None:
    spec = placement(maxClusters=1, failover={"failback": False})
    previous: dict[str, int | None] = {"b": None, "c": None}
    assert schedule(spec, 1, fleet(back(3600)), previous, NOW).decisions == {"b": None}
