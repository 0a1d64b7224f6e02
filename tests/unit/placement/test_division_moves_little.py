"""Divided shares move as little as the exact-sum and within-one bounds allow."""

from __future__ import annotations

from flotilla.placement import ClusterView, schedule
from tests.unit.placement.fleets import NOW, placement


def weighted(**weights: int) -> dict[str, object]:
    return {
        "type": "Divided",
        "staticWeights": [{"clusterNames": [n], "weight": w} for n, w in weights.items()],
    }


def fleet(*names: str) -> list[ClusterView]:
    return [ClusterView(name=name) for name in names]


def test_the_previous_answer_is_kept_when_nothing_changed() -> None:
    spec = placement(replicaScheduling={"type": "Divided"})
    # 2, 2, 1 or 1, 2, 2: both are exact; the previous one stands.
    previous: dict[str, int | None] = {"a": 1, "b": 2, "c": 2}
    assert schedule(spec, 5, fleet("a", "b", "c"), previous, NOW).decisions == previous


def test_ties_go_to_the_cluster_that_had_more() -> None:
    spec = placement(replicaScheduling={"type": "Divided"})
    previous: dict[str, int | None] = {"a": 1, "b": 1, "c": 1, "d": 2}
    # d leaves: 5 replicas over 3 clusters; b and c had as much as a, so names decide.
    assert schedule(spec, 5, fleet("a", "b", "c"), previous, NOW).decisions == {
        "a": 2,
        "b": 2,
        "c": 1,
    }
    previous = {"a": 1, "b": 1, "c": 2}
    assert schedule(spec, 5, fleet("a", "b", "c", "d"), previous, NOW).decisions == {
        "a": 1,
        "b": 1,
        "c": 2,
        "d": 1,
    }


def test_a_leaving_cluster_moves_only_its_replicas() -> None:
    spec = placement(replicaScheduling=weighted(a=1, b=1, c=1, d=1))
    before = schedule(spec, 10, fleet("a", "b", "c", "d"), {}, NOW).decisions
    assert before == {"a": 3, "b": 3, "c": 2, "d": 2}
    # d's two replicas move; 10 over three is 4, 3, 3, and the tie goes to the larger share.
    after = schedule(spec, 10, fleet("a", "b", "c"), before, NOW).decisions
    assert after == {"a": 4, "b": 3, "c": 3}


def test_plain_largest_remainder_would_take_one_away_but_this_does_not() -> None:
    # Exact shares 0.5, 3.45, 6.05 and 1 (for k): largest remainder gives x its replica.
    spec = placement(replicaScheduling=weighted(x=10, j=69, l=121, k=20))
    before = schedule(spec, 11, fleet("x", "j", "l", "k"), {}, NOW).decisions
    assert before == {"x": 1, "j": 3, "l": 6, "k": 1}
    # Without k the shares are 0.55, 3.795, 6.655: from scratch x would get nothing.
    assert schedule(spec, 11, fleet("x", "j", "l"), {}, NOW).decisions == {"x": 0, "j": 4, "l": 7}
    after = schedule(spec, 11, fleet("x", "j", "l"), before, NOW).decisions
    assert after == {"x": 1, "j": 4, "l": 6}


def test_a_cluster_loses_one_only_when_another_would_fall_a_replica_short() -> None:
    # d has a share of 0.675 and no replica; without it c's share rises from 42.5 to 43.1,
    # so keeping everyone's replicas would leave c more than one short: a gives one up.
    spec = placement(replicaScheduling=weighted(a=1, b=1, c=63, d=1, e=7, f=4))
    before = schedule(spec, 52, fleet("a", "b", "c", "d", "e", "f"), {}, NOW).decisions
    assert before == {"a": 1, "b": 1, "c": 42, "d": 0, "e": 5, "f": 3}
    after = schedule(spec, 52, fleet("a", "b", "c", "e", "f"), before, NOW).decisions
    assert after == {"a": 0, "b": 1, "c": 43, "e": 5, "f": 3}


def test_previous_shares_beyond_the_bounds_are_brought_back() -> None:
    spec = placement(replicaScheduling={"type": "Divided"})
    previous: dict[str, int | None] = {"a": 9, "b": None}
    assert schedule(spec, 4, fleet("a", "b"), previous, NOW).decisions == {"a": 2, "b": 2}
