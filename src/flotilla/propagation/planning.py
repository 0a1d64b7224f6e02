"""What a Placement asks for, computed without I/O: the clusters, their shares and the
rendered manifests. The controller applies a plan; ``flotilla placement preview`` prints one.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from flotilla.api.cluster import ClusterSpec, ClusterStatus
from flotilla.api.placement import OverrideRule, OverrideSpec, PlacementSpec, ResourceSelector
from flotilla.placement import ClusterView, ScheduleResult, schedule
from flotilla.propagation.overrides import RenderError
from flotilla.propagation.render import apply_order, render, sets_replicas


@dataclass(frozen=True)
class RenderFailure:
    cluster: str
    template: dict[str, Any]
    error: str


@dataclass
class Plan:
    schedule: ScheduleResult
    desired: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failures: list[RenderFailure] = field(default_factory=list)


def template_replicas(template: Mapping[str, Any]) -> int | None:
    """The replicas the user set on the template; None when unset (or only defaulted)."""
    value = (template.get("spec") or {}).get("replicas")
    if not isinstance(value, int) or isinstance(value, bool) or not sets_replicas(template):
        return None
    return value


def plan(
    spec: PlacementSpec,
    templates: Sequence[dict[str, Any]],
    views: Sequence[ClusterView],
    *,
    placement: tuple[str, str],
    rules: Sequence[OverrideRule],
    previous: Mapping[str, int | None],
    now: datetime.datetime,
) -> Plan:
    """Schedule once for the first template with replicas, then render every template for
    every chosen cluster; templates with other replica counts are divided the same way."""
    primary = next((r for t in templates if (r := template_replicas(t)) is not None), None)
    result = schedule(spec, primary, list(views), previous, now)
    shares: dict[int | None, dict[str, int | None]] = {primary: result.decisions}
    labels = {view.name: dict(view.labels) for view in views}
    out = Plan(schedule=result)
    for cluster in result.decisions:
        manifests = []
        for template in templates:
            replicas = template_replicas(template)
            if replicas not in shares:
                shares[replicas] = schedule(spec, replicas, list(views), previous, now).decisions
            share = shares[replicas].get(cluster) if replicas is not None else None
            try:
                manifests.append(
                    render(
                        template,
                        placement=placement,
                        cluster=cluster,
                        replicas=share,
                        rules=rules,
                        cluster_labels=labels.get(cluster, {}),
                    )
                )
            except RenderError as exc:
                out.failures.append(RenderFailure(cluster, template, str(exc)))
        out.desired[cluster] = apply_order(manifests)
    return out


def cluster_views(clusters: Sequence[Mapping[str, Any]]) -> list[ClusterView]:
    """What scheduling needs to know of each Cluster object (invalid ones are skipped)."""
    views = []
    for item in clusters:
        try:
            spec = ClusterSpec.model_validate(item.get("spec") or {})
            status = ClusterStatus.model_validate(item.get("status") or {})
        except ValidationError:
            continue
        ready = next((c for c in status.conditions if c.type == "Ready"), None)
        is_ready = ready is not None and ready.status == "True"
        since = ready.last_transition_time if ready is not None else None
        views.append(
            ClusterView(
                name=item["metadata"]["name"],
                labels=dict(item["metadata"].get("labels") or {}),
                ready=is_ready,
                not_ready_since=None if is_ready else since,
                ready_since=since if is_ready else None,
                taints=tuple(spec.taints) + tuple(status.taints),
                allocatable=dict(status.allocatable),
                weight=spec.weight,
            )
        )
    return views


def selected(
    namespace: str, candidates: Iterable[tuple[ResourceSelector, Iterable[dict[str, Any]]]]
) -> list[dict[str, Any]]:
    """The templates that (selector, objects of its kind) pairs select, each once, in order."""
    templates: dict[tuple[str, str, str], dict[str, Any]] = {}
    for selector, items in candidates:
        for item in items:
            if selects(selector, namespace, item):
                key = (selector.api_version, selector.kind, str(item["metadata"]["name"]))
                templates.setdefault(key, item)
    return [templates[key] for key in sorted(templates)]


def selects(selector: ResourceSelector, namespace: str, item: Mapping[str, Any]) -> bool:
    """Whether ``selector`` of a Placement in ``namespace`` selects the template ``item``."""
    meta = item.get("metadata") or {}
    if meta.get("namespace") != namespace or meta.get("deletionTimestamp"):
        return False
    if selector.name and meta.get("name") != selector.name:
        return False
    return not selector.label_selector or selector.label_selector.matches(meta.get("labels") or {})


def override_rules(
    spec: PlacementSpec, namespace: str, overrides: Sequence[Mapping[str, Any]]
) -> list[OverrideRule]:
    """Inline rules first, then those of the namespace's Overrides, by name."""
    rules = list(spec.overrides)
    for item in sorted(overrides, key=lambda o: str(o["metadata"]["name"])):
        if item["metadata"].get("namespace") != namespace:
            continue
        try:
            rules += OverrideSpec.model_validate(item.get("spec") or {}).rules
        except ValidationError:
            continue  # the CRD schema rejects these; an older stored object is skipped
    return rules
