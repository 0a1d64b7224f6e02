"""One pass of a Placement on one member: apply what is wanted there, prune what is not.

``Pass`` is what a reconcile decided, the same for every member; ``MemberSync`` does it on
one member within ``MEMBER_DEADLINE``: a member that hangs mid-apply costs the pass that
long at most and its objects report why, while the other members go on. Member objects
are read from the member's informers of managed objects (``flotilla.io/managed-by`` and
this hub's ``flotilla.io/hub``), resolved with the member's own REST mapping.

``settling`` and ``remember_guard`` are the two pure rules around a pass's prunes: which
evacuated members must wait before they are emptied, and what the deletion guard keeps in
status afterwards.
"""

from __future__ import annotations

import asyncio
import datetime
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flotilla.api.labels import HUB_LABEL, MANAGED_SELECTOR, PLACEMENT_LABEL, label_of
from flotilla.api.placement import PlacementStatus, PruneRecord
from flotilla.clusters.connections import MemberConnections
from flotilla.kube import KubeError, UnknownKind, resource_path
from flotilla.placement import ClusterView
from flotilla.propagation import pruning
from flotilla.propagation.applier import APPLY_CONCURRENCY, Applier, Member, Target, batches
from flotilla.propagation.selection import SYNC_TIMEOUT
from flotilla.propagation.status import Outcome, resource_status
from flotilla.runtime.clock import Clock
from flotilla.runtime.informer import Handler, Informer

MEMBER_DEADLINE = 20.0
"""How long one member's part of a pass may take."""


@dataclass(frozen=True)
class Pass:
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
    """Clusters failover moved this Placement's work off: pruned there without the guard,
    once they have been back long enough (not ``settling``)."""
    settling: dict[str, float] = field(default_factory=dict)
    """Evacuated clusters not yet back for tolerationSeconds -> seconds left: not pruned."""
    records: dict[str, PruneRecord] = field(default_factory=dict)
    owner_label: str = PLACEMENT_LABEL
    """The label naming the owner on member objects (a GitOps Application has its own)."""
    scope: frozenset[str] | None = None
    """The member namespaces ("" for cluster-scoped) whose objects of this owner may be
    pruned; None: the owner's own namespace (a Placement's)."""
    ensure: str | None = None
    """The member namespace made sure of before writing (``Applier.ensure_namespace``);
    None: the owner's own namespace, "": none."""
    confirm_command: str = "flotilla placement confirm-prune"
    keep: Callable[[dict[str, Any]], bool] | None = None
    """Live objects this says to keep are never pruned by this pass (Argo CD's per-object
    ``Prune=false`` and ``Delete=false``); None: none kept."""

    @property
    def owner(self) -> str:
        """The value of the owner label on what this owner put on members."""
        return f"{self.namespace}.{self.name}"

    @property
    def prunable_namespaces(self) -> frozenset[str]:
        return frozenset({self.namespace}) if self.scope is None else self.scope

    @property
    def namespace_to_ensure(self) -> str:
        return self.namespace if self.ensure is None else self.ensure

    @property
    def confirmed(self) -> bool:
        return bool(self.confirmation)

    def guarded(self, cluster: str) -> bool:
        return not self.unguarded and cluster not in self.evacuated


class MemberSync:
    def __init__(
        self,
        members: MemberConnections,
        applier: Applier,
        *,
        clock: Clock,
        on_member_object: Handler,
        leading: Callable[[], bool] = lambda: True,
    ) -> None:
        self._members = members
        self._leading = leading
        """Checked before every batch of writes: a deposed leader stops mid-pass."""
        self._applier = applier
        self._clock = clock
        self._on_member_object = on_member_object
        self._deleter = pruning.Deleter(forget=applier.forget)
        self._member_informers: set[tuple[str, str]] = set()
        self._handled: weakref.WeakSet[Informer] = weakref.WeakSet()

    @property
    def _selector(self) -> str:
        return f"{MANAGED_SELECTOR},{HUB_LABEL}={self._applier.hub_id}"

    def seen(self) -> set[str]:
        """Members on which objects of some Placement were looked for (or left)."""
        return {cluster for cluster, _ in self._member_informers}

    def member(self, cluster: str) -> Member | None:
        client, mapper = self._members.client(cluster), self._members.mapper(cluster)
        if client is None or mapper is None:
            return None
        return Member(cluster, client, mapper)

    def path_of(self, cluster: str, item: dict[str, Any]) -> str | None:
        """The path of a member object, from the member's cached mapping (no I/O); None
        when the mapping does not know its kind yet."""
        mapper = self._members.mapper(cluster)
        api_version, kind = item.get("apiVersion", ""), item.get("kind", "")
        plural = mapper.cached_plural(api_version, kind) if mapper else None
        meta = item.get("metadata") or {}
        if not plural or not meta.get("name"):
            return None
        return resource_path(
            api_version, plural, namespace=meta.get("namespace"), name=meta["name"]
        )

    async def informer(self, member: Member, api_version: str, kind: str) -> Informer | None:
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

    async def sync(
        self,
        this: Pass,
        cluster: str,
        manifests: list[dict[str, Any]] | None,
        reachable: bool,
    ) -> Outcome:
        """Apply ``manifests`` (None: the cluster is not chosen) and prune, on one member."""
        outcome = Outcome()
        member = self.member(cluster)
        if member is None or not reachable:
            outcome.stranded = manifests is not None or self.cached_objects(
                cluster, this.owner, this.kinds, owner_label=this.owner_label
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
        this: Pass,
        member: Member,
        manifests: list[dict[str, Any]] | None,
    ) -> None:
        if manifests and this.namespace_to_ensure:
            refusal = await self._applier.ensure_namespace(member.client, this.namespace_to_ensure)
            if refusal:  # someone else's namespace: write nothing, prune nothing
                outcome.resources += [
                    resource_status(member.name, m, error=refusal) for m in manifests
                ]
                return
        semaphore = asyncio.Semaphore(APPLY_CONCURRENCY)
        for batch in batches(manifests or []):
            targets: list[Target] = []
            for manifest in batch:
                informer = await self.informer(member, manifest["apiVersion"], manifest["kind"])
                target = await self._applier.target(member, manifest, informer)
                if isinstance(target, str):
                    outcome.resources.append(resource_status(member.name, manifest, error=target))
                else:
                    targets.append(target)
            outcome.trusted = outcome.trusted or any(
                self._applier.trusted(member.name, t) for t in targets
            )
            if not self._leading():
                return
            for status, drift, wait in await self._applier.apply_batch(member, targets, semaphore):
                outcome.resources.append(status)
                if drift:
                    outcome.drifts.append(drift)
                if wait:
                    outcome.wait = min(outcome.wait or wait, wait)
        if this.may_prune:
            await self.prune(outcome, this, member, manifests)

    def cached_objects(
        self,
        cluster: str,
        owner: str,
        kinds: Iterable[str],
        *,
        owner_label: str = PLACEMENT_LABEL,
    ) -> bool:
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
            if owned_by(informer, owner, label=owner_label):
                return True
        return False

    async def prune(
        self,
        outcome: Outcome,
        this: Pass,
        member: Member,
        manifests: list[dict[str, Any]] | None,
    ) -> bool:
        """Delete what ``pruning.decide`` allows; True when nothing unwanted is left."""
        if member.name in this.settling:
            wait = this.settling[member.name]
            outcome.wait = min(outcome.wait or wait, wait)
            return False
        managed: list[dict[str, Any]] = []
        for kind_key in this.kinds:
            api_version, _, kind = kind_key.rpartition("/")
            try:
                await member.mapper.resource_for(api_version, kind)
            except UnknownKind:
                continue  # the member does not serve the kind: nothing of it can be there
            except (KubeError, ValueError):
                return False  # cannot see everything: prune nothing this pass
            informer = await self.informer(member, api_version, kind)
            if informer is None:
                return False  # cannot see everything: prune nothing this pass
            managed += owned_by(informer, this.owner, label=this.owner_label)
        wanted = [pruning.object_key(m) for m in manifests or []]
        if this.keep is not None:  # kept objects count as wanted: in the guard's share too
            wanted += [pruning.object_key(item) for item in managed if this.keep(item)]
        decision = pruning.decide(
            cluster=member.name,
            namespaces=this.prunable_namespaces,
            managed=managed,
            wanted=wanted,
            record=this.records.get(member.name),
            now=this.now,
            grace_seconds=this.grace_seconds,
            guard_percent=this.guard_percent,
            guarded=this.guarded(member.name),
            confirmed=this.confirmed,
        )
        outcome.record = decision.record
        outcome.confirmation_spent = decision.confirmed
        if decision.wait is not None:
            outcome.wait = min(outcome.wait or decision.wait, decision.wait)
        if decision.blocked:
            outcome.prune_blocked = (
                f"{decision.blocked}; check the templates, then run "
                f"`{this.confirm_command} {this.name} -n {this.namespace}`"
            )
            return False
        if decision.wait is not None:
            return False
        if not self._leading():
            return False
        complete = await self._deleter.delete_all(
            member.client, member.mapper, member.name, decision.delete
        )
        outcome.pruned_all = complete
        return complete


def owned_by(
    informer: Informer, owner: str, *, label: str = PLACEMENT_LABEL
) -> list[dict[str, Any]]:
    """The objects of a member informer that carry ``owner`` in the owner label ``label``."""
    informer.add_index(label, _values_of(label))  # once per informer and label
    return informer.by_index(label, owner)


def _values_of(label: str) -> Callable[[dict[str, Any]], list[str]]:
    def values(item: dict[str, Any]) -> list[str]:
        owner = label_of(item, label)
        return [owner] if owner else []

    return values


def remember_guard(status: PlacementStatus, this: Pass, outcomes: dict[str, Outcome]) -> None:
    """The deletion guard's memory after a pass, into status (a new leader reads it there).

    A member held before and not judged again this pass (unreachable, settling, past its
    deadline) is still held: its PruneBlocked message stays, as does its confirmation.
    """
    records = dict(this.records)
    records.update({c: o.record for c, o in outcomes.items() if o.record is not None})
    for cluster, record in records.items():  # held, and not judged again this pass
        judged = cluster in outcomes and outcomes[cluster].record is not None
        if record.blocked_digest and not judged and this.may_prune:
            outcome = outcomes.setdefault(cluster, Outcome())
            outcome.prune_blocked = outcome.prune_blocked or (
                f"{cluster}: the deletion guard still holds what it held (not looked at "
                f"again this pass); `{this.confirm_command} {this.name} -n "
                f"{this.namespace}` lets it go"
            )
    status.prune_guard = [records[c] for c in sorted(records) if not pruning.idle(records[c])]
    status.evacuated = sorted(
        c for c in this.evacuated if not (c in outcomes and outcomes[c].pruned_all)
    )
    if this.confirmation and any(o.confirmation_spent for o in outcomes.values()):
        status.prune_confirmation_used = this.confirmation  # it let something go: spent


def settling(
    evacuated: set[str], views: list[ClusterView], now: datetime.datetime, toleration: float
) -> dict[str, float]:
    """Evacuated clusters not yet back for ``toleration`` seconds, and how long until they
    are. A cluster that was only briefly lost is not emptied the moment it answers: until it
    has been Ready that long, the scheduler may still choose it again."""
    ready_since = {view.name: view.ready_since if view.ready else None for view in views}
    waits = {}
    for cluster in evacuated:
        since = ready_since.get(cluster)
        left = toleration - ((now - since).total_seconds() if since else 0.0)
        if cluster in ready_since and since is None and _ready(views, cluster):
            continue  # Ready, with no time to count from: settled, as the scheduler says
        if since is None or left > 0:
            waits[cluster] = max(left, 1.0)
    return waits


def _ready(views: list[ClusterView], cluster: str) -> bool:
    return any(view.name == cluster and view.ready for view in views)


__all__ = ["MEMBER_DEADLINE", "MemberSync", "Pass", "owned_by", "remember_guard", "settling"]
