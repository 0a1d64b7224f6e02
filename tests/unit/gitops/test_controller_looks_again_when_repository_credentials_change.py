"""Repository credentials that come or change on the hub: every Application looks again at
once, so one whose fetch failed for want of them does not wait out its poll interval (an
authentication failure is not transient: the next look would be ``poll`` seconds later).
A Secret without Argo CD's ``secret-type`` label enqueues nothing.

The world is ``controller_harness``'s (a ``FakeClock`` that never moves here, so every
retry seen is one the Secret caused); the repository is real git over smart HTTP behind
basic auth. Waiting is for signals: the Application's status, the git server's
connections, the queue.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from flotilla.api import SYSTEM_NAMESPACE
from flotilla.runtime.reflector import Event

from ..propagation.harness import SECRETS
from .controller_harness import APPS, KEY, REPO, WAIT, World
from .controller_harness import world as controller_world

USER = "deploy"
PASSWORD = "canary-repo-password"
TYPE_LABEL = "argocd.argoproj.io/secret-type"


def repo_secret(name: str, secret_type: str | None, **values: str) -> dict[str, Any]:
    labels = {TYPE_LABEL: secret_type} if secret_type else {}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": SYSTEM_NAMESPACE, "labels": labels},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()},
    }


async def failed_to_fetch(here: World) -> None:
    """The first pass failed for want of credentials, the controller's own status write
    was seen by its informer (and the pass that write caused is over), m1 is connected."""
    apps = here.informer(APPS)

    def seen() -> bool:
        status = (apps.get(KEY) or {}).get("status") or {}
        conditions = status.get("conditions") or []
        return any(c.get("type") == "ComparisonError" for c in conditions)

    await here.until(seen)
    await here.settle()
    assert "authentication" in here.condition("ComparisonError")["message"].lower()
    assert not here.on_member()


class SecretsSeen:
    """Each Secret event, noted after the controller's handler has run for it."""

    def __init__(self, here: World) -> None:
        self.events: list[tuple[str, str, int]] = []
        """(event type, key, the queue's ``adds_total`` once the controller's handler ran)."""
        queue = here.controller.queue

        def note(event: Event) -> None:
            if not event.synthetic:
                self.events.append((event.type, event.key, queue.adds_total))

        here.informer(SECRETS).add_handler(note)

    def of(self, key: str) -> Callable[[], bool]:
        return lambda: any(k == key for _, k, _ in self.events)


@contextlib.asynccontextmanager
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The GitOps controller on a fleet, its Application failing to fetch (no credentials)."""
    async with controller_world(tmp_path, username=USER, password=PASSWORD) as here:
        await failed_to_fetch(here)
        yield here


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
        queue = here.controller.queue
        seen = SecretsSeen(here)
        before = queue.adds_total
        tries = here.server.connections(REPO)

        # The right credentials, but not labelled as repository credentials: ignored.
        unlabelled = repo_secret("not-creds", None, url=here.url, username=USER,
                                 password=PASSWORD)  # fmt: skip
        here.fleet.hub.create(SECRETS, unlabelled, manager="kubectl")
        await here.fleet.until(seen.of(f"{SYSTEM_NAMESPACE}/not-creds"), seconds=WAIT)
        assert seen.events[-1] == ("ADDED", f"{SYSTEM_NAMESPACE}/not-creds", before)
        assert queue.depth == 0
        await here.settle()
        assert here.server.connections(REPO) == tries
        assert here.condition("ComparisonError")

        # A credential template (repo-creds) for the server: the Application is enqueued.
        template = repo_secret("creds-local", "repo-creds", url=here.url.rsplit("/", 1)[0],
                               username=USER, password=PASSWORD)  # fmt: skip
        here.fleet.hub.create(SECRETS, template, manager="kubectl")
        await here.fleet.until(seen.of(f"{SYSTEM_NAMESPACE}/creds-local"), seconds=WAIT)
        assert seen.events[-1] == ("ADDED", f"{SYSTEM_NAMESPACE}/creds-local", before + 1)
        await here.fleet.until(here.synced, seconds=WAIT)
        assert here.on_member()["data"] == {"color": "blue"}
