"""What a Placement asks for, computed without I/O: the clusters, their shares and the
rendered manifests. The controller applies a plan; ``flotilla placement preview`` prints one.

:func:`plan` is pure and shares no mutable state: it changes none of its inputs (informer
caches hold them), and what it returns shares nothing mutable with them but the templates
named in failures. A large plan may therefore run in a worker thread
(``asyncio.to_thread``), as long as the caller passes lists it does not change meanwhile
(the informer store replaces objects, it never changes one in place).

It also applies the tenancy policy (:mod:`flotilla.propagation.tenancy`): a Placement in a
reserved namespace places nothing, and a rendered manifest the policy refuses becomes a
failure, so that its live copies are held, not pruned.
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
from flotilla.propagation.tenancy import DEFAULT_TENANCY, TenancyPolicy

RESERVED_NAMESPACE = "ReservedNamespace"
"""The ``Scheduled`` reason of a Placement in a reserved namespace."""


@dataclass(frozen=True)
class RenderFailure:
    """A template that cannot be placed on a cluster; ``error`` quotes no value of it."""

    cluster: str
    template: dict[str, Any] = field(repr=False)  # it may be a Secret
    error: str


@dataclass
class Plan:
    """``refused`` says why the whole Placement places nothing (empty: it is not refused)."""

    schedule: ScheduleResult
    desired: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failures: list[RenderFailure] = field(default_factory=list)
    refused: str = ""

    @property
    def may_prune(self) -> bool:
        """Whether pruning may act on this plan: not when it is refused or incomplete (a
        template that failed to render is still wanted, and its live copies stay)."""
        return not self.refused and not self.failures


def template_replicas(template: Mapping[str, Any]) -> int | None:
    """The replicas the user set on the template; None when unset (or only defaulted)."""
    spec = template.get("spec")
    value = spec.get("replicas") if isinstance(spec, dict) else None
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
    tenancy: TenancyPolicy = DEFAULT_TENANCY,
) -> Plan:
    """Schedule once for the first template with replicas, then render every template for
    every chosen cluster; templates with other replica counts are divided the same way.

    A Placement whose namespace ``tenancy`` reserves schedules nothing (``refused``).
    """
    refusal = tenancy.namespace_refusal(placement[0])
    if refusal is not None:
        nothing = ScheduleResult(
            decisions={}, scheduled=False, reason=RESERVED_NAMESPACE, message=refusal
        )
        return Plan(schedule=nothing, refused=refusal)
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
                manifest = render(
                    template,
                    placement=placement,
                    cluster=cluster,
                    replicas=share,
                    rules=rules,
                    cluster_labels=labels.get(cluster, {}),
                )
            except RenderError as exc:
                out.failures.append(RenderFailure(cluster, template, str(exc)))
                continue
            except Exception as exc:  # one odd template never stops the others
                error = f"rendering failed unexpectedly ({type(exc).__name__})"  # no values
                out.failures.append(RenderFailure(cluster, template, error))
                continue
            if (refused := tenancy.manifest_refusal(manifest)) is not None:
                out.failures.append(RenderFailure(cluster, template, refused))
            else:
                manifests.append(manifest)
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
            continue  # the CRD schema rejects these; see invalid_overrides
    return rules


def invalid_overrides(namespace: str, overrides: Sequence[Mapping[str, Any]]) -> list[str]:
    """What is wrong with the Overrides of ``namespace`` that :func:`override_rules` leaves
    out (stored before a limit existed, say); a pass with any is incomplete, so it must not
    prune. Messages name fields and pydantic's own words, never the values."""
    problems = []
    for item in sorted(overrides, key=lambda o: str(o["metadata"]["name"])):
        if item["metadata"].get("namespace") != namespace:
            continue
        try:
            OverrideSpec.model_validate(item.get("spec") or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(["spec", *(str(part) for part in first["loc"])])
            problems.append(
                f"Override {item['metadata']['name']} is invalid ({where}: {first['msg']})"
            )
    return problems
