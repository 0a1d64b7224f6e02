"""Properties of scheduling over generated fleets, placements and previous decisions."""

from __future__ import annotations

import datetime
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from flotilla.api.cluster import UNREACHABLE_TAINT, Taint
from flotilla.api.placement import PlacementSpec, Toleration
from flotilla.placement import SPREAD_UNSATISFIABLE, ClusterView, ScheduleResult, schedule
from tests.unit.placement.fleets import NOW, ago, placement

NAMES = ("a", "b", "c", "d", "e", "f")
REGIONS = ("eu", "us", "ap")
FAST = settings(max_examples=200, deadline=None)

Decisions = dict[str, int | None]


@st.composite
def fleets(draw: st.DrawFn, *, ready: bool = True) -> list[ClusterView]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=len(NAMES), unique=True))
    views = []
    for name in names:
        region = draw(st.sampled_from((*REGIONS, None)))
        down_for = None if ready else draw(st.none() | st.integers(0, 60))
        views.append(
            ClusterView(
                name=name,
                labels={"region": region} if region else {},
                ready=down_for is None,
                not_ready_since=None if down_for is None else ago(down_for),
                weight=draw(st.integers(0, 5)),
            )
        )
    return views


static_weights = st.fixed_dictionaries({name: st.integers(0, 5) for name in NAMES})


def divided(weights: dict[str, int], **spec: Any) -> PlacementSpec:
    entries = [{"clusterNames": [name], "weight": weight} for name, weight in weights.items()]
    return placement(replicaScheduling={"type": "Divided", "staticWeights": entries}, **spec)


@st.composite
def previous_decisions(draw: st.DrawFn, replicas: int = 10) -> Decisions:
    chosen = draw(st.lists(st.sampled_from(NAMES), max_size=len(NAMES), unique=True))
    return {name: draw(st.none() | st.integers(0, replicas + 2)) for name in chosen}


spreads = st.lists(
    st.builds(
        lambda least, most: {"topologyKey": "region", "minGroups": least, "maxGroups": most},
        st.integers(1, 3),
        st.none() | st.integers(1, 3),
    ),
    max_size=1,
)
max_clusters = st.none() | st.integers(1, 4)


def chosen_weights(result: ScheduleResult, weights: dict[str, int]) -> dict[str, int]:
    return {name: weights[name] for name in result.decisions}


@FAST
@given(
    fleet=fleets(),
    weights=static_weights,
    replicas=st.integers(0, 30),
    most=max_clusters,
    spread=spreads,
    previous=previous_decisions(),
)
def test_divided_shares_are_exact_and_within_one_of_the_proportion(
    *,
    fleet: list[ClusterView],
    weights: dict[str, int],
    replicas: int,
    most: int | None,
    spread: list[dict[str, Any]],
    previous: Decisions,
) -> None:
    spec = divided(weights, maxClusters=most, spreadConstraints=spread)
    result = schedule(spec, replicas, fleet, previous, NOW)
    if not result.scheduled:
        return
    shares = result.decisions
    assert sum(share or 0 for share in shares.values()) == replicas
    used = chosen_weights(result, weights)
    assert all(weight > 0 for weight in used.values())
    for name, share in shares.items():
        assert share is not None
        assert abs(share - Fraction(replicas * used[name], sum(used.values()))) < 1


@FAST
@given(
    fleet=fleets(),
    is_divided=st.booleans(),
    most=max_clusters,
    spread=spreads,
    previous=previous_decisions(),
    fresh=st.booleans(),
)
def test_spread_and_max_clusters_are_honoured_or_nothing_moves(
    *,
    fleet: list[ClusterView],
    is_divided: bool,
    most: int | None,
    spread: list[dict[str, Any]],
    previous: Decisions,
    fresh: bool,
) -> None:
    previous = {} if fresh else previous
    spec = placement(
        replicaScheduling={"type": "Divided" if is_divided else "Duplicated"},
        maxClusters=most,
        spreadConstraints=spread,
    )
    result = schedule(spec, 6, fleet, previous, NOW)
    labels = {view.name: view.labels for view in fleet}
    if result.scheduled:
        assert result.decisions
        assert most is None or len(result.decisions) <= most
        for constraint in spread:
            assert all("region" in labels[name] for name in result.decisions)
            groups = {labels[name]["region"] for name in result.decisions}
            assert len(groups) >= constraint["minGroups"]
            assert constraint["maxGroups"] is None or len(groups) <= constraint["maxGroups"]
        return
    # Every cluster is Ready and weighs 1: only the spread can fail, and only when it must.
    assert result.reason == SPREAD_UNSATISFIABLE
    assert result.decisions == previous
    (constraint,) = spread
    values = {view.labels["region"] for view in fleet if "region" in view.labels}
    least, limit = constraint["minGroups"], most or len(fleet)
    assert len(values) < least or limit < least or (constraint["maxGroups"] or least) < least


@FAST
@given(
    fleet=fleets(ready=False),
    is_divided=st.booleans(),
    most=max_clusters,
    spread=spreads,
    previous=previous_decisions(),
    replicas=st.integers(0, 30),
    toleration_seconds=st.integers(0, 60),
    failback=st.booleans(),
    shuffler=st.randoms(use_true_random=False),
)
def test_the_same_input_gives_the_same_answer_and_it_is_stable(
    *,
    fleet: list[ClusterView],
    is_divided: bool,
    most: int | None,
    spread: list[dict[str, Any]],
    previous: Decisions,
    replicas: int,
    toleration_seconds: int,
    failback: bool,
    shuffler: Any,
) -> None:
    spec = placement(
        replicaScheduling={"type": "Divided" if is_divided else "Duplicated"},
        maxClusters=most,
        spreadConstraints=spread,
        failover={"tolerationSeconds": toleration_seconds, "failback": failback},
    )
    result = schedule(spec, replicas, fleet, previous, NOW)
    assert schedule(spec, replicas, fleet, dict(previous), NOW) == result
    shuffled = list(fleet)
    shuffler.shuffle(shuffled)
    assert schedule(spec, replicas, shuffled, previous, NOW) == result
    again = schedule(spec, replicas, fleet, result.decisions, NOW)
    assert again.decisions == result.decisions


@FAST
@given(fleets(), static_weights, st.integers(0, 40), previous_decisions(40), st.data())
def test_a_leaving_cluster_moves_only_its_own_replicas(
    fleet: list[ClusterView],
    weights: dict[str, int],
    replicas: int,
    previous: Decisions,
    data: st.DataObject,
) -> None:
    spec = divided(weights)
    before = schedule(spec, replicas, fleet, previous, NOW)
    if not before.scheduled or len(before.decisions) < 2:
        return
    leaving = data.draw(st.sampled_from(sorted(before.decisions)))
    after = schedule(spec, replicas, [v for v in fleet if v.name != leaving], before.decisions, NOW)
    assert after.scheduled
    assert set(after.decisions) == set(before.decisions) - {leaving}
    # Others keep their replicas, except where the new floor of a share forces one to give
    # one up (keeping it would leave another cluster more than one replica short).
    total = sum(weights[name] for name in after.decisions)
    floors = {name: replicas * weights[name] // total for name in after.decisions}
    kept = {name: before.decisions[name] or 0 for name in after.decisions}
    forced = sum(max(kept[name], floors[name]) for name in after.decisions) - replicas
    losses = {name: kept[name] - (after.decisions[name] or 0) for name in after.decisions}
    assert all(loss <= 1 for loss in losses.values())
    assert sum(1 for loss in losses.values() if loss > 0) == max(forced, 0)


TAINTS = [
    Taint(key="gpu", value="true", effect="NoSchedule"),
    Taint(key="gpu", value="false", effect="NoExecute"),
    Taint(key="drain", effect="NoExecute"),
    Taint(key=UNREACHABLE_TAINT, effect="NoExecute"),
]
TOLERATIONS = [
    Toleration(key="gpu", operator="Equal", value="true"),
    Toleration(key="gpu", operator="Exists", effect="NoExecute"),
    Toleration(key="drain", operator="Exists"),
    Toleration(operator="Exists", effect="NoSchedule"),
    Toleration(operator="Exists"),
]


def tolerated_by(toleration: Toleration, taint: Taint) -> bool:
    """The upstream rule, spelled out."""
    effect_ok = toleration.effect in ("", taint.effect)
    key_ok = toleration.key in ("", taint.key)
    value_ok = toleration.operator == "Exists" or toleration.value == taint.value
    return effect_ok and key_ok and value_ok


@FAST
@given(
    st.lists(st.lists(st.sampled_from(TAINTS), max_size=2), min_size=1, max_size=6),
    st.lists(st.sampled_from(TOLERATIONS), max_size=2),
    previous_decisions(),
)
def test_only_tolerated_taints_are_chosen(
    taint_lists: list[list[Taint]], tolerations: list[Toleration], previous: Decisions
) -> None:
    fleet = [
        ClusterView(name=name, taints=tuple(taints))
        for name, taints in zip(NAMES, taint_lists, strict=False)
    ]
    spec = placement(tolerations=[t.to_wire() for t in tolerations])
    result = schedule(spec, 1, fleet, previous, NOW)

    def allowed(view: ClusterView) -> bool:
        return all(
            taint.key == UNREACHABLE_TAINT
            or any(tolerated_by(t, taint) for t in tolerations)
            or (taint.effect == "NoSchedule" and view.name in previous)
            for taint in view.taints
        )

    assert set(result.decisions) == {view.name for view in fleet if allowed(view)}


@FAST
@given(fleets(ready=False), st.booleans(), st.integers(0, 60), st.booleans())
def test_failover_happens_after_toleration_seconds_and_not_before(
    fleet: list[ClusterView], is_divided: bool, toleration_seconds: int, failback: bool
) -> None:
    spec = placement(
        replicaScheduling={"type": "Divided" if is_divided else "Duplicated"},
        failover={"tolerationSeconds": toleration_seconds, "failback": failback},
    )
    previous: Decisions = {view.name: 1 if is_divided else None for view in fleet}
    result = schedule(spec, len(fleet), fleet, previous, NOW)
    tolerated = datetime.timedelta(seconds=toleration_seconds)
    lost = {
        view.name
        for view in fleet
        if view.not_ready_since is not None and NOW - view.not_ready_since >= tolerated
    }
    if not result.scheduled:
        assert lost == set(previous)
        assert (result.decisions, result.failed_over) == (previous, ())
        return
    assert set(result.failed_over) == lost
    assert set(result.decisions) == set(previous) - lost
    if is_divided and not lost:
        assert result.decisions == previous


@FAST
@given(fleets(ready=False), st.booleans(), max_clusters, spreads, previous_decisions())
def test_a_not_ready_cluster_is_never_newly_chosen(
    fleet: list[ClusterView],
    is_divided: bool,
    most: int | None,
    spread: list[dict[str, Any]],
    previous: Decisions,
) -> None:
    spec = placement(
        replicaScheduling={"type": "Divided" if is_divided else "Duplicated"},
        maxClusters=most,
        spreadConstraints=spread,
    )
    result = schedule(spec, 6, fleet, previous, NOW)
    ready = {view.name for view in fleet if view.ready}
    assert all(name in ready or name in previous for name in result.decisions)


@FAST
@given(fleets(), st.booleans(), max_clusters, st.data())
def test_without_failback_a_returning_cluster_does_not_pull_work_back(
    fleet: list[ClusterView], is_divided: bool, most: int | None, data: st.DataObject
) -> None:
    failback = data.draw(st.booleans())
    spec = placement(
        replicaScheduling={"type": "Divided" if is_divided else "Duplicated"},
        maxClusters=most,
        failover={"tolerationSeconds": 10, "failback": failback},
    )
    first = schedule(spec, 6, fleet, {}, NOW)
    lost = data.draw(st.sampled_from(sorted(first.decisions)))
    down = [
        ClusterView(name=v.name, ready=False, not_ready_since=ago(10)) if v.name == lost else v
        for v in fleet
    ]
    during = schedule(spec, 6, down, first.decisions, NOW)
    if not during.scheduled:
        return
    assert lost in during.failed_over
    returned = [ClusterView(**{**vars(v), "ready_since": ago(3600)}) for v in fleet]
    after = schedule(spec, 6, returned, during.decisions, NOW)
    assert after.scheduled
    if not failback:
        assert after.decisions == during.decisions
    elif most is None:
        assert lost in after.decisions
