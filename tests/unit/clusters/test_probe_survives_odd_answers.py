"""A member that answers something odd fails the probe with a reason; it never raises."""

from typing import Any

import httpx
import pytest

from flotilla.clusters.health import probe
from flotilla.kube import ConnectionConfig, KubeClient

from .hubfake import KUBE_SYSTEM, NODES_PATH, TOKEN, member, ready_node

HTML = httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>login</html>")


def _client(transport: httpx.MockTransport) -> KubeClient:
    return KubeClient(ConnectionConfig(server="https://member.test"), transport=transport)


@pytest.mark.parametrize("path", [KUBE_SYSTEM, "/version", NODES_PATH])
async def test_a_member_answering_html_fails_the_probe_and_says_to_check_the_server(
    path: str,
) -> None:
    async with _client(member(**{path: HTML})) as client:
        result = await probe(client, timeout=2, inventory=True)

    assert (result.ok, result.reason) == (False, "NotKubernetes")
    assert "server" in result.message
    assert path in result.message


@pytest.mark.parametrize(
    "nodes",
    [
        None,
        [None],
        [{"metadata": {"name": "a"}, "status": None}],
        [{"metadata": {"name": "a"}, "status": {"conditions": None, "capacity": None}}],
        [{"metadata": {"name": "a"}, "status": {"conditions": [None, "x"], "capacity": ["cpu"]}}],
        [{"metadata": {"name": "a"}, "status": {"capacity": {"cpu": None, "pods": 7}}}],
    ],
)
async def test_nulls_where_a_node_list_has_lists_count_as_nothing(nodes: Any) -> None:
    answer = httpx.Response(200, json={"kind": "NodeList", "items": nodes})
    async with _client(member(**{NODES_PATH: answer})) as client:
        result = await probe(client, timeout=2, inventory=True)

    assert result.ok, result
    assert result.inventory is not None
    assert result.inventory.ready_nodes == 0
    assert result.inventory.capacity in ({}, {"pods": "7"})


async def test_a_node_list_that_is_not_a_list_fails_the_probe() -> None:
    answer = httpx.Response(200, json={"kind": "NodeList", "items": {"a": 1}})
    async with _client(member(**{NODES_PATH: answer})) as client:
        result = await probe(client, timeout=2, inventory=True)

    assert (result.ok, result.reason) == (False, "NotKubernetes")


@pytest.mark.parametrize("huge", ["1e999999999", "1e999999999Ki", "9" * 5000, "1e-999999999"])
async def test_absurd_node_quantities_are_skipped_and_the_rest_is_summed(huge: str) -> None:
    nodes = [ready_node("a", cpu=huge, memory="1Gi"), ready_node("b", cpu="2", memory=huge)]
    async with _client(member(nodes)) as client:
        result = await probe(client, timeout=2, inventory=True)

    assert result.ok, result
    assert result.inventory is not None
    assert result.inventory.capacity == {"cpu": "2", "memory": "1Gi"}


async def test_an_unexpected_error_fails_the_probe_without_quoting_it() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AttributeError(f"'int' object has no attribute 'encode' near {TOKEN}")

    async with _client(httpx.MockTransport(handler)) as client:
        result = await probe(client, timeout=2, inventory=False)

    assert (result.ok, result.reason) == (False, "ProbeError")
    assert "AttributeError" in result.message
    assert TOKEN not in result.message
