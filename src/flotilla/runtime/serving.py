"""The controller's small HTTP server: ``/metrics``, ``/healthz`` and ``/readyz``.

A few lines on ``asyncio.start_server`` rather than a web framework: three GET endpoints,
no bodies to parse. ``/readyz`` answers 200 only once ``ready()`` says so (informers
synced, and either leading or standing by).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from flotilla.runtime.metrics import Metrics


async def serve(
    host: str,
    port: int,
    *,
    metrics: Metrics,
    ready: Callable[[], bool],
    started: Callable[[int], None] = lambda _port: None,
) -> None:
    """Serve until cancelled; ``started`` gets the bound port (useful with port 0)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (b"\r\n", b""):
                pass
            parts = request.decode("latin-1").split()
            path = parts[1] if len(parts) > 1 else "/"
            if path == "/metrics":
                status, body, kind = "200 OK", metrics.render(), "text/plain; version=0.0.4"
            elif path == "/healthz":
                status, body, kind = "200 OK", b"ok", "text/plain"
            elif path == "/readyz":
                ok = ready()
                status = "200 OK" if ok else "503 Service Unavailable"
                body, kind = (b"ok" if ok else b"not ready"), "text/plain"
            else:
                status, body, kind = "404 Not Found", b"not found", "text/plain"
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, host, port)
    async with server:
        started(server.sockets[0].getsockname()[1])
        await server.serve_forever()
