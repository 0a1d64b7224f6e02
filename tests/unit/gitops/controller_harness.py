"""The GitOps ``ApplicationController`` on a fleet, its repository real git over smart HTTP.

The hub and the member are the propagation tests' ``Fleet`` (``FakeApi``s, the real
``MemberConnections``, a ``FakeClock`` that moves only when a test says so: ``World.advance``);
the repository is a bare ``GitRepo`` served by ``GitHttpServer`` (optionally behind basic
auth), fetched by the real ``GitSources``. Waiting is for signals: the Application's
status, the git server's connections, ``GitSources.fetches``, the queue, the count of
finished reconciles.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from flotilla.api import ClusterName
from flotilla.api.kinds import APPLICATION
from flotilla.api.labels import HUB_CLUSTER
from flotilla.clusters.connections import MemberConnections
from flotilla.gitops.controller import DEFAULT_POLL, ApplicationController
from flotilla.gitops.desired import Renderer
from flotilla.gitops.rendering import Tools
from flotilla.gitops.sources import GitSources
from flotilla.gitops.webhook import Push
from flotilla.kube import resource_path
from flotilla.runtime.informer import Informer, SharedInformers
from tests.gitservers import GitHttpServer, GitRepo

from ..fakeapi import FakeApi, body_of, idle
from ..propagation.harness import CLUSTERS, NAMESPACES, Fleet, configmaps

APP_NAMESPACE = "argocd"
APP = "guestbook"
KEY = f"{APP_NAMESPACE}/{APP}"
APPS = resource_path(APPLICATION.api_version, APPLICATION.plural, namespace=APP_NAMESPACE)
APP_PATH = f"{APPS}/{APP}"
REPO = "apps.git"
MEMBER = "m1"
TARGET_NAMESPACE = "web"
TOOLS = Tools(kubectl=Path("/nonexistent/kubectl"), helm=Path("/nonexistent/helm"))
FILES: dict[str, str | None] = {
    "guestbook/config.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  color: blue\n"
    ),
}
WAIT = 30.0
"""Real seconds to wait for a signal (git runs as a real process)."""
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"


def configmap_file(name: str, *, annotations: Mapping[str, str] | None = None, **data: str) -> str:
    """A ConfigMap manifest as YAML text, for a file in the repository."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", f"  name: {name}"]
    if annotations:
        lines.append("  annotations:")
        lines += [f'    {key}: "{value}"' for key, value in annotations.items()]
    lines.append("data:")
    lines += [f'  {key}: "{value}"' for key, value in (data or {"key": name}).items()]
    return "\n".join(lines) + "\n"


def application(
    url: str,
    *,
    automated: dict[str, Any] | None = None,
    destination: dict[str, str] | None = None,
    finalizers: tuple[str, ...] = (),
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The guestbook Application: ``path: guestbook`` at ``main``, to m1's ``web``;
    ``automated`` is ``syncPolicy.automated`` (None: no automated sync)."""
    meta: dict[str, Any] = {"name": APP, "namespace": APP_NAMESPACE}
    if finalizers:
        meta["finalizers"] = list(finalizers)
    if annotations:
        meta["annotations"] = dict(annotations)
    spec: dict[str, Any] = {
        "project": "default",
        "source": {"repoURL": url, "path": "guestbook", "targetRevision": "main"},
        "destination": destination or {"name": MEMBER, "namespace": TARGET_NAMESPACE},
    }
    if automated is not None:
        spec["syncPolicy"] = {"automated": automated}
    return {
        "apiVersion": APPLICATION.api_version,
        "kind": APPLICATION.kind,
        "metadata": meta,
        "spec": spec,
    }


def automated_application(url: str) -> dict[str, Any]:
    return application(url, automated={})


@dataclass
class World:
    """A fleet of one member (m1, with the namespace ``web``), a repository, one Application."""

    fleet: Fleet
    repo: GitRepo
    server: GitHttpServer
    sources: GitSources
    controller: ApplicationController
    informers: SharedInformers
    members: MemberConnections

    @property
    def url(self) -> str:
        return self.server.url(REPO)

    @property
    def member(self) -> FakeApi:
        return self.fleet.members[MEMBER]

    # -- reading ----------------------------------------------------------------------------

    def app(self) -> dict[str, Any]:
        return self.fleet.hub.get(APP_PATH) or {}

    def status(self) -> dict[str, Any]:
        return dict(self.app().get("status") or {})

    def condition(self, type_: str) -> dict[str, Any]:
        conditions = self.status().get("conditions") or []
        return next((c for c in conditions if c.get("type") == type_), {})

    def synced(self) -> bool:
        sync = self.status().get("sync") or {}
        return sync.get("status") == "Synced" and not self.condition("ComparisonError")

    def on_member(self, name: str = "web-config") -> dict[str, Any]:
        return self.member.get(f"{configmaps(TARGET_NAMESPACE)}/{name}") or {}

    def names_on_member(self) -> set[str]:
        return {o["metadata"]["name"] for o in self.member.objects(configmaps(TARGET_NAMESPACE))}

    def informer(self, path: str) -> Informer:
        return self.informers.informer(ClusterName(HUB_CLUSTER), path)

    def syncs_written(self) -> set[str]:
        """The ``startedAt`` of every operationState the controller wrote: one per sync run
        (fake time must move between runs for them to differ)."""
        started = set()
        for request in self.fleet.hub.requests(method="PATCH", path=f"{APP_PATH}/status"):
            state = body_of(request).get("status", {}).get("operationState") or {}
            if state.get("startedAt"):
                started.add(state["startedAt"])
        return started

    def passes(self) -> float:
        """Reconciles of the GitOps controller that finished, whatever their result."""
        total = 0.0
        for result in ("success", "error", "requeue", "requeue_after"):
            labels = {"controller": "gitops", "result": result}
            value = self.fleet.metrics.registry.get_sample_value(
                "controller_runtime_reconcile_total", labels
            )
            total += value or 0.0
        return total

    def member_writes(self, path: str) -> list[httpx.Request]:
        """Requests to the member that would change the object at ``path`` (not dry runs)."""
        return [
            r
            for r in self.member.requests(path=path)
            if r.method in ("POST", "PUT", "PATCH", "DELETE") and "dryRun" not in r.url.params
        ]

    # -- driving ----------------------------------------------------------------------------

    async def until(self, condition: Callable[[], bool]) -> None:
        await self.fleet.until(condition, seconds=WAIT)

    async def settle(self) -> None:
        """Wait until no key waits in the queue and no worker is in a pass."""
        queue = self.controller.queue
        metrics = self.fleet.metrics.registry
        labels = {"controller": "gitops"}
        await idle()
        await self.fleet.until(
            lambda: (
                queue.depth == 0
                and not metrics.get_sample_value("controller_runtime_active_workers", labels)
            ),
            seconds=WAIT,
        )

    async def advance(self, seconds: float, *, step: float = 0.25) -> None:
        """Move fake time in steps, letting every pass in flight finish before each step
        (``Fleet.advance``, for this controller)."""
        steps = max(1, math.ceil(seconds / step))
        for _ in range(steps):
            await self.settle()
            await self.fleet.clock.advance(seconds / steps)
        await self.settle()

    async def touch_cluster(self) -> None:
        """A Cluster event (its labels change; it stays chosen): every Application is
        enqueued. Returns once a reconcile it caused has finished and the queue is idle."""
        before = self.passes()
        cluster = self.fleet.hub.get(f"{CLUSTERS}/{MEMBER}") or {}
        labels = dict((cluster.get("metadata") or {}).get("labels") or {})
        labels["touched"] = str(int(labels.get("touched", "0")) + 1)
        self.fleet.relabel(MEMBER, **labels)
        await self.until(lambda: self.passes() > before)
        await self.settle()

    def commit(self, files: Mapping[str, str | None], message: str = "a change") -> str:
        """A commit on ``main``, pushed: the webhook tells the controller (``on_push``),
        so the Application looks at once instead of at its next poll. Returns its sha."""
        sha = self.repo.commit(files, message)
        assert self.controller.on_push(Push("gitea", (self.url,), "main", "", sha)) == 1
        return sha

    def change_app(self, patch: dict[str, Any]) -> None:
        self.fleet.hub.merge_patch(APP_PATH, patch, manager="kubectl")

    async def delete_app(self) -> None:
        await self.fleet.delete(APP_PATH)

    def operation_state(self) -> dict[str, Any]:
        return dict(self.status().get("operationState") or {})


@contextlib.asynccontextmanager
async def world(
    tmp_path: Path,
    *,
    files: Mapping[str, str | None] = FILES,
    app: Callable[[str], dict[str, Any]] = automated_application,
    username: str | None = None,
    password: str | None = None,
    poll_interval: float = DEFAULT_POLL,
) -> AsyncIterator[World]:
    """The GitOps controller running on a fleet, ``app(repository URL)`` on the hub.

    Yields once m1 is connected and the passes that its connection and the Application's
    creation caused are over; the clock has not moved.
    """
    repo = GitRepo.create(tmp_path / "served", REPO)
    repo.commit(files, "the guestbook")
    fleet = Fleet()
    fleet.add_member(MEMBER, env="prod")
    fleet.members[MEMBER].put(
        NAMESPACES,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": TARGET_NAMESPACE}},
    )
    with GitHttpServer(tmp_path / "served", username=username, password=password) as server:
        fleet.hub.create(APPS, app(server.url(REPO)), manager="kubectl")
        sources = GitSources(tmp_path / "cache")
        async with (
            fleet.hub.client() as hub,
            SharedInformers({ClusterName(HUB_CLUSTER): hub}, clock=fleet.clock) as informers,
        ):
            members = MemberConnections(informers, clock=fleet.clock, connect=fleet.connect)
            controller = ApplicationController(
                hub, informers, members, Renderer(sources, tools=TOOLS),
                clock=fleet.clock, metrics=fleet.metrics,
                namespaces=frozenset({APP_NAMESPACE}), poll_interval=poll_interval,
            )  # fmt: skip
            here = World(fleet, repo, server, sources, controller, informers, members)
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(members.run()), group.create_task(controller.run())]
                try:
                    await here.until(lambda: MEMBER in members.connected())
                    await here.until(lambda: here.passes() > 0)
                    await here.settle()
                    yield here
                finally:
                    for task in tasks:
                        task.cancel()
