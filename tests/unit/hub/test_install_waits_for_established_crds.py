"""``flotilla hub install`` waits for its CRDs, and a CRD the server has not finished with
(status or conditions still null) is "not yet", never a crash."""

import asyncio
import json
from typing import Any

import httpx
import pytest

from flotilla.hub.install import InstallError, install
from flotilla.hub.manifests import hub_manifests
from flotilla.kube import ConnectionConfig, KubeClient
from flotilla.runtime.clock import FakeClock
from tests.unit.fakeapi import eventually, settle_until, status

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
ESTABLISHED = {"status": {"conditions": [{"type": "Established", "status": "True"}]}}
NOT_YET = [
    {"status": {"conditions": None}},
    {"status": None},
    {},
    {"status": {"conditions": [{"type": "Established"}, None, "odd"]}},
    {"status": {"conditions": [{"type": "Established", "status": "False"}]}},
]


class FakeHub:
    """Accepts every apply; answers each CRD GET with ``answers`` in turn, then the last."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = answers
        self.gets: dict[str, int] = {}
        self.applied: list[str] = []

    def client(self) -> KubeClient:
        return KubeClient(
            ConnectionConfig(server="https://hub.test:6443"), transport=httpx.MockTransport(self)
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "PATCH":
            self.applied.append(path)
            return httpx.Response(200, json=json.loads(request.content))
        if request.method == "GET" and path.startswith(CRDS) and path in self.applied:
            seen = self.gets.get(path, 0)
            self.gets[path] = seen + 1
            answer = self.answers[min(seen, len(self.answers) - 1)]
            return httpx.Response(200, json={"kind": "CustomResourceDefinition", **answer})
        return httpx.Response(404, json=status(404, "NotFound"))


@pytest.mark.parametrize(
    "not_yet",
    NOT_YET,
    ids=["null-conditions", "null-status", "no-status", "odd-conditions", "established-false"],
)
async def test_a_crd_not_yet_established_is_waited_for(not_yet: dict[str, Any]) -> None:
    hub, clock = FakeHub(not_yet, not_yet, ESTABLISHED), FakeClock()
    async with hub.client() as client:
        task = asyncio.create_task(install(client, clock=clock))
        await settle_until(clock, task.done, 0.1)
        await task
    assert len(hub.gets) == len([m for m in hub_manifests() if m["kind"].endswith("Definition")])
    assert set(hub.gets.values()) == {3}


async def test_a_crd_never_established_is_an_install_error_after_the_timeout() -> None:
    hub, clock = FakeHub({"status": {"conditions": None}}), FakeClock()
    async with hub.client() as client:
        task = asyncio.create_task(install(client, clock=clock, timeout=30))
        await eventually(lambda: bool(hub.gets))
        started = clock.monotonic()
        await clock.advance(29.5)
        assert not task.done()
        await settle_until(clock, task.done, 0.1)
        with pytest.raises(InstallError, match=r"clusters\.flotilla\.io is not Established"):
            await task
    assert clock.monotonic() - started == pytest.approx(30.0, abs=0.2)


async def test_a_transient_error_while_waiting_is_retried() -> None:
    hub, clock = FakeHub(ESTABLISHED), FakeClock()
    answers = iter([httpx.Response(503, json=status(503, "ServiceUnavailable"))])

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path in hub.applied:  # while waiting
            failure = next(answers, None)
            if failure is not None:
                return failure
        return hub(request)

    config = ConnectionConfig(server="https://hub.test:6443")
    async with KubeClient(config, transport=httpx.MockTransport(flaky)) as client:
        task = asyncio.create_task(install(client, clock=clock))
        await settle_until(clock, task.done, 0.1)
        await task
    assert len(hub.gets) == len([m for m in hub_manifests() if m["kind"].endswith("Definition")])
