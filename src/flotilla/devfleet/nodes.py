"""Simulated nodes of a member cluster, played by kwok.

Nodes are plain Node objects that kwok manages as if it were their kubelet. They carry the
member's region and zone, and a capacity large enough for demos but not unlimited, so that
capacity-aware scheduling has real numbers to work with.
"""

from __future__ import annotations

from typing import Any

from flotilla.devfleet.topology import LocalCluster

NODE_CPU = "16"
NODE_MEMORY = "64Gi"
NODE_PODS = "110"


def node_names(cluster: LocalCluster) -> list[str]:
    return [f"{cluster.name}-node-{i}" for i in range(1, cluster.nodes + 1)]


def node_manifest(cluster: LocalCluster, name: str) -> dict[str, Any]:
    resources = {"cpu": NODE_CPU, "memory": NODE_MEMORY, "pods": NODE_PODS}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
                "topology.kubernetes.io/region": cluster.labels.get("region", ""),
                "topology.kubernetes.io/zone": cluster.labels.get("zone", ""),
            },
            "annotations": {
                "kwok.x-k8s.io/node": "fake",
                "node.alpha.kubernetes.io/ttl": "0",
            },
        },
        "spec": {},
        "status": {"allocatable": resources, "capacity": resources},
    }
