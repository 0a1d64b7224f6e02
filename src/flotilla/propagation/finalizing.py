"""Deleting a Placement: its objects removed from members (or kept), then its finalizer.

``deletionPolicy: Orphan`` leaves the objects. A Placement deleted because its hub
namespace is being deleted holds: its objects stay on the members and its status says so
(``PruneBlocked``, reason ``NamespaceDeleting``) until a person confirms
(``confirm-prune``: delete them) or sets ``deletionPolicy: Orphan`` (keep them); the
namespace finishes after that. Otherwise every reachable member's copies are pruned
without the guard (the delete was deliberate); copies on unreachable members are waited
for ``FINALIZE_PATIENCE``, then left. Only our finalizer is removed: a JSON patch whose
``test`` op checks it is still where we saw it, so other controllers' finalizers stay.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from flotilla.api.labels import CONFIRM_PRUNE_ANNOTATION, FINALIZER
from flotilla.api.placement import PlacementStatus
from flotilla.clusters.connections import MemberConnections
from flotilla.kube import Conflict, Invalid, KubeClient, NotFound
from flotilla.propagation import pruning
from flotilla.propagation.status import (
    Outcome,
    condition_since,
    placement_condition,
    placement_path,
    status_of,
)
from flotilla.propagation.syncing import MemberSync, Pass
from flotilla.runtime.clock import Clock
from flotilla.runtime.controller import Result

logger = logging.getLogger(__name__)

FINALIZE_PATIENCE = 120.0
"""How long a deleted Placement waits for unreachable members before letting go."""
HELD_RECHECK = 30.0

WriteStatus = Callable[[dict[str, Any], PlacementStatus, int], Awaitable[None]]


class Finalizer:
    def __init__(
        self,
        hub: KubeClient,
        members: MemberConnections,
        sync: MemberSync,
        *,
        clock: Clock,
        write_status: WriteStatus,
        namespace_terminating: Callable[[str], bool],
        ready: Callable[[], set[str]],
    ) -> None:
        self._hub = hub
        self._members = members
        self._sync_members = sync
        self._clock = clock
        self._write_status = write_status
        self._namespace_terminating = namespace_terminating
        self._ready = ready

    async def add(self, placement: dict[str, Any]) -> dict[str, Any]:
        """Add our finalizer; the Placement as it is now (the pass goes on with it)."""
        meta = placement["metadata"]
        finalizers = [*(meta.get("finalizers") or []), FINALIZER]
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
        try:
            updated = await self._hub.merge_patch(placement_path(meta), patch)
        except (Conflict, NotFound):  # changed meanwhile: the next pass sees it
            return placement
        return updated if isinstance(updated, dict) and updated.get("metadata") else placement

    async def finalize(self, placement: dict[str, Any]) -> Result:
        """Remove a deleted Placement's objects from members, then its finalizer."""
        meta = placement["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        if FINALIZER not in (meta.get("finalizers") or []):
            return Result()
        status = status_of(placement)
        if (placement.get("spec") or {}).get("deletionPolicy") == "Orphan":
            logger.info(
                "placement deleted; its objects stay", extra={"placement": f"{namespace}/{name}"}
            )
            return await self._remove(placement)
        now = self._clock.now()
        # Patience with unreachable members counts from when deleting was decided: the
        # delete, or the confirmation that ended a hold.
        since = pruning.parse_time(str(meta.get("deletionTimestamp"))) or now
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
                placement_condition(
                    status, "PruneBlocked", "True", reason="NamespaceDeleting", message=message,
                    now=now,
                )  # fmt: skip
                await self._write_status(placement, status, status.observed_generation or 0)
                return Result(requeue_after=HELD_RECHECK)
            since = max(since, pruning.parse_time(annotation) or since)
        this = Pass(namespace, name, tuple(sorted(set(status.managed_kinds))), now, unguarded=True)
        ready = self._ready()
        pending = []
        clusters = set(self._members.connected()) | self._sync_members.seen()
        for cluster in sorted(clusters):
            member = self._sync_members.member(cluster)
            if member is None or cluster not in ready:
                if self._sync_members.cached_objects(cluster, this.owner, this.kinds):
                    pending.append(cluster)
                continue
            if not await self._sync_members.prune(Outcome(), this, member, None):
                pending.append(cluster)
        if pending and (now - since).total_seconds() < FINALIZE_PATIENCE:
            return Result(requeue_after=2.0)  # members still hold copies: try again
        if pending:
            logger.warning(
                "placement deleted while members were unreachable; their copies stay",
                extra={"placement": f"{namespace}/{name}", "clusters": ",".join(pending)},
            )
        return await self._remove(placement)

    async def _remove(self, placement: dict[str, Any]) -> Result:
        """Remove our finalizer and only ours: a JSON patch that tests it is still there."""
        finalizers = list(placement["metadata"].get("finalizers") or [])
        index = finalizers.index(FINALIZER)
        patch = [
            {"op": "test", "path": f"/metadata/finalizers/{index}", "value": FINALIZER},
            {"op": "remove", "path": f"/metadata/finalizers/{index}"},
        ]
        try:
            await self._hub.request(
                "PATCH", placement_path(placement["metadata"]), body=patch,
                content_type="application/json-patch+json",
            )  # fmt: skip
        except NotFound:
            pass
        except (Invalid, Conflict):
            return Result(requeue_after=0.5)  # the list changed under us: look again
        return Result()


__all__ = ["FINALIZE_PATIENCE", "Finalizer"]
