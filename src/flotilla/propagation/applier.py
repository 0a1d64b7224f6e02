"""The applier: rendered manifests written to one member with server-side apply.

For every manifest it finds where it goes (the member's own REST mapping) and what the
member cache holds, checks ownership (never take over an object someone else made, another
Placement's, or another hub's: the ``flotilla.io/hub`` label says whose it is), applies with
field manager ``flotilla``, and remembers what it applied (``Applied``) so that an unchanged
object is not applied again and a changed one is seen as drift.

An object whose live state changed under us is re-applied at once, unless it is being
fought over (``DriftRecorder.backoff``): then the revert waits, and its status says with whom.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from flotilla.api.labels import (
    FIELD_MANAGER,
    HUB_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    label_of,
    owner_of,
)
from flotilla.api.placement import ResourceStatus
from flotilla.kube import (
    ApiError,
    Conflict,
    KubeClient,
    KubeError,
    NotFound,
    RestMapper,
    resource_path,
)
from flotilla.propagation.drift import DriftRecorder, managers_of_our_fields
from flotilla.propagation.status import resource_status
from flotilla.propagation.tenancy import TenancyPolicy
from flotilla.runtime.clock import Clock
from flotilla.runtime.informer import Informer
from flotilla.runtime.reflector import resource_version

CACHE_LAG = 5.0
"""How long our own apply is trusted while the member informer has not shown it yet."""
LIST_AT = 8
"""From this many objects of one kind and namespace on, one list answers "is it there?"."""
APPLY_CONCURRENCY = 16


@dataclass(frozen=True)
class Applied:
    """What we last applied to one member object, to skip no-op applies and see drift."""

    digest: str
    resource_version: str
    generation: int | None
    at: float
    replicas: dict[str, Any] | None = None
    """The answer's spec.replicas and status, for kinds that have replicas."""


@dataclass(frozen=True)
class Target:
    """One rendered manifest, where it goes on a member, and what the member cache holds."""

    manifest: dict[str, Any]
    path: str
    collection: str
    live: dict[str, Any] | None


@dataclass(frozen=True)
class Member:
    """What the applier needs of one connected member."""

    name: str
    client: KubeClient
    mapper: RestMapper


class Applier:
    def __init__(
        self, *, hub_id: str, clock: Clock, drift: DriftRecorder, tenancy: TenancyPolicy
    ) -> None:
        self.hub_id = hub_id
        self._tenancy = tenancy
        self._clock = clock
        self._drift = drift
        self._applied: dict[tuple[str, str], Applied] = {}
        self._namespaces: dict[tuple[KubeClient, str], str] = {}
        """(member client, namespace) -> "" when Placements may write there, else why not."""

    # -- the applied cache ------------------------------------------------------------------

    def record(self, cluster: str, path: str) -> Applied | None:
        return self._applied.get((cluster, path))

    def forget(self, cluster: str, path: str) -> None:
        """What we applied at ``path`` is gone (deleted or pruned): apply it again if wanted."""
        self._applied.pop((cluster, path), None)

    def holder(self, item: dict[str, Any]) -> str:
        """Who owns a live object when this hub's (``owner_of``: "placement ns.name"), else ""."""
        if label_of(item, HUB_LABEL) != self.hub_id:
            return ""
        return owner_of(item)

    # -- applying ---------------------------------------------------------------------------

    async def target(
        self, member: Member, manifest: dict[str, Any], informer: Informer | None
    ) -> Target | str:
        """Where ``manifest`` goes on the member and its cached live state, or an error."""
        api_version, kind = manifest["apiVersion"], manifest["kind"]
        try:
            info = await member.mapper.resource_for(api_version, kind)
        except (KubeError, ValueError) as exc:
            return _short(exc)
        group = api_version.rpartition("/")[0]
        if not info.namespaced and not self._tenancy.allows_cluster_scoped(group, kind):
            return (
                f"the member serves {kind} as cluster-scoped; Placements may write "
                "cluster-scoped kinds only where the hub admin allows them"
            )
        meta = manifest["metadata"]
        namespace = meta.get("namespace") if info.namespaced else None
        key = f"{namespace}/{meta['name']}" if namespace else meta["name"]
        return Target(
            manifest,
            path=resource_path(api_version, info.plural, namespace=namespace, name=meta["name"]),
            collection=resource_path(api_version, info.plural, namespace=namespace),
            live=informer.get(key) if informer else None,
        )

    def trusted(self, cluster: str, target: Target) -> bool:
        """Whether we applied exactly this a moment ago and the cache has not caught up."""
        record = self._applied.get((cluster, target.path))
        return (
            record is not None
            and target.live is None
            and record.digest == digest(target.manifest)
            and self._clock.monotonic() - record.at < CACHE_LAG
        )

    async def ensure_namespace(self, client: KubeClient, namespace: str) -> str:
        """Make sure Placements may write into ``namespace`` on a member: "" or why not.

        A missing namespace is created with this hub's labels (and never pruned). One that
        exists without them is someone else's: written into only where the hub admin
        allows it (``TenancyPolicy.may_adopt``).
        """
        known = self._namespaces.get((client, namespace))
        if known is not None:
            return known
        path = resource_path("v1", "namespaces", name=namespace)
        try:
            live = await client.get(path)
        except NotFound:
            live = None
        if live is None:
            labels = {MANAGED_BY_LABEL: MANAGED_BY, HUB_LABEL: self.hub_id}
            body = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace, "labels": labels},
            }
            try:
                live = await client.create(resource_path("v1", "namespaces"), body)
            except Conflict:
                live = await client.get(path)
        ours = label_of(live or {}, HUB_LABEL) == self.hub_id
        answer = ""
        if not ours and not self._tenancy.may_adopt(namespace):
            answer = (
                f"namespace {namespace} exists on the member and Flotilla did not create it; "
                f"the hub admin can allow it (`flotilla controller run --adopt-namespace "
                f"{namespace}`)"
            )
        # Seen once per member client (a reconnect makes a new client, and checks again).
        # A namespace deleted on the member meanwhile makes applies fail (404), and the
        # entry is dropped so that the next pass creates it again.
        self._namespaces[(client, namespace)] = answer
        return answer

    async def apply_batch(
        self, member: Member, targets: list[Target], semaphore: asyncio.Semaphore
    ) -> list[tuple[ResourceStatus, str, float]]:
        """Apply ``targets``; per target (status, drift message or "", seconds to wait)."""
        unknown = [t for t in targets if t.live is None and not self.trusted(member.name, t)]
        holders = await self._holders(member.client, unknown, semaphore)
        return list(
            await asyncio.gather(*(self._apply_one(member, t, holders, semaphore) for t in targets))
        )

    async def _holders(
        self, client: KubeClient, targets: list[Target], semaphore: asyncio.Semaphore
    ) -> dict[str, str | None]:
        """What already holds the objects our cache of managed objects does not show.

        Path -> that object's holder (``holder``: "" when not this hub's Flotilla's), or
        None when nothing is there. Many objects of one kind and namespace are answered by
        one metadata-only list; paths missing from the answer are asked for one by one.
        """
        groups: dict[str, list[Target]] = {}
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
            there = {
                str((item.get("metadata") or {}).get("name")): self.holder(item)
                for item in listing.get("items") or []
            }
            for target in members:
                holders[target.path] = there.get(target.manifest["metadata"]["name"])
        return holders

    async def _apply_one(
        self,
        member: Member,
        target: Target,
        holders: dict[str, str | None],
        semaphore: asyncio.Semaphore,
    ) -> tuple[ResourceStatus, str, float]:
        cluster, client = member.name, member.client
        manifest, path, live = target.manifest, target.path, target.live
        manifest = stamped(manifest, self.hub_id)
        this_digest = digest(manifest)
        record = self._applied.get((cluster, path))
        if record and record.digest == this_digest:
            if live is not None and unchanged(record, live, manifest):
                return resource_status(cluster, manifest, live=live, applied=True), "", 0.0
            if self.trusted(cluster, target):
                live_now = record.replicas
                return resource_status(cluster, manifest, live=live_now, applied=True), "", 0.0
            wait = self._drift.backoff(cluster, path) if live is not None else 0.0
            if wait > 0:
                who = self._drift.fighting_with(cluster, path)
                error = f"changed again and again by {who!r}; next revert in {wait:.0f}s"
                return resource_status(cluster, manifest, live=live, error=error), "", wait
        owner = owner_of(manifest)
        async with semaphore:
            # Never take over (and later prune) an object someone else made, another
            # Placement's or another hub's: the cache of managed objects holds every
            # Placement's objects, and an object it does not hold is looked for on the member.
            holder: str | None
            if live is not None:
                holder = self.holder(live)
            elif path in holders:
                holder = holders[path]
            else:
                try:
                    holder = self.holder(await client.get(path))
                except NotFound:
                    holder = None
                except KubeError as exc:
                    return resource_status(cluster, manifest, error=_short(exc)), "", 0.0
            if holder is not None and holder != owner:
                why = holder or "something other than this hub"
                message = f"exists on the member and is managed by {why}; not touched"
                return resource_status(cluster, manifest, error=message), "", 0.0
            if record is not None and live is not None and record.digest == this_digest:
                # Re-applying what we applied before because the live object changed: read it
                # fresh, so the drift and who made it are judged on the object as it is.
                with contextlib.suppress(KubeError):
                    live = await client.get(path)
            try:
                result = await client.apply(path, manifest, field_manager=FIELD_MANAGER, force=True)
            except ApiError as exc:
                if exc.status == 404:  # the namespace went away on the member: check again
                    namespace = str(manifest["metadata"].get("namespace") or "")
                    self._namespaces.pop((client, namespace), None)
                return (
                    resource_status(cluster, manifest, error=_api_problem(exc, manifest)),
                    "",
                    0.0,
                )
            except KubeError as exc:
                return resource_status(cluster, manifest, error=_short(exc)), "", 0.0
        drift = ""
        changed = live is not None and resource_version(result) != resource_version(live)
        intruders = managers_of_our_fields(live, manifest) if live is not None else []
        if record is not None and changed and intruders:
            drift = self._drift.record(cluster, path, manifest, intruders)
        meta = result.get("metadata") or {}
        self._applied[(cluster, path)] = Applied(
            this_digest,
            str(meta.get("resourceVersion") or ""),
            meta.get("generation"),
            at=self._clock.monotonic(),
            replicas=replicas_of(result),
        )
        return resource_status(cluster, manifest, live=result, applied=True), drift, 0.0


def stamped(manifest: dict[str, Any], hub_id: str) -> dict[str, Any]:
    """``manifest`` with this hub's id among its labels."""
    meta = dict(manifest["metadata"])
    meta["labels"] = {**(meta.get("labels") or {}), HUB_LABEL: hub_id}
    return {**manifest, "metadata": meta}


def digest(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def unchanged(record: Applied, live: dict[str, Any], manifest: dict[str, Any]) -> bool:
    """Whether the live object still holds what we applied.

    Status changes do not count, nor labels and annotations others add (a Deployment's
    revision annotation): metadata does not move the generation, so ours are compared.
    """
    meta = live.get("metadata") or {}
    if meta.get("resourceVersion") == record.resource_version:
        return True
    generation = meta.get("generation")
    if generation is None or record.generation is None or generation != record.generation:
        return False
    ours = manifest["metadata"]
    return all(_holds(meta.get(name), ours.get(name)) for name in ("labels", "annotations"))


def _holds(live: dict[str, str] | None, ours: dict[str, str] | None) -> bool:
    live = live or {}
    return all(live.get(key) == value for key, value in (ours or {}).items())


def status_only(record: Applied, live: dict[str, Any]) -> bool:
    """Whether a change we were told of left the object's spec as we applied it.

    Only kinds with a generation can tell; labels and annotations do not move it, so a
    change to those is taken for a status change and noticed a moment later.
    """
    generation = (live.get("metadata") or {}).get("generation")
    return generation is not None and generation == record.generation


def replicas_of(live: dict[str, Any]) -> dict[str, Any] | None:
    """The part of a live object that status reports on, for kinds with replicas."""
    spec = live.get("spec") or {}
    if not isinstance(spec.get("replicas"), int):
        return None
    return {"spec": {"replicas": spec["replicas"]}, "status": dict(live.get("status") or {})}


def batches(manifests: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Namespaces, then CRDs, then everything else at once (already in apply order)."""
    first = [m for m in manifests if m["kind"] in ("Namespace", "CustomResourceDefinition")]
    rest = [m for m in manifests if m["kind"] not in ("Namespace", "CustomResourceDefinition")]
    return [batch for batch in (first, rest) if batch]


def _api_problem(exc: ApiError, manifest: dict[str, Any]) -> str:
    """What the member said, cut short.

    A member's validation message can quote the value it refused; for a Secret that value
    is secret, so only the status and reason are kept.
    """
    if manifest.get("kind") == "Secret" and manifest.get("apiVersion") == "v1":
        return f"{exc.status} {exc.reason} (the member's message is withheld for Secrets)"
    return f"{exc.status} {exc.reason}: {exc.message}"[:300]


def _short(exc: BaseException) -> str:
    return str(exc)[:300]


__all__ = ["Applied", "Applier", "Member", "Target", "batches", "digest", "status_only"]
