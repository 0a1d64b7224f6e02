"""What a member runs to answer for ``clusterset.local`` in production (``deploy/member/``).

Two replicas of ``flotilla dns serve`` in ``flotilla-system`` (non-root, port 5353 behind a
Service on 53, UDP and TCP), a ServiceAccount that may only read the member's
ServiceImports, EndpointSlices and ClusterProperties, and the CoreDNS stanza that forwards
``clusterset.local`` to that Service (in the file's header: the Service's address is the
member's to give).
"""

from __future__ import annotations

from typing import Any

from flotilla.hub.manifests import CONTAINER_SECURITY, IMAGE, POD_SECURITY

NAMESPACE = "flotilla-system"
NAME = "flotilla-clusterset-dns"
PORT = 5353
LABELS = {"app.kubernetes.io/name": "flotilla", "app.kubernetes.io/component": "clusterset-dns"}

COREDNS_STANZA = """\
# Apply on a member to answer for clusterset.local there; then make the member's CoreDNS
# forward clusterset.local to it: add to its Corefile (kube-system/coredns), with the
# Service's clusterIP
# (kubectl -n flotilla-system get service flotilla-clusterset-dns -o jsonpath='{.spec.clusterIP}'):
#
#   clusterset.local:53 {
#       errors
#       cache 5
#       forward . <that clusterIP>
#   }
"""


def dns_manifests() -> list[dict[str, Any]]:
    meta = {"name": NAME, "namespace": NAMESPACE, "labels": LABELS}
    read = ["get", "list", "watch"]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": NAME, "labels": LABELS},
            "rules": [
                {
                    "apiGroups": ["multicluster.x-k8s.io"],
                    "resources": ["serviceimports"],
                    "verbs": read,
                },
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
                {"apiGroups": ["about.k8s.io"], "resources": ["clusterproperties"], "verbs": read},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": NAME, "labels": LABELS},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": NAME,
            },
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
        },
        _deployment(meta),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "selector": LABELS,
                "ports": [
                    {"name": "dns", "port": 53, "targetPort": PORT, "protocol": "UDP"},
                    {"name": "dns-tcp", "port": 53, "targetPort": PORT, "protocol": "TCP"},
                ],
            },
        },
    ]


def _deployment(meta: dict[str, Any]) -> dict[str, Any]:
    probe = {"tcpSocket": {"port": PORT}, "periodSeconds": 10, "timeoutSeconds": 3}
    container = {
        "name": "dns",
        "image": IMAGE,
        "args": ["dns", "serve", f"--listen=0.0.0.0:{PORT}"],
        "ports": [
            {"name": "dns", "containerPort": PORT, "protocol": "UDP"},
            {"name": "dns-tcp", "containerPort": PORT, "protocol": "TCP"},
        ],
        "readinessProbe": probe,
        "livenessProbe": probe,
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": dict(CONTAINER_SECURITY),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "serviceAccountName": NAME,
                    "securityContext": dict(POD_SECURITY),
                    "containers": [container],
                },
            },
        },
    }
