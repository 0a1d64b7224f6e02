"""The propagation controller: Placements made real on members, and kept so.

Reconcile (per Placement, level-based, from caches) orchestrates the concepts of this
package:

1. select the templates (``selection``: hub informers per selected kind);
2. plan (``planning``: schedule and render with overrides, within ``tenancy``; pure, run
   in a worker thread);
3. admit (``admission``: what members would receive, dry-run on the hub in the
   Placement's namespace);
4. on every connected member (``syncing``): apply (``applier``: ownership, server-side
   apply, the applied cache; ``drift``: who changed our fields, and backing off from
   fights), then prune what is no longer wanted (``pruning``: a pure guard decision, then
   the deleter), never on an unreachable member (the objects wait, "stranded"), never
   while the hub namespace is being deleted, never beyond the deletion guard without a
   confirmation;
5. write status (``status``: pure), only when it changed and only over what it read.

A deleted Placement is ``finalizing``'s.

Member objects are watched with the ``flotilla.io/managed-by=flotilla`` and this hub's
``flotilla.io/hub`` selector; any change to one enqueues its Placement, so drift is reverted
within a watch round trip. A finalizer lets a deleted Placement remove its objects from
every connected member (``spec.deletionPolicy: Orphan`` keeps them).

Each member's part of a pass has a deadline (``MEMBER_DEADLINE``): a member that hangs
mid-apply costs the pass that long at most, and its objects report why. Bad input never
crashes the controller or touches other Placements: each problem is a condition or a
per-resource error on the Placement it belongs to.

Why one module of ~550 lines: it is where a pass's steps meet, in order, and hand their
results to status; each step's logic lives in the module named above.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from flotilla.api import API_VERSION, CLUSTER, PLACEMENT, SYSTEM_NAMESPACE
from flotilla.api.kinds import OVERRIDE
from flotilla.api.labels import (
    CONFIRM_PRUNE_ANNOTATION,
    FINALIZER,
    HUB_CLUSTER,
    PLACEMENT_LABEL,
    hub_identity,
    label_of,
)
from flotilla.api.placement import (
    Decision,
    PlacementSpec,
    PlacementStatus,
)
from flotilla.clusters.connections import MemberConnections
from flotilla.kube import (
    Conflict,
    KubeClient,
    KubeError,
    NotFound,
    RestMapper,
    resource_path,
)
from flotilla.placement import ClusterView
from flotilla.propagation import pruning
from flotilla.propagation.admission import HubAdmission
from flotilla.propagation.applier import (
    CACHE_LAG,
    Applier,
    status_only,
)
from flotilla.propagation.drift import DRIFT_WINDOW, DriftRecorder
from flotilla.propagation.finalizing import Finalizer
from flotilla.propagation.planning import (
    Plan,
    cluster_views,
    invalid_overrides,
    override_rules,
    plan,
)
from flotilla.propagation.selection import TemplateSelection, selects_kind
from flotilla.propagation.status import (
    Outcome,
    applied_true,
    condition_since,
    fill_status,
    placement_condition,
    placement_path,
    resource_status,
    status_of,
)
from flotilla.propagation.syncing import (
    MEMBER_DEADLINE,
    MemberSync,
    Pass,
    remember_guard,
    settling,
)
from flotilla.propagation.tenancy import DEFAULT_TENANCY, TenancyPolicy
from flotilla.runtime.clock import Clock
from flotilla.runtime.controller import Controller, Result
from flotilla.runtime.events import EventRecorder, Regarding
from flotilla.runtime.informer import SharedInformers
from flotilla.runtime.metrics import Metrics
from flotilla.runtime.queue import WorkQueue
from flotilla.runtime.reflector import Event, older

logger = logging.getLogger(__name__)

RESYNC_SECONDS = 30.0
STALE_RETRY = 0.2
SELECTION_RETRY = 5.0
ADMISSION_RETRY = 2.0
"""When the hub's admission could not judge something this pass, ask again this soon."""
STATUS_SETTLE = 0.5
"""How long a change to a member object's status alone waits before it is reported."""


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
        leading: Callable[[], bool] = lambda: True,
        tenancy: TenancyPolicy = DEFAULT_TENANCY,
    ) -> None:
        self._hub = hub
        self._tenancy = tenancy
        self._leading = leading
        """False once a leader's renew deadline passed: it must not write any more."""
        self._members = members
        self._clock = clock
        self._metrics = metrics
        self._workers = workers
        self._placements = hub_informers.informer(
            HUB_CLUSTER, resource_path(API_VERSION, PLACEMENT.plural)
        )
        self._overrides = hub_informers.informer(
            HUB_CLUSTER, resource_path(API_VERSION, OVERRIDE.plural)
        )
        self._clusters = hub_informers.informer(
            HUB_CLUSTER, resource_path(API_VERSION, CLUSTER.plural)
        )
        self._namespaces = hub_informers.informer(HUB_CLUSTER, resource_path("v1", "namespaces"))
        hub_mapper = RestMapper(hub)
        self._selection = TemplateSelection(
            hub_informers,
            hub_mapper,
            clock=clock,
            on_template=self._on_template,
        )
        self._drift = DriftRecorder(clock=clock, metrics=metrics)
        self._applier = Applier(hub_id="", clock=clock, drift=self._drift, tenancy=tenancy)
        self._events = EventRecorder(hub, clock=clock, controller="flotilla.io/propagation")
        self._admission = HubAdmission(hub, hub_mapper, clock=clock)
        self._sync_members = MemberSync(
            members, self._applier, clock=clock, on_member_object=self._on_member_object,
            leading=leading,
        )  # fmt: skip
        self._finalizer = Finalizer(
            hub,
            members,
            self._sync_members,
            clock=clock,
            write_status=self._write_status,
            namespace_terminating=self._namespace_terminating,
            ready=lambda: {v.name for v in cluster_views(self._clusters.list()) if v.ready},
        )
        self._generation_seen: dict[str, tuple[int, float]] = {}
        self._written: dict[str, str] = {}
        """Placement key -> resourceVersion of our last status write."""
        self.queue: WorkQueue[str] = WorkQueue(clock=clock, name="propagation")

    @property
    def synced(self) -> bool:
        return self._placements.has_synced and self._clusters.has_synced

    async def run(self) -> None:
        self._applier.hub_id = await self._hub_id()
        self._placements.add_handler(lambda event: self.queue.add(event.key))
        self._overrides.add_handler(self._on_override)
        self._clusters.add_handler(lambda _event: self._enqueue_all())
        self._namespaces.add_handler(self._on_namespace)
        self._members.on_connected(lambda _cluster: self._enqueue_all())
        async with self.queue:
            for informer in (self._placements, self._overrides, self._clusters, self._namespaces):
                await informer.wait_synced()
            controller = Controller(
                "propagation", self.queue, self._reconcile, metrics=self._metrics,
                workers=self._workers,
            )  # fmt: skip
            await controller.run()

    async def _hub_id(self) -> str:
        """This hub's id, for the ``flotilla.io/hub`` label (``flotilla hub install`` made it)."""
        namespace = await self._hub.get(resource_path("v1", "namespaces", name=SYSTEM_NAMESPACE))
        identity = hub_identity(namespace)
        if not identity:
            raise KubeError(f"namespace {SYSTEM_NAMESPACE} on the hub has no uid")
        return identity

    # -- handlers (no I/O) ------------------------------------------------------------------

    def _enqueue_all(self, namespace: str | None = None) -> None:
        for key in self._placements.keys():  # noqa: SIM118 - Informer.keys, not a dict
            if namespace is None or key.startswith(f"{namespace}/"):
                self.queue.add(key)

    def _on_override(self, event: Event) -> None:
        self._enqueue_all(event.key.split("/", 1)[0])

    def _on_namespace(self, event: Event) -> None:
        self._enqueue_all(str((event.object.get("metadata") or {}).get("name") or ""))

    def _on_template(self, event: Event) -> None:
        """Enqueue the Placements of the template's namespace that select its kind."""
        namespace = (event.object.get("metadata") or {}).get("namespace")
        for key in self._placements.keys():  # noqa: SIM118 - Informer.keys, not a dict
            if namespace and not key.startswith(f"{namespace}/"):
                continue
            if selects_kind(self._placements.get(key) or {}, event.object):
                self.queue.add(key)

    def _on_member_object(self, event: Event) -> None:
        owner = label_of(event.object, PLACEMENT_LABEL)
        if "." not in owner:
            return
        namespace, name = owner.split(".", 1)
        key = f"{namespace}/{name}"
        path = self._sync_members.path_of(event.cluster, event.object)
        record = self._applier.record(event.cluster, path) if path else None
        if event.type == "DELETED" and path:  # what we applied is gone: apply it again
            self._applier.forget(event.cluster, path)
        if event.type == "MODIFIED" and record and status_only(record, event.object):
            # A workload's status moves in bursts (a rollout, pods starting): report it
            # once the burst settles instead of once per step.
            self.queue.add_after(key, STATUS_SETTLE)
        else:
            self.queue.add(key)

    def _namespace_terminating(self, namespace: str) -> bool:
        """Whether the hub namespace is being deleted (or is not there: unsure, so yes)."""
        item = self._namespaces.get(namespace)
        return item is None or bool((item.get("metadata") or {}).get("deletionTimestamp"))

    # -- reconcile --------------------------------------------------------------------------

    async def _reconcile(self, key: str) -> Result:
        placement = self._placements.get(key)
        if placement is None:
            self._written.pop(key, None)
            return Result()
        if older(placement, self._written.get(key)):
            # The cache has not shown our last status write yet: the deletion guard's
            # memory lives there, so a pass on the older status could prune past it.
            return Result(requeue_after=STALE_RETRY)
        if not self._leading():  # deposed: another leader may be writing already
            return Result(requeue_after=1.0)
        if placement["metadata"].get("deletionTimestamp"):
            return await self._finalizer.finalize(placement)
        if FINALIZER not in (placement["metadata"].get("finalizers") or []):
            placement = await self._finalizer.add(placement)
        status = status_of(placement)
        generation = int(placement["metadata"].get("generation") or 0)
        self._note_generation(key, generation)
        now = self._clock.now()
        try:
            spec = PlacementSpec.model_validate(placement.get("spec") or {})
        except ValidationError as exc:
            problem = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3]
            )
            placement_condition(
                status, "Scheduled", "False", reason="InvalidSpec", message=problem, now=now
            )
            await self._write_status(placement, status, generation)
            return Result()

        return await self._sync(placement, spec, status, now=now, generation=generation)

    async def _sync(
        self,
        placement: dict[str, Any],
        spec: PlacementSpec,
        status: PlacementStatus,
        *,
        now: datetime.datetime,
        generation: int,
    ) -> Result:
        """One pass over a valid Placement: plan, apply and prune on members, status."""
        namespace, name = placement["metadata"]["namespace"], placement["metadata"]["name"]
        key = f"{namespace}/{name}"
        templates, problems = await self._selection.select(namespace, spec)
        views = cluster_views(self._clusters.list())
        previous = {d.cluster: d.replicas for d in status.decisions}
        overrides = self._overrides.list()
        problems += invalid_overrides(namespace, overrides)
        # Rendering can be large (patches, big templates): off the event loop. ``plan`` is
        # pure and the informers' objects are replaced, never changed in place.
        planned = await asyncio.to_thread(
            plan,
            spec,
            templates,
            views,
            placement=(namespace, name),
            rules=override_rules(spec, namespace, overrides),
            previous=previous,
            now=now,
            tenancy=self._tenancy,
        )
        desired, refused, admission_retry = await self._admission.admitted(planned.desired)
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
        placement_condition(
            status, "Scheduled", "True" if result.scheduled else "False",
            reason=result.reason, message=result.message, now=now,
        )  # fmt: skip
        if result.failed_over:
            status.last_failover_time = now
        render_errors = [
            resource_status(f.cluster, f.template, error=f.error) for f in planned.failures
        ] + refused
        kinds = sorted(
            set(status.managed_kinds)
            | {f"{m['apiVersion']}/{m['kind']}" for ms in desired.values() for m in ms}
        )
        status.managed_kinds = kinds
        this = self._pass(
            placement, spec, status, planned=planned, problems=problems, now=now,
            admitted=not refused, views=views,
        )  # fmt: skip
        if not self._leading():
            return Result(requeue_after=1.0)
        ready = {view.name for view in views if view.ready}
        # Every connected member, not only chosen ones: after a restart, copies on clusters
        # no longer chosen are found and pruned too.
        clusters = sorted(set(desired) | set(self._members.connected()))
        synced = await asyncio.gather(
            *(
                self._sync_members.sync(this, cluster, desired.get(cluster), cluster in ready)
                for cluster in clusters
            )
        )
        outcomes = dict(zip(clusters, synced, strict=True))
        regarding = _regarding(placement)
        for message in (m for outcome in outcomes.values() for m in outcome.drifts):
            await self._events.record(
                regarding, reason="DriftCorrected", note=message, type_="Warning"
            )
        remember_guard(status, this, outcomes)
        drift = self._drift.last(this.owner)
        fill_status(
            status,
            outcomes=outcomes,
            render_errors=render_errors,
            problems=problems,
            desired=desired,
            drift_counts={c: self._drift.count(c, this.owner) for c in outcomes},
            drift=drift[1] if drift else "",
            pruned=this.may_prune,
            now=now,
        )
        self._observe(
            key, status=status, failed_over=result.failed_over, outcomes=outcomes,
            desired=desired, views=views, now=now,
        )  # fmt: skip
        await self._write_status(placement, status, generation)

        delay = min(RESYNC_SECONDS, _failover_due(spec, views, now) or RESYNC_SECONDS)
        if drift:
            delay = min(delay, DRIFT_WINDOW - (self._clock.monotonic() - drift[0]) + 0.5)
        waits = [o.wait for o in outcomes.values() if o.wait is not None]
        if problems:  # a kind not served yet (a CRD being installed) is asked for again soon
            waits.append(SELECTION_RETRY)
        if admission_retry:
            waits.append(ADMISSION_RETRY)
        if waits:
            delay = min(delay, min(waits) + 0.1)
        if any(outcome.trusted for outcome in outcomes.values()):
            delay = min(delay, CACHE_LAG + 0.1)
        return Result(requeue_after=delay)

    def _pass(
        self,
        placement: dict[str, Any],
        spec: PlacementSpec,
        status: PlacementStatus,
        *,
        planned: Plan,
        problems: list[str],
        now: datetime.datetime,
        admitted: bool,
        views: list[ClusterView],
    ) -> Pass:
        """The prune rules of this pass (see ``Pass``)."""
        meta = placement["metadata"]
        annotation = str((meta.get("annotations") or {}).get(CONFIRM_PRUNE_ANNOTATION) or "")
        confirmed = pruning.confirmation_valid(
            annotation,
            blocked_since=condition_since(status, "PruneBlocked"),
            used=status.prune_confirmation_used,
            now=now,
        )
        failed_over = set(planned.schedule.failed_over)
        evacuated = (set(status.evacuated) | failed_over) - set(planned.desired)
        return Pass(
            meta["namespace"],
            meta["name"],
            tuple(status.managed_kinds),
            now,
            # A template that failed to render is still wanted: its live copy stays.
            # What the hub's admission refused is still wanted: its live copies stay.
            may_prune=not problems
            and admitted
            and planned.may_prune
            and not self._namespace_terminating(meta["namespace"]),
            guard_percent=spec.deletion_guard.max_delete_percent,
            grace_seconds=spec.deletion_guard.grace_period_seconds,
            confirmation=annotation if confirmed else "",
            evacuated=frozenset(evacuated),
            settling=settling(evacuated, views, now, spec.failover.toleration_seconds),
            # Records of clusters no longer registered go: nothing there to guard.
            records={
                r.cluster: r for r in status.prune_guard if r.cluster in {v.name for v in views}
            },
        )

    def _observe(
        self,
        key: str,
        *,
        status: PlacementStatus,
        failed_over: Iterable[str],
        outcomes: dict[str, Outcome],
        desired: dict[str, list[dict[str, Any]]],
        views: list[Any],
        now: datetime.datetime,
    ) -> None:
        """Propagation and failover latency metrics."""
        seen = self._generation_seen.get(key)
        if applied_true(status) and seen and status.observed_generation != seen[0]:
            self._metrics.propagation_seconds.observe(self._clock.monotonic() - seen[1])
        failed_over = list(failed_over)
        if failed_over and all(not o.stranded for c, o in outcomes.items() if c in desired):
            for cluster in failed_over:
                since = next((v.not_ready_since for v in views if v.name == cluster), None)
                if since:
                    self._metrics.failover_seconds.observe((now - since).total_seconds())

    # -- status -----------------------------------------------------------------------------

    def _note_generation(self, key: str, generation: int) -> None:
        seen = self._generation_seen.get(key)
        if seen is None or seen[0] != generation:
            self._generation_seen[key] = (generation, self._clock.monotonic())

    async def _write_status(
        self, placement: dict[str, Any], status: PlacementStatus, generation: int
    ) -> None:
        """Write status if it changed, only over the version this pass read (a stale pass
        gets a 409 and runs again, instead of overwriting the guard's memory)."""
        status.observed_generation = generation
        for condition in status.conditions:  # every condition is decided again each pass
            condition.observed_generation = generation
        new = status.to_wire()
        if new == (placement.get("status") or {}) or not self._leading():
            return
        meta = placement["metadata"]
        key = f"{meta['namespace']}/{meta['name']}"
        path = f"{placement_path(meta)}/status"
        version = meta.get("resourceVersion")
        # Twice at most: a 409 because someone changed the Placement's metadata or spec
        # (not its status) since this pass read it must not lose what the pass did (its
        # prunes count toward the guard); the status we started from is still there, so
        # ours goes over it.
        for _ in range(2):
            body = {"metadata": {"resourceVersion": version}, "status": new}
            try:
                written = await self._hub.request(
                    "PATCH", path, body=body, content_type="application/merge-patch+json"
                )
            except NotFound:
                return
            except Conflict:
                try:
                    current = await self._hub.get(placement_path(meta))
                except KubeError:
                    current = None
                if not current or (current.get("status") or {}) != (placement.get("status") or {}):
                    self.queue.add_after(key, STALE_RETRY)  # another writer: judge again
                    return
                version = (current.get("metadata") or {}).get("resourceVersion")
                continue
            self._written[key] = str(
                ((written or {}).get("metadata") or {}).get("resourceVersion") or ""
            )
            return


def _regarding(placement: dict[str, Any]) -> Regarding:
    meta = placement["metadata"]
    return Regarding(
        API_VERSION, PLACEMENT.kind, meta["namespace"], meta["name"], str(meta.get("uid") or "")
    )


def _failover_due(spec: PlacementSpec, views: list[Any], now: datetime.datetime) -> float | None:
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


__all__ = ["MEMBER_DEADLINE", "PropagationController"]
