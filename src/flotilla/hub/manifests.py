"""The manifests of Flotilla on the hub: CRDs, namespace, RBAC, the controller Deployment.

Generated here, written to ``deploy/`` by ``flotilla hub manifests deploy/`` and applied by
``flotilla hub install``; a unit test keeps ``deploy/`` equal to what this module makes.

The controller's RBAC is least-privilege: it writes only Flotilla's kinds, their status,
Events, and Leases in ``flotilla-system``; it reads templates of any kind, because
Placements may select any kind, and never writes them.
"""

from __future__ import annotations

from typing import Any

from flotilla import __version__
from flotilla.api import ALL_KINDS, GROUP, SYSTEM_NAMESPACE, crd

CONTROLLER = "flotilla-controller"
IMAGE = f"ghcr.io/flotilla-io/flotilla:{__version__}"
LABELS = {"app.kubernetes.io/name": "flotilla", "app.kubernetes.io/component": "controller"}


def hub_manifests() -> list[dict[str, Any]]:
    """What ``hub install`` applies: CRDs and the system namespace."""
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": SYSTEM_NAMESPACE, "labels": {"app.kubernetes.io/name": "flotilla"}},
    }
    return [*(crd(kind) for kind in ALL_KINDS), namespace]


def controller_manifests() -> list[dict[str, Any]]:
    """ServiceAccount, RBAC and Deployment to run the controller on the hub."""
    plurals = [kind.plural for kind in ALL_KINDS]
    meta = {"name": CONTROLLER, "labels": LABELS}
    namespaced = {**meta, "namespace": SYSTEM_NAMESPACE}
    subject = [{"kind": "ServiceAccount", "name": CONTROLLER, "namespace": SYSTEM_NAMESPACE}]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": namespaced},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": meta,
            "rules": [
                {
                    "apiGroups": [GROUP],
                    "resources": plurals,
                    "verbs": ["get", "list", "watch", "update", "patch"],
                },
                {
                    "apiGroups": [GROUP],
                    "resources": [f"{plural}/status" for plural in plurals],
                    "verbs": ["get", "update", "patch"],
                },
                # Templates may be of any kind: Placements select them, the controller reads
                # them and never writes them.
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]},
                {
                    "apiGroups": ["", "events.k8s.io"],
                    "resources": ["events"],
                    "verbs": ["create", "patch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": meta,
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": CONTROLLER,
            },
            "subjects": subject,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": namespaced,
            "rules": [
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]},
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["get", "create", "update"],
                },
                {
                    "apiGroups": ["", "events.k8s.io"],
                    "resources": ["events"],
                    "verbs": ["create", "patch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": namespaced,
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": CONTROLLER,
            },
            "subjects": subject,
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": namespaced,
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": LABELS},
                "template": {
                    "metadata": {"labels": LABELS},
                    "spec": {
                        "serviceAccountName": CONTROLLER,
                        "containers": [
                            {
                                "name": "controller",
                                "image": IMAGE,
                                "args": ["controller", "run", "--in-cluster", "--leader-elect"],
                                "ports": [{"name": "metrics", "containerPort": 8080}],
                                "readinessProbe": {
                                    "httpGet": {"path": "/readyz", "port": "metrics"}
                                },
                                "livenessProbe": {
                                    "httpGet": {"path": "/healthz", "port": "metrics"}
                                },
                                "resources": {
                                    "requests": {"cpu": "100m", "memory": "128Mi"},
                                    "limits": {"memory": "512Mi"},
                                },
                                "securityContext": {
                                    "runAsNonRoot": True,
                                    "allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]},
                                },
                            }
                        ],
                    },
                },
            },
        },
    ]
