"""Repository credentials that come or change on the hub: every Application looks again at
once, so one whose fetch failed for want of them does not wait out its poll interval (an
authentication failure is not transient: the next look would be ``poll`` seconds later).
A Secret without Argo CD's ``secret-type`` label enqueues nothing.

The hub and the member are the propagation tests' ``Fleet`` (``FakeApi``s, the real
``MemberConnections``, a ``FakeClock`` that never moves here, so every retry seen is one
the Secret caused); the repository is real git over smart HTTP behind basic auth. Waiting
is for signals: the Application's status, the git server's connections, the queue.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flotilla.api import SYSTEM_NAMESPACE, ClusterName
from flotilla.api.kinds import APPLICATION
from flotilla.api.labels import HUB_CLUSTER
from flotilla.clusters.connections import MemberConnections
from flotilla.gitops.controller import ApplicationController
from flotilla.gitops.desired import Renderer
from flotilla.gitops.rendering import Tools
from flotilla.gitops.sources import GitSources
from flotilla.kube import resource_path
from flotilla.runtime.informer import Informer, SharedInformers
from flotilla.runtime.reflector import Event
from tests.gitservers import GitHttpServer, GitRepo

from ..fakeapi import idle
from ..propagation.harness import NAMESPACES, SECRETS, Fleet, configmaps

APP_NAMESPACE = "argocd"
APP = "guestbook"
KEY = f"{APP_NAMESPACE}/{APP}"
APPS = resource_path(APPLICATION.api_version, APPLICATION.plural, namespace=APP_NAMESPACE)
REPO = "apps.git"
USER = "deploy"
PASSWORD = "canary-repo-password"
TYPE_LABEL = "argocd.argoproj.io/secret-type"
TOOLS = Tools(kubectl=Path("/nonexistent/kubectl"), helm=Path("/nonexistent/helm"))
FILES = {
    "guestbook/config.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  color: blue\n"
    ),
}
WAIT = 30.0
"""Real seconds to wait for a signal (git runs as a real process)."""


def application(url: str) -> dict[str, Any]:
    return {
        "apiVersion": APPLICATION.api_version,
        "kind": APPLICATION.kind,
        "metadata": {"name": APP, "namespace": APP_NAMESPACE},
        "spec": {
            "project": "default",
            "source": {"repoURL": url, "path": "guestbook", "targetRevision": "main"},
            "destination": {"name": "m1", "namespace": "web"},
            "syncPolicy": {"automated": {}},
        },
    }


def repo_secret(name: str, secret_type: str | None, **values: str) -> dict[str, Any]:
    labels = {TYPE_LABEL: secret_type} if secret_type else {}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": SYSTEM_NAMESPACE, "labels": labels},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()},
    }


@dataclass
class World:
    """A fleet of one member (m1), a repository needing credentials, one Application."""

    fleet: Fleet
    server: GitHttpServer
    cache: Path
    controller: ApplicationController | None = None
    informers: SharedInformers | None = None
    members: MemberConnections | None = None
    secrets_seen: list[tuple[str, str, int]] = field(default_factory=list)
    """(event type, key, the queue's ``adds_total`` once the controller's handler ran)."""

    @property
    def url(self) -> str:
        return self.server.url(REPO)

    def app(self) -> dict[str, Any]:
        return self.fleet.hub.get(f"{APPS}/{APP}") or {}

    def condition(self, type_: str) -> dict[str, Any]:
        conditions = (self.app().get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c.get("type") == type_), {})

    def synced(self) -> bool:
        sync = (self.app().get("status") or {}).get("sync") or {}
        return sync.get("status") == "Synced" and not self.condition("ComparisonError")

    def on_member(self) -> dict[str, Any]:
        return self.fleet.members["m1"].get(f"{configmaps('web')}/web-config") or {}

    def informer(self, path: str) -> Informer:
        assert self.informers is not None
        return self.informers.informer(ClusterName(HUB_CLUSTER), path)

    async def settle(self) -> None:
        """Wait until no key waits in the queue and no worker is in a pass."""
        assert self.controller is not None
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

    async def failed_to_fetch(self) -> None:
        """The first pass failed for want of credentials, the controller's own status write
        was seen by its informer (and the pass that write caused is over), m1 is connected."""
        assert self.members is not None
        members = self.members
        apps = self.informer(APPS)

        def seen() -> bool:
            status = (apps.get(KEY) or {}).get("status") or {}
            conditions = status.get("conditions") or []
            return any(c.get("type") == "ComparisonError" for c in conditions)

        await self.fleet.until(seen, seconds=WAIT)
        await self.fleet.until(lambda: "m1" in members.connected(), seconds=WAIT)
        await self.settle()
        assert "authentication" in self.condition("ComparisonError")["message"].lower()
        assert not self.on_member()

    def watch_secrets(self) -> None:
        """Note each Secret event after the controller's handler has run for it."""
        assert self.controller is not None
        queue = self.controller.queue

        def note(event: Event) -> None:
            if not event.synthetic:
                self.secrets_seen.append((event.type, event.key, queue.adds_total))

        self.informer(SECRETS).add_handler(note)

    def seen(self, key: str) -> Callable[[], bool]:
        return lambda: any(k == key for _, k, _ in self.secrets_seen)


@contextlib.asynccontextmanager
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The GitOps controller on a fleet, its Application failing to fetch (no credentials)."""
    repo = GitRepo.create(tmp_path / "served", REPO)
    repo.commit(FILES, "the guestbook")
    fleet = Fleet()
    fleet.add_member("m1", env="prod")
    fleet.members["m1"].put(
        NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}}
    )
    with GitHttpServer(tmp_path / "served", username=USER, password=PASSWORD) as server:
        here = World(fleet=fleet, server=server, cache=tmp_path / "cache")
        fleet.hub.create(APPS, application(here.url), manager="kubectl")
        async with (
            fleet.hub.client() as hub,
            SharedInformers({ClusterName(HUB_CLUSTER): hub}, clock=fleet.clock) as informers,
        ):
            members = MemberConnections(informers, clock=fleet.clock, connect=fleet.connect)
            controller = ApplicationController(
                hub, informers, members, Renderer(GitSources(here.cache), tools=TOOLS),
                clock=fleet.clock, metrics=fleet.metrics,
                namespaces=frozenset({APP_NAMESPACE}),
            )  # fmt: skip
            here.controller, here.informers, here.members = controller, informers, members
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(members.run()), group.create_task(controller.run())]
                try:
                    await here.failed_to_fetch()
                    yield here
                finally:
                    for task in tasks:
                        task.cancel()


async def test_a_repository_secret_that_comes_or_changes_makes_the_application_retry_at_once(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as here:
        start = here.fleet.clock.monotonic()
        tries = here.server.connections(REPO)

        # Credentials that come (wrong ones): the Application fetches again, still refused.
        secret = repo_secret("repo-apps", "repository", url=here.url, username=USER,
                             password="not-the-password")  # fmt: skip
        here.fleet.hub.create(SECRETS, secret, manager="kubectl")
        await here.fleet.until(lambda: here.server.connections(REPO) > tries, seconds=WAIT)
        await here.settle()
        assert here.condition("ComparisonError"), here.app().get("status")
        assert not here.on_member()

        # Credentials that change (now right): it fetches, renders and syncs.
        good = base64.b64encode(PASSWORD.encode()).decode()
        here.fleet.hub.merge_patch(f"{SECRETS}/repo-apps", {"data": {"password": good}},
                                   manager="kubectl")  # fmt: skip
        await here.fleet.until(here.synced, seconds=WAIT)
        await here.fleet.until(lambda: bool(here.on_member()), seconds=WAIT)

        assert here.on_member()["data"] == {"color": "blue"}
        assert here.fleet.clock.monotonic() == start, "no backoff or poll interval ran out"
        status = here.app().get("status") or {}
        assert PASSWORD not in str(status)


async def test_a_secret_without_the_repository_label_enqueues_nothing(tmp_path: Path) -> None:
    async with world(tmp_path) as here:
        assert here.controller is not None
        queue = here.controller.queue
        here.watch_secrets()
        before = queue.adds_total
        tries = here.server.connections(REPO)

        # The right credentials, but not labelled as repository credentials: ignored.
        unlabelled = repo_secret("not-creds", None, url=here.url, username=USER,
                                 password=PASSWORD)  # fmt: skip
        here.fleet.hub.create(SECRETS, unlabelled, manager="kubectl")
        await here.fleet.until(here.seen(f"{SYSTEM_NAMESPACE}/not-creds"), seconds=WAIT)
        assert here.secrets_seen[-1] == ("ADDED", f"{SYSTEM_NAMESPACE}/not-creds", before)
        assert queue.depth == 0
        await here.settle()
        assert here.server.connections(REPO) == tries
        assert here.condition("ComparisonError")

        # A credential template (repo-creds) for the server: the Application is enqueued.
        template = repo_secret("creds-local", "repo-creds", url=here.url.rsplit("/", 1)[0],
                               username=USER, password=PASSWORD)  # fmt: skip
        here.fleet.hub.create(SECRETS, template, manager="kubectl")
        await here.fleet.until(here.seen(f"{SYSTEM_NAMESPACE}/creds-local"), seconds=WAIT)
        assert here.secrets_seen[-1] == ("ADDED", f"{SYSTEM_NAMESPACE}/creds-local", before + 1)
        await here.fleet.until(here.synced, seconds=WAIT)
        assert here.on_member()["data"] == {"color": "blue"}
