from collections.abc import Callable
from typing import Any

import httpx
import pytest

from flotilla.clusters.health import probe
from flotilla.kube import ConnectionConfig, KubeClient

MEMBER = ConnectionConfig(server="https://member.test")
KUBE_SYSTEM = "/api/v1/namespaces/kube-system"

Handler = Callable[[httpx.Request], httpx.Response]


def _node(name: str, *, ready: str, cpu: str, memory: str) -> dict[str, Any]:
    resources = {"cpu": cpu, "memory": memory, "pods": "110"}
    return {
        "metadata": {"name": name},
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": ready},
            ],
            "capacity": resources,
            "allocatable": resources,
        },
    }


NODES = {
    "kind": "NodeList",
    "items": [
        _node("a", ready="True", cpu="4", memory="16Gi"),
        _node("b", ready="True", cpu="4", memory="16Gi"),
        _node("c", ready="Unknown", cpu="2500m", memory="8Gi"),
    ],
}


def _member(seen: list[str]) -> Handler:
    answers = {
        KUBE_SYSTEM: {"kind": "Namespace", "metadata": {"name": "kube-system"}},
        "/version": {"major": "1", "minor": "31", "gitVersion": "v1.31.2"},
        "/api/v1/nodes": NODES,
    }

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path in answers:
            return httpx.Response(200, json=answers[request.url.path])
        return httpx.Response(404, json={"kind": "Status", "code": 404, "reason": "NotFound"})

    return handler


def _client(handler: Handler) -> KubeClient:
    return KubeClient(MEMBER, transport=httpx.MockTransport(handler))


async def test_a_probe_with_inventory_reads_the_version_and_sums_the_nodes() -> None:
    seen: list[str] = []
    async with _client(_member(seen)) as client:
        result = await probe(client, timeout=2, inventory=True)

    assert result.ok
    assert result.latency_ms is not None
    assert result.latency_ms >= 0
    assert seen == [KUBE_SYSTEM, "/version", "/api/v1/nodes"]
    inventory = result.inventory
    assert inventory is not None
    assert (inventory.version, inventory.nodes, inventory.ready_nodes) == ("v1.31.2", 3, 2)
    assert inventory.capacity == {"cpu": "10500m", "memory": "40Gi", "pods": "330"}
    assert inventory.allocatable == inventory.capacity


async def test_a_probe_without_inventory_only_reads_kube_system() -> None:
    seen: list[str] = []
    async with _client(_member(seen)) as client:
        result = await probe(client, timeout=2, inventory=False)

    assert result.ok
    assert result.inventory is None
    assert seen == [KUBE_SYSTEM]


async def test_nodes_without_status_count_as_not_ready_and_add_nothing() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/nodes":
            return httpx.Response(200, json={"items": [{"metadata": {"name": "bare"}}]})
        return httpx.Response(200, json={})

    async with _client(handler) as client:
        result = await probe(client, timeout=2, inventory=True)

    assert result.inventory is not None
    assert (result.inventory.version, result.inventory.nodes) == ("", 1)
    assert (result.inventory.ready_nodes, result.inventory.capacity) == (0, {})


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (httpx.ReadTimeout, "Timeout"),
        (httpx.ConnectTimeout, "Timeout"),
        (httpx.ConnectError, "ConnectionFailed"),
    ],
)
async def test_a_member_that_does_not_answer_fails_the_probe_with_a_reason(
    error: type[httpx.TransportError], reason: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("no luck", request=request)

    async with _client(handler) as client:
        result = await probe(client, timeout=2, inventory=True)

    assert not result.ok
    assert (result.reason, result.latency_ms, result.inventory) == (reason, None, None)


async def test_a_timeout_says_how_long_the_probe_waited() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with _client(handler) as client:
        result = await probe(client, timeout=1.5, inventory=False)

    assert result.message == "no answer within 1.5s"


async def test_a_refused_connection_names_the_server() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with _client(handler) as client:
        result = await probe(client, timeout=2, inventory=False)

    assert "https://member.test" in result.message
    assert len(result.message) <= 200


async def test_an_error_status_fails_the_probe_with_its_http_code() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {
            "kind": "Status",
            "code": 503,
            "reason": "ServiceUnavailable",
            "message": "etcd is down",
        }
        return httpx.Response(503, json=body)

    async with _client(handler) as client:
        result = await probe(client, timeout=2, inventory=True)

    assert not result.ok
    assert (result.reason, result.message) == ("Http503", "etcd is down")


async def test_a_failing_node_list_fails_the_whole_probe() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/nodes":
            body = {
                "kind": "Status",
                "code": 403,
                "reason": "Forbidden",
                "message": "no nodes for you",
            }
            return httpx.Response(403, json=body)
        return httpx.Response(200, json={})

    async with _client(handler) as client:
        result = await probe(client, timeout=2, inventory=True)

    assert (result.ok, result.reason) == (False, "Http403")


async def test_a_long_server_message_is_cut_to_200_characters() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"kind": "Status", "code": 500, "message": "x" * 1000})

    async with _client(handler) as client:
        result = await probe(client, timeout=2, inventory=False)

    assert (result.reason, len(result.message)) == ("Http500", 200)


async def test_the_probe_asks_with_the_client_side_timeout() -> None:
    timeouts: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"])
        return httpx.Response(200, json={})

    async with _client(handler) as client:
        await probe(client, timeout=0.75, inventory=True)

    assert timeouts == [{"connect": 0.75, "read": 0.75, "write": 0.75, "pool": 0.75}] * 3
