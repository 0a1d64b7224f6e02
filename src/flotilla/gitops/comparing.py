"""Sync status and health of an Application's objects: desired (git) against live. Pure.

An object is **Synced** when the live object carries the digest of what git wants
(``desired.DIGEST_ANNOTATION``, written by our server-side apply) and no other field manager
has taken a field we set (``drift.managers_of_our_fields``: a ``kubectl scale`` or ``edit``);
**OutOfSync** otherwise, saying which; **Missing** when it is not there; **Extraneous** when
it is the Application's on the member but no longer in git (it needs pruning). Fields other
managers own and we do not set (an HPA's replicas, defaults the server fills in) are not a
difference, as with Argo CD's server-side diff, and no dry run is needed to tell.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flotilla.api.application import ResourceHealth, ResourceStatus
from flotilla.gitops.desired import DIGEST_ANNOTATION
from flotilla.gitops.health import Health, aggregate, health_of
from flotilla.gitops.ignoring import NOTHING, Ignored, without
from flotilla.propagation.drift import managers_of_our_fields

SYNCED, OUT_OF_SYNC, MISSING, EXTRANEOUS = "Synced", "OutOfSync", "Missing", "Extraneous"


def compare(
    manifest: dict[str, Any], live: dict[str, Any] | None, ignored: Ignored = NOTHING
) -> tuple[str, str]:
    """(sync status, why) of one desired object against its live copy; ``ignored`` fields
    (``ignoreDifferences``) are no difference whoever owns them."""
    if live is None:
        return MISSING, "not on the cluster"
    wanted = ((manifest.get("metadata") or {}).get("annotations") or {}).get(DIGEST_ANNOTATION)
    there = ((live.get("metadata") or {}).get("annotations") or {}).get(DIGEST_ANNOTATION)
    if wanted != there:
        return OUT_OF_SYNC, "differs from git"
    ours = without(manifest, ignored.pointers) if ignored.pointers else manifest
    intruders = [m for m in managers_of_our_fields(live, ours) if m not in ignored.managers]
    if intruders:
        return OUT_OF_SYNC, f"changed on the cluster by {', '.join(intruders)}"
    return SYNCED, ""


def entry(
    item: dict[str, Any],
    status: str,
    *,
    live: dict[str, Any] | None,
    message: str = "",
) -> tuple[ResourceStatus, Health | None]:
    """The status entry of one object (desired, or live for an extraneous one)."""
    api_version = str(item.get("apiVersion") or "")
    group, _, version = api_version.rpartition("/")
    meta = item.get("metadata") or {}
    health = health_of(live) if live is not None else None
    if live is None and status == MISSING:
        health = Health("Missing")
    return (
        ResourceStatus(
            group=group,
            version=version,
            kind=str(item.get("kind") or ""),
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name") or ""),
            status=status,
            health=ResourceHealth(status=health.status, message=health.message[:1024])
            if health
            else None,
            message=message[:1024],
            requires_pruning=status == EXTRANEOUS,
        ),
        health,
    )


def app_sync(entries: Iterable[ResourceStatus]) -> str:
    """Synced when every object is (and nothing waits to be pruned)."""
    return SYNCED if all(e.status == SYNCED for e in entries) else OUT_OF_SYNC


def app_health(healths: Iterable[Health | None]) -> Health:
    """The Application's health: its worst object's (objects without a rule do not count)."""
    return aggregate(healths)


__all__ = [
    "EXTRANEOUS",
    "MISSING",
    "OUT_OF_SYNC",
    "SYNCED",
    "app_health",
    "app_sync",
    "compare",
    "entry",
]
