"""What an Application wants on its cluster: the source at one commit, rendered and stamped.

``Renderer`` turns (spec, commit) into manifests: one checkout per (repository, commit), one
render per (commit, path, rendering options, destination), each cached (bounded) and shared
by every Application that asks the same, so 200 Applications of one repository cost one
fetch and as many renders as there are distinct sources. The controller and ``flotilla app
diff`` both use it, so what the CLI shows is what the controller applies.

``stamped`` makes rendered manifests an Application's: the destination namespace for
namespaced objects that name none (cluster-scoped ones lose any namespace, as the member's
REST mapping says), the managed-by and owner labels, and ``DIGEST_ANNOTATION``: the digest
of the manifest as git wants it. A live object whose annotation matches, and whose fields
no other manager has taken, is in sync with git (``comparing``), without a dry run and
across controller restarts. Flotilla's ownership labels a manifest already carries are
dropped first: git does not get to say that an object is a Placement's, another
Application's or another hub's (the ownership check would let the apply take it over).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flotilla.api.application import ApplicationSource, ApplicationSpec
from flotilla.api.labels import (
    APPLICATION_LABEL,
    HUB_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    OWNER_LABELS,
)
from flotilla.gitops import overlays
from flotilla.gitops.ignoring import NOTHING, Ignored, without
from flotilla.gitops.rendering import Directory, Helm, Kustomize, RenderError, Tools, detect, render
from flotilla.gitops.sources import Credentials, GitSources

DIGEST_ANNOTATION = "flotilla.io/desired-digest"
SYNC_WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
MAX_RENDERS = 512
"""Rendered sources kept (LRU)."""
MAX_OBJECTS = 5000
"""Objects one Application may render to."""
_FLOTILLA_LABELS = frozenset({*OWNER_LABELS, HUB_LABEL, MANAGED_BY_LABEL})
"""What says who owns a managed object: set by ``stamped`` (and the applier), never by git."""


@dataclass(frozen=True)
class Rendered:
    manifests: tuple[dict[str, Any], ...]
    source_type: str
    """Directory, Kustomize, Helm or Plugin."""


class Renderer:
    def __init__(
        self,
        sources: GitSources,
        *,
        tools: Tools,
        timeout: float = 60.0,
        max_bytes: int = 16 << 20,
    ) -> None:
        self.sources = sources
        self._tools = tools
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._cache: OrderedDict[str, Rendered] = OrderedDict()
        self._empty = Path(tempfile.mkdtemp(prefix="flotilla-chart-"))
        self.renders = 0
        """How many renders ran (not answered from the cache): for benchmarks and tests."""

    async def render(
        self, app_name: str, spec: ApplicationSpec, sha: str, *, namespace: str
    ) -> Rendered:
        """The manifests of ``spec.source`` at commit ``sha`` (RenderError, SourceError)."""
        source = spec.source
        key = _key(source, sha, namespace, app_name)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        directory, kustomize, helm = options_of(source, app_name)
        if source.chart:  # a chart from a Helm repository: no git, ``sha`` is its version
            root = self._empty
            helm = dataclasses.replace(
                helm or Helm(release_name=app_name),
                chart=source.chart,
                repo_url=source.repo_url,
                version=sha,
            )
        else:
            root = await self.sources.checkout(source.repo_url, sha, source.path)
        kind = detect(root, directory=directory, kustomize=kustomize, helm=helm)
        manifests = await render(
            root,
            directory=directory,
            kustomize=kustomize,
            helm=helm,
            namespace=namespace,
            app_name=app_name,
            tools=self._tools,
            timeout=self._timeout,
            max_bytes=self._max_bytes,
        )
        if len(manifests) > MAX_OBJECTS:
            raise RenderError(
                f"the source renders {len(manifests)} objects; at most {MAX_OBJECTS} are synced",
                tool=kind,
            )
        self.renders += 1
        kind = "plugin" if source.plugin is not None else kind
        rendered = Rendered(tuple(manifests), _SOURCE_TYPES[kind])
        self._cache[key] = rendered
        while len(self._cache) > MAX_RENDERS:
            self._cache.popitem(last=False)
        return rendered


_SOURCE_TYPES = {
    "directory": "Directory",
    "kustomize": "Kustomize",
    "helm": "Helm",
    "plugin": "Plugin",
}


def options_of(
    source: ApplicationSource, app_name: str
) -> tuple[Directory | None, Kustomize | None, Helm | None]:
    """The rendering options of an Application's source, in rendering's terms."""
    directory = kustomize = helm = None
    if source.plugin is not None:
        others = [n for n in ("directory", "kustomize", "helm") if getattr(source, n) is not None]
        if others:
            raise RenderError(
                f"a plugin source cannot also have {' and '.join(others)}", tool="plugin"
            )
        plugin = source.plugin
        if plugin.env:
            raise RenderError(f"plugin {plugin.name[:63]!r} takes no env", tool="plugin")
        try:
            chosen = overlays.plugin_options(plugin.name, [p.to_wire() for p in plugin.parameters])
        except overlays.OverlayError as exc:
            raise RenderError(str(exc), tool="plugin") from None
        directory = Directory(recurse=True, exclude=chosen.exclude, overlays=chosen.overlays)
    if source.directory is not None:
        d = source.directory
        directory = Directory(recurse=d.recurse, include=d.include, exclude=d.exclude)
    if source.kustomize is not None:
        k = source.kustomize
        kustomize = Kustomize(
            name_prefix=k.name_prefix,
            name_suffix=k.name_suffix,
            images=tuple(k.images),
            common_labels=dict(k.common_labels),
            namespace=k.namespace,
        )
    if source.helm is not None:
        h = source.helm
        helm = Helm(
            release_name=h.release_name or app_name,
            value_files=tuple(h.value_files),
            values=h.values,
            values_object=h.values_object,
            parameters=tuple((p.name, p.value) for p in h.parameters if not p.force_string),
            string_parameters=tuple((p.name, p.value) for p in h.parameters if p.force_string),
            skip_crds=h.skip_crds,
        )
    return directory, kustomize, helm


def _key(source: ApplicationSource, sha: str, namespace: str, app_name: str) -> str:
    text = json.dumps([source.to_wire(), sha, namespace, app_name], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def stamped(
    manifests: tuple[dict[str, Any], ...] | list[dict[str, Any]],
    *,
    owner: str,
    namespace: str,
    namespaced: Callable[[dict[str, Any]], bool | None],
    ignored: Callable[[dict[str, Any]], Ignored] = lambda _manifest: NOTHING,
) -> list[dict[str, Any]]:
    """``manifests`` made the Application ``owner``'s ("ns.name"): see the module docstring.

    ``ignored(manifest)`` names the fields ``ignoreDifferences`` leaves out of the digest.
    ``namespaced(manifest)`` says what the member's mapping says of the kind (None: it does
    not know the kind yet, as with a CRD in the same sync: it is taken as namespaced).
    """
    out = []
    for manifest in manifests:
        item = copy.deepcopy(manifest)
        meta = item.setdefault("metadata", {})
        scoped = namespaced(item)
        if scoped is False:
            meta.pop("namespace", None)
        elif not meta.get("namespace") and namespace:
            meta["namespace"] = namespace
        labels = {k: v for k, v in (meta.get("labels") or {}).items() if k not in _FLOTILLA_LABELS}
        meta["labels"] = {**labels, MANAGED_BY_LABEL: MANAGED_BY, APPLICATION_LABEL: owner}
        annotations = {k: v for k, v in (meta.get("annotations") or {}).items()}
        annotations.pop(DIGEST_ANNOTATION, None)
        meta["annotations"] = annotations
        # What ignoreDifferences leaves out is not part of what git wants, either.
        left_out = ignored(item).pointers
        annotations[DIGEST_ANNOTATION] = digest(without(item, left_out) if left_out else item)
        out.append(item)
    return out


def digest(manifest: dict[str, Any]) -> str:
    """The digest of a manifest without its digest annotation."""
    item = copy.deepcopy(manifest)
    (item.get("metadata") or {}).get("annotations", {}).pop(DIGEST_ANNOTATION, None)
    text = json.dumps(item, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def digest_of_all(manifests: list[dict[str, Any]]) -> str:
    """One digest for a whole rendered set (for history)."""
    text = "".join(sorted(digest(m) for m in manifests))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def waves(manifests: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``manifests`` by sync wave (``argocd.argoproj.io/sync-wave``, default 0), lowest first.

    A wave that is not an integer is wave 0, as Argo CD reads it."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for manifest in manifests:
        raw = ((manifest.get("metadata") or {}).get("annotations") or {}).get(
            SYNC_WAVE_ANNOTATION, "0"
        )
        try:
            wave = int(str(raw).strip())
        except ValueError:
            wave = 0
        groups.setdefault(wave, []).append(manifest)
    return [groups[w] for w in sorted(groups)]


__all__ = [
    "DIGEST_ANNOTATION",
    "SYNC_WAVE_ANNOTATION",
    "Credentials",
    "Rendered",
    "Renderer",
    "digest",
    "digest_of_all",
    "options_of",
    "stamped",
    "waves",
]
