"""The EndpointSlices an import gets in a member: each exporting cluster's, copied.

One imported slice per source slice, so each slice has one source cluster (the KEP's
rule) and a source's churn touches only its own copies. A copy keeps the address type,
the ports and each endpoint's addresses, conditions (ready, serving, terminating),
hostname and zone; what names objects of the source cluster (``nodeName``, ``targetRef``)
is left out: it means nothing in another cluster. Labels: ``multicluster.kubernetes.io/
service-name`` (the import) and ``.../source-cluster`` (the cluster id), the
``endpointslice.kubernetes.io/managed-by`` of Flotilla (so the member's own EndpointSlice
controller leaves them alone) and Flotilla's ownership labels; never
``kubernetes.io/service-name``, which would make them a local Service's. The owner is the
member's ServiceImport (its garbage collector removes them with it).

Cilium's ``service.cilium.io/shared: "false"`` keeps a cluster's endpoints out of every
other cluster's copies (it still sees its own and the others').
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flotilla.api.labels import HUB_LABEL, MANAGED_BY, MANAGED_BY_LABEL

SERVICE_NAME_LABEL = "multicluster.kubernetes.io/service-name"
SOURCE_CLUSTER_LABEL = "multicluster.kubernetes.io/source-cluster"
SLICE_MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
SLICE_MANAGER = "flotilla.io"
LOCAL_SERVICE_LABEL = "kubernetes.io/service-name"
MAX_NAME = 63


@dataclass(frozen=True)
class Source:
    """The slices of one exporting cluster for one service."""

    cluster: str
    slices: Sequence[Mapping[str, Any]]
    shared: bool = True


def imported_slices(
    *,
    namespace: str,
    name: str,
    member: str,
    sources: Sequence[Source],
    hub: str,
) -> list[dict[str, Any]]:
    """The imported EndpointSlices ``member`` gets for service ``name`` (no owner yet:
    the caller sets it to the member's ServiceImport)."""
    out = []
    for source in sources:
        if not source.shared and source.cluster != member:
            continue
        for origin in source.slices:
            address_type = origin.get("addressType")
            if address_type not in ("IPv4", "IPv6", "FQDN"):
                continue
            out.append(
                {
                    "apiVersion": "discovery.k8s.io/v1",
                    "kind": "EndpointSlice",
                    "metadata": {
                        "name": slice_name(name, source.cluster, origin["metadata"]["name"]),
                        "namespace": namespace,
                        "labels": {
                            SERVICE_NAME_LABEL: name,
                            SOURCE_CLUSTER_LABEL: source.cluster,
                            SLICE_MANAGED_BY_LABEL: SLICE_MANAGER,
                            MANAGED_BY_LABEL: MANAGED_BY,
                            HUB_LABEL: hub,
                        },
                    },
                    "addressType": address_type,
                    "endpoints": [
                        _endpoint(e)
                        for e in origin.get("endpoints") or []
                        if isinstance(e, Mapping)
                    ],
                    "ports": [
                        _port(p) for p in origin.get("ports") or [] if isinstance(p, Mapping)
                    ],
                }
            )
    return out


def slice_name(service: str, cluster: str, origin: str) -> str:
    """``<service>-<cluster>-<hash>``: unique per (cluster, source slice), within 63."""
    digest = hashlib.sha256(f"{cluster}/{origin}".encode()).hexdigest()[:10]
    head = f"{service}-{cluster}"[: MAX_NAME - 11].rstrip("-.")
    return f"{head}-{digest}"


def _endpoint(endpoint: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"addresses": [str(a) for a in endpoint.get("addresses") or []]}
    conditions = endpoint.get("conditions")
    if isinstance(conditions, Mapping):
        out["conditions"] = {
            k: bool(conditions[k])
            for k in ("ready", "serving", "terminating")
            if conditions.get(k) is not None
        }
    for key in ("hostname", "zone"):
        if isinstance(endpoint.get(key), str):
            out[key] = endpoint[key]
    return out


def _port(port: Mapping[str, Any]) -> dict[str, Any]:
    return {k: port[k] for k in ("name", "protocol", "port", "appProtocol") if k in port}


def is_ready(endpoint: Mapping[str, Any]) -> bool:
    """Ready as EndpointSlices mean it: ``ready`` unset is ready; terminating is not."""
    conditions = endpoint.get("conditions") or {}
    return conditions.get("ready") is not False and conditions.get("terminating") is not True
