"""No error of the client repeats a header value or a token: not in its message, and not in
the traceback a log line would print (the raw httpx error is not chained)."""

import ssl
import traceback
from collections.abc import Callable

import httpx
import pytest

from flotilla.kube import ApiError, ConnectionConfig, KubeClient, TlsError, TransportError

TOKEN = "s3cret-canary-token"
CONFIG = ConnectionConfig(server="https://api.test:6443", token=TOKEN)


def _header_error(request: httpx.Request) -> httpx.Response:
    # What h11 says about a header it cannot send.
    raise httpx.LocalProtocolError(f"Illegal header value b'Bearer {TOKEN}'", request=request)


def _proxy_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(
        f"cannot reach https://robot:{TOKEN}@proxy.test (authorization: Bearer {TOKEN})",
        request=request,
    )


def _tls_error(request: httpx.Request) -> httpx.Response:
    try:
        raise ssl.SSLError(1, f"[SSL] handshake failed for token {TOKEN}")
    except ssl.SSLError as cause:
        raise httpx.ConnectError(f"handshake failed: {TOKEN}", request=request) from cause


def _text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


@pytest.mark.parametrize("handler", [_header_error, _proxy_error, _tls_error])
async def test_a_transport_error_never_repeats_a_credential(
    handler: Callable[[httpx.Request], httpx.Response],
) -> None:
    async with KubeClient(CONFIG, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TransportError) as caught:
            await client.get("/version")

    assert TOKEN not in _text(caught.value)
    assert "GET /version" in str(caught.value)


async def test_a_tls_failure_is_still_told_apart() -> None:
    async with KubeClient(CONFIG, transport=httpx.MockTransport(_tls_error)) as client:
        with pytest.raises(TlsError) as caught:
            await client.get("/version")

    assert TOKEN not in _text(caught.value)


@pytest.mark.parametrize("handler", [_header_error, _tls_error])
async def test_a_watch_error_never_repeats_a_credential(
    handler: Callable[[httpx.Request], httpx.Response],
) -> None:
    async with KubeClient(CONFIG, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TransportError) as caught:
            async for _ in client.watch("/api/v1/pods", resource_version="1"):
                pass

    assert TOKEN not in _text(caught.value)


async def test_a_server_that_echoes_the_authorization_header_is_not_repeated() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        message = f"bad header {request.headers['authorization']}"
        return httpx.Response(400, json={"kind": "Status", "code": 400, "message": message})

    async with KubeClient(CONFIG, transport=httpx.MockTransport(echo)) as client:
        with pytest.raises(ApiError) as caught:
            await client.get("/version")

    assert TOKEN not in str(caught.value)
    assert TOKEN not in caught.value.message
    assert "bad header" in str(caught.value)
