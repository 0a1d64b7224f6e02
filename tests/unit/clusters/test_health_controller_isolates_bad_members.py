"""A member that cannot be probed becomes Ready=False and fails over; others go on."""

import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from flotilla.api import UNREACHABLE_TAINT, ClusterName
from flotilla.clusters.controller import ClusterHealthController
from flotilla.kube import ConnectionConfig, KubeClient
from flotilla.runtime.clock import FakeClock
from flotilla.runtime.informer import SharedInformers
from flotilla.runtime.metrics import Metrics

from ..fakeapi import running, settle_until
from .hubfake import KUBE_SYSTEM, TOKEN, Hub, kubeconfig, member

NOT_PEM = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nnope\n").decode()
GOOD = kubeconfig(cluster={"server": "https://good.test"})
HTML = httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>login</html>")
PROBE = {"periodSeconds": 1, "failureThreshold": 3}


class Fleet:
    """A hub, members by server URL, and the controller under test on a fake clock."""

    def __init__(self) -> None:
        self.hub = Hub()
        self.clock = FakeClock()
        self.members: dict[str, httpx.MockTransport] = {"https://good.test": member()}

    def connect(self, config: ConnectionConfig, timeout: float) -> KubeClient:
        KubeClient(config, timeout=timeout)  # whatever a real client refuses, without a request
        return KubeClient(config, timeout=timeout, transport=self.members[config.server])

    def ready(self, name: str) -> str | None:
        ready = self.hub.condition(name, "Ready")
        return ready["status"] if ready else None


@pytest.fixture
def fleet() -> Fleet:
    return Fleet()


@contextlib.asynccontextmanager
async def controlling(fleet: Fleet) -> AsyncIterator[None]:
    """The health controller running against ``fleet`` for the block."""
    async with (
        fleet.hub.client() as client,
        SharedInformers({ClusterName("hub"): client}, clock=fleet.clock) as informers,
    ):
        controller = ClusterHealthController(
            client, informers, clock=fleet.clock, metrics=Metrics(), connect=fleet.connect
        )
        async with running(controller.run()):
            yield


@pytest.mark.parametrize(
    "document",
    [
        kubeconfig(cluster={"certificate-authority-data": NOT_PEM}),
        kubeconfig(cluster={"tls-server-name": 123}),
        kubeconfig(user={"token": "tökén-" + TOKEN}),
        kubeconfig(cluster={"server": "https://[::1"}),
        "not a kubeconfig",
    ],
)
async def test_a_cluster_whose_client_cannot_be_built_fails_over_like_a_lost_one(
    fleet: Fleet, document: Any
) -> None:
    fleet.hub.add("good", GOOD, probe=PROBE)
    fleet.hub.add("bad", document, probe=PROBE, status=_ready_status())

    async with controlling(fleet):
        await settle_until(
            fleet.clock,
            lambda: fleet.ready("bad") == "False" and fleet.ready("good") == "True",
            step=1.0,
        )

    ready = fleet.hub.condition("bad", "Ready")
    assert ready is not None
    assert ready["reason"] == "CredentialsInvalid"
    assert "Secret bad-kubeconfig key 'kubeconfig'" in ready["message"]
    assert ready["lastTransitionTime"] != _ready_status()["conditions"][0]["lastTransitionTime"]
    taints = fleet.hub.status("bad")["taints"]
    assert [(t["key"], t["effect"]) for t in taints] == [(UNREACHABLE_TAINT, "NoExecute")]
    assert "timeAdded" in taints[0]
    assert fleet.hub.status_writes()
    assert all(TOKEN not in str(write) for write in fleet.hub.status_writes())


async def test_a_member_answering_html_becomes_not_ready_and_its_prober_lives_on(
    fleet: Fleet,
) -> None:
    seen: list[str] = []
    fleet.members["https://html.test"] = member(seen=seen, **{"/version": HTML, KUBE_SYSTEM: HTML})
    fleet.hub.add("html", kubeconfig(cluster={"server": "https://html.test"}), probe=PROBE)
    fleet.hub.add("good", GOOD, probe=PROBE)

    async with controlling(fleet):
        await settle_until(fleet.clock, lambda: fleet.ready("html") == "False", step=1.0)
        probes = len(seen)
        await settle_until(fleet.clock, lambda: len(seen) >= probes + 3, step=1.0)

    ready = fleet.hub.condition("html", "Ready")
    assert ready is not None
    assert ready["reason"] == "Unreachable"
    assert "NotKubernetes" in ready["message"]
    assert fleet.ready("good") == "True"


def _ready_status() -> dict[str, Any]:
    return {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "ClusterReady",
                "message": "1/1 nodes Ready",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
            }
        ]
    }
