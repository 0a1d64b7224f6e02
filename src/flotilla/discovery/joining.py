"""A member joining the clusterset: the MCS CRDs and its cluster id, on the member.

- The ServiceExport and ServiceImport CRDs of the pinned ``sigs.k8s.io/mcs-api`` release
  (``crds/``, copied by ``hack/mcs-crds.sh``) and the About API's ClusterProperty are
  applied unless the member has a newer release of them (``multicluster.x-k8s.io/
  release-version``, then ``crd-schema-revision``): an upgrade is never undone. Joining
  waits until they are Established.
- The cluster id is the ClusterProperty ``cluster.clusterset.k8s.io``: kept if the member
  has one (it is immutable while the member is in a clusterset), written with the Cluster's
  name otherwise. It must be one DNS label. ``clusterset.k8s.io`` says which clusterset;
  a member that names another one is not joined (it belongs to someone else).

A member that cannot join is a ``JoinError`` with the reason; nothing of it is imported.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from flotilla.api.labels import FIELD_MANAGER
from flotilla.kube import KubeClient, KubeError, NotFound, resource_path

CRDS = resource_path("apiextensions.k8s.io/v1", "customresourcedefinitions")
PROPERTIES = resource_path("about.k8s.io/v1beta1", "clusterproperties")
CLUSTER_ID_PROPERTY = "cluster.clusterset.k8s.io"
CLUSTERSET_PROPERTY = "clusterset.k8s.io"
RELEASE_LABEL = "multicluster.x-k8s.io/release-version"
REVISION_LABEL = "multicluster.x-k8s.io/crd-schema-revision"
ESTABLISH_TIMEOUT = 20.0
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class JoinError(Exception):
    """A member that cannot be part of the clusterset, and why. ``permanent``: it will not
    join until someone changes it (another clusterset, a bad id); otherwise it may next time
    (a CRD slow to be Established, a failed write)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Joined:
    cluster: str
    cluster_id: str


@cache
def crds() -> tuple[dict[str, Any], ...]:
    """The CRDs every member gets (read once from the package)."""
    folder = resources.files("flotilla.discovery") / "crds"
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            found.append(yaml.safe_load(entry.read_text()))
    return tuple(found)


async def join(client: KubeClient, *, cluster: str, clusterset: str) -> Joined:
    """Install the CRDs on the member and settle its cluster id; a member of another
    clusterset is refused before anything is written to it."""
    member_set = await _read(client, CLUSTERSET_PROPERTY)
    if member_set and member_set != clusterset:
        raise JoinError(
            f"it belongs to clusterset {member_set[:80]!r} ({CLUSTERSET_PROPERTY}), "
            f"not {clusterset!r}",
            permanent=True,
        )
    for crd in crds():
        await _install(client, crd)
    for crd in crds():
        await _established(client, crd["metadata"]["name"])
    cluster_id = await _property(client, CLUSTER_ID_PROPERTY, cluster)
    if not _LABEL.fullmatch(cluster_id):
        raise JoinError(
            f"its cluster id {cluster_id[:80]!r} ({CLUSTER_ID_PROPERTY}) is not one DNS label",
            permanent=True,
        )
    member_set = await _property(client, CLUSTERSET_PROPERTY, clusterset)
    if member_set != clusterset:
        raise JoinError(
            f"it belongs to clusterset {member_set[:80]!r} ({CLUSTERSET_PROPERTY}), "
            f"not {clusterset!r}",
            permanent=True,
        )
    return Joined(cluster, cluster_id)


async def _install(client: KubeClient, crd: Mapping[str, Any]) -> None:
    name = crd["metadata"]["name"]
    try:
        live = await client.get(f"{CRDS}/{name}")
    except NotFound:
        live = None
    if live is not None and (_newer(live, crd) or _foreign(live, crd)):
        return
    await client.apply(f"{CRDS}/{name}", dict(crd), field_manager=FIELD_MANAGER)


def _foreign(live: Mapping[str, Any], ours: Mapping[str, Any]) -> bool:
    """A CRD we wrote without release labels (the About API's) that someone else installed:
    theirs to keep."""
    labels = (ours.get("metadata") or {}).get("labels") or {}
    if RELEASE_LABEL in labels:
        return False
    theirs = (live.get("metadata") or {}).get("labels") or {}
    return theirs.get("app.kubernetes.io/managed-by") != "flotilla"


async def _read(client: KubeClient, name: str) -> str:
    """The member's property ``name``; "" when it has none (or no ClusterProperty API)."""
    try:
        found = await client.get(f"{PROPERTIES}/{name}")
    except NotFound:
        return ""
    return str((found.get("spec") or {}).get("value") or "")


def _newer(live: Mapping[str, Any], ours: Mapping[str, Any]) -> bool:
    """Whether the member's CRD is a later release than ours (never downgraded)."""

    def version(crd: Mapping[str, Any]) -> tuple[tuple[int, ...], int]:
        labels = (crd.get("metadata") or {}).get("labels") or {}
        release = tuple(int(n) for n in re.findall(r"\d+", str(labels.get(RELEASE_LABEL, ""))))
        revision = str(labels.get(REVISION_LABEL, "0"))
        return release, int(revision) if revision.isdigit() else 0

    return version(live) > version(ours)


async def _established(client: KubeClient, name: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ESTABLISH_TIMEOUT
    while True:
        crd = await client.get(f"{CRDS}/{name}")
        for condition in (crd.get("status") or {}).get("conditions") or []:
            if condition.get("type") == "Established" and condition.get("status") == "True":
                return
        if loop.time() > deadline:
            raise JoinError(f"CRD {name} is not Established after {ESTABLISH_TIMEOUT:g}s")
        await asyncio.sleep(0.2)


async def _property(client: KubeClient, name: str, value: str) -> str:
    """The member's property ``name``; written as ``value`` when it has none."""
    path = f"{PROPERTIES}/{name}"
    try:
        live = await client.get(path)
    except NotFound:
        live = None
    if live is not None:
        found = str((live.get("spec") or {}).get("value") or "")
        if found:  # immutable while the member is in a clusterset
            return found
    body = {
        "apiVersion": "about.k8s.io/v1beta1",
        "kind": "ClusterProperty",
        "metadata": {"name": name},
        "spec": {"value": value},
    }
    try:
        await client.apply(path, body, field_manager=FIELD_MANAGER, force=False)
    except KubeError as exc:
        raise JoinError(f"cannot write ClusterProperty {name}: {exc}") from None
    return value
