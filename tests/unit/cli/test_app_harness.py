"""The hub (and a member) at the wire for ``flotilla app``, and a stand-in GitOps controller.

Not a test module (it holds no tests; its name is the only one the CLI tests may take): the
``test_app_*`` files import it. Commands run through click's ``CliRunner`` with a ``Reach``
as click's ``obj``: hub and member clients on ``FakeApi`` transports, and a clock whose
``sleep`` moves its own time at once, so waiting for 300 s takes no real time.

``Controller`` plays the GitOps controller's side of the operation protocol, at the wire:
after the CLI has read an Application carrying an ``operation`` ``polls`` times, it takes the
operation off, then (one read later, as the real one writes status after clearing) writes
``status.operationState``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from click.testing import CliRunner, Result

from flotilla.api.kinds import APPLICATION
from flotilla.cli.app import Reach
from flotilla.cli.main import cli
from flotilla.kube import ConnectionConfig, KubeClient
from flotilla.runtime.clock import ClockTimeout
from tests.unit.fakeapi import FakeApi, body_of

NAMESPACE = "argocd"
APPS = f"/apis/{APPLICATION.api_version}/namespaces/{NAMESPACE}/applications"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
CRD = f"{CRDS}/applications.argoproj.io"
SECRETS = "/api/v1/namespaces/flotilla-system/secrets"
SHA = "3f786850e387550fdab836ed7e6dc881de23001b"
OLD_SHA = "89e6c98d92887913cadf06b2adb97f26cde4849b"
HUB_SERVER = "https://hub.test:6443"


class SteppingClock:
    """A ``Clock`` whose ``sleep`` advances it at once; ``slept`` records every sleep."""

    def __init__(self) -> None:
        self.time = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.time

    def now(self) -> datetime.datetime:
        return datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(
            seconds=self.time
        )

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.time += seconds

    def timeout(self, seconds: float | None) -> ClockTimeout:
        return ClockTimeout(self, None if seconds is None else self.time + seconds)


def crd(*, ours: bool = True) -> dict[str, Any]:
    labels = {"app.kubernetes.io/managed-by": "flotilla"} if ours else {"app": "argocd"}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "applications.argoproj.io", "labels": labels},
    }


def hub_with_crd(*, ours: bool = True) -> FakeApi:
    api = FakeApi()
    api.put(CRDS, crd(ours=ours))
    return api


def application(name: str = "guestbook", **status: Any) -> dict[str, Any]:
    """An Application of ``NAMESPACE`` for cluster m1, with ``status`` as given."""
    item: dict[str, Any] = {
        "apiVersion": APPLICATION.api_version,
        "kind": APPLICATION.kind,
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": "https://git.test/org/guestbook.git",
                "path": "guestbook",
                "targetRevision": "HEAD",
            },
            "destination": {"name": "m1", "namespace": "web"},
        },
    }
    if status:
        item["status"] = status
    return item


def app_path(name: str = "guestbook") -> str:
    return f"{APPS}/{name}"


def patches(api: FakeApi, name: str = "guestbook") -> list[Any]:
    return [body_of(r) for r in api.requests(method="PATCH", path=app_path(name))]


@dataclass
class Controller:
    """Plays the GitOps controller: runs the operation the CLI sets (see the module doc)."""

    api: FakeApi
    phase: str = "Succeeded"
    message: str = "successfully synced (revision 3f78685)"
    polls: int = 1
    resources: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {
                "group": "apps",
                "version": "v1",
                "kind": "Deployment",
                "namespace": "web",
                "name": "guestbook-ui",
                "status": "Synced",
                "message": "deployment configured",
            },
        ]
    )
    finished_at: str = "2026-01-01T00:05:00.123456Z"
    writes_status: bool = True
    seen: list[dict[str, Any]] = field(default_factory=list)
    """The operations it took off, in order."""
    _reads: int = 0
    _cleared: str = ""

    def after(self, request: httpx.Request) -> None:
        if request.method != "GET" or not request.url.path.startswith(APPS + "/"):
            return
        path = request.url.path
        item = self.api.get(path)
        if item is None:
            return
        if self._cleared == path:
            self._cleared = ""
            if self.writes_status:
                self._write_result(path, item)
            return
        if not item.get("operation"):
            return
        self._reads += 1
        if self._reads < self.polls:
            return
        self._reads = 0
        self.seen.append(item["operation"])
        self.api.merge_patch(path, {"operation": None}, manager="gitops")
        self._cleared = path

    def _write_result(self, path: str, item: dict[str, Any]) -> None:
        operation = self.seen[-1]
        state = {
            "operation": operation,
            "phase": self.phase,
            "message": self.message,
            "startedAt": "2026-01-01T00:04:59Z",
            "finishedAt": self.finished_at,
            "syncResult": {
                "revision": (operation.get("sync") or {}).get("revision") or SHA,
                "resources": self.resources,
            },
        }
        status = {**(item.get("status") or {}), "operationState": state}
        self.api.merge_patch(f"{path}/status", {"status": status}, manager="gitops")


def client_on(
    api: FakeApi, *, server: str, after: Callable[[httpx.Request], None] | None = None
) -> KubeClient:
    """A client of ``api`` whose every answered request is then passed to ``after``."""
    inner = api.transport

    async def handle(request: httpx.Request) -> httpx.Response:
        response = await inner.handle_async_request(request)
        await response.aread()
        if after is not None:
            after(request)
        return response

    return KubeClient(ConnectionConfig(server=server), transport=httpx.MockTransport(handle))


def invoke(
    args: list[str],
    hub: FakeApi,
    *,
    controller: Controller | None = None,
    after: Callable[[httpx.Request], None] | None = None,
    members: dict[str, FakeApi] | None = None,
    clock: SteppingClock | None = None,
    env: dict[str, str] | None = None,
) -> Result:
    """Run ``flotilla app ARGS`` against ``hub`` (members by their API server URL).

    ``after(request)`` runs after each hub request is answered (``controller.after`` too).
    """
    by_server = members or {}
    hooks = [hook for hook in (controller.after if controller else None, after) if hook]

    def each(request: httpx.Request) -> None:
        for hook in hooks:
            hook(request)

    def member(config: ConnectionConfig) -> KubeClient:
        return KubeClient(config, transport=by_server[config.server].transport)

    reach = Reach(
        hub=lambda _target: client_on(hub, server=HUB_SERVER, after=each),
        member=member,
        clock=clock or SteppingClock(),
    )
    environment = {"KUBECONFIG": "/nonexistent/kubeconfig", **(env or {})}
    return CliRunner().invoke(cli, ["app", *args], obj=reach, env=environment)
