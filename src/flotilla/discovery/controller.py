"""The clusterset's control plane: from every member's exports to every member's imports.

Two kinds of work share one queue:

- ``("join", cluster)`` when a member connects: ``joining.join`` (CRDs, cluster id; a
  duplicate id is refused: the member joined later by creation of its Cluster loses), then
  its informers: ServiceExports, Services, the Services' EndpointSlices, our ServiceImports
  and imported EndpointSlices, namespaces. Any change to one enqueues its service.
- ``("service", namespace, name)``: gather the exports of every joined member
  (``exporting.derive``), give the import its clusterset IPs (``allocating``), then in
  every joined member that has the namespace write the ServiceImport and its EndpointSlices
  (``mirroring``; server-side apply, only what differs from the member's informer), delete
  imported slices no longer wanted, and write the export conditions (Valid, Ready,
  Conflict).

What is unsure deletes nothing: while a registered member is not joined (unreachable, not
yet connected), an import is never deleted for lack of exports, and the slices whose
source is that member are left as they are. A ServiceImport or slice that is not ours (no
``flotilla.io/managed-by``: another MCS implementation's) is never written over.

Why one module of ~760 lines: joining a member, one service's sync and its writes share the
per-member informers and what the controller remembers between passes (cluster ids, refusals,
the resourceVersions of its writes, the clusterset IPs); the KEP's rules, the allocation, the
mirroring and the zone are pure modules beside it. The next cut: joining and the member
bookkeeping in a module of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flotilla.api.labels import FIELD_MANAGER, HUB_LABEL, MANAGED_BY, MANAGED_BY_LABEL
from flotilla.clusters.connections import MemberConnections
from flotilla.discovery import joining
from flotilla.discovery.allocating import Ranges, allocate
from flotilla.discovery.exporting import (
    CLUSTERSET_IP,
    Derivation,
    Derived,
    Export,
    ExportState,
    derive,
    facts_of,
)
from flotilla.discovery.mirroring import (
    LOCAL_SERVICE_LABEL,
    SERVICE_NAME_LABEL,
    SLICE_MANAGED_BY_LABEL,
    SLICE_MANAGER,
    SOURCE_CLUSTER_LABEL,
    Source,
    imported_slices,
)
from flotilla.kube import KubeError, NotFound, resource_path
from flotilla.runtime.clock import Clock
from flotilla.runtime.controller import Controller, Result
from flotilla.runtime.informer import Informer
from flotilla.runtime.metrics import Metrics
from flotilla.runtime.queue import WorkQueue
from flotilla.runtime.reflector import Event

logger = logging.getLogger(__name__)

MCS = "multicluster.x-k8s.io/v1beta1"
EXPORTS = resource_path(MCS, "serviceexports")
IMPORTS = resource_path(MCS, "serviceimports")
SERVICES = resource_path("v1", "services")
SLICES = resource_path("discovery.k8s.io/v1", "endpointslices")
NAMESPACES = resource_path("v1", "namespaces")
GLOBAL_ANNOTATION = ("service.cilium.io/global", "io.cilium/global-service")
SHARED_ANNOTATION = ("service.cilium.io/shared", "io.cilium/shared-service")
AFFINITY_ANNOTATION = ("service.cilium.io/affinity", "io.cilium/service-affinity")
"""Cilium's names, then their older aliases; values compared in any letter case."""
RESYNC = 60.0
DIGEST_ANNOTATION = "flotilla.io/desired-digest"
JOIN_RETRY = 10.0

Key = tuple[str, ...]


@dataclass
class _Member:
    cluster: str
    cluster_id: str
    created: str
    informers: dict[str, Informer] = field(default_factory=dict)


class DiscoveryController:
    def __init__(
        self,
        members: MemberConnections,
        *,
        clock: Clock,
        metrics: Metrics,
        leading: Callable[[], bool],
        hub_id: Callable[[], str],
        registered: Callable[[], Mapping[str, str]],
        ranges: Ranges,
        clusterset: str = "flotilla",
        workers: int = 4,
    ) -> None:
        """``registered()``: every registered Cluster's name and creation time."""
        self._members = members
        self._clock = clock
        self._metrics = metrics
        self._leading = leading
        self._hub_id = hub_id
        self._registered = registered
        self._ranges = ranges
        self._clusterset = clusterset
        self._workers = workers
        self._joined: dict[str, _Member] = {}
        self.problems: dict[str, str] = {}
        """Members that could not join, and why."""
        self._refused: set[str] = set()
        """Members that will not join until changed (not 'unsure': they hold nothing of ours)."""
        self._ids: dict[str, str] = {}
        """Cluster name -> the id it joined with, kept while it is out of sight."""
        self._written: dict[tuple[str, str], str] = {}
        """(cluster, object path) -> the resourceVersion our last write gave it."""
        self._ips: dict[tuple[str, str], tuple[str, ...]] = {}
        self._handled: weakref.WeakSet[Informer] = weakref.WeakSet()
        self.queue: WorkQueue[Key] = WorkQueue(clock=clock, name="discovery")

    # -- running ------------------------------------------------------------------------

    async def run(self) -> None:
        self._members.on_connected(lambda cluster: self.queue.add(("join", cluster)))
        async with self.queue:
            for cluster in self._members.connected():
                self.queue.add(("join", cluster))
            self.queue.add_after(("resync",), RESYNC)
            controller = Controller(
                "discovery", self.queue, self._reconcile, metrics=self._metrics,
                workers=self._workers,
            )  # fmt: skip
            await controller.run()

    async def _reconcile(self, key: Key) -> Result:
        if key[0] == "resync":  # level-based: every service looked at again now and then
            if self._leading():
                self._enqueue_all()
            return Result(requeue_after=RESYNC)
        if not self._leading():
            return Result()
        if key[0] == "join":
            return await self._join(key[1])
        return await self._sync(key[1], key[2])

    # -- joining --------------------------------------------------------------------------

    async def _join(self, cluster: str) -> Result:
        client = self._members.client(cluster)
        if client is None:  # not connected: on_connected asks again
            self._joined.pop(cluster, None)
            return Result()
        try:
            joined = await joining.join(client, cluster=cluster, clusterset=self._clusterset)
        except joining.JoinError as exc:
            self._refuse(cluster, str(exc), permanent=exc.permanent)
            return Result(requeue_after=JOIN_RETRY)
        created = self._registered().get(cluster, "")
        for other in self._joined.values():
            if other.cluster != cluster and other.cluster_id == joined.cluster_id:
                if (other.created, other.cluster) <= (created, cluster):
                    self._refuse(
                        cluster, f"cluster id {joined.cluster_id!r} is {other.cluster}'s",
                        permanent=True,
                    )  # fmt: skip
                    return Result(requeue_after=JOIN_RETRY)
                self._refuse(
                    other.cluster,
                    f"cluster id {joined.cluster_id!r} is {cluster}'s",
                    permanent=True,
                )
                self._joined.pop(other.cluster, None)
        member = _Member(cluster, joined.cluster_id, created)
        ours = f"{MANAGED_BY_LABEL}={MANAGED_BY},{HUB_LABEL}={self._hub_id()}"
        for name, path, selector in (
            ("exports", EXPORTS, None),
            ("services", SERVICES, None),
            ("slices", SLICES, LOCAL_SERVICE_LABEL),
            ("imports", IMPORTS, ours),
            (
                "imported",
                SLICES,
                f"{SLICE_MANAGED_BY_LABEL}={SLICE_MANAGER},{HUB_LABEL}={self._hub_id()}",
            ),
            ("namespaces", NAMESPACES, None),
        ):
            informer = self._members.informer(cluster, path, label_selector=selector)
            if informer is None:
                return Result(requeue_after=1.0)
            if informer not in self._handled:  # a reconnected member has new informers
                informer.add_handler(self._handler(name))
                self._handled.add(informer)
            member.informers[name] = informer
        for informer in member.informers.values():
            try:
                async with self._clock.timeout(30.0):
                    await informer.wait_synced()
            except (TimeoutError, KubeError) as exc:
                self._refuse(cluster, f"cannot watch {informer.path}: {type(exc).__name__}")
                return Result(requeue_after=JOIN_RETRY)
        self.problems.pop(cluster, None)
        self._refused.discard(cluster)
        self._ids[cluster] = joined.cluster_id
        self._joined[cluster] = member
        logger.info(
            "member joined the clusterset",
            extra={"cluster": cluster, "cluster_id": joined.cluster_id},
        )
        self._enqueue_all()
        return Result()

    def _refuse(self, cluster: str, reason: str, *, permanent: bool = False) -> None:
        if permanent:
            self._refused.add(cluster)
        if self.problems.get(cluster) != reason:
            logger.warning("member not joined", extra={"cluster": cluster, "error": reason})
        self.problems[cluster] = reason

    # -- handlers (no I/O) -----------------------------------------------------------------

    def _handler(self, informer: str) -> Callable[[Event], None]:
        """What a change to an object of ``informer`` enqueues: its service."""

        def enqueue(event: Event) -> None:
            meta = event.object.get("metadata") or {}
            namespace = str(meta.get("namespace") or "")
            if informer == "namespaces":
                self._enqueue_all(str(meta.get("name") or ""))
                return
            labels = meta.get("labels") or {}
            if informer == "slices":
                name = labels.get(LOCAL_SERVICE_LABEL)
            elif informer == "imported":
                name = labels.get(SERVICE_NAME_LABEL)
            else:  # exports, services, imports: named as the service
                name = meta.get("name")
            if namespace and isinstance(name, str) and name:
                self.queue.add(("service", namespace, name))

        return enqueue

    def _enqueue_all(self, namespace: str | None = None) -> None:
        for key in self._keys():
            if namespace is None or key[0] == namespace:
                self.queue.add(("service", *key))

    def _keys(self) -> set[tuple[str, str]]:
        keys: set[tuple[str, str]] = set()
        for member in list(self._joined.values()):
            for name in ("exports", "imports"):
                keys.update(_split(k) for k in member.informers[name].keys())  # noqa: SIM118
            for service in member.informers["services"].list():
                if _annotation(service, GLOBAL_ANNOTATION) == "true":
                    meta = service["metadata"]
                    keys.add((meta["namespace"], meta["name"]))
        return keys

    # -- one service ----------------------------------------------------------------------

    async def _sync(self, namespace: str, name: str) -> Result:
        joined = [m for m in self._joined.values() if self._members.client(m.cluster)]
        joined_names = {m.cluster for m in joined}
        # registered members not joined now, and not refused for good: what they hold is unknown
        registered = self._registered()
        unsure = {c for c in registered if c not in joined_names and c not in self._refused}
        known = {m.cluster_id for m in joined}
        exports = [e for m in joined if (e := _export_of(m, namespace, name)) is not None]
        derivation = derive(exports)
        live = _live_clusters(joined, namespace, name)
        out_of_sight = {self._ids[c] for c in unsure if c in self._ids}
        never_seen = any(c not in self._ids for c in unsure)
        missing = live - known
        if missing & out_of_sight or (missing and never_seen):
            # An exporter of the live import is out of sight: what it would say is unknown, so
            # the import stays as it is (the KEP: the oldest keeps winning, traffic undisturbed);
            # the slices of the exporters in sight are still kept up to date.
            await self._refresh_slices(joined, namespace, name, known)
            await self._write_export_states(joined, namespace, name, derivation, written=False)
            return Result(requeue_after=JOIN_RETRY)
        if derivation.derived is None:
            for member in joined:
                if unsure:  # the import stays; slices of the members seen to export nothing go
                    await self._prune_slices(member, namespace, name, wanted=set(), known=known)
                else:
                    await self._remove(member, namespace, name)
            await self._write_export_states(joined, namespace, name, derivation, written=False)
            if not unsure:
                self._ips.pop((namespace, name), None)
            return Result()
        derived = derivation.derived
        ips, problem = self._allocate(namespace, name, derived, joined)
        sources = [
            Source(m.cluster_id, _source_slices(m, namespace, name), _shared(m, namespace, name))
            for m in joined
            if m.cluster_id in derived.clusters
        ]
        prune_known = known if unsure else None  # None: every unwanted slice goes
        writes = [m for m in joined if _has_namespace(m, namespace)]
        results = await asyncio.gather(  # every member at once: one slow member delays none
            *(
                self._write_import(m, namespace, name, derived, ips, sources, prune_known)
                for m in writes
            ),
            return_exceptions=True,
        )
        failures = 0
        for member, result in zip(writes, results, strict=True):
            if isinstance(result, KubeError):
                failures += 1
                logger.warning(
                    "import not written",
                    extra={"cluster": member.cluster, "service": f"{namespace}/{name}",
                           "error": str(result)[:300]},
                )  # fmt: skip
            elif isinstance(result, BaseException):
                raise result
        if problem:
            logger.warning(
                "clusterset ip", extra={"service": f"{namespace}/{name}", "error": problem}
            )
        await self._write_export_states(joined, namespace, name, derivation, written=not failures)
        return Result(requeue=True) if failures else Result()

    def _allocate(
        self, namespace: str, name: str, derived: Derived, joined: list[_Member]
    ) -> tuple[tuple[str, ...], str | None]:
        if derived.type != CLUSTERSET_IP:
            return (), None
        key = (namespace, name)
        existing: list[str] = list(self._ips.get(key, ()))
        taken: set[str] = {ip for k, ips in self._ips.items() if k != key for ip in ips}
        for member in joined:
            for item in member.informers["imports"].list():
                meta = item["metadata"]
                ips = [
                    ip for ip in (item.get("spec") or {}).get("ips") or [] if isinstance(ip, str)
                ]
                if (meta.get("namespace"), meta.get("name")) == key:
                    existing.extend(ips)
                else:
                    taken.update(ips)
        result = allocate(
            {key: list(derived.ip_families)},
            {key: [ip for ip in existing if ip not in taken]},
            self._ranges,
            taken=taken,
        )
        self._ips[key] = result.ips[key]
        return result.ips[key], result.problems.get(key)

    async def _write_import(  # noqa: PLR0917
        self,
        member: _Member,
        namespace: str,
        name: str,
        derived: Derived,
        ips: tuple[str, ...],
        sources: list[Source],
        known: set[str] | None,
    ) -> None:
        """Write the import and its slices into ``member``; with ``known``, slices whose
        source cluster is not in it (a member out of sight) are left as they are."""
        client = self._members.client(member.cluster)
        if client is None:
            return
        live = member.informers["imports"].get(f"{namespace}/{name}")
        path = resource_path(MCS, "serviceimports", namespace=namespace, name=name)
        if live is None:
            try:
                foreign = await client.get(path)
            except NotFound:
                foreign = None
            if foreign is not None and not self._ours(foreign):
                raise KubeError(f"a ServiceImport {namespace}/{name} that is not this hub's")
            live = foreign
        body = _stamped(self._import_body(member, namespace, name, derived, ips))
        if not self._same(member, path, live, body):
            live = self._wrote(
                member, path, await client.apply(path, body, field_manager=FIELD_MANAGER)
            )
        status = {
            "apiVersion": MCS,
            "kind": "ServiceImport",
            "metadata": {"name": name, "namespace": namespace},
            "status": {
                "clusters": [{"cluster": c} for c in sorted(derived.clusters)],
                "endpointSliceObjects": "Present",
            },
        }
        if not _contains(live, status):
            live = self._wrote(member, path, await client.apply(
                f"{path}/status", status, field_manager=FIELD_MANAGER
            ))  # fmt: skip
        assert live is not None
        await self._write_slices(member, namespace, name, live, sources=sources, known=known)

    async def _write_slices(
        self,
        member: _Member,
        namespace: str,
        name: str,
        live: Mapping[str, Any],
        *,
        sources: list[Source],
        known: set[str] | None,
    ) -> None:
        client = self._members.client(member.cluster)
        if client is None:
            return
        owner = {
            "apiVersion": MCS,
            "kind": "ServiceImport",
            "name": name,
            "uid": live["metadata"]["uid"],
            "controller": True,
        }
        wanted = imported_slices(
            namespace=namespace, name=name, member=member.cluster_id, sources=sources,
            hub=self._hub_id(),
        )  # fmt: skip
        names = set()
        current = self._imported(member, namespace, name)
        for one in wanted:
            one["metadata"]["ownerReferences"] = [owner]
            _stamped(one)
            slice_name = one["metadata"]["name"]
            names.add(slice_name)
            slice_path = resource_path(
                "discovery.k8s.io/v1", "endpointslices", namespace=namespace, name=slice_name
            )
            if not self._same(member, slice_path, current.get(slice_name), one):
                self._wrote(member, slice_path, await client.apply(
                    slice_path, one, field_manager=FIELD_MANAGER
                ))  # fmt: skip
        await self._prune_slices(member, namespace, name, wanted=names, known=known)

    async def _refresh_slices(
        self, joined: list[_Member], namespace: str, name: str, known: set[str]
    ) -> None:
        """While the import is left as it is: the in-sight exporters' slices, up to date."""
        sources = [
            Source(m.cluster_id, _source_slices(m, namespace, name), _shared(m, namespace, name))
            for m in joined
            if _export_of(m, namespace, name) is not None
        ]
        for member in joined:
            live = member.informers["imports"].get(f"{namespace}/{name}")
            if live is not None and _has_namespace(member, namespace):
                try:
                    await self._write_slices(
                        member, namespace, name, live, sources=sources, known=known
                    )
                except KubeError as exc:
                    logger.warning(
                        "slices not written",
                        extra={"cluster": member.cluster, "error": str(exc)[:300]},
                    )

    def _same(
        self, member: _Member, path: str, live: Mapping[str, Any] | None, body: Mapping[str, Any]
    ) -> bool:
        """Whether ``live`` is what we last wrote of ``body``: the same digest, and (when we
        remember our write) not changed by anyone since, so an edit is written back."""
        if not _same(live, body):
            return False
        assert live is not None
        written = self._written.get((member.cluster, path))
        return written is None or written == (live.get("metadata") or {}).get("resourceVersion")

    def _wrote(self, member: _Member, path: str, answer: Any) -> Any:
        version = ((answer or {}).get("metadata") or {}).get("resourceVersion")
        if isinstance(version, str):
            self._written[(member.cluster, path)] = version
        if len(self._written) > 100_000:  # bounded: forgetting only costs a write
            self._written.clear()
        return answer

    def _imported(self, member: _Member, namespace: str, name: str) -> dict[str, dict[str, Any]]:
        return {
            item["metadata"]["name"]: item
            for item in member.informers["imported"].list()
            if item["metadata"].get("namespace") == namespace
            and (item["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL) == name
        }

    async def _prune_slices(
        self,
        member: _Member,
        namespace: str,
        name: str,
        *,
        wanted: set[str],
        known: set[str] | None,
    ) -> None:
        """Delete the member's imported slices of ``name`` not ``wanted``; with ``known``,
        only those whose source is in it."""
        client = self._members.client(member.cluster)
        if client is None:
            return
        for slice_name, there in self._imported(member, namespace, name).items():
            source = (there["metadata"].get("labels") or {}).get(SOURCE_CLUSTER_LABEL)
            if slice_name in wanted or (known is not None and source not in known):
                continue
            await _delete(client, resource_path(
                "discovery.k8s.io/v1", "endpointslices", namespace=namespace, name=slice_name
            ))  # fmt: skip

    def _ours(self, item: Mapping[str, Any]) -> bool:
        labels = (item.get("metadata") or {}).get("labels") or {}
        return (
            labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(HUB_LABEL) == self._hub_id()
        )

    def _import_body(
        self, member: _Member, namespace: str, name: str, derived: Derived, ips: tuple[str, ...]
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "type": derived.type,
            "ports": [p.to_wire() for p in derived.ports],
            "sessionAffinity": derived.session_affinity,
        }
        if ips:
            spec["ips"] = list(ips)
            # the families given an address, in the order of the addresses
            spec["ipFamilies"] = ["IPv6" if ":" in ip else "IPv4" for ip in ips]
        elif derived.ip_families and derived.type != CLUSTERSET_IP:
            spec["ipFamilies"] = list(derived.ip_families)
        if derived.session_affinity_config is not None and derived.session_affinity == "ClientIP":
            spec["sessionAffinityConfig"] = dict(derived.session_affinity_config)
        if derived.internal_traffic_policy:
            spec["internalTrafficPolicy"] = derived.internal_traffic_policy
        if derived.traffic_distribution:
            spec["trafficDistribution"] = derived.traffic_distribution
        annotations = dict(derived.annotations)
        service = member.informers["services"].get(f"{namespace}/{name}")
        affinity = _annotation(service, AFFINITY_ANNOTATION) if service else None
        if affinity in ("local", "remote") and _annotation(service, GLOBAL_ANNOTATION) == "true":
            annotations[AFFINITY_ANNOTATION[0]] = affinity
        return {
            "apiVersion": MCS,
            "kind": "ServiceImport",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {
                    **derived.labels,
                    MANAGED_BY_LABEL: MANAGED_BY,
                    HUB_LABEL: self._hub_id(),
                },
                "annotations": annotations,
            },
            "spec": spec,
        }

    async def _remove(self, member: _Member, namespace: str, name: str) -> None:
        client = self._members.client(member.cluster)
        if client is None or member.informers["imports"].get(f"{namespace}/{name}") is None:
            return
        await _delete(client, resource_path(MCS, "serviceimports", namespace=namespace, name=name))
        for item in member.informers["imported"].list():
            meta = item["metadata"]
            if (
                meta.get("namespace") == namespace
                and (meta.get("labels") or {}).get(SERVICE_NAME_LABEL) == name
            ):
                await _delete(client, resource_path(
                    "discovery.k8s.io/v1", "endpointslices", namespace=namespace,
                    name=meta["name"],
                ))  # fmt: skip

    async def _write_export_states(
        self,
        joined: Iterable[_Member],
        namespace: str,
        name: str,
        derivation: Derivation,
        *,
        written: bool,
    ) -> None:
        for member in joined:
            export = member.informers["exports"].get(f"{namespace}/{name}")
            client = self._members.client(member.cluster)
            if export is None or client is None:
                continue
            state = derivation.states.get(member.cluster_id, ExportState())
            oldest = derivation.derived.clusters[0] if derivation.derived else ""
            wanted = _conditions(
                state, written=written and derivation.derived is not None, oldest=oldest
            )
            have = {c.get("type"): c for c in (export.get("status") or {}).get("conditions") or []}
            if all(
                (have.get(c["type"]) or {}).get(k) == c[k]
                for c in wanted
                for k in ("status", "reason", "message")
            ):
                continue
            now = self._clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
            for condition in wanted:
                before = have.get(condition["type"]) or {}
                same = before.get("status") == condition["status"]
                condition["lastTransitionTime"] = before.get("lastTransitionTime") if same else now
                condition["lastTransitionTime"] = condition["lastTransitionTime"] or now
                condition["observedGeneration"] = export["metadata"].get("generation", 0)
            body = {
                "apiVersion": MCS,
                "kind": "ServiceExport",
                "metadata": {"name": name, "namespace": namespace},
                "status": {"conditions": wanted},
            }
            path = resource_path(MCS, "serviceexports", namespace=namespace, name=name)
            with contextlib.suppress(NotFound):  # the export went meanwhile
                await client.apply(f"{path}/status", body, field_manager=FIELD_MANAGER)


def _conditions(state: ExportState, *, written: bool, oldest: str) -> list[dict[str, Any]]:
    if state.invalid is not None:
        message = {
            "NoService": "there is no Service of this name in the namespace",
            "InvalidServiceType": "an ExternalName Service cannot be exported",
        }.get(state.invalid, state.invalid)
        return [
            {"type": "Valid", "status": "False", "reason": state.invalid, "message": message},
            {"type": "Ready", "status": "False", "reason": "Failed", "message": message},
        ]
    conflict = (
        {"type": "Conflict", "status": "True", "reason": ",".join(state.conflicts),
         "message": f"{', '.join(state.conflicts)}: the oldest export's (in {oldest}) is used"}
        if state.conflicts
        else {"type": "Conflict", "status": "False", "reason": "NoConflicts",
              "message": "no conflicts with the other exports"}
    )  # fmt: skip
    ready = (
        {"type": "Ready", "status": "True", "reason": "Exported",
         "message": "imported into the clusterset"}
        if written
        else {"type": "Ready", "status": "False", "reason": "Pending",
              "message": "not yet imported into every member"}
    )  # fmt: skip
    return [
        {
            "type": "Valid",
            "status": "True",
            "reason": "Valid",
            "message": "the Service is exportable",
        },
        ready,
        conflict,
    ]


def _export_of(member: _Member, namespace: str, name: str) -> Export | None:
    key = f"{namespace}/{name}"
    export = member.informers["exports"].get(key)
    service = member.informers["services"].get(key)
    if export is None and not (service and _annotation(service, GLOBAL_ANNOTATION) == "true"):
        return None
    source = export if export is not None else service
    assert source is not None
    spec = (export or {}).get("spec") or {}
    return Export(
        cluster=member.cluster_id,
        created=str(source["metadata"].get("creationTimestamp") or ""),
        service=facts_of(service) if service is not None else None,
        labels=dict(spec.get("exportedLabels") or {}),
        annotations=dict(spec.get("exportedAnnotations") or {}),
    )


def _source_slices(member: _Member, namespace: str, name: str) -> list[dict[str, Any]]:
    return [
        item
        for item in member.informers["slices"].list()
        if item["metadata"].get("namespace") == namespace
        and (item["metadata"].get("labels") or {}).get(LOCAL_SERVICE_LABEL) == name
    ]


def _shared(member: _Member, namespace: str, name: str) -> bool:
    """Whether the member's endpoints go to the others (Cilium's shared, which counts only
    on a global Service)."""
    service = member.informers["services"].get(f"{namespace}/{name}")
    if not service or _annotation(service, GLOBAL_ANNOTATION) != "true":
        return True
    return _annotation(service, SHARED_ANNOTATION) != "false"


def _has_namespace(member: _Member, namespace: str) -> bool:
    found = member.informers["namespaces"].get(namespace)
    return found is not None and (found.get("status") or {}).get("phase") != "Terminating"


def _annotation(item: Mapping[str, Any] | None, names: tuple[str, ...]) -> str | None:
    """The first of ``names`` the object is annotated with, lower-cased."""
    annotations = ((item or {}).get("metadata") or {}).get("annotations") or {}
    for name in names:
        value = annotations.get(name)
        if isinstance(value, str):
            return value.strip().lower()
    return None


def _split(key: str) -> tuple[str, str]:
    namespace, _, name = key.partition("/")
    return namespace, name


def _live_clusters(joined: Iterable[_Member], namespace: str, name: str) -> set[str]:
    """The exporting clusters the members' live imports of the service name."""
    found: set[str] = set()
    for member in joined:
        live = member.informers["imports"].get(f"{namespace}/{name}")
        for entry in ((live or {}).get("status") or {}).get("clusters") or []:
            if isinstance(entry, Mapping) and isinstance(entry.get("cluster"), str):
                found.add(entry["cluster"])
    return found


def _stamped(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the digest of what it says (what is written is compared by it, so a
    field no longer wanted is noticed and applied away)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    body["metadata"].setdefault("annotations", {})[DIGEST_ANNOTATION] = digest
    return body


def _same(live: Mapping[str, Any] | None, body: Mapping[str, Any]) -> bool:
    if live is None:
        return False
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    wanted: str = body["metadata"]["annotations"][DIGEST_ANNOTATION]
    return annotations.get(DIGEST_ANNOTATION) == wanted


def _contains(live: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> bool:
    """Whether ``live`` already has every field of ``wanted`` as it is (lists exactly)."""
    if live is None:
        return False
    for key, value in wanted.items():
        if key in ("apiVersion", "kind"):
            continue
        there = live.get(key)
        if isinstance(value, Mapping):
            if not isinstance(there, Mapping) or not _contains(there, value):
                return False
        elif there != value:
            return False
    return True


async def _delete(client: Any, path: str) -> None:
    with contextlib.suppress(NotFound):
        await client.delete(path)


__all__ = ["DiscoveryController"]
