"""Template selection: the hub objects a Placement's resource selectors choose.

Templates are read from hub informers, one per selected kind (resolved with the hub's REST
mapping), indexed by namespace; the first Placement that selects a kind starts its
informer. A kind that cannot be resolved, listed or watched is a problem of the Placements
that select it, never of the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flotilla.api.labels import HUB_CLUSTER
from flotilla.api.placement import PlacementSpec
from flotilla.kube import KubeError, RestMapper, UnknownKind, resource_path
from flotilla.propagation.planning import selected
from flotilla.runtime.clock import Clock
from flotilla.runtime.informer import Informer, SharedInformers
from flotilla.runtime.reflector import Event

SYNC_TIMEOUT = 10.0
NAMESPACE_INDEX = "namespace"


class TemplateSelection:
    def __init__(
        self,
        hub_informers: SharedInformers,
        mapper: RestMapper,
        *,
        clock: Clock,
        on_template: Callable[[Event], None],
    ) -> None:
        self._hub_informers = hub_informers
        self._mapper = mapper
        self._clock = clock
        self._on_template = on_template
        self._informers: dict[str, Informer] = {}

    async def select(
        self, namespace: str, spec: PlacementSpec
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """The templates ``spec`` selects in ``namespace``, and what could not be read."""
        candidates = []
        problems: list[str] = []
        for selector in spec.resource_selectors:
            try:
                informer = await self._informer(selector.api_version, selector.kind)
            except UnknownKind as exc:
                problems.append(str(exc))
                continue
            except (KubeError, ValueError, TimeoutError) as exc:
                reason = str(exc) or type(exc).__name__
                problems.append(f"{selector.api_version} {selector.kind}: {reason}"[:300])
                continue
            candidates.append((selector, informer.by_index(NAMESPACE_INDEX, namespace)))
        return selected(namespace, candidates), problems

    async def _informer(self, api_version: str, kind: str) -> Informer:
        info = await self._mapper.resource_for(api_version, kind)
        if not info.namespaced:
            raise ValueError(
                f"{kind} is cluster-scoped: a Placement selects only namespaced templates "
                "of its own namespace"
            )
        if not {"list", "watch"} <= set(info.verbs):
            raise ValueError(f"{kind} cannot be listed and watched, so it cannot be a template")
        path = resource_path(api_version, info.plural)
        informer = self._informers.get(path)
        if informer is None or informer.failure is not None:
            # Isolated: a template kind whose CRD is deleted stops its informer only; the
            # next pass asks for a new one.
            informer = self._hub_informers.informer(HUB_CLUSTER, path, critical=False)
            informer.add_index(NAMESPACE_INDEX, _namespace_values)
            informer.add_handler(self._on_template)
            self._informers[path] = informer
        async with self._clock.timeout(SYNC_TIMEOUT):
            await informer.wait_synced()
        return informer


def selects_kind(placement: dict[str, Any], template: dict[str, Any]) -> bool:
    """Whether ``placement`` has a selector for the kind (and name) of ``template``."""
    meta = template.get("metadata") or {}
    api_version, kind = template.get("apiVersion"), template.get("kind")
    selectors = (placement.get("spec") or {}).get("resourceSelectors") or []
    return any(
        isinstance(sel, dict)
        and sel.get("kind") == kind
        and sel.get("apiVersion") == api_version
        and sel.get("name") in (None, "", meta.get("name"))
        for sel in selectors
    )


def _namespace_values(item: dict[str, Any]) -> list[str]:
    namespace = (item.get("metadata") or {}).get("namespace")
    return [namespace] if namespace else []


__all__ = ["TemplateSelection", "selects_kind"]
