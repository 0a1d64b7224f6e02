"""A pretend kube-apiserver that serves only discovery, through ``httpx.MockTransport``.

The documents are shaped like a v1.37 server's legacy discovery answers (``APIVersions``,
``APIGroupList``, ``APIResourceList``), trimmed to a few resources each but keeping the
subresources, short names and storage version hashes a real server sends.
``install_flotilla_crds`` adds the ``flotilla.io/v1alpha1`` group, as installing the CRDs
does; ``fail_next`` answers one request badly; ``hold`` keeps answers back until
``release``, so concurrent lookups can pile up.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from typing import Any

import httpx

from flotilla.kube import ConnectionConfig, KubeClient
from tests.unit.fakeapi import status

API_VERSIONS: dict[str, Any] = {
    "kind": "APIVersions",
    "versions": ["v1"],
    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "172.18.0.2:6443"}],
}

_READ_WRITE = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def _group(name: str, version: str) -> dict[str, Any]:
    entry = {"groupVersion": f"{name}/{version}", "version": version}
    return {"name": name, "versions": [entry], "preferredVersion": entry}


def api_group_list(*, flotilla: bool) -> dict[str, Any]:
    groups = [
        _group("apiregistration.k8s.io", "v1"),
        _group("apps", "v1"),
        _group("events.k8s.io", "v1"),
        _group("rbac.authorization.k8s.io", "v1"),
        _group("coordination.k8s.io", "v1"),
        _group("apiextensions.k8s.io", "v1"),
    ]
    if flotilla:
        groups.append(_group("flotilla.io", "v1alpha1"))
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


CORE_V1: dict[str, Any] = {
    "kind": "APIResourceList",
    "groupVersion": "v1",
    "resources": [
        {
            "name": "bindings",
            "singularName": "binding",
            "namespaced": True,
            "kind": "Binding",
            "verbs": ["create"],
        },
        {
            "name": "configmaps",
            "singularName": "configmap",
            "namespaced": True,
            "kind": "ConfigMap",
            "verbs": _READ_WRITE,
            "shortNames": ["cm"],
            "storageVersionHash": "qFsyl6wFWjQ=",
        },
        {
            "name": "namespaces",
            "singularName": "namespace",
            "namespaced": False,
            "kind": "Namespace",
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            "shortNames": ["ns"],
            "storageVersionHash": "Q3oi5N2YM8M=",
        },
        {
            "name": "namespaces/finalize",
            "singularName": "",
            "namespaced": False,
            "kind": "Namespace",
            "verbs": ["update"],
        },
        {
            "name": "namespaces/status",
            "singularName": "",
            "namespaced": False,
            "kind": "Namespace",
            "verbs": ["get", "patch", "update"],
        },
        {
            "name": "nodes",
            "singularName": "node",
            "namespaced": False,
            "kind": "Node",
            "verbs": _READ_WRITE,
            "shortNames": ["no"],
            "storageVersionHash": "XwShjMxG9Fs=",
        },
        {
            "name": "pods",
            "singularName": "pod",
            "namespaced": True,
            "kind": "Pod",
            "verbs": _READ_WRITE,
            "shortNames": ["po"],
            "categories": ["all"],
            "storageVersionHash": "xPOwRZ+Yhw8=",
        },
        {
            "name": "pods/binding",
            "singularName": "",
            "namespaced": True,
            "kind": "Binding",
            "verbs": ["create"],
        },
        {
            "name": "pods/eviction",
            "singularName": "",
            "namespaced": True,
            "group": "policy",
            "version": "v1",
            "kind": "Eviction",
            "verbs": ["create"],
        },
        {
            "name": "pods/log",
            "singularName": "",
            "namespaced": True,
            "kind": "Pod",
            "verbs": ["get"],
        },
        {
            "name": "pods/status",
            "singularName": "",
            "namespaced": True,
            "kind": "Pod",
            "verbs": ["get", "patch", "update"],
        },
        {
            "name": "secrets",
            "singularName": "secret",
            "namespaced": True,
            "kind": "Secret",
            "verbs": _READ_WRITE,
            "storageVersionHash": "S6u1pOWzb84=",
        },
        {
            "name": "serviceaccounts/token",
            "singularName": "",
            "namespaced": True,
            "group": "authentication.k8s.io",
            "version": "v1",
            "kind": "TokenRequest",
            "verbs": ["create"],
        },
    ],
}

APPS_V1: dict[str, Any] = {
    "kind": "APIResourceList",
    "apiVersion": "v1",
    "groupVersion": "apps/v1",
    "resources": [
        {
            "name": "daemonsets",
            "singularName": "daemonset",
            "namespaced": True,
            "kind": "DaemonSet",
            "verbs": _READ_WRITE,
            "shortNames": ["ds"],
            "categories": ["all"],
            "storageVersionHash": "dd7pWHUlMKQ=",
        },
        {
            "name": "deployments",
            "singularName": "deployment",
            "namespaced": True,
            "kind": "Deployment",
            "verbs": _READ_WRITE,
            "shortNames": ["deploy"],
            "categories": ["all"],
            "storageVersionHash": "8aSe+NMegvE=",
        },
        {
            "name": "deployments/scale",
            "singularName": "",
            "namespaced": True,
            "group": "autoscaling",
            "version": "v1",
            "kind": "Scale",
            "verbs": ["get", "patch", "update"],
        },
        {
            "name": "deployments/status",
            "singularName": "",
            "namespaced": True,
            "kind": "Deployment",
            "verbs": ["get", "patch", "update"],
        },
        {
            "name": "statefulsets",
            "singularName": "statefulset",
            "namespaced": True,
            "kind": "StatefulSet",
            "verbs": _READ_WRITE,
            "shortNames": ["sts"],
            "categories": ["all"],
            "storageVersionHash": "H+vl74LkKdo=",
        },
    ],
}

FLOTILLA_V1ALPHA1: dict[str, Any] = {
    "kind": "APIResourceList",
    "apiVersion": "v1",
    "groupVersion": "flotilla.io/v1alpha1",
    "resources": [
        {
            "name": "clusters",
            "singularName": "cluster",
            "namespaced": False,
            "kind": "Cluster",
            "verbs": _READ_WRITE,
            "categories": ["flotilla"],
            "storageVersionHash": "f1b2dq0nJ9o=",
        },
        {
            "name": "clusters/status",
            "singularName": "",
            "namespaced": False,
            "kind": "Cluster",
            "verbs": ["get", "patch", "update"],
        },
        {
            "name": "placements",
            "singularName": "placement",
            "namespaced": True,
            "kind": "Placement",
            "verbs": _READ_WRITE,
            "categories": ["flotilla"],
            "storageVersionHash": "Zb3xQ2m5s8c=",
        },
    ],
}


@dataclass
class FakeDiscovery:
    """Discovery documents by path; everything else is a 404 Status, as a real server says."""

    documents: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            "/api": API_VERSIONS,
            "/api/v1": CORE_V1,
            "/apis": api_group_list(flotilla=False),
            "/apis/apps/v1": APPS_V1,
        }
    )
    requests: list[str] = field(default_factory=list)
    """The path of every request, in order."""
    _gate: asyncio.Event | None = None
    _failures: dict[str, httpx.Response] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.transport = httpx.MockTransport(self._handle)

    def client(self) -> KubeClient:
        return KubeClient(
            ConnectionConfig(server="https://api.test:6443"), transport=self.transport
        )

    def install_flotilla_crds(self) -> None:
        self.documents["/apis"] = api_group_list(flotilla=True)
        self.documents["/apis/flotilla.io/v1alpha1"] = FLOTILLA_V1ALPHA1

    def hold(self) -> None:
        """Keep every answer back until ``release``."""
        self._gate = asyncio.Event()

    def release(self) -> None:
        assert self._gate is not None
        self._gate.set()

    def fail_next(self, path: str, response: httpx.Response) -> None:
        """Answer the next request for ``path`` with ``response`` instead."""
        self._failures[path] = response

    def count(self, path: str) -> int:
        return self.requests.count(path)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        if self._gate is not None:
            await self._gate.wait()
        if request.url.path in self._failures:
            return self._failures.pop(request.url.path)
        document = self.documents.get(request.url.path)
        if request.method != "GET" or document is None:
            body = status(404, "NotFound", "the server could not find the requested resource")
            return httpx.Response(404, json=body)
        return httpx.Response(200, json=copy.deepcopy(document))


class ManualTime:
    """A clock for ``RestMapper(now=...)`` that moves only when the test moves it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
