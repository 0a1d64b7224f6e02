"""Hub and members at the wire for the cluster controllers.

Builders for member kubeconfigs stored in Secrets (good and broken), a hub holding
Clusters and their Secrets, and a member that answers the probe's reads.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import yaml

from flotilla.api import API_VERSION, SYSTEM_NAMESPACE
from flotilla.kube import KubeClient

from ..fakeapi import FakeApi, body_of

CLUSTERS = f"/apis/{API_VERSION}/clusters"
SECRETS = f"/api/v1/namespaces/{SYSTEM_NAMESPACE}/secrets"
TOKEN = "canary-token-never-shown"


def kubeconfig(*, cluster: dict[str, Any] | None = None, user: dict[str, Any] | None = None) -> Any:
    """A one-context kubeconfig for https://member.test with a token, changed as asked."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "member",
        "clusters": [
            {"name": "member", "cluster": {"server": "https://member.test", **(cluster or {})}}
        ],
        "users": [{"name": "member", "user": {"token": TOKEN, **(user or {})}}],
        "contexts": [{"name": "member", "context": {"cluster": "member", "user": "member"}}],
    }


def secret(name: str, document: Any = None, *, raw: str | None = None) -> dict[str, Any]:
    """A Secret holding ``document`` (as YAML) or ``raw`` (already base64) under kubeconfig."""
    data = raw if raw is not None else base64.b64encode(yaml.safe_dump(document).encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": SYSTEM_NAMESPACE},
        "data": {"kubeconfig": data},
    }


def cluster(name: str, *, secret_name: str | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Cluster",
        "metadata": {"name": name},
        "spec": {"kubeconfigSecretRef": {"name": secret_name or f"{name}-kubeconfig"}, **spec},
    }


class Hub:
    """The hub's Clusters and Secrets, on a ``FakeApi`` that serves ``clusters/{name}/status``."""

    def __init__(self) -> None:
        self.api = FakeApi()

    def client(self) -> KubeClient:
        return self.api.client()

    def add(
        self,
        name: str,
        document: Any = None,
        *,
        raw: str | None = None,
        status: dict[str, Any] | None = None,
        **spec: Any,
    ) -> None:
        """Register ``name`` with a Secret holding ``document`` (or ``raw`` base64)."""
        self.api.put(SECRETS, secret(f"{name}-kubeconfig", document, raw=raw))
        self.api.put(CLUSTERS, {**cluster(name, **spec), **({"status": status} if status else {})})

    def status(self, name: str) -> dict[str, Any]:
        return dict((self.api.get(f"{CLUSTERS}/{name}") or {}).get("status") or {})

    def condition(self, name: str, type: str) -> dict[str, Any] | None:
        found = (c for c in self.status(name).get("conditions") or [] if c["type"] == type)
        return next(found, None)

    def status_writes(self) -> list[Any]:
        return [body_of(request) for request in self.api.requests(method="PATCH")]


NODES_PATH = "/api/v1/nodes"
KUBE_SYSTEM = "/api/v1/namespaces/kube-system"


def member(
    nodes: Any = None, *, seen: list[str] | None = None, **answers: httpx.Response
) -> httpx.MockTransport:
    """A member answering the probe's reads; ``answers`` by path replace the healthy ones.

    The paths asked for go into ``seen``.
    """
    healthy = {
        KUBE_SYSTEM: {"kind": "Namespace", "metadata": {"name": "kube-system"}},
        "/version": {"gitVersion": "v1.31.2"},
        NODES_PATH: {"kind": "NodeList", "items": nodes if nodes is not None else [ready_node()]},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request.url.path)
        answer = answers.get(request.url.path)
        if answer is not None:  # a fresh copy: a response is read once
            return httpx.Response(
                answer.status_code, headers=answer.headers, content=answer.content
            )
        return httpx.Response(200, json=healthy[request.url.path])

    return httpx.MockTransport(handler)


def ready_node(name: str = "a", **resources: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "capacity": resources or {"cpu": "4", "pods": "110"},
            "allocatable": resources or {"cpu": "4", "pods": "110"},
        },
    }
