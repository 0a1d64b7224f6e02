"""The propagation controller: Placements made real on members, and kept so.

Reconcile (per Placement, level-based, from caches):

1. select the templates (hub informers per selected kind, in the Placement's namespace);
2. schedule (``flotilla.placement.schedule``: pure) over the Clusters' current views;
3. render every (cluster, template) with overrides (``flotilla.propagation.render``: pure);
4. apply with server-side apply, field manager ``flotilla``, on every connected member;
   an object whose rendered form, generation and metadata did not change since our last
   apply is skipped; an apply that changes a live object we had applied before is a drift
   corrected: counted, reported with the field manager that made it, and recorded as an
   Event on the Placement;
5. prune: objects carrying this Placement's label that are no longer desired are deleted,
   never on an unreachable member (they wait, "stranded"), and never more than
   ``deletionGuard.maxDeletePercent`` of a member's objects of this Placement in one pass
   unless confirmed (``flotilla placement confirm-prune``);
6. write status (decisions, per cluster, per resource, conditions), only when it changed.

Member objects are watched with the ``flotilla.io/managed-by=flotilla`` selector; any
change to one enqueues its Placement, so drift is reverted within a watch round trip.
A finalizer lets a deleted Placement remove its objects from every connected member.

Bad input never crashes the controller or touches other Placements: each problem is a
condition or a per-resource error on the Placement it belongs to.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import json
import logging
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from flotilla.api import API_VERSION, CLUSTER, PLACEMENT, ClusterName, set_condition
from flotilla.api.kinds import OVERRIDE
from flotilla.api.placement import (
    MAX_STATUS_RESOURCES,
    ClusterSummary,
    Decision,
    OverrideRule,
    PlacementSpec,
    PlacementStatus,
    ResourceStatus,
)
from flotilla.clusters.connections import MemberConnections
from flotilla.kube import (
    ApiError,
    Conflict,
    KubeClient,
    KubeError,
    NotFound,
    RestMapper,
    UnknownKind,
    resource_path,
)
from flotilla.placement import ClusterView
from flotilla.propagation.planning import cluster_views, override_rules, plan, selected
from flotilla.propagation.render import MANAGED_BY_LABEL, PLACEMENT_LABEL, prune_order
from flotilla.runtime.clock import Clock
from flotilla.runtime.controller import Controller, Result
from flotilla.runtime.informer import Informer, SharedInformers
from flotilla.runtime.metrics import Metrics
from flotilla.runtime.queue import WorkQueue
from flotilla.runtime.reflector import Event, resource_version

logger = logging.getLogger(__name__)

HUB = ClusterName("hub")
FIELD_MANAGER = "flotilla"
FINALIZER = "flotilla.io/cleanup"
CONFIRM_PRUNE_ANNOTATION = "flotilla.io/prune-confirmed-at"
MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}=flotilla"
RESYNC_SECONDS = 30.0
DRIFT_WINDOW = 60.0
GUARD_WINDOW = 60.0
FINALIZE_PATIENCE = 120.0
"""How long a deleted Placement waits for unreachable members before letting go."""
APPLY_CONCURRENCY = 16
SYNC_TIMEOUT = 10.0
CACHE_LAG = 5.0
"""How long our own apply is trusted while the member informer has not shown it yet."""
LIST_AT = 8
"""From this many objects of one kind and namespace on, one list answers "is it there?"."""
STATUS_SETTLE = 0.5
"""How long a change to a member object's status alone waits before it is reported."""
PLACEMENT_INDEX = "placement"
NAMESPACE_INDEX = "namespace"
"""From this many objects of one kind and namespace on, one list answers "is it there?"."""


@dataclass(frozen=True)
class _Applied:
    """What we last applied to one member object, to skip no-op applies and see drift."""

    digest: str
    resource_version: str
    generation: int | None
    at: float
    replicas: dict[str, Any] | None = None
    """The answer's spec.replicas and status, for kinds that have replicas."""


@dataclass(frozen=True)
class _Target:
    """One rendered manifest, where it goes on a member, and what the member cache holds."""

    manifest: dict[str, Any]
    path: str
    collection: str
    live: dict[str, Any] | None


@dataclass(frozen=True)
class _Pass:
    """What one reconcile of a Placement decided, the same for every member it syncs.

    The prune rules, in one place: a pass that could not see every template prunes nothing;
    the deletion guard holds on the chosen members, and on every member when no cluster was
    chosen at all; a confirmation (``flotilla placement confirm-prune``) lifts it.
    """

    namespace: str
    name: str
    kinds: tuple[str, ...]
    may_prune: bool = True
    guard_percent: int = 100
    confirmed: bool = False
    guard_everywhere: bool = False

    @property
    def owner(self) -> str:
        """The value of the placement label on what this Placement put on members."""
        return f"{self.namespace}.{self.name}"

    def guarded(self, chosen: bool) -> bool:
        """Whether the deletion guard limits pruning on a member (``chosen`` or not)."""
        return not self.confirmed and (chosen or self.guard_everywhere)


@dataclass
class _Outcome:
    """What one pass did on one cluster."""

    resources: list[ResourceStatus] = field(default_factory=list)
    drifts: list[str] = field(default_factory=list)
    prune_blocked: str = ""
    stranded: bool = False
    trusted: bool = False
    """Some object was taken as applied on our word alone: look again once that lapses."""


class PropagationController:
    def __init__(
        self,
        hub: KubeClient,
        hub_informers: SharedInformers,
        members: MemberConnections,
        *,
        clock: Clock,
        metrics: Metrics,
        workers: int = 4,
    ) -> None:
        self._hub = hub
        self._hub_informers = hub_informers
        self._members = members
        self._clock = clock
        self._metrics = metrics
        self._workers = workers
        self._mapper = RestMapper(hub)
        self._placements = hub_informers.informer(HUB, resource_path(API_VERSION, PLACEMENT.plural))
        self._overrides = hub_informers.informer(HUB, resource_path(API_VERSION, OVERRIDE.plural))
        self._clusters = hub_informers.informer(HUB, resource_path(API_VERSION, CLUSTER.plural))
        self._template_informers: dict[str, Informer] = {}
        self._member_informers: set[tuple[str, str]] = set()
        self._handled: weakref.WeakSet[Informer] = weakref.WeakSet()
        self._namespaces: set[tuple[KubeClient, str]] = set()
        self._applied: dict[tuple[str, str], _Applied] = {}
        self._drift_counts: dict[tuple[str, str], int] = {}
        self._last_drift: dict[str, tuple[float, str]] = {}
        self._generation_seen: dict[str, tuple[int, float]] = {}
        self._pruned: dict[tuple[str, str], list[float]] = {}
        self.queue: WorkQueue[str] = WorkQueue(clock=clock, name="propagation")

    @property
    def synced(self) -> bool:
        return self._placements.has_synced and self._clusters.has_synced

    async def run(self) -> None:
        self._placements.add_handler(lambda event: self.queue.add(event.key))
        self._overrides.add_handler(self._on_override)
        self._clusters.add_handler(lambda _event: self._enqueue_all())
        self._members.on_connected(lambda _cluster: self._enqueue_all())
        async with self.queue:
            for informer in (self._placements, self._overrides, self._clusters):
                await informer.wait_synced()
            controller = Controller(
                "propagation", self.queue, self._reconcile, metrics=self._metrics,
                workers=self._workers,
            )  # fmt: skip
            await controller.run()

    # -- handlers (no I/O) ------------------------------------------------------------------

    def _enqueue_all(self, namespace: str | None = None) -> None:
        for key in self._placements.keys():  # noqa: SIM118 - Informer.keys, not a dict
            if namespace is None or key.startswith(f"{namespace}/"):
                self.queue.add(key)

    def _on_override(self, event: Event) -> None:
        self._enqueue_all(event.key.split("/", 1)[0])

    def _on_template(self, event: Event) -> None:
        """Enqueue the Placements of the template's namespace that select its kind."""
        meta = event.object.get("metadata") or {}
        namespace = meta.get("namespace")
        api_version, kind = event.object.get("apiVersion"), event.object.get("kind")
        for key in self._placements.keys():  # noqa: SIM118 - Informer.keys, not a dict
            if namespace and not key.startswith(f"{namespace}/"):
                continue
            placement = self._placements.get(key) or {}
            selectors = (placement.get("spec") or {}).get("resourceSelectors") or []
            if any(
                isinstance(sel, dict)
                and sel.get("kind") == kind
                and sel.get("apiVersion") == api_version
                and sel.get("name") in (None, "", meta.get("name"))
                for sel in selectors
            ):
                self.queue.add(key)

    def _on_member_object(self, event: Event) -> None:
        owner = _placement_of(event.object)
        if "." not in owner:
            return
        namespace, name = owner.split(".", 1)
        key = f"{namespace}/{name}"
        path = self._member_path(event.object)
        record = self._applied.get((event.cluster, path)) if path else None
        if event.type == "DELETED" and path:  # what we applied is gone: apply it again
            self._applied.pop((event.cluster, path), None)
        if event.type == "MODIFIED" and record and _status_only(record, event.object):
            # A workload's status moves in bursts (a rollout, pods starting): report it
            # once the burst settles instead of once per step.
            self.queue.add_after(key, STATUS_SETTLE)
        else:
            self.queue.add(key)

    def _member_path(self, item: dict[str, Any]) -> str | None:
        api_version, kind = item.get("apiVersion", ""), item.get("kind", "")
        plural = self._mapper.cached_plural(api_version, kind)
        meta = item.get("metadata") or {}
        if not plural or not meta.get("name"):
            return None
        return resource_path(
            api_version, plural, namespace=meta.get("namespace"), name=meta["name"]
        )

    # -- reconcile --------------------------------------------------------------------------

    async def _reconcile(self, key: str) -> Result:
        namespace, name = key.split("/", 1)
        placement = self._placements.get(key)
        if placement is None:
            return Result()
        if placement["metadata"].get("deletionTimestamp"):
            return await self._finalize(placement)
        if FINALIZER not in (placement["metadata"].get("finalizers") or []):
            await self._add_finalizer(placement)
        status = _status_of(placement)
        generation = int(placement["metadata"].get("generation") or 0)
        self._note_generation(key, generation)
        try:
            spec = PlacementSpec.model_validate(placement.get("spec") or {})
        except ValidationError as exc:
            problem = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3]
            )
            self._condition(status, "Scheduled", "False", "InvalidSpec", problem)
            await self._write_status(placement, status, generation)
            return Result()

        templates, problems = await self._select(namespace, spec)
        views = self._cluster_views()
        now = datetime.datetime.now(datetime.UTC)
        previous = {d.cluster: d.replicas for d in status.decisions}
        planned = plan(
            spec,
            templates,
            views,
            placement=(namespace, name),
            rules=self._rules(namespace, spec),
            previous=previous,
            now=now,
        )
        result = planned.schedule
        if result.scheduled or result.decisions:
            status.decisions = [
                Decision(
                    cluster=cluster,
                    replicas=replicas,
                    reason="Failover"
                    if cluster not in previous and result.failed_over
                    else "Scheduled",
                )
                for cluster, replicas in sorted(result.decisions.items())
            ]
        self._condition(
            status, "Scheduled", "True" if result.scheduled else "False", result.reason,
            result.message,
        )  # fmt: skip
        if result.failed_over:
            status.last_failover_time = now
        desired = planned.desired
        render_errors = [
            _resource_status(f.cluster, f.template, error=f.error) for f in planned.failures
        ]

        kinds = sorted(
            set(status.managed_kinds)
            | {f"{m['apiVersion']}/{m['kind']}" for ms in desired.values() for m in ms}
        )
        status.managed_kinds = kinds
        confirmed_at = (placement["metadata"].get("annotations") or {}).get(
            CONFIRM_PRUNE_ANNOTATION, ""
        )
        this = _Pass(
            namespace,
            name,
            tuple(kinds),
            # A template that failed to render is still wanted: its live copy stays.
            may_prune=not problems and not planned.failures,
            guard_percent=spec.deletion_guard.max_delete_percent,
            confirmed=_confirmed(confirmed_at, _condition_time(status, "PruneBlocked")),
            guard_everywhere=not desired,
        )
        ready = {view.name for view in views if view.ready}
        # Every connected member, not only chosen ones: after a restart, copies on clusters
        # no longer chosen are found and pruned too.
        clusters = sorted(set(desired) | set(self._members.connected()))
        synced = await asyncio.gather(
            *(
                self._sync_cluster(this, cluster, desired.get(cluster), cluster in ready)
                for cluster in clusters
            )
        )
        outcomes = dict(zip(clusters, synced, strict=True))
        drifts = [message for outcome in outcomes.values() for message in outcome.drifts]
        await asyncio.gather(*(self._event(namespace, name, message) for message in drifts))
        requeue = self._fill_status(
            status,
            outcomes=outcomes,
            render_errors=render_errors,
            problems=problems,
            desired=desired,
            key=key,
        )
        if result.failed_over and all(not o.stranded for c, o in outcomes.items() if c in desired):
            for cluster in result.failed_over:
                since = next((v.not_ready_since for v in views if v.name == cluster), None)
                if since:
                    self._metrics_failover((now - since).total_seconds())
        await self._write_status(placement, status, generation)
        delay = min(requeue, _failover_due(spec, views, now) or RESYNC_SECONDS)
        if any(outcome.trusted for outcome in outcomes.values()):
            delay = min(delay, CACHE_LAG + 0.1)
        return Result(requeue_after=delay)

    # -- selection --------------------------------------------------------------------------

    async def _select(
        self, namespace: str, spec: PlacementSpec
    ) -> tuple[list[dict[str, Any]], list[str]]:
        candidates = []
        problems: list[str] = []
        for selector in spec.resource_selectors:
            try:
                informer = await self._template_informer(selector.api_version, selector.kind)
            except UnknownKind as exc:
                problems.append(str(exc))
                continue
            except (KubeError, ValueError, TimeoutError) as exc:
                problems.append(f"{selector.api_version} {selector.kind}: {exc}")
                continue
            candidates.append((selector, informer.by_index(NAMESPACE_INDEX, namespace)))
        return selected(namespace, candidates), problems

    async def _template_informer(self, api_version: str, kind: str) -> Informer:
        info = await self._mapper.resource_for(api_version, kind)
        if not {"list", "watch"} <= set(info.verbs):
            raise ValueError(f"{kind} cannot be listed and watched, so it cannot be a template")
        path = resource_path(api_version, info.plural)
        informer = self._template_informers.get(path)
        if informer is None:
            informer = self._hub_informers.informer(HUB, path)
            informer.add_index(NAMESPACE_INDEX, _namespace_values)
            informer.add_handler(self._on_template)
            self._template_informers[path] = informer
        async with asyncio.timeout(SYNC_TIMEOUT):
            await informer.wait_synced()
        return informer

    def _rules(self, namespace: str, spec: PlacementSpec) -> list[OverrideRule]:
        return override_rules(spec, namespace, self._overrides.list())

    def _cluster_views(self) -> list[ClusterView]:
        return cluster_views(self._clusters.list())

    # -- members ----------------------------------------------------------------------------

    def _connected_with_objects(self, kinds: Iterable[str]) -> set[str]:
        """Connected members on which we may have left objects of these kinds."""
        kinds = set(kinds)
        return {cluster for cluster, kind in self._member_informers if kind in kinds}

    async def _member_informer(self, cluster: str, api_version: str, kind: str) -> Informer | None:
        try:
            info = await self._mapper.resource_for(api_version, kind)
        except KubeError:
            return None
        path = resource_path(api_version, info.plural)
        informer = self._members.informer(cluster, path, label_selector=MANAGED_SELECTOR)
        if informer is None:
            return None
        if informer not in self._handled:  # a reconnected member has new informers
            informer.add_handler(self._on_member_object)
            self._handled.add(informer)
        self._member_informers.add((cluster, f"{api_version}/{kind}"))
        try:
            async with asyncio.timeout(SYNC_TIMEOUT):
                await informer.wait_synced()
        except TimeoutError:
            return None
        return informer

    async def _sync_cluster(
        self,
        this: _Pass,
        cluster: str,
        manifests: list[dict[str, Any]] | None,
        reachable: bool,
    ) -> _Outcome:
        """Apply ``manifests`` (None: the cluster is not chosen) and prune, on one member."""
        outcome = _Outcome()
        try:
            await self._sync_reachable(outcome, this, cluster, manifests, reachable)
        except KubeError as exc:  # this member failed; the others go on
            for manifest in manifests or []:
                outcome.resources.append(_resource_status(cluster, manifest, error=str(exc)[:300]))
        return outcome

    async def _sync_reachable(
        self,
        outcome: _Outcome,
        this: _Pass,
        cluster: str,
        manifests: list[dict[str, Any]] | None,
        reachable: bool,
    ) -> None:
        client = self._members.client(cluster)
        if client is None or not reachable:
            outcome.stranded = manifests is not None or self._cached_objects(
                cluster, this.owner, this.kinds
            )
            for manifest in manifests or []:
                outcome.resources.append(
                    _resource_status(cluster, manifest, error="cluster is unreachable; waiting")
                )
            return
        if manifests:
            await self._ensure_namespace(client, this.namespace)
        semaphore = asyncio.Semaphore(APPLY_CONCURRENCY)
        for batch in _batches(manifests or []):
            targets = []
            for manifest in batch:
                target = await self._target(cluster, manifest)
                if isinstance(target, str):
                    outcome.resources.append(_resource_status(cluster, manifest, error=target))
                else:
                    targets.append(target)
            trusted = [self._trusted(cluster, t) for t in targets]
            outcome.trusted = outcome.trusted or any(trusted)
            unknown = [
                t for t, trust in zip(targets, trusted, strict=True) if t.live is None and not trust
            ]
            holders = await self._holders(client, unknown, semaphore)
            results = await asyncio.gather(
                *(self._apply_one(client, cluster, t, holders, semaphore) for t in targets)
            )
            for status, drift in results:
                outcome.resources.append(status)
                if drift:
                    outcome.drifts.append(drift)
        if this.may_prune:
            outcome.prune_blocked, _ = await self._prune(this, client, cluster, manifests)

    def _cached_objects(self, cluster: str, owner: str, kinds: Iterable[str]) -> bool:
        """Whether the last known state of an unreachable member holds objects of ``owner``."""
        for kind_key in kinds:
            api_version, _, kind = kind_key.rpartition("/")
            plural = self._mapper.cached_plural(api_version, kind)
            if plural is None:
                return True  # cannot tell: assume something waits there
            informer = self._members.informer(
                cluster, resource_path(api_version, plural), label_selector=MANAGED_SELECTOR
            )
            if informer is None or not informer.has_synced:
                return (cluster, kind_key) in self._member_informers
            if _owned_by(informer, owner):
                return True
        return False

    async def _ensure_namespace(self, client: KubeClient, namespace: str) -> None:
        """Create the Placement's namespace if missing; never label it, never prune it."""
        if (client, namespace) in self._namespaces:
            return
        path = resource_path("v1", "namespaces", name=namespace)
        try:
            await client.get(path)
        except NotFound:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            with contextlib.suppress(Conflict):
                await client.create(resource_path("v1", "namespaces"), body)
        # Seen once per member client (a reconnect makes a new client, and checks again).
        # A namespace deleted on the member meanwhile makes applies fail, and is
        # recreated after the entry is dropped below.
        self._namespaces.add((client, namespace))

    async def _target(self, cluster: str, manifest: dict[str, Any]) -> _Target | str:
        """Where ``manifest`` goes on ``cluster`` and its cached live state, or an error."""
        api_version, kind = manifest["apiVersion"], manifest["kind"]
        try:
            info = await self._mapper.resource_for(api_version, kind)
        except (KubeError, ValueError) as exc:
            return str(exc)
        meta = manifest["metadata"]
        namespace = meta.get("namespace") if info.namespaced else None
        informer = await self._member_informer(cluster, api_version, kind)
        return _Target(
            manifest,
            path=resource_path(api_version, info.plural, namespace=namespace, name=meta["name"]),
            collection=resource_path(api_version, info.plural, namespace=namespace),
            live=informer.get(_key(namespace, meta["name"])) if informer else None,
        )

    def _trusted(self, cluster: str, target: _Target) -> bool:
        """Whether we applied exactly this a moment ago and the cache has not caught up."""
        record = self._applied.get((cluster, target.path))
        return (
            record is not None
            and target.live is None
            and record.digest == _digest(target.manifest)
            and self._clock.monotonic() - record.at < CACHE_LAG
        )

    async def _holders(
        self, client: KubeClient, targets: list[_Target], semaphore: asyncio.Semaphore
    ) -> dict[str, str | None]:
        """What already holds the objects our cache of managed objects does not show.

        Path -> that object's placement label ("" when it is not Flotilla's), or None when
        nothing is there. Many objects of one kind and namespace are answered by one
        metadata-only list; paths missing from the answer are asked for one by one.
        """
        groups: dict[str, list[_Target]] = {}
        for target in targets:
            groups.setdefault(target.collection, []).append(target)
        holders: dict[str, str | None] = {}
        for collection, members in groups.items():
            if len(members) < LIST_AT:
                continue
            try:
                async with semaphore:
                    listing = await client.list(collection, metadata_only=True)
            except KubeError:
                continue  # each object is asked for on its own
            there = {item["metadata"]["name"]: _placement_of(item) for item in listing["items"]}
            for target in members:
                holders[target.path] = there.get(target.manifest["metadata"]["name"])
        return holders

    async def _apply_one(
        self,
        client: KubeClient,
        cluster: str,
        target: _Target,
        holders: dict[str, str | None],
        semaphore: asyncio.Semaphore,
    ) -> tuple[ResourceStatus, str]:
        manifest, path, live = target.manifest, target.path, target.live
        digest = _digest(manifest)
        record = self._applied.get((cluster, path))
        if record and record.digest == digest:
            if live is not None and _unchanged(record, live, manifest):
                return _resource_status(cluster, manifest, live=live, applied=True), ""
            if self._trusted(cluster, target):
                return _resource_status(cluster, manifest, live=record.replicas, applied=True), ""
        owner = (manifest["metadata"].get("labels") or {}).get(PLACEMENT_LABEL, "")
        async with semaphore:
            # Never take over (and later prune) an object someone else made, or another
            # Placement's: the cache of managed objects holds every Placement's objects, and
            # an object it does not hold is looked for on the member.
            if live is not None:
                holder: str | None = _placement_of(live)
            elif path in holders:
                holder = holders[path]
            else:
                try:
                    holder = _placement_of(await client.get(path))
                except NotFound:
                    holder = None
            if holder is not None and holder != owner:
                why = f"placement {holder}" if holder else "something other than Flotilla"
                message = f"exists on the member and is managed by {why}; not touched"
                return _resource_status(cluster, manifest, error=message), ""
            if record is not None and live is not None and record.digest == digest:
                # Re-applying what we applied before because the live object changed: read it
                # fresh, so the drift and who made it are judged on the object as it is.
                with contextlib.suppress(KubeError):
                    live = await client.get(path)
            try:
                result = await client.apply(path, manifest, field_manager=FIELD_MANAGER, force=True)
            except ApiError as exc:
                if exc.status == 404:  # the namespace went away on the member: check again
                    namespace = str(manifest["metadata"].get("namespace") or "")
                    self._namespaces.discard((client, namespace))
                message = f"{exc.status} {exc.reason}: {exc.message}"[:300]
                return _resource_status(cluster, manifest, error=message), ""
            except KubeError as exc:
                return _resource_status(cluster, manifest, error=str(exc)[:300]), ""
        drift = ""
        changed = live is not None and resource_version(result) != resource_version(live)
        intruders = _managers_of_our_fields(live, manifest) if live is not None else []
        if record is not None and changed and intruders:
            drift = self._record_drift(cluster, manifest, intruders)
        self._applied[(cluster, path)] = _Applied(
            digest,
            result["metadata"]["resourceVersion"],
            result["metadata"].get("generation"),
            at=self._clock.monotonic(),
            replicas=_replicas_of(result),
        )
        return _resource_status(cluster, manifest, live=result, applied=True), drift

    def _record_drift(self, cluster: str, manifest: dict[str, Any], managers: list[str]) -> str:
        manager = ", ".join(managers)
        labels = manifest["metadata"].get("labels") or {}
        owner = labels.get(PLACEMENT_LABEL, "")
        key = (cluster, owner)
        self._drift_counts[key] = self._drift_counts.get(key, 0) + 1
        what = f"{manifest['kind']} {manifest['metadata']['name']}"
        message = f"{cluster}: {what} was changed by {manager!r}; reverted"
        self._last_drift[owner] = (self._clock.monotonic(), message)
        self._metrics.drift_corrections.labels(cluster=cluster).inc()
        logger.info(
            "drift corrected", extra={"cluster": cluster, "object": what, "manager": manager}
        )
        return message

    async def _event(self, namespace: str, name: str, message: str) -> None:
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        placement = self._placements.get(f"{namespace}/{name}") or {}
        event = {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"generateName": f"{name}-drift-", "namespace": namespace},
            "eventTime": now,
            "reportingController": "flotilla.io/propagation",
            "reportingInstance": "flotilla",
            "action": "Reconcile",
            "reason": "DriftCorrected",
            "type": "Warning",
            "note": message[:1000],
            "regarding": {
                "apiVersion": API_VERSION,
                "kind": PLACEMENT.kind,
                "namespace": namespace,
                "name": name,
                "uid": (placement.get("metadata") or {}).get("uid", ""),
            },
        }
        try:
            await self._hub.create(
                resource_path("events.k8s.io/v1", "events", namespace=namespace), event
            )
        except KubeError as exc:
            logger.warning("event not recorded", extra={"error": str(exc)[:200]})

    async def _prune(
        self,
        this: _Pass,
        client: KubeClient,
        cluster: str,
        manifests: list[dict[str, Any]] | None,
    ) -> tuple[str, bool]:
        """Delete this Placement's objects that are not desired; (guard message, all seen)."""
        owner = this.owner
        wanted = {
            (m["apiVersion"], m["kind"], m["metadata"].get("namespace", ""), m["metadata"]["name"])
            for m in manifests or []
        }
        managed: list[dict[str, Any]] = []
        for kind_key in this.kinds:
            api_version, _, kind = kind_key.rpartition("/")
            informer = await self._member_informer(cluster, api_version, kind)
            if informer is None:
                return "", False  # cannot see everything: prune nothing this pass
            managed += _owned_by(informer, owner)
        orphans = [
            item
            for item in managed
            if (
                item["apiVersion"],
                item["kind"],
                item["metadata"].get("namespace", ""),
                item["metadata"]["name"],
            )
            not in wanted
        ]
        if not orphans:
            return "", True
        # Objects removed in the last GUARD_WINDOW count too: a namespace emptied one
        # template at a time is still a namespace emptied.
        now = self._clock.monotonic()
        recent = [t for t in self._pruned.get((owner, cluster), []) if now - t < GUARD_WINDOW]
        if this.guarded(chosen=manifests is not None):
            removing, total = len(orphans) + len(recent), len(managed) + len(recent)
            share = 100 * removing / total
            if share > this.guard_percent:
                return (
                    f"{cluster}: pruning would remove {removing} of {total} objects within "
                    f"{GUARD_WINDOW:.0f}s ({share:.0f}% > {this.guard_percent}%); check the "
                    f"templates, then run "
                    f"`flotilla placement confirm-prune {this.name} -n {this.namespace}`"
                ), True
        complete = True
        for item in prune_order(orphans):
            complete = await self._delete(client, cluster, item) and complete
            recent.append(now)
        self._pruned[(owner, cluster)] = recent
        return "", complete

    async def _delete(self, client: KubeClient, cluster: str, item: dict[str, Any]) -> bool:
        try:
            info = await self._mapper.resource_for(item["apiVersion"], item["kind"])
        except (KubeError, ValueError):
            return False
        meta = item["metadata"]
        namespace = meta.get("namespace") if info.namespaced else None
        path = resource_path(
            item["apiVersion"], info.plural, namespace=namespace, name=meta["name"]
        )
        try:
            await client.delete(path, propagationPolicy="Background")
        except NotFound:
            pass
        except KubeError as exc:
            logger.warning("prune failed", extra={"cluster": cluster, "error": str(exc)[:200]})
            return False
        self._applied.pop((cluster, path), None)
        fields = {"cluster": cluster, "object": f"{item['kind']} {meta['name']}"}
        logger.info("pruned", extra=fields)
        return True

    # -- deletion ---------------------------------------------------------------------------

    async def _add_finalizer(self, placement: dict[str, Any]) -> None:
        meta = placement["metadata"]
        finalizers = [*(meta.get("finalizers") or []), FINALIZER]
        path = resource_path(
            API_VERSION, PLACEMENT.plural, namespace=meta["namespace"], name=meta["name"]
        )
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
        with contextlib.suppress(Conflict, NotFound):
            await self._hub.merge_patch(path, patch)

    async def _finalize(self, placement: dict[str, Any]) -> Result:
        meta = placement["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        status = _status_of(placement)
        this = _Pass(namespace, name, tuple(sorted(set(status.managed_kinds))), confirmed=True)
        ready = {view.name for view in self._cluster_views() if view.ready}
        pending = []
        members = set(self._members.connected()) | self._connected_with_objects(this.kinds)
        for cluster in sorted(members):
            client = self._members.client(cluster)
            if client is None or cluster not in ready:
                if self._cached_objects(cluster, this.owner, this.kinds):
                    pending.append(cluster)
                continue
            _, complete = await self._prune(this, client, cluster, None)
            if not complete:
                pending.append(cluster)
        waited = _age_seconds(meta.get("deletionTimestamp"))
        if pending and waited < FINALIZE_PATIENCE:
            return Result(requeue_after=2.0)  # members still hold copies: try again
        finalizers = [f for f in meta.get("finalizers") or [] if f != FINALIZER]
        path = resource_path(API_VERSION, PLACEMENT.plural, namespace=namespace, name=name)
        with contextlib.suppress(NotFound):
            await self._hub.merge_patch(path, {"metadata": {"finalizers": finalizers}})
        if pending:
            logger.warning(
                "placement deleted while members were unreachable; their copies stay",
                extra={"placement": f"{namespace}/{name}", "clusters": ",".join(pending)},
            )
        return Result()

    # -- status -----------------------------------------------------------------------------

    def _fill_status(
        self,
        status: PlacementStatus,
        *,
        outcomes: dict[str, _Outcome],
        render_errors: list[ResourceStatus],
        problems: list[str],
        desired: dict[str, list[dict[str, Any]]],
        key: str,
    ) -> float:
        resources = [r for o in outcomes.values() for r in o.resources] + render_errors
        resources.sort(key=lambda r: (r.applied, r.cluster, r.kind, r.name))
        status.resources_total = len(resources)
        status.resources = resources[:MAX_STATUS_RESOURCES]
        owner = key.replace("/", ".", 1)
        summaries = []
        for cluster in sorted(outcomes):
            mine = [r for r in resources if r.cluster == cluster]
            if cluster not in desired and not mine and not outcomes[cluster].stranded:
                continue
            summaries.append(
                ClusterSummary(
                    cluster=cluster,
                    applied=sum(1 for r in mine if r.applied),
                    failed=sum(1 for r in mine if not r.applied),
                    desired_replicas=sum(r.desired_replicas or 0 for r in mine),
                    ready_replicas=sum(r.ready_replicas or 0 for r in mine),
                    available_replicas=sum(r.available_replicas or 0 for r in mine),
                    drift_corrections=self._drift_counts.get((cluster, owner), 0),
                    stranded=outcomes[cluster].stranded,
                )
            )
        status.clusters = summaries
        failed = [r for r in resources if not r.applied and r.cluster in desired]
        if problems:
            self._condition(
                status, "Applied", "False", "SelectionFailed", "; ".join(problems)[:500]
            )
        elif failed:
            first = failed[0]
            message = f"{len(failed)} failed; {first.cluster} {first.kind} {first.name}: "
            message += first.error
            self._condition(status, "Applied", "False", "ApplyFailed", message[:500])
        elif not desired:
            self._condition(status, "Applied", "False", "NothingScheduled", "no cluster chosen")
        else:
            count = sum(len(m) for m in desired.values())
            self._condition(
                status, "Applied", "True", "Applied",
                f"{count} objects on {len(desired)} clusters",
            )  # fmt: skip
            seen = self._generation_seen.get(key)
            if seen and status.observed_generation != seen[0]:
                self._metrics.propagation_seconds.observe(self._clock.monotonic() - seen[1])
        workloads = [
            r for r in resources if r.desired_replicas is not None and r.cluster in desired
        ]
        unavailable = [
            r for r in workloads if (r.available_replicas or 0) < (r.desired_replicas or 0)
        ]
        if unavailable:
            r = unavailable[0]
            self._condition(
                status, "Available", "False", "ReplicasUnavailable",
                f"{r.cluster} {r.kind} {r.name}: {r.available_replicas or 0}/{r.desired_replicas}",
            )  # fmt: skip
        else:
            self._condition(status, "Available", "True", "Available", f"{len(workloads)} workloads")
        blocked = [o.prune_blocked for o in outcomes.values() if o.prune_blocked]
        if blocked:
            self._condition(
                status, "PruneBlocked", "True", "DeletionGuard", "; ".join(blocked)[:500]
            )
        else:
            self._condition(status, "PruneBlocked", "False", "NoPruneBlocked", "")
        drift = self._last_drift.get(owner)
        requeue = RESYNC_SECONDS
        if drift and self._clock.monotonic() - drift[0] < DRIFT_WINDOW:
            self._condition(status, "Drifted", "True", "DriftCorrected", drift[1])
            requeue = DRIFT_WINDOW - (self._clock.monotonic() - drift[0]) + 0.5
        else:
            self._condition(status, "Drifted", "False", "NoDrift", "")
        return requeue

    def _condition(
        self, status: PlacementStatus, type_: str, value: str, reason: str, message: str
    ) -> None:
        set_condition(
            status.conditions,
            type=type_,
            status=value,  # type: ignore[arg-type]
            reason=reason,
            message=message,
            now=datetime.datetime.now(datetime.UTC),
        )

    def _note_generation(self, key: str, generation: int) -> None:
        seen = self._generation_seen.get(key)
        if seen is None or seen[0] != generation:
            self._generation_seen[key] = (generation, self._clock.monotonic())

    async def _write_status(
        self, placement: dict[str, Any], status: PlacementStatus, generation: int
    ) -> None:
        status.observed_generation = generation
        new = status.to_wire()
        if new == (placement.get("status") or {}):
            return
        meta = placement["metadata"]
        path = resource_path(
            API_VERSION, PLACEMENT.plural, namespace=meta["namespace"], name=meta["name"]
        )
        try:
            await self._hub.request(
                "PATCH", f"{path}/status", body={"status": new},
                content_type="application/merge-patch+json",
            )  # fmt: skip
        except NotFound:
            return

    def _metrics_failover(self, seconds: float) -> None:
        self._metrics.failover_seconds.observe(seconds)


def _status_of(placement: dict[str, Any]) -> PlacementStatus:
    try:
        return PlacementStatus.model_validate(placement.get("status") or {})
    except ValidationError:
        return PlacementStatus()


def _condition_time(status: PlacementStatus, type_: str) -> datetime.datetime | None:
    for condition in status.conditions:
        if condition.type == type_ and condition.status == "True":
            return condition.last_transition_time
    return None


def _age_seconds(timestamp: str | None) -> float:
    if not timestamp:
        return 0.0
    try:
        when = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return (datetime.datetime.now(datetime.UTC) - when).total_seconds()


def _confirmed(confirmed_at: str, blocked_since: datetime.datetime | None) -> bool:
    if not confirmed_at or blocked_since is None:
        return False
    try:
        when = datetime.datetime.fromisoformat(confirmed_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when >= blocked_since


def _failover_due(
    spec: PlacementSpec, views: list[ClusterView], now: datetime.datetime
) -> float | None:
    """Seconds until a NotReady cluster passes tolerationSeconds, to reschedule on time."""
    if not spec.failover.enabled:
        return None
    waits = []
    for view in views:
        if not view.ready and view.not_ready_since is not None:
            left = spec.failover.toleration_seconds - (now - view.not_ready_since).total_seconds()
            if left > 0:
                waits.append(left + 0.1)
    return min(waits) if waits else None


def _batches(manifests: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Namespaces, then CRDs, then everything else at once (already in apply order)."""
    first = [m for m in manifests if m["kind"] in ("Namespace", "CustomResourceDefinition")]
    rest = [m for m in manifests if m["kind"] not in ("Namespace", "CustomResourceDefinition")]
    return [batch for batch in (first, rest) if batch]


def _key(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def _digest(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def _unchanged(record: _Applied, live: dict[str, Any], manifest: dict[str, Any]) -> bool:
    """Whether the live object still holds what we applied.

    Status changes do not count, nor labels and annotations others add (a Deployment's
    revision annotation): metadata does not move the generation, so ours are compared.
    """
    meta = live["metadata"]
    if meta.get("resourceVersion") == record.resource_version:
        return True
    generation = meta.get("generation")
    if generation is None or record.generation is None or generation != record.generation:
        return False
    ours = manifest["metadata"]
    return all(_holds(meta.get(field), ours.get(field)) for field in ("labels", "annotations"))


def _holds(live: dict[str, str] | None, ours: dict[str, str] | None) -> bool:
    live = live or {}
    return all(live.get(key) == value for key, value in (ours or {}).items())


def _status_only(record: _Applied, live: dict[str, Any]) -> bool:
    """Whether a change we were told of left the object's spec as we applied it.

    Only kinds with a generation can tell; labels and annotations do not move it, so a
    change to those is taken for a status change and noticed ``STATUS_SETTLE`` later.
    """
    generation = (live.get("metadata") or {}).get("generation")
    return generation is not None and generation == record.generation


def _owned_by(informer: Informer, owner: str) -> list[dict[str, Any]]:
    """The objects of a member informer that carry ``owner``'s placement label."""
    informer.add_index(PLACEMENT_INDEX, _placement_values)  # once per informer
    return informer.by_index(PLACEMENT_INDEX, owner)


def _namespace_values(item: dict[str, Any]) -> list[str]:
    namespace = (item.get("metadata") or {}).get("namespace")
    return [namespace] if namespace else []


def _placement_values(item: dict[str, Any]) -> list[str]:
    owner = _placement_of(item)
    return [owner] if owner else []


def _placement_of(item: dict[str, Any]) -> str:
    """The placement label of a live object: "" when Flotilla did not put it there."""
    return str(((item.get("metadata") or {}).get("labels") or {}).get(PLACEMENT_LABEL) or "")


def _replicas_of(live: dict[str, Any]) -> dict[str, Any] | None:
    """The part of a live object that status reports on, for kinds with replicas."""
    spec = live.get("spec") or {}
    if not isinstance(spec.get("replicas"), int):
        return None
    return {"spec": {"replicas": spec["replicas"]}, "status": dict(live.get("status") or {})}


def _managers_of_our_fields(live: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    """Field managers other than ours that own a field our manifest sets: who drifted it."""
    ours = set(_manifest_paths(manifest))
    found = []
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        manager = entry.get("manager")
        if manager == FIELD_MANAGER or entry.get("subresource") == "status":
            continue
        theirs = set(_owned_paths(entry.get("fieldsV1") or {}))
        if any(_overlap(a, b) for a in ours for b in theirs):
            found.append(str(manager))
    return sorted(set(found))


def _manifest_paths(node: Any, prefix: tuple[str, ...] = ()) -> Iterable[tuple[str, ...]]:
    if isinstance(node, dict) and node:
        for key, value in node.items():
            path = (*prefix, key)
            if path in (
                ("apiVersion",),
                ("kind",),
                ("metadata", "name"),
                ("metadata", "namespace"),
            ):
                continue
            yield from _manifest_paths(value, path)
    elif prefix:
        yield prefix


def _owned_paths(node: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterable[tuple[str, ...]]:
    """Paths in a managedFields ``fieldsV1`` set; list items stop at the list."""
    leaf = True
    for key, value in node.items():
        if key == ".":
            continue
        if not key.startswith("f:"):
            yield prefix  # an item of a list (k:, v:, i:): the list as a whole
            return
        leaf = False
        yield from _owned_paths(value or {}, (*prefix, key[2:]))
    if leaf and prefix:
        yield prefix


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def _resource_status(
    cluster: str,
    manifest: dict[str, Any],
    *,
    live: dict[str, Any] | None = None,
    applied: bool = False,
    error: str = "",
) -> ResourceStatus:
    meta = manifest.get("metadata") or {}
    spec = manifest.get("spec") or {}
    status = ResourceStatus(
        cluster=cluster,
        api_version=str(manifest.get("apiVersion", "")),
        kind=str(manifest.get("kind", "")),
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name", "")),
        applied=applied,
        error=error,
    )
    if live is not None:
        status.observed_generation = (live.get("status") or {}).get("observedGeneration")
        if isinstance(spec.get("replicas"), int) or isinstance(
            (live.get("spec") or {}).get("replicas"), int
        ):
            live_status = live.get("status") or {}
            status.desired_replicas = int((live.get("spec") or {}).get("replicas") or 0)
            status.ready_replicas = int(live_status.get("readyReplicas") or 0)
            status.available_replicas = int(live_status.get("availableReplicas") or 0)
    return status


__all__ = ["PropagationController"]
