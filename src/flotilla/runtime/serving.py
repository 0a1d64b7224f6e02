"""The controller's small HTTP server: ``/metrics``, ``/healthz``, ``/readyz`` and POST routes.

A few lines on ``asyncio.start_server`` rather than a web framework: three GET endpoints and
a handful of POST routes (git push webhooks) whose bodies are bounded. ``/readyz`` answers
200 only once ``ready()`` says so (informers synced, and either leading or standing by).

One request per connection (``Connection: close``). What is not obvious:

- The request head has a deadline as a whole, not only per line, so a client trickling
  header lines cannot hold a connection open; a POST body has its own deadline.
- A POST needs ``Content-Length`` (411 without it, chunked bodies included) and at most
  ``MAX_BODY`` bytes (413, answered before the body is read); ``Expect: 100-continue`` is
  honoured, as curl sends it for bodies over 1 KiB.
- A handler that raises is answered with a constant 500; the log line carries the path and
  the exception, never the body (a webhook body is the caller's, and may quote anything).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus

from flotilla.runtime.failures import exception_fields
from flotilla.runtime.metrics import Metrics

__all__ = [
    "HEAD_TIMEOUT",
    "MAX_BODY",
    "MAX_HEADERS",
    "Handler",
    "Request",
    "Response",
    "serve",
]

logger = logging.getLogger(__name__)

MAX_BODY = 1 << 20
"""Bytes a POST body may have (1 MiB); a longer one is refused with 413 unread."""
MAX_HEADERS = 100
"""Header lines a request may have (431 beyond)."""
HEAD_TIMEOUT = 10.0
"""Seconds to receive the request line and all headers."""
BODY_TIMEOUT = 30.0
"""Seconds to receive a POST body once the head is in."""
_DISCARD_TIMEOUT = 2.0
"""Seconds spent swallowing a refused body so the client reads the answer, not a reset."""

_GET_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})
_NO_BODY = frozenset({HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED})


@dataclass(frozen=True)
class Request:
    """A POST as a route handler sees it; ``headers`` are keyed by lower-cased name."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Response:
    """What a route handler answers; ``body`` is dropped for 204 and 304."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


Handler = Callable[[Request], Awaitable[Response]]


class _Refused(Exception):
    """The request cannot be served; answer ``status`` with a constant body and close."""

    def __init__(self, status: HTTPStatus, *, allow: str = "") -> None:
        super().__init__(status.phrase)
        self.status = status
        self.allow = allow


async def serve(
    host: str,
    port: int,
    *,
    metrics: Metrics,
    ready: Callable[[], bool],
    started: Callable[[int], None] = lambda _port: None,
    routes: Mapping[str, Handler] | None = None,
) -> None:
    """Serve until cancelled; ``started`` gets the bound port (useful with port 0).

    ``routes`` maps a path to the async handler of POSTs to it (such as ``/api/webhook``);
    the GET endpoints cannot be replaced by a route.
    """
    posts = dict(routes or {})
    if clash := _GET_PATHS & posts.keys():
        raise ValueError(f"POST routes clash with the GET endpoints: {sorted(clash)}")
    connections = _Connections(metrics=metrics, ready=ready, posts=posts)
    server = await asyncio.start_server(connections.handle, host, port)
    async with server:
        started(server.sockets[0].getsockname()[1])
        await server.serve_forever()


class _Connections:
    """Answers each connection's one request."""

    def __init__(
        self, *, metrics: Metrics, ready: Callable[[], bool], posts: Mapping[str, Handler]
    ) -> None:
        self._metrics = metrics
        self._ready = ready
        self._posts = posts

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                response = await self._respond(reader, writer)
                refused = None
            except _Refused as refusal:
                refused = refusal
                response = Response(refusal.status, refusal.status.phrase.lower().encode())
            if response is not None:
                writer.write(
                    _head(response, allow=refused.allow if refused else "") + _body(response)
                )
                await writer.drain()
            if refused is not None:  # what the client still sends is unread
                await _discard(reader, writer)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _respond(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> Response | None:
        """The answer to the request; None when the client sent nothing."""
        async with asyncio.timeout(HEAD_TIMEOUT):
            line = await _line(reader)
            if not line:
                return None
            method, path = _request_line(line)
            headers = await _headers(reader)
        if path in _GET_PATHS:
            if method != "GET":
                raise _Refused(HTTPStatus.METHOD_NOT_ALLOWED, allow="GET")
            return await _guarded(path, self._get(path))
        route = self._posts.get(path)
        if route is None:
            raise _Refused(HTTPStatus.NOT_FOUND)
        if method != "POST":
            raise _Refused(HTTPStatus.METHOD_NOT_ALLOWED, allow="POST")
        length = _content_length(headers)
        if headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
        async with asyncio.timeout(BODY_TIMEOUT):
            body = await reader.readexactly(length)
        return await _guarded(path, route(Request(method, path, headers, body)))

    async def _get(self, path: str) -> Response:
        if path == "/metrics":
            return Response(200, self._metrics.render(), "text/plain; version=0.0.4")
        if path == "/healthz":
            return Response(200, b"ok", "text/plain")
        ok = self._ready()
        return Response(200 if ok else 503, b"ok" if ok else b"not ready", "text/plain")


async def _guarded(path: str, answer: Awaitable[Response]) -> Response:
    """``answer``, or a constant 500 when producing it raised."""
    try:
        return await answer
    except Exception as exc:
        # The exception's fields and traceback, never the request: its body is the caller's.
        logger.error(
            "request handler failed", extra={"path": path, **exception_fields(exc)}, exc_info=exc
        )
        return Response(500, b"internal server error")


async def _line(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readline()
    except ValueError:  # longer than the reader's limit (64 KiB)
        raise _Refused(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE) from None


def _request_line(line: bytes) -> tuple[str, str]:
    """Method and path (the query string dropped) of ``GET /metrics HTTP/1.1``."""
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise _Refused(HTTPStatus.BAD_REQUEST)
    return parts[0].upper(), parts[1].partition("?")[0]


async def _headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        line = await _line(reader)
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, colon, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if not colon or not name or name != name.split()[0]:
            raise _Refused(HTTPStatus.BAD_REQUEST)
        value = value.strip()
        if name in headers:
            if name == "content-length" and headers[name] != value:
                raise _Refused(HTTPStatus.BAD_REQUEST)
            value = headers[name] if name == "content-length" else f"{headers[name]}, {value}"
        headers[name] = value
    raise _Refused(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)


def _content_length(headers: Mapping[str, str]) -> int:
    """The body's declared length; refuses chunked, missing, malformed and oversized ones."""
    declared = headers.get("content-length")
    if declared is None:
        raise _Refused(HTTPStatus.LENGTH_REQUIRED)
    if "transfer-encoding" in headers or not declared.isdigit() or not declared.isascii():
        raise _Refused(HTTPStatus.BAD_REQUEST)
    length = int(declared)
    if length > MAX_BODY:
        raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
    return length


def _head(response: Response, *, allow: str) -> bytes:
    try:
        phrase = HTTPStatus(response.status).phrase
    except ValueError:
        phrase = ""
    lines = [f"HTTP/1.1 {response.status} {phrase}".rstrip()]
    if response.status in _NO_BODY:
        lines.append("Connection: close")
    else:
        lines += [
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}",
            "Connection: close",
        ]
    if allow:
        lines.append(f"Allow: {allow}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _body(response: Response) -> bytes:
    return b"" if response.status in _NO_BODY else response.body


async def _discard(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Swallow what the client still sends after a refusal, for a short while.

    Closing a socket with unread data makes the kernel send a reset, and a client still
    writing its body would see that instead of the answer.
    """
    if writer.can_write_eof():
        writer.write_eof()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_DISCARD_TIMEOUT):
            while await reader.read(1 << 16):
                pass
