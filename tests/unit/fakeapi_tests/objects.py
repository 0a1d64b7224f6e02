"""Objects and paths the tests of the fake write: a Deployment, a Cluster, a ConfigMap."""

from __future__ import annotations

from typing import Any

from flotilla.api import API_VERSION

DEPLOYMENTS = "/apis/apps/v1/namespaces/web/deployments"
ALL_DEPLOYMENTS = "/apis/apps/v1/deployments"
WEB = f"{DEPLOYMENTS}/web"
CLUSTERS = f"/apis/{API_VERSION}/clusters"
FLOTILLA = "flotilla"


def deployment(name: str = "web", *, replicas: int = 2, image: str = "nginx:1") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "web", "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "app", "image": image}]}},
        },
    }


def cluster(name: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Cluster",
        "metadata": {"name": name},
        "spec": {"kubeconfigSecretRef": {"name": f"{name}-kubeconfig"}},
    }


def managers(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``fieldsV1`` by manager, from an object's managedFields."""
    return {entry["manager"]: entry["fieldsV1"] for entry in obj["metadata"]["managedFields"]}
