"""Scheduling: which clusters a Placement chooses, and how many replicas each one gets.

This is a pure function of its inputs, so the controller and ``flotilla placement preview``
agree, and a restart at any moment computes the same answer again: no I/O, no clock (``now``
is an argument), no randomness. The previous decisions (from the Placement's status) are an
input too: they are what makes the answer stable (minimal movement, hysteresis).

The rules, in the order they are applied:

1. **Candidates** are the clusters that match ``clusterAffinity`` (``clusterNames`` when not
   empty, ``labelSelector``, minus ``excludeClusters``) and whose taints are all tolerated,
   with Kubernetes' toleration semantics (``Exists`` with an empty key tolerates every taint;
   an empty effect matches both effects). An untolerated ``NoSchedule`` taint only keeps
   *new* work off: a cluster already in the previous decisions stays a candidate; an
   untolerated ``NoExecute`` taint moves the work away. The ``flotilla.io/unreachable``
   taint is left to rule 5 (readiness and ``tolerationSeconds``), not judged here.
2. **Readiness and failover.** A NotReady cluster is never newly chosen. One already in the
   previous decisions keeps its share while NotReady for less than
   ``failover.tolerationSeconds`` (or for as long as it stays NotReady when failover is
   disabled, or when it is not known since when). Past that, with failover enabled, it is
   dropped, its share moves to the others (Divided) or to a replacement if ``maxClusters``
   leaves room (Duplicated), and it is listed in ``failed_over``. With failover enabled, a
   cluster not chosen before is newly chosen only once it has been Ready for
   ``tolerationSeconds`` (when known), so a flapping cluster does not pull work back and
   forth; the very first choice (no previous decisions) does not wait.
3. **Hysteresis.** With ``failback: false`` the chosen set is sticky: while every previously
   chosen cluster is still eligible and they still satisfy ``maxClusters`` and the spread
   constraints, no other cluster is added, so a cluster that failed and came back does not
   pull work back. Scheduling cannot tell a returning cluster from one newly matching, so
   such a placement also does not grow onto new clusters until it has to move. With
   ``failback: true`` (the default) choosing is the normal one below, which still prefers
   the previous clusters: a recovered cluster gets work back where there is room for it.
4. **Choosing.** Eligible clusters are ranked: previously chosen first (minimal movement),
   then by weight (the first matching ``staticWeights`` entry, else ``Cluster.weight``; by
   capacity for Dynamic weighting), then by name. Spread constraints are satisfied first,
   greedily taking the best-ranked cluster of each missing group (a cluster without the
   constraint's label belongs to no group and is not chosen); the rest is filled in rank
   order, up to ``maxClusters`` and without exceeding any ``maxGroups``. When the
   constraints cannot be met the result is ``SpreadUnsatisfiable`` and the previous decisions
   stand unchanged: work is never dropped for a constraint that cannot be met.
5. **Replicas.** Duplicated: every chosen cluster gets ``None``, the template's replicas.
   Divided: the template's replicas are shared in proportion to weights (Static: the first
   matching ``staticWeights`` entry, default 1; Dynamic: allocatable ``pods``, else whole
   ``cpu`` cores, else 1). Clusters of weight 0 are not chosen; if no eligible cluster has
   weight, the result is ``NoWeight`` and the previous decisions stand. The division is
   exact (the shares sum to the replicas) and every share is the floor or the ceiling of the
   exact proportional share. Within those bounds it moves as little as possible: each
   cluster starts from its previous share, clamped into its bounds, and the difference goes
   by largest remainder (ties: larger previous share, then name). So the same input gives
   the same output, and when a cluster leaves only its replicas move; another cluster loses
   one only in the rare case where keeping it would leave a third cluster more than one
   replica short of its share. A chosen cluster may get 0 replicas (fewer replicas than
   clusters): which clusters are chosen never depends on the replica count, so templates
   with different counts are divided over the same clusters. Kinds without replicas get
   ``None`` under either type.
6. **Nothing to choose.** No candidates at all: ``NoMatchingClusters`` with no decisions
   (the user's selection matches nothing, so nothing is placed). Candidates but none that
   may hold work (all NotReady): ``NoReadyClusters``, and the previous decisions stand,
   since there is nowhere to move them to.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from flotilla.api.cluster import UNREACHABLE_TAINT, Taint
from flotilla.api.placement import PlacementSpec, SpreadConstraint, Toleration
from flotilla.api.quantity import parse_quantity

SCHEDULED = "Scheduled"
NO_MATCHING_CLUSTERS = "NoMatchingClusters"
NO_READY_CLUSTERS = "NoReadyClusters"
NO_WEIGHT = "NoWeight"
SPREAD_UNSATISFIABLE = "SpreadUnsatisfiable"


@dataclass(frozen=True)
class ClusterView:
    """What scheduling needs to know of one Cluster."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ready: bool = True
    not_ready_since: datetime.datetime | None = None
    """When Ready last became False; None while Ready, or when unknown."""
    ready_since: datetime.datetime | None = None
    """When Ready last became True; None while NotReady, or when unknown."""
    taints: tuple[Taint, ...] = ()
    """Spec taints and status taints together."""
    allocatable: Mapping[str, str] = field(default_factory=dict)
    """Allocatable quantities summed over nodes (``cpu``, ``memory``, ``pods``)."""
    weight: int = 1


@dataclass(frozen=True)
class ScheduleResult:
    """The clusters chosen and their replicas, and what the ``Scheduled`` condition says.

    ``decisions`` maps a cluster to its replicas, or to None for "the template's replicas"
    (Duplicated, or a kind without replicas). When ``scheduled`` is False the decisions are
    the previous ones unchanged, except for ``NoMatchingClusters`` where they are empty.
    ``failed_over`` names the clusters whose share moved away because they were NotReady
    past ``tolerationSeconds``.
    """

    decisions: dict[str, int | None]
    scheduled: bool
    reason: str
    message: str
    failed_over: tuple[str, ...] = ()


def schedule(
    spec: PlacementSpec,
    replicas: int | None,
    clusters: Sequence[ClusterView],
    previous: Mapping[str, int | None],
    now: datetime.datetime,
) -> ScheduleResult:
    """Choose clusters for ``spec`` and share ``replicas`` (None: a kind without replicas)."""
    views = sorted({view.name: view for view in clusters}.values(), key=lambda v: v.name)
    candidates = [
        view
        for view in views
        if _matches_affinity(spec, view) and _taints_allow(spec, view, view.name in previous)
    ]
    if not candidates:
        return ScheduleResult(
            decisions={},
            scheduled=False,
            reason=NO_MATCHING_CLUSTERS,
            message=f"no cluster of {len(views)} matches clusterAffinity and tolerations",
        )

    pool: list[ClusterView] = []
    failed_over: list[str] = []
    for view in candidates:
        if view.name not in previous:
            if _settled(spec, view, now, first=not previous):
                pool.append(view)
        elif view.ready:
            pool.append(view)
        elif _failed(spec, view, now):
            failed_over.append(view.name)
        else:
            pool.append(view)  # keeps its share until tolerationSeconds have passed
    if not pool:
        return _unchanged(
            previous,
            NO_READY_CLUSTERS,
            f"none of {len(candidates)} matching clusters is Ready",
        )

    divided = spec.replica_scheduling.type == "Divided"
    weights = {view.name: _division_weight(spec, view) for view in pool}
    if divided:
        pool = [view for view in pool if weights[view.name] > 0]
        if not pool:
            return _unchanged(previous, NO_WEIGHT, "every eligible cluster has weight 0")

    ranks = {view.name: _rank_weight(spec, view) for view in pool}
    ranked = sorted(pool, key=lambda v: (v.name not in previous, -ranks[v.name], v.name))
    limit = spec.max_clusters or len(ranked)
    constraints = spec.spread_constraints
    kept = [view for view in ranked if view.name in previous]
    if (
        spec.failover.enabled
        and not spec.failover.failback
        and kept
        and len(kept) == len(previous)
        and len(kept) <= limit
        and not _spread_problem(kept, constraints)
    ):
        chosen = kept
    else:
        chosen, problem = _choose(ranked, constraints, limit)
        if problem:
            return _unchanged(previous, SPREAD_UNSATISFIABLE, problem)

    names = sorted(view.name for view in chosen)
    decisions: dict[str, int | None]
    if divided and replicas is not None:
        decisions = dict(_divide(max(replicas, 0), {n: weights[n] for n in names}, previous))
    else:
        decisions = dict.fromkeys(names)
    message = f"{len(names)} of {len(candidates)} matching clusters chosen"
    if failed_over:
        message += f"; moved off NotReady {', '.join(failed_over)}"
    return ScheduleResult(
        decisions=decisions,
        scheduled=True,
        reason=SCHEDULED,
        message=message,
        failed_over=tuple(failed_over),
    )


def _unchanged(previous: Mapping[str, int | None], reason: str, message: str) -> ScheduleResult:
    return ScheduleResult(decisions=dict(previous), scheduled=False, reason=reason, message=message)


# -- rule 1: candidates ---------------------------------------------------------------------


def _matches_affinity(spec: PlacementSpec, view: ClusterView) -> bool:
    affinity = spec.cluster_affinity
    return affinity is None or affinity.matches(view.name, view.labels)


def _taints_allow(spec: PlacementSpec, view: ClusterView, chosen_before: bool) -> bool:
    for taint in view.taints:
        if taint.key == UNREACHABLE_TAINT:
            continue  # readiness and tolerationSeconds decide (rule 2)
        if any(_tolerates(toleration, taint) for toleration in spec.tolerations):
            continue
        if taint.effect == "NoSchedule" and chosen_before:
            continue
        return False
    return True


def _tolerates(toleration: Toleration, taint: Taint) -> bool:
    """Kubernetes' ``Toleration.ToleratesTaint``."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator == "Exists":
        return True
    return toleration.value == taint.value


# -- rule 2: failover -----------------------------------------------------------------------


def _failed(spec: PlacementSpec, view: ClusterView, now: datetime.datetime) -> bool:
    """Whether a NotReady cluster has been so for long enough to lose its share."""
    if not spec.failover.enabled or view.not_ready_since is None:
        return False
    tolerated = datetime.timedelta(seconds=spec.failover.toleration_seconds)
    return now - view.not_ready_since >= tolerated


def _settled(
    spec: PlacementSpec, view: ClusterView, now: datetime.datetime, *, first: bool
) -> bool:
    """Whether a cluster not chosen before may be chosen now."""
    if not view.ready:
        return False
    if first or not spec.failover.enabled or view.ready_since is None:
        return True
    tolerated = datetime.timedelta(seconds=spec.failover.toleration_seconds)
    return now - view.ready_since >= tolerated


# -- rule 4: choosing -----------------------------------------------------------------------


def _choose(
    ranked: Sequence[ClusterView], constraints: Sequence[SpreadConstraint], limit: int
) -> tuple[list[ClusterView], str]:
    """Up to ``limit`` clusters in rank order, spread first; or why the spread cannot be met."""
    usable = [v for v in ranked if all(c.topology_key in v.labels for c in constraints)]
    groups: list[set[str]] = [set() for _ in constraints]
    chosen: list[ClusterView] = []

    def fits(view: ClusterView) -> bool:
        return all(
            c.max_groups is None or view.labels[c.topology_key] in g or len(g) < c.max_groups
            for c, g in zip(constraints, groups, strict=True)
        )

    def helps(view: ClusterView) -> bool:
        return any(
            len(g) < c.min_groups and view.labels[c.topology_key] not in g
            for c, g in zip(constraints, groups, strict=True)
        )

    def take(view: ClusterView) -> None:
        chosen.append(view)
        for c, g in zip(constraints, groups, strict=True):
            g.add(view.labels[c.topology_key])

    for view in usable:
        if len(chosen) >= limit or all(
            len(g) >= c.min_groups for c, g in zip(constraints, groups, strict=True)
        ):
            break
        if helps(view) and fits(view):
            take(view)
    for c, g in zip(constraints, groups, strict=True):
        if len(g) < c.min_groups:
            return [], _spread_message(c, usable, limit)
    for view in usable:
        if len(chosen) >= limit:
            break
        if view not in chosen and fits(view):
            take(view)
    return chosen, ""


def _spread_problem(chosen: Iterable[ClusterView], constraints: Sequence[SpreadConstraint]) -> str:
    """Why ``chosen`` breaks a spread constraint, or "" when it does not."""
    views = list(chosen)
    for c in constraints:
        if any(c.topology_key not in v.labels for v in views):
            return f"a cluster has no label {c.topology_key!r}"
        count = len({v.labels[c.topology_key] for v in views})
        if count < c.min_groups or (c.max_groups is not None and count > c.max_groups):
            return f"{count} groups of {c.topology_key!r}"
    return ""


def _spread_message(constraint: SpreadConstraint, usable: Sequence[ClusterView], limit: int) -> str:
    bounds = f"at least {constraint.min_groups}"
    if constraint.max_groups is not None:
        bounds += f" and at most {constraint.max_groups}"
    values = len({v.labels[constraint.topology_key] for v in usable})
    message = (
        f"spread over {constraint.topology_key!r} needs {bounds} groups: "
        f"{values} values among {len(usable)} eligible clusters"
    )
    if limit < constraint.min_groups:
        message += f", maxClusters {limit}"
    return message


def _static_weight(spec: PlacementSpec, view: ClusterView) -> int | None:
    for entry in spec.replica_scheduling.static_weights:
        if view.name in entry.cluster_names or (
            entry.label_selector is not None and entry.label_selector.matches(view.labels)
        ):
            return entry.weight
    return None


def _capacity_weight(view: ClusterView) -> int:
    """Allocatable pods, else whole cpu cores, else 1 (Dynamic weighting)."""
    for resource in ("pods", "cpu"):
        try:
            return int(parse_quantity(view.allocatable.get(resource, "")))
        except ValueError:
            continue
    return 1


def _division_weight(spec: PlacementSpec, view: ClusterView) -> int:
    if spec.replica_scheduling.weighting == "Dynamic":
        return _capacity_weight(view)
    weight = _static_weight(spec, view)
    return 1 if weight is None else weight


def _rank_weight(spec: PlacementSpec, view: ClusterView) -> int:
    scheduling = spec.replica_scheduling
    if scheduling.type == "Divided" and scheduling.weighting == "Dynamic":
        return _capacity_weight(view)
    weight = _static_weight(spec, view)
    return view.weight if weight is None else weight


# -- rule 5: replicas -----------------------------------------------------------------------


def _divide(
    replicas: int, weights: Mapping[str, int], previous: Mapping[str, int | None]
) -> dict[str, int]:
    """Share ``replicas`` by ``weights`` (all positive), moving as little as the bounds allow.

    With ``total`` the sum of weights, a cluster's exact share is ``replicas * w / total``;
    its bounds are that share's floor and ceiling. Comparisons are on numerators over
    ``total``, in integers, so no rounding can make two runs disagree.
    """
    total = sum(weights.values())
    numerators = {name: replicas * weight for name, weight in weights.items()}
    low = {name: n // total for name, n in numerators.items()}
    high = {name: -(-n // total) for name, n in numerators.items()}
    before = {name: max(previous.get(name) or 0, 0) for name in weights}
    shares = {name: min(max(before[name], low[name]), high[name]) for name in weights}

    def shortfall(name: str) -> int:
        return numerators[name] - shares[name] * total

    missing = replicas - sum(shares.values())
    if missing > 0:
        growable = [name for name in sorted(weights) if shares[name] < high[name]]
        growable.sort(key=lambda name: (-shortfall(name), -before[name]))
        for name in growable[:missing]:
            shares[name] += 1
    elif missing < 0:
        shrinkable = [name for name in sorted(weights) if shares[name] > low[name]]
        shrinkable.sort(key=lambda name: (shortfall(name), before[name]))
        for name in shrinkable[:-missing]:
            shares[name] -= 1
    return shares
