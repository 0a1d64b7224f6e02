"""The cluster registry on the hub: Cluster objects and the Secrets with their credentials.

``register`` stores the Secret first and the Cluster second, then makes the Cluster the
Secret's owner, so removing a Cluster lets the hub's garbage collector remove its
credentials, and no Cluster ever exists whose Secret was not written.
"""

from __future__ import annotations

import base64
import contextlib
import re
from typing import Any

import yaml

from flotilla.api import API_VERSION, CLUSTER, SYSTEM_NAMESPACE, ClusterName
from flotilla.api.labels import FIELD_MANAGER
from flotilla.clusters.connections import CredentialsProblem, decode_credentials, secret_ref
from flotilla.kube import Conflict, ConnectionConfig, KubeClient, NotFound, resource_path

CLUSTER_LABEL = "flotilla.io/cluster"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class RegistryError(Exception):
    pass


def cluster_path(name: str | None = None) -> str:
    return resource_path(API_VERSION, CLUSTER.plural, name=name)


def secret_name(cluster: str) -> str:
    return f"cluster-{cluster}-kubeconfig"


def validate_name(name: str) -> ClusterName:
    if not _NAME.fullmatch(name):
        raise RegistryError(
            f"invalid cluster name {name!r}: use lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters"
        )
    return ClusterName(name)


async def register(
    hub: KubeClient,
    *,
    name: ClusterName,
    kubeconfig: dict[str, Any],
    labels: dict[str, str],
    region: str = "",
    zone: str = "",
) -> dict[str, Any]:
    """Create the Secret and the Cluster ``name``; refuse when it is registered already."""
    await ensure_unregistered(hub, name)
    secret_path = resource_path("v1", "secrets", namespace=SYSTEM_NAMESPACE, name=secret_name(name))
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(name),
            "namespace": SYSTEM_NAMESPACE,
            "labels": {CLUSTER_LABEL: name, "app.kubernetes.io/managed-by": "flotilla"},
        },
        "type": "Opaque",
        "data": {"kubeconfig": base64.b64encode(yaml.safe_dump(kubeconfig).encode()).decode()},
    }
    await hub.apply(secret_path, secret, field_manager=FIELD_MANAGER)
    all_labels = dict(labels)
    if region:
        all_labels.setdefault("region", region)
    if zone:
        all_labels.setdefault("zone", zone)
    cluster = {
        "apiVersion": API_VERSION,
        "kind": CLUSTER.kind,
        "metadata": {"name": name, "labels": all_labels},
        "spec": {
            "kubeconfigSecretRef": {
                "namespace": SYSTEM_NAMESPACE,
                "name": secret_name(name),
                "key": "kubeconfig",
            },
            "region": region,
            "zone": zone,
        },
    }
    try:
        created: dict[str, Any] = await hub.create(cluster_path(), cluster)
    except Conflict as exc:
        raise RegistryError(f"cluster {name!r} was registered meanwhile by someone else") from exc
    owner = {
        "apiVersion": API_VERSION,
        "kind": CLUSTER.kind,
        "name": name,
        "uid": created["metadata"]["uid"],
    }
    await hub.merge_patch(secret_path, {"metadata": {"ownerReferences": [owner]}})
    return created


async def ensure_unregistered(hub: KubeClient, name: str) -> None:
    try:
        await hub.get(cluster_path(name))
    except NotFound:
        return
    raise RegistryError(
        f"cluster {name!r} is registered already; remove it first "
        f"(`flotilla cluster remove {name}`) or choose another --name"
    )


async def remove(hub: KubeClient, name: str) -> None:
    try:
        await hub.delete(cluster_path(name))
    except NotFound:
        raise RegistryError(f"no cluster {name!r} is registered") from None
    secret = resource_path("v1", "secrets", namespace=SYSTEM_NAMESPACE, name=secret_name(name))
    with contextlib.suppress(NotFound):  # already collected through its owner reference
        await hub.delete(secret)


async def set_labels(hub: KubeClient, name: str, labels: dict[str, str | None]) -> dict[str, Any]:
    """Set (value) or remove (None) labels of the Cluster."""
    try:
        patched: dict[str, Any] = await hub.merge_patch(
            cluster_path(name), {"metadata": {"labels": labels}}
        )
    except NotFound:
        raise RegistryError(f"no cluster {name!r} is registered") from None
    return patched


async def list_clusters(hub: KubeClient) -> list[dict[str, Any]]:
    answer = await hub.get(cluster_path())
    return sorted(answer.get("items") or [], key=lambda item: item["metadata"]["name"])


async def get_cluster(hub: KubeClient, name: str) -> dict[str, Any]:
    try:
        cluster: dict[str, Any] = await hub.get(cluster_path(name))
    except NotFound:
        raise RegistryError(f"no cluster {name!r} is registered") from None
    return cluster


async def member_connection(hub: KubeClient, cluster: dict[str, Any]) -> ConnectionConfig:
    """The stored connection of a registered Cluster, read from its Secret.

    Decoded by ``connections.decode_credentials``, as the controllers decode it.
    """
    try:
        ref = secret_ref(cluster)
        path = resource_path("v1", "secrets", namespace=ref.namespace, name=ref.name)
        try:
            secret: dict[str, Any] | None = await hub.get(path)
        except NotFound:
            secret = None
        return decode_credentials(ref, secret).config
    except CredentialsProblem as problem:
        raise RegistryError(problem.message) from None
