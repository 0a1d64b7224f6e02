"""Helpers of the GitOps end-to-end tests: real repositories, Applications on the hub."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from flotilla.api import ClusterName
from flotilla.kube import KubeClient, NotFound, resource_path
from tests.e2e.controllers import ControllerProcess, Controllers
from tests.e2e.localfleet import LocalFleet
from tests.e2e.waiting import eventually
from tests.gitservers import GitDaemon, GitRepo

APPS = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"
HUB = ClusterName("hub")


def application(
    name: str,
    *,
    repo: str,
    path: str = "",
    revision: str = "main",
    cluster: str = "us-east",
    server: str = "",
    namespace: str,
    automated: dict[str, Any] | None = None,
    options: tuple[str, ...] = ("CreateNamespace=true",),
    source: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
    finalizers: tuple[str, ...] = ("resources-finalizer.argocd.argoproj.io",),
) -> dict[str, Any]:
    policy: dict[str, Any] = {"syncOptions": list(options)}
    if automated is not None:
        policy["automated"] = automated
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": "argocd",
            "annotations": annotations or {},
            "finalizers": list(finalizers),
        },
        "spec": {
            "project": "default",
            "source": {"repoURL": repo, "targetRevision": revision, "path": path, **(source or {})},
            "destination": (
                {"server": server, "namespace": namespace}
                if server
                else {"name": cluster, "namespace": namespace}
            ),
            "syncPolicy": policy,
        },
    }


async def create_app(fleet: LocalFleet, app: dict[str, Any]) -> None:
    async with fleet.client(HUB) as client:
        await client.create(APPS, app)


async def app_of(fleet: LocalFleet, name: str) -> dict[str, Any]:
    async with fleet.client(HUB) as client:
        found: dict[str, Any] = await client.get(f"{APPS}/{name}")
        return found


async def wait_app(
    fleet: LocalFleet, name: str, check: Any, *, timeout: float = 60, what: str = ""
) -> dict[str, Any]:
    """Wait until ``check(app)`` is true; the Application then."""
    seen: dict[str, Any] = {}

    async def done() -> bool:
        seen["app"] = await app_of(fleet, name)
        return bool(check(seen["app"]))

    await eventually(done, timeout=timeout, what=what or f"application {name}")
    return seen["app"]


def synced(app: dict[str, Any], sha: str | None = None) -> bool:
    status = app.get("status") or {}
    sync = status.get("sync") or {}
    return sync.get("status") == "Synced" and (sha is None or sync.get("revision") == sha)


def condition(app: dict[str, Any], type_: str) -> str | None:
    for item in (app.get("status") or {}).get("conditions") or []:
        if item.get("type") == type_:
            return str(item.get("message") or "")
    return None


async def member_get(fleet: LocalFleet, cluster: str, path: str) -> dict[str, Any] | None:
    async with fleet.client(ClusterName(cluster)) as client:
        try:
            found: dict[str, Any] = await client.get(path)
        except NotFound:
            return None
        return found


def cm(name: str, data: dict[str, str], **annotations: str) -> str:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", f"  name: {name}"]
    if annotations:
        lines.append("  annotations:")
        lines += [f'    {k}: "{v}"' for k, v in annotations.items()]
    lines.append("data:")
    lines += [f'  {k}: "{v}"' for k, v in data.items()]
    return "\n".join(lines) + "\n"


def cm_path(namespace: str, name: str) -> str:
    return resource_path("v1", "configmaps", namespace=namespace, name=name)


async def tune(fleet: LocalFleet, namespace: str, field: str, *, cluster: str = "us-east") -> None:
    """Another field manager ("tuner") sets ``data.<field>: "9"`` of ConfigMap ``tuned``."""
    async with fleet.client(ClusterName(cluster)) as client:
        await client.request(
            "PATCH", cm_path(namespace, "tuned"), params={"fieldManager": "tuner"},
            body={"data": {field: "9"}}, content_type="application/merge-patch+json",
        )  # fmt: skip


@pytest.fixture(scope="module")
def gitops(controllers: Controllers) -> Iterator[ControllerProcess]:
    """A controller polling git every 5 s, for the tests of a module."""
    yield controllers.start("--git-poll-interval", "5")


PUBLIC = "https://github.com/org/"
"""Repositories as the seed names them, served from a local daemon (``--git-url-rewrite``)."""


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, GitDaemon]]:
    """Where ``https://github.com/org/<name>`` is served from: (its root, the daemon)."""
    root = tmp_path_factory.mktemp("served")
    with GitDaemon(root) as daemon:
        yield root, daemon


def mirrored(
    controllers: Controllers, mirror: tuple[Path, GitDaemon], *args: str
) -> ControllerProcess:
    """A controller that fetches github.com/org/ from the mirror."""
    return controllers.start(*args, "--git-url-rewrite", f"{PUBLIC}={mirror[1].url('')}")


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[GitRepo]:
    yield GitRepo.create(tmp_path / "repos", "app")


@pytest.fixture
async def dest(fleet: LocalFleet) -> AsyncIterator[str]:
    """A destination namespace (CreateNamespace makes it); Applications and it go afterwards."""
    name = f"e2e-app-{uuid.uuid4().hex[:8]}"
    yield name
    async with fleet.client(HUB) as client:
        with contextlib.suppress(NotFound):
            for item in (await client.list(APPS)).get("items") or []:
                if (item["spec"].get("destination") or {}).get("namespace") == name:
                    with contextlib.suppress(NotFound):
                        await client.delete(f"{APPS}/{item['metadata']['name']}")
    for member in fleet.members:
        async with fleet.client(member.name) as client:
            with contextlib.suppress(Exception):
                await client.delete(resource_path("v1", "namespaces", name=name))


async def hub_client(fleet: LocalFleet) -> KubeClient:
    return fleet.client(HUB)
