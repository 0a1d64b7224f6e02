import json

import httpx
import pytest

from flotilla.kube import (
    ConnectionConfig,
    Gone,
    KubeClient,
    NotFound,
    RequestTimeout,
    TransportError,
)
from flotilla.kube.errors import ServerError

CONFIG = ConnectionConfig(server="https://api.test:6443", token="s3cret")


def _client(handler: httpx.MockTransport) -> KubeClient:
    return KubeClient(CONFIG, transport=handler)


def _status(code: int, reason: str, message: str) -> httpx.Response:
    body = {"kind": "Status", "reason": reason, "message": message, "code": code}
    return httpx.Response(code, json=body)


async def test_bodies_come_back_as_plain_dicts_with_unknown_fields() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer s3cret"
        return httpx.Response(200, json={"kind": "Widget", "spec": {"future": 1}})

    async with _client(httpx.MockTransport(handler)) as client:
        assert await client.get("/apis/x/v1/widgets/w") == {
            "kind": "Widget",
            "spec": {"future": 1},
        }


async def test_server_side_apply_sends_manager_force_and_content_type() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=json.loads(request.content))

    async with _client(httpx.MockTransport(handler)) as client:
        await client.apply("/api/v1/namespaces/a", {"kind": "Namespace"}, field_manager="flotilla")
    (request,) = seen
    assert request.method == "PATCH"
    assert request.headers["content-type"] == "application/apply-patch+yaml"
    assert request.url.params["fieldManager"] == "flotilla"
    assert request.url.params["force"] == "true"


@pytest.mark.parametrize(
    ("code", "error", "transient"),
    [(404, NotFound, False), (410, Gone, False), (503, ServerError, True)],
)
async def test_status_codes_map_to_the_error_tree(
    code: int, error: type[Exception], transient: bool
) -> None:
    transport = httpx.MockTransport(lambda _: _status(code, "Why", "because"))
    async with _client(transport) as client:
        with pytest.raises(error) as caught:
            await client.get("/api/v1/pods")
    assert caught.value.transient is transient  # type: ignore[attr-defined]
    assert "GET /api/v1/pods" in str(caught.value)
    assert "because" in str(caught.value)


async def test_no_answer_in_time_is_a_request_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with _client(httpx.MockTransport(handler)) as client:
        with pytest.raises(RequestTimeout) as caught:
            await client.readyz()
    assert caught.value.transient


async def test_a_refused_connection_is_transient_and_keeps_the_token_out() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with _client(httpx.MockTransport(handler)) as client:
        with pytest.raises(TransportError) as caught:
            await client.get("/version")
    assert caught.value.transient
    assert "s3cret" not in str(caught.value)
