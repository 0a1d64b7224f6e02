"""The propagation controller: Placements made real on members, and kept so.

Reconcile (per Placement, level-based, from caches) orchestrates the concepts of this
package:

1. select the templates (``selection``: hub informers per selected kind);
2. plan (``planning``: schedule and render with overrides, pure);
3. apply on every connected member (``applier``: ownership, server-side apply, the applied
   cache; ``drift``: who changed our fields, and backing off from fights);
4. prune what is no longer wanted (``pruning``: a pure guard decision, then the deleter),
   never on an unreachable member (the objects wait, "stranded"), never while the hub
   namespace is being deleted, never beyond the deletion guard without a confirmation;
5. write status (``status``: pure), only when it changed.

Member objects are watched with the ``flotilla.io/managed-by=flotilla`` and this hub's
``flotilla.io/hub`` selector; any change to one enqueues its Placement, so drift is reverted
within a watch round trip. A finalizer lets a deleted Placement remove its objects from
every connected member (``spec.deletionPolicy: Orphan`` keeps them).

Each member's part of a pass has a deadline (``MEMBER_DEADLINE``): a member that hangs
mid-apply costs the pass that long at most, and its objects report why. Bad input never
crashes the controller or touches other Placements: each problem is a condition or a
per-resource error on the Placement it belongs to.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from flotilla.api import API_VERSION, CLUSTER, PLACEMENT, SYSTEM_NAMESPACE, set_condition
from flotilla.api.kinds import OVERRIDE
from flotilla.api.labels import (
    CONFIRM_PRUNE_ANNOTATION,
    FINALIZER,
    HUB_CLUSTER,
    HUB_LABEL,
    MANAGED_SELECTOR,
    PLACEMENT_LABEL,
    hub_identity,
    label_of,
)
from flotilla.api.placement import (
    Decision,
    PlacementSpec,
    PlacementStatus,
    PruneRecord,
    ResourceStatus,
)
from flotilla.clusters.connections import MemberConnections
from flotilla.kube import (
    Conflict,
    Invalid,
    KubeClient,
    KubeError,
    NotFound,
    RestMapper,
    resource_path,
)
from flotilla.propagation import pruning
from flotilla.propagation.admission import HubAdmission
from flotilla.propagation.applier import (
    APPLY_CONCURRENCY,
    CACHE_LAG,
    Applier,
    Member,
    Target,
    batches,
    digest,
    status_only,
)
from flotilla.propagation.drift import DRIFT_WINDOW, DriftRecorder
from flotilla.propagation.planning import (
    Plan,
    cluster_views,
    invalid_overrides,
    override_rules,
    plan,
)
from flotilla.propagation.selection import SYNC_TIMEOUT, TemplateSelection, selects_kind
from flotilla.propagation.status import (
    Outcome,
    applied_true,
    condition_since,
    fill_status,
    resource_status,
)
from flotilla.propagation.tenancy import DEFAULT_TENANCY, TenancyPolicy
from flotilla.runtime.clock import Clock
from flotilla.runtime.controller import Controller, Result
from flotilla.runtime.events import EventRecorder, Regarding
from flotilla.runtime.informer import Informer, SharedInformers
from flotilla.runtime.metrics import Metrics
from flotilla.runtime.queue import WorkQueue
from flotilla.runtime.reflector import Event

logger = logging.getLogger(__name__)

RESYNC_SECONDS = 30.0
FINALIZE_PATIENCE = 120.0
"""How long a deleted Placement waits for unreachable members before letting go."""
MEMBER_DEADLINE = 20.0
"""How long one member's part of a pass may take."""
STATUS_SETTLE = 0.5
"""How long a change to a member object's status alone waits before it is reported."""
HELD_RECHECK = 30.0
ADMISSION_CONCURRENCY = 8
"""Dry-run requests to the hub in flight at once, per pass."""
PLACEMENT_INDEX = "placement"


@dataclass(frozen=True)
class _Pass:
    """What one reconcile of a Placement decided, the same for every member it syncs.

    A pass that could not see every template, or runs while the hub namespace is being
    deleted, prunes nothing; the deletion guard holds on every member but those failover
    evacuated, unless the pass is confirmed or the Placement is being deleted on purpose.
    """

    namespace: str
    name: str
    kinds: tuple[str, ...]
    now: datetime.datetime
    may_prune: bool = True
    guard_percent: int = 100
    grace_seconds: float = 0.0
    unguarded: bool = False
    confirmation: str = ""
    """The confirm-prune annotation this pass uses ("" when none)."""
    evacuated: frozenset[str] = frozenset()
    records: dict[str, PruneRecord] = field(default_factory=dict)

    @property
    def owner(self) -> str:
        """The value of the placement label on what this Placement put on members."""
        return f"{self.namespace}.{self.name}"

    def guarded(self, cluster: str) -> bool:
        return not self.unguarded and cluster not in self.evacuated


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
        self._deleter = pruning.Deleter(forget=self._applier.forget)
        self._events = EventRecorder(hub, clock=clock, controller="flotilla.io/propagation")
        self._admission = HubAdmission(hub, hub_mapper, clock=clock)
        self._member_informers: set[tuple[str, str]] = set()
        self._handled: weakref.WeakSet[Informer] = weakref.WeakSet()
        self._generation_seen: dict[str, tuple[int, float]] = {}
        self.queue: WorkQueue[str] = WorkQueue(clock=clock, name="propagation")

    @property
    def synced(self) -> bool:
        return self._placements.has_synced and self._clusters.has_synced

    @property
    def _selector(self) -> str:
        return f"{MANAGED_SELECTOR},{HUB_LABEL}={self._applier.hub_id}"

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
        path = self._member_path(event.cluster, event.object)
        record = self._applier.record(event.cluster, path) if path else None
        if event.type == "DELETED" and path:  # what we applied is gone: apply it again
            self._applier.forget(event.cluster, path)
        if event.type == "MODIFIED" and record and status_only(record, event.object):
            # A workload's status moves in bursts (a rollout, pods starting): report it
            # once the burst settles instead of once per step.
            self.queue.add_after(key, STATUS_SETTLE)
        else:
            self.queue.add(key)

    def _member_path(self, cluster: str, item: dict[str, Any]) -> str | None:
        mapper = self._members.mapper(cluster)
        api_version, kind = item.get("apiVersion", ""), item.get("kind", "")
        plural = mapper.cached_plural(api_version, kind) if mapper else None
        meta = item.get("metadata") or {}
        if not plural or not meta.get("name"):
            return None
        return resource_path(
            api_version, plural, namespace=meta.get("namespace"), name=meta["name"]
        )

    def _namespace_terminating(self, namespace: str) -> bool:
        """Whether the hub namespace is being deleted (or is not there: unsure, so yes)."""
        item = self._namespaces.get(namespace)
        return item is None or bool((item.get("metadata") or {}).get("deletionTimestamp"))

    # -- reconcile --------------------------------------------------------------------------

    async def _reconcile(self, key: str) -> Result:
        placement = self._placements.get(key)
        if placement is None:
            return Result()
        if not self._leading():  # deposed: another leader may be writing already
            return Result(requeue_after=1.0)
        if placement["metadata"].get("deletionTimestamp"):
            return await self._finalize(placement)
        if FINALIZER not in (placement["metadata"].get("finalizers") or []):
            await self._add_finalizer(placement)
        status = _status_of(placement)
        generation = int(placement["metadata"].get("generation") or 0)
        self._note_generation(key, generation)
        now = self._clock.now()
        try:
            spec = PlacementSpec.model_validate(placement.get("spec") or {})
        except ValidationError as exc:
            problem = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3]
            )
            _condition(status, "Scheduled", "False", reason="InvalidSpec", message=problem, now=now)
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
        desired, refused = await self._admitted(planned.desired)
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
        _condition(
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
            admitted=not refused,
        )  # fmt: skip
        if not self._leading():
            return Result(requeue_after=1.0)
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
        regarding = _regarding(placement)
        for message in (m for outcome in outcomes.values() for m in outcome.drifts):
            await self._events.record(
                regarding, reason="DriftCorrected", note=message, type_="Warning"
            )
        records = dict(this.records)
        records.update({c: o.record for c, o in outcomes.items() if o.record is not None})
        status.prune_guard = [records[c] for c in sorted(records) if not pruning.idle(records[c])]
        status.evacuated = sorted(
            c for c in this.evacuated if not (c in outcomes and outcomes[c].pruned_all)
        )
        if this.confirmation:
            status.prune_confirmation_used = this.confirmation
        drift = self._drift.last(this.owner)
        fill_status(
            status,
            outcomes=outcomes,
            render_errors=render_errors,
            problems=problems,
            desired=desired,
            drift_counts={c: self._drift.count(c, this.owner) for c in outcomes},
            drift=drift[1] if drift else "",
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
    ) -> _Pass:
        """The prune rules of this pass (see ``_Pass``)."""
        meta = placement["metadata"]
        annotation = str((meta.get("annotations") or {}).get(CONFIRM_PRUNE_ANNOTATION) or "")
        confirmed = pruning.confirmation_valid(
            annotation,
            blocked_since=condition_since(status, "PruneBlocked"),
            used=status.prune_confirmation_used,
            now=now,
        )
        failed_over = set(planned.schedule.failed_over)
        return _Pass(
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
            unguarded=confirmed,
            confirmation=annotation if confirmed else "",
            evacuated=frozenset((set(status.evacuated) | failed_over) - set(planned.desired)),
            records={record.cluster: record for record in status.prune_guard},
        )

    async def _admitted(
        self, desired: dict[str, list[dict[str, Any]]]
    ) -> tuple[dict[str, list[dict[str, Any]]], list[ResourceStatus]]:
        """``desired`` without what the hub's admission refuses, and those refusals."""
        unique = {digest(m): m for manifests in desired.values() for m in manifests}
        semaphore = asyncio.Semaphore(ADMISSION_CONCURRENCY)

        async def ask(manifest: dict[str, Any]) -> str:
            async with semaphore:
                return await self._admission.refusal(manifest)

        answers = dict(
            zip(unique, await asyncio.gather(*(ask(m) for m in unique.values())), strict=True)
        )
        admitted: dict[str, list[dict[str, Any]]] = {}
        refused: list[ResourceStatus] = []
        for cluster, manifests in desired.items():
            admitted[cluster] = []
            for manifest in manifests:
                if answer := answers[digest(manifest)]:
                    refused.append(resource_status(cluster, manifest, error=answer))
                else:
                    admitted[cluster].append(manifest)
        return admitted, refused

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

    # -- members ----------------------------------------------------------------------------

    def _member(self, cluster: str) -> Member | None:
        client, mapper = self._members.client(cluster), self._members.mapper(cluster)
        if client is None or mapper is None:
            return None
        return Member(cluster, client, mapper)

    async def _member_informer(
        self, member: Member, api_version: str, kind: str
    ) -> Informer | None:
        try:
            info = await member.mapper.resource_for(api_version, kind)
        except KubeError:
            return None
        path = resource_path(api_version, info.plural)
        informer = self._members.informer(member.name, path, label_selector=self._selector)
        if informer is None:
            return None
        if informer not in self._handled:  # a reconnected member has new informers
            informer.add_handler(self._on_member_object)
            self._handled.add(informer)
        self._member_informers.add((member.name, f"{api_version}/{kind}"))
        try:
            async with self._clock.timeout(SYNC_TIMEOUT):
                await informer.wait_synced()
        except (TimeoutError, KubeError):  # not synced yet, or the kind went away there
            return None
        return informer

    async def _sync_cluster(
        self,
        this: _Pass,
        cluster: str,
        manifests: list[dict[str, Any]] | None,
        reachable: bool,
    ) -> Outcome:
        """Apply ``manifests`` (None: the cluster is not chosen) and prune, on one member."""
        outcome = Outcome()
        member = self._member(cluster)
        if member is None or not reachable:
            outcome.stranded = manifests is not None or self._cached_objects(
                cluster, this.owner, this.kinds
            )
            for manifest in manifests or []:
                outcome.resources.append(
                    resource_status(cluster, manifest, error="cluster is unreachable; waiting")
                )
            return outcome
        try:
            async with self._clock.timeout(MEMBER_DEADLINE):
                await self._sync_member(outcome, this, member, manifests)
        except TimeoutError:
            error = f"the member did not finish within {MEMBER_DEADLINE:.0f}s; trying again"
            done = {(r.kind, r.namespace, r.name) for r in outcome.resources}
            for manifest in manifests or []:
                meta = manifest["metadata"]
                if (manifest["kind"], meta.get("namespace") or "", meta["name"]) not in done:
                    outcome.resources.append(resource_status(cluster, manifest, error=error))
            outcome.wait = 1.0
        except KubeError as exc:  # this member failed; the others go on
            for manifest in manifests or []:
                outcome.resources.append(resource_status(cluster, manifest, error=str(exc)[:300]))
        return outcome

    async def _sync_member(
        self,
        outcome: Outcome,
        this: _Pass,
        member: Member,
        manifests: list[dict[str, Any]] | None,
    ) -> None:
        if manifests:
            refusal = await self._applier.ensure_namespace(member.client, this.namespace)
            if refusal:  # someone else's namespace: write nothing, prune nothing
                outcome.resources += [
                    resource_status(member.name, m, error=refusal) for m in manifests
                ]
                return
        semaphore = asyncio.Semaphore(APPLY_CONCURRENCY)
        for batch in batches(manifests or []):
            targets: list[Target] = []
            for manifest in batch:
                informer = await self._member_informer(
                    member, manifest["apiVersion"], manifest["kind"]
                )
                target = await self._applier.target(member, manifest, informer)
                if isinstance(target, str):
                    outcome.resources.append(resource_status(member.name, manifest, error=target))
                else:
                    targets.append(target)
            outcome.trusted = outcome.trusted or any(
                self._applier.trusted(member.name, t) for t in targets
            )
            for status, drift, wait in await self._applier.apply_batch(member, targets, semaphore):
                outcome.resources.append(status)
                if drift:
                    outcome.drifts.append(drift)
                if wait:
                    outcome.wait = min(outcome.wait or wait, wait)
        if this.may_prune:
            await self._prune(outcome, this, member, manifests)

    def _cached_objects(self, cluster: str, owner: str, kinds: Iterable[str]) -> bool:
        """Whether the last known state of an unreachable member holds objects of ``owner``."""
        mapper = self._members.mapper(cluster)
        for kind_key in kinds:
            api_version, _, kind = kind_key.rpartition("/")
            plural = mapper.cached_plural(api_version, kind) if mapper else None
            if plural is None:
                return True  # cannot tell: assume something waits there
            informer = self._members.informer(
                cluster, resource_path(api_version, plural), label_selector=self._selector
            )
            if informer is None or not informer.has_synced:
                return (cluster, kind_key) in self._member_informers
            if _owned_by(informer, owner):
                return True
        return False

    async def _prune(
        self,
        outcome: Outcome,
        this: _Pass,
        member: Member,
        manifests: list[dict[str, Any]] | None,
    ) -> bool:
        """Delete what ``pruning.decide`` allows; True when nothing unwanted is left."""
        managed: list[dict[str, Any]] = []
        for kind_key in this.kinds:
            api_version, _, kind = kind_key.rpartition("/")
            informer = await self._member_informer(member, api_version, kind)
            if informer is None:
                return False  # cannot see everything: prune nothing this pass
            managed += _owned_by(informer, this.owner)
        decision = pruning.decide(
            cluster=member.name,
            namespace=this.namespace,
            managed=managed,
            wanted=[pruning.object_key(m) for m in manifests or []],
            record=this.records.get(member.name),
            now=this.now,
            grace_seconds=this.grace_seconds,
            guard_percent=this.guard_percent,
            guarded=this.guarded(member.name),
        )
        outcome.record = decision.record
        if decision.wait is not None:
            outcome.wait = min(outcome.wait or decision.wait, decision.wait)
        if decision.blocked:
            outcome.prune_blocked = (
                f"{decision.blocked}; check the templates, then run "
                f"`flotilla placement confirm-prune {this.name} -n {this.namespace}`"
            )
            return False
        if decision.wait is not None:
            return False
        complete = await self._deleter.delete_all(
            member.client, member.mapper, member.name, decision.delete
        )
        outcome.pruned_all = complete
        return complete

    # -- deletion ---------------------------------------------------------------------------

    async def _add_finalizer(self, placement: dict[str, Any]) -> None:
        meta = placement["metadata"]
        finalizers = [*(meta.get("finalizers") or []), FINALIZER]
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
        with contextlib.suppress(Conflict, NotFound):  # changed meanwhile: the next pass sees it
            await self._hub.merge_patch(_placement_path(meta), patch)

    async def _finalize(self, placement: dict[str, Any]) -> Result:
        """Remove a deleted Placement's objects from members, then its finalizer.

        ``deletionPolicy: Orphan`` leaves the objects. A Placement deleted because its hub
        namespace is being deleted holds: its objects stay on the members and the
        Placement says so, until a person confirms (``confirm-prune``: delete them) or sets
        ``deletionPolicy: Orphan`` (keep them); the namespace finishes after that.
        """
        meta = placement["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        if FINALIZER not in (meta.get("finalizers") or []):
            return Result()
        status = _status_of(placement)
        if (placement.get("spec") or {}).get("deletionPolicy") == "Orphan":
            logger.info(
                "placement deleted; its objects stay", extra={"placement": f"{namespace}/{name}"}
            )
            return await self._remove_finalizer(placement)
        now = self._clock.now()
        if self._namespace_terminating(namespace):
            annotation = str((meta.get("annotations") or {}).get(CONFIRM_PRUNE_ANNOTATION) or "")
            if not pruning.confirmation_valid(
                annotation,
                blocked_since=condition_since(status, "PruneBlocked"),
                used=status.prune_confirmation_used,
                now=now,
            ):
                message = (
                    f"hub namespace {namespace} is being deleted: this Placement's objects stay "
                    f"on the members. To delete them run `flotilla placement confirm-prune "
                    f"{name} -n {namespace}`; to keep them set spec.deletionPolicy to Orphan"
                )
                _condition(
                    status, "PruneBlocked", "True", reason="NamespaceDeleting", message=message,
                    now=now,
                )  # fmt: skip
                await self._write_status(placement, status, status.observed_generation or 0)
                return Result(requeue_after=HELD_RECHECK)
        this = _Pass(namespace, name, tuple(sorted(set(status.managed_kinds))), now, unguarded=True)
        ready = {view.name for view in cluster_views(self._clusters.list()) if view.ready}
        pending = []
        clusters = set(self._members.connected()) | {c for c, _ in self._member_informers}
        for cluster in sorted(clusters):
            member = self._member(cluster)
            if member is None or cluster not in ready:
                if self._cached_objects(cluster, this.owner, this.kinds):
                    pending.append(cluster)
                continue
            if not await self._prune(Outcome(), this, member, None):
                pending.append(cluster)
        waited = now - (pruning.parse_time(str(meta.get("deletionTimestamp"))) or now)
        if pending and waited.total_seconds() < FINALIZE_PATIENCE:
            return Result(requeue_after=2.0)  # members still hold copies: try again
        if pending:
            logger.warning(
                "placement deleted while members were unreachable; their copies stay",
                extra={"placement": f"{namespace}/{name}", "clusters": ",".join(pending)},
            )
        return await self._remove_finalizer(placement)

    async def _remove_finalizer(self, placement: dict[str, Any]) -> Result:
        """Remove our finalizer and only ours: a JSON patch that tests it is still there."""
        finalizers = list(placement["metadata"].get("finalizers") or [])
        index = finalizers.index(FINALIZER)
        patch = [
            {"op": "test", "path": f"/metadata/finalizers/{index}", "value": FINALIZER},
            {"op": "remove", "path": f"/metadata/finalizers/{index}"},
        ]
        try:
            await self._hub.request(
                "PATCH", _placement_path(placement["metadata"]), body=patch,
                content_type="application/json-patch+json",
            )  # fmt: skip
        except NotFound:
            pass
        except (Invalid, Conflict):
            return Result(requeue_after=0.5)  # the list changed under us: look again
        return Result()

    # -- status -----------------------------------------------------------------------------

    def _note_generation(self, key: str, generation: int) -> None:
        seen = self._generation_seen.get(key)
        if seen is None or seen[0] != generation:
            self._generation_seen[key] = (generation, self._clock.monotonic())

    async def _write_status(
        self, placement: dict[str, Any], status: PlacementStatus, generation: int
    ) -> None:
        status.observed_generation = generation
        new = status.to_wire()
        if new == (placement.get("status") or {}) or not self._leading():
            return
        try:
            await self._hub.request(
                "PATCH", f"{_placement_path(placement['metadata'])}/status",
                body={"status": new}, content_type="application/merge-patch+json",
            )  # fmt: skip
        except NotFound:
            return


def _placement_path(meta: dict[str, Any]) -> str:
    return resource_path(
        API_VERSION, PLACEMENT.plural, namespace=meta["namespace"], name=meta["name"]
    )


def _regarding(placement: dict[str, Any]) -> Regarding:
    meta = placement["metadata"]
    return Regarding(
        API_VERSION, PLACEMENT.kind, meta["namespace"], meta["name"], str(meta.get("uid") or "")
    )


def _condition(
    status: PlacementStatus,
    type_: str,
    value: str,
    *,
    reason: str,
    message: str,
    now: datetime.datetime,
) -> None:
    set_condition(
        status.conditions,
        type=type_,
        status=value,  # type: ignore[arg-type]
        reason=reason,
        message=message[:500],
        now=now,
    )


def _status_of(placement: dict[str, Any]) -> PlacementStatus:
    try:
        return PlacementStatus.model_validate(placement.get("status") or {})
    except ValidationError:
        return PlacementStatus()


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


def _owned_by(informer: Informer, owner: str) -> list[dict[str, Any]]:
    """The objects of a member informer that carry ``owner``'s placement label."""
    informer.add_index(PLACEMENT_INDEX, _placement_values)  # once per informer
    return informer.by_index(PLACEMENT_INDEX, owner)


def _placement_values(item: dict[str, Any]) -> list[str]:
    owner = label_of(item, PLACEMENT_LABEL)
    return [owner] if owner else []


__all__ = ["PropagationController"]
