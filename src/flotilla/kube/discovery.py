"""Which resource serves an (apiVersion, kind) on one cluster, learned from its discovery.

Flotilla propagates manifests of any kind, including CRDs it has never heard of, so the
plural name and scope of a kind cannot come from a static table (``paths.WELL_KNOWN`` covers
only what Flotilla itself writes). ``RestMapper`` asks the cluster, one mapper per cluster.

What is fetched, and when: the legacy discovery documents, lazily. ``GET /api`` (core
versions) or ``GET /apis`` (group versions) when a group is first asked about, then
``GET /api/v1`` or ``/apis/{group}/{version}`` for only the group versions asked about.
Subresources (``pods/status``) are skipped. Aggregated discovery would fetch every group in
one answer, and needs an ``Accept`` header that ``KubeClient`` does not send; a mapper that
asks for a handful of group versions does well without it.

Answers are cached until a lookup misses. The contract of a miss:

- A miss in documents fetched before the lookup began refreshes once: everything cached is
  forgotten and fetched again as needed, so a CRD installed after start is found. A miss in
  documents fetched after the lookup began is final at once: they are as fresh as a
  refresh would make them. This is also how concurrent lookups share one refresh: the
  lookups waiting on the one doing it find fresh documents.
- Refreshes happen at most once per ``refresh_interval`` seconds (time from ``now``), so a
  manifest of a kind that is not installed cannot hammer the server; within the interval a
  miss is final at once.
- A final miss raises ``UnknownKind`` (terminal: retrying soon will not help, installing the
  CRD will). Failures to fetch come out as the ``flotilla.kube.errors`` tree; a document
  that is not a discovery document is a transient ``TransportError``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flotilla.kube.client import KubeClient
from flotilla.kube.errors import NotFound, TransportError, UnknownKind
from flotilla.kube.paths import resource_path

DEFAULT_REFRESH_INTERVAL = 10.0
"""Seconds between two refreshes caused by misses."""


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    """One top-level resource as the cluster serves it."""

    group: str
    """``""`` for the core group."""
    version: str
    kind: str
    plural: str
    """The resource name in URL paths: ``deployments``."""
    namespaced: bool
    verbs: tuple[str, ...]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass(frozen=True, slots=True)
class _Fetched:
    """A discovery document as cached: when its fetch began, and what it says."""

    tick: int
    """Taken from the mapper's sequence when the request went out."""
    served: frozenset[str]
    """An index document (``/api``, ``/apis``): the apiVersions it lists."""
    kinds: dict[str, ResourceInfo]
    """A group version's document: its top-level resources by kind."""


class RestMapper:
    """Maps (apiVersion, kind) to resources for the cluster behind one ``KubeClient``."""

    def __init__(
        self,
        client: KubeClient,
        *,
        refresh_interval: float = DEFAULT_REFRESH_INTERVAL,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._refresh_interval = refresh_interval
        self._now = now
        self._lock = asyncio.Lock()
        # Orders lookups and fetches: a document whose tick is later than a lookup's was
        # fetched after that lookup began. A counter, because clocks can tie.
        self._ticks = itertools.count()
        self._documents: dict[str, _Fetched] = {}
        self._last_refresh: float | None = None

    def cached_plural(self, api_version: str, kind: str) -> str | None:
        """The plural of ``kind`` if discovery already knows it; no request is made."""
        try:
            group, version = _split(api_version)
        except ValueError:
            return None
        cached = self._documents.get(_group_version_path(group, version))
        info = cached.kinds.get(kind) if cached is not None else None
        return info.plural if info is not None else None

    async def resource_for(self, api_version: str, kind: str) -> ResourceInfo:
        """The resource serving ``kind`` in ``api_version``; ``UnknownKind`` if none does."""
        group, version = _split(api_version)
        cached = self._documents.get(_group_version_path(group, version))
        if cached is not None and kind in cached.kinds:
            return cached.kinds[kind]
        asked = next(self._ticks)
        async with self._lock:
            info, decided_by = await self._find(group, version, kind)
            if info is None and decided_by.tick < asked and self._may_refresh():
                self._documents.clear()
                self._last_refresh = self._now()
                info, _ = await self._find(group, version, kind)
        if info is None:
            raise UnknownKind(api_version=api_version, kind=kind)
        return info

    async def collection_path(
        self, api_version: str, kind: str, *, namespace: str | None = None
    ) -> str:
        """The collection's path; across all namespaces when a namespaced kind gets none.

        A cluster-scoped kind ignores ``namespace``.
        """
        info = await self.resource_for(api_version, kind)
        return resource_path(
            info.api_version, info.plural, namespace=namespace if info.namespaced else None
        )

    async def path_for(self, manifest: dict[str, Any]) -> str:
        """The object path of ``manifest``.

        A namespaced kind without ``metadata.namespace`` is in ``default``, as ``kubectl``
        would put it; a cluster-scoped kind ignores the namespace. A manifest without
        ``apiVersion``, ``kind`` or ``metadata.name`` is a ``ValueError``.
        """
        api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
        metadata = manifest.get("metadata")
        meta = metadata if isinstance(metadata, dict) else {}
        name = meta.get("name")
        if not (isinstance(api_version, str) and api_version):
            raise ValueError("manifest has no apiVersion")
        if not (isinstance(kind, str) and kind):
            raise ValueError(f"{api_version} manifest has no kind")
        if not (isinstance(name, str) and name):
            raise ValueError(f"{api_version} {kind} manifest has no metadata.name")
        info = await self.resource_for(api_version, kind)
        namespace = str(meta.get("namespace") or "default") if info.namespaced else None
        return resource_path(info.api_version, info.plural, namespace=namespace, name=name)

    def _may_refresh(self) -> bool:
        return (
            self._last_refresh is None or self._now() - self._last_refresh >= self._refresh_interval
        )

    async def _find(
        self, group: str, version: str, kind: str
    ) -> tuple[ResourceInfo | None, _Fetched]:
        # The answer, and the document that decided it (for its freshness).
        index = await self._document("/apis" if group else "/api", group="", version="")
        if _api_version(group, version) not in index.served:
            return None, index
        path = _group_version_path(group, version)
        resources = await self._document(path, group=group, version=version)
        return resources.kinds.get(kind), resources

    async def _document(self, path: str, *, group: str, version: str) -> _Fetched:
        cached = self._documents.get(path)
        if cached is not None:
            return cached
        tick = next(self._ticks)
        try:
            body = await self._client.get(path)
        except NotFound:
            # Listed in the index, gone since (a CRD deleted in between): serves nothing.
            body = {}
        if not isinstance(body, dict):
            raise TransportError(
                f"GET {path}: not a discovery document", server=self._client.server
            )
        fetched = _Fetched(
            tick=tick,
            served=_served(body),
            kinds=_kinds(body, group=group, version=version),
        )
        self._documents[path] = fetched
        return fetched


def _split(api_version: str) -> tuple[str, str]:
    group, slash, version = api_version.rpartition("/")
    if not version or "/" in group or (slash and not group):
        raise ValueError(f"malformed apiVersion {api_version!r}")
    return group, version


def _api_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def _group_version_path(group: str, version: str) -> str:
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


def _served(body: dict[str, Any]) -> frozenset[str]:
    # APIVersions (/api) lists bare versions; APIGroupList (/apis) lists groups.
    served = {version for version in body.get("versions") or () if isinstance(version, str)}
    for entry in body.get("groups") or ():
        for version in (entry.get("versions") if isinstance(entry, dict) else None) or ():
            if isinstance(version, dict) and isinstance(version.get("groupVersion"), str):
                served.add(version["groupVersion"])
    return frozenset(served)


def _kinds(body: dict[str, Any], *, group: str, version: str) -> dict[str, ResourceInfo]:
    # APIResourceList: the first resource of a kind wins, as in client-go's mapper.
    kinds: dict[str, ResourceInfo] = {}
    for resource in body.get("resources") or ():
        if not isinstance(resource, dict):
            continue
        name, kind = resource.get("name"), resource.get("kind")
        if not (isinstance(name, str) and isinstance(kind, str)) or "/" in name:
            continue
        kinds.setdefault(
            kind,
            ResourceInfo(
                group=group,
                version=version,
                kind=kind,
                plural=name,
                namespaced=bool(resource.get("namespaced")),
                verbs=tuple(str(verb) for verb in resource.get("verbs") or ()),
            ),
        )
    return kinds
