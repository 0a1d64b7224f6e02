"""One member whose Secret is bad never keeps ``MemberConnections`` from the others."""

import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from flotilla.api import ClusterName
from flotilla.clusters.connections import MemberConnections
from flotilla.kube import ConnectionConfig, KubeClient, RestMapper
from flotilla.runtime.clock import FakeClock
from flotilla.runtime.informer import SharedInformers

from ..fakeapi import CONFIGMAPS, FakeApi, configmap, eventually, running
from .hubfake import SECRETS, Hub, kubeconfig, secret

NOT_PEM = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nnope\n").decode()
GOOD = kubeconfig(cluster={"server": "https://good.test"})


class Members:
    def __init__(self) -> None:
        self.good = FakeApi()
        self.good.put(CONFIGMAPS, configmap("hello"))
        self.transports: dict[str, httpx.MockTransport] = {"https://good.test": self.good.transport}

    def connect(self, config: ConnectionConfig, timeout: float) -> KubeClient:
        KubeClient(config, timeout=timeout)  # whatever a real client refuses, without a request
        return KubeClient(config, timeout=timeout, transport=self.transports[config.server])


@contextlib.asynccontextmanager
async def connections(hub: Hub, members: Members) -> AsyncIterator[MemberConnections]:
    clock = FakeClock()
    async with (
        hub.client() as client,
        SharedInformers({ClusterName("hub"): client}, clock=clock) as informers,
    ):
        connected = MemberConnections(informers, clock=clock, connect=members.connect)
        async with running(connected.run()):
            yield connected


@pytest.mark.parametrize(
    ("document", "raw"),
    [
        (kubeconfig(cluster={"certificate-authority-data": NOT_PEM}), None),
        (kubeconfig(cluster={"server": "https://[::1"}), None),
        (kubeconfig(user={"token": "tökén"}), None),
        ("not a kubeconfig", None),
        (None, "%%% not base64"),
    ],
)
async def test_a_bad_secret_leaves_the_other_members_connected(
    document: Any, raw: str | None
) -> None:
    hub, members = Hub(), Members()
    hub.add("bad", document, raw=raw)
    hub.add("good", GOOD)

    async with connections(hub, members) as connected:
        await eventually(lambda: connected.connected() == ["good"])
        informer = connected.informer("good", CONFIGMAPS)
        assert informer is not None
        await informer.wait_synced()

        assert [item["metadata"]["name"] for item in informer.list()] == ["hello"]
        assert isinstance(connected.mapper("good"), RestMapper)
        assert connected.client("good") is not None
        assert (connected.client("bad"), connected.mapper("bad")) == (None, None)
        assert connected.informer("bad", CONFIGMAPS) is None


async def test_a_bad_secret_that_is_fixed_connects(caplog: pytest.LogCaptureFixture) -> None:
    hub, members = Hub(), Members()
    hub.add("fixed", kubeconfig(cluster={"server": "https://[::1"}))

    async with connections(hub, members) as connected:
        await eventually(
            lambda: any(r.message == "member credentials unusable" for r in caplog.records)
        )
        assert connected.connected() == []
        hub.api.put(SECRETS, secret("fixed-kubeconfig", GOOD))

        await eventually(lambda: connected.connected() == ["fixed"])
        assert connected.mapper("fixed") is not None
