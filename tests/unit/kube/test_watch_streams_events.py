import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from flotilla.kube import (
    ConnectionConfig,
    Forbidden,
    Gone,
    KubeClient,
    RequestTimeout,
    TransportError,
)
from flotilla.kube.client import DEFAULT_TIMEOUT, WATCH_READ_GRACE
from tests.unit.fakeapi import CONFIGMAPS, FakeApi, configmap, status


async def _all_events(client: KubeClient, **options: Any) -> list[dict[str, Any]]:
    options.setdefault("resource_version", "1")
    async with contextlib.aclosing(client.watch(CONFIGMAPS, **options)) as events:
        return [event async for event in events]


def _streaming(*chunks: bytes | Exception, seen: list[httpx.Request] | None = None) -> KubeClient:
    """A client whose every watch answers ``chunks`` (raising the exceptions), then ends."""

    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            if isinstance(chunk, Exception):
                raise chunk
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(200, headers={"content-type": "application/json"}, content=body())

    config = ConnectionConfig(server="https://api.test:6443")
    return KubeClient(config, transport=httpx.MockTransport(handler))


async def test_a_watch_yields_the_events_after_its_resource_version_in_order() -> None:
    api = FakeApi()
    api.put(CONFIGMAPS, configmap("old"))
    since = api.resource_version
    api.put(CONFIGMAPS, configmap("a"))
    api.put(CONFIGMAPS, configmap("a", colour="blue"))
    api.delete(CONFIGMAPS, "default/old")
    async with api.client() as client:
        seen = []
        async with contextlib.aclosing(client.watch(CONFIGMAPS, resource_version=since)) as events:
            async for event in events:
                seen.append(event)
                if len(seen) == 3:
                    break
    assert [(event["type"], event["object"]["metadata"]["name"]) for event in seen] == [
        ("ADDED", "a"),
        ("MODIFIED", "a"),
        ("DELETED", "old"),
    ]
    assert seen[1]["object"]["data"] == {"colour": "blue"}
    (stream,) = api.watches
    assert stream.closed, "closing the generator closes the connection"


async def test_events_split_across_chunks_are_decoded_whole_and_blank_lines_skipped() -> None:
    line = b'{"type": "ADDED", "object": {"metadata": {"name": "split"}}}\n'
    async with _streaming(line[:17], line[17:], b"\n", line) as client:
        events = await _all_events(client)
    assert [event["object"]["metadata"]["name"] for event in events] == ["split", "split"]


async def test_the_watch_asks_for_bookmarks_selectors_and_a_server_timeout() -> None:
    requests: list[httpx.Request] = []
    async with _streaming(seen=requests) as client:
        await _all_events(
            client,
            resource_version="42",
            timeout_seconds=290,
            label_selector="app=web",
            field_selector="metadata.name=a",
        )
    (request,) = requests
    assert dict(request.url.params) == {
        "watch": "1",
        "resourceVersion": "42",
        "timeoutSeconds": "290",
        "allowWatchBookmarks": "true",
        "labelSelector": "app=web",
        "fieldSelector": "metadata.name=a",
    }


async def test_the_read_timeout_outlasts_the_server_side_timeout() -> None:
    requests: list[httpx.Request] = []
    async with _streaming(seen=requests) as client:
        await _all_events(client, timeout_seconds=290)
    (request,) = requests
    timeouts = request.extensions["timeout"]
    assert timeouts["read"] == 290 + WATCH_READ_GRACE
    assert timeouts["connect"] == timeouts["write"] == timeouts["pool"] == DEFAULT_TIMEOUT


async def test_without_bookmarks_the_watch_does_not_ask_for_them() -> None:
    requests: list[httpx.Request] = []
    async with _streaming(seen=requests) as client:
        assert await _all_events(client, allow_bookmarks=False) == []
    (request,) = requests
    assert "allowWatchBookmarks" not in request.url.params


async def test_an_error_event_for_a_compacted_version_is_gone() -> None:
    api = FakeApi()
    api.put(CONFIGMAPS, configmap("a"))
    api.put(CONFIGMAPS, configmap("b"))
    api.compact()
    async with api.client() as client:
        with pytest.raises(Gone) as caught:
            await _all_events(client, resource_version="1")
    assert caught.value.reason == "Expired"


async def test_an_error_event_without_a_code_but_expired_is_gone() -> None:
    error = {"type": "ERROR", "object": {"kind": "Status", "reason": "Expired"}}
    async with _streaming(_line(error)) as client:
        with pytest.raises(Gone):
            await _all_events(client)


async def test_other_error_events_map_through_the_error_tree() -> None:
    error = {"type": "ERROR", "object": status(403, "Forbidden", "no watching for you")}
    async with _streaming(_line(error)) as client:
        with pytest.raises(Forbidden) as caught:
            await _all_events(client)
    assert "no watching for you" in str(caught.value)


async def test_an_error_answer_to_the_watch_request_maps_through_the_error_tree() -> None:
    api = FakeApi()
    api.inject(httpx.Response(410, json=status(410, "Gone")))
    async with api.client() as client:
        with pytest.raises(Gone):
            await _all_events(client)


async def test_a_broken_stream_is_a_transport_error() -> None:
    added = {"type": "ADDED", "object": configmap("a")}
    async with _streaming(_line(added), httpx.ReadError("reset")) as client:
        seen = []
        with pytest.raises(TransportError) as caught:
            async with contextlib.aclosing(client.watch(CONFIGMAPS, resource_version="1")) as ev:
                async for event in ev:
                    seen.append(event)
    assert len(seen) == 1
    assert caught.value.transient


async def test_a_silent_connection_is_a_request_timeout() -> None:
    async with _streaming(httpx.ReadTimeout("no bytes")) as client:
        with pytest.raises(RequestTimeout):
            await _all_events(client)


async def test_a_garbled_line_is_a_transport_error() -> None:
    async with _streaming(b"{not json\n") as client:
        with pytest.raises(TransportError):
            await _all_events(client)


def _line(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode() + b"\n"
