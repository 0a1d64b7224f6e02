"""The body of one open watch: JSON lines queued by the fake, read by the client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx


class WatchStream(httpx.AsyncByteStream):
    """The body of one open watch: lines, then the end or a transport error."""

    def __init__(self, request: httpx.Request, *, bookmarks: bool) -> None:
        self.request = request
        self.bookmarks = bookmarks
        self.closed = False
        self._chunks: asyncio.Queue[bytes | Exception | None] = asyncio.Queue()

    def send(self, event: dict[str, Any]) -> None:
        self._chunks.put_nowait(json.dumps(event).encode() + b"\n")

    def send_raw(self, chunk: bytes) -> None:
        self._chunks.put_nowait(chunk)

    def fail(self, error: Exception) -> None:
        self._chunks.put_nowait(error)

    def end(self) -> None:
        self._chunks.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await self._chunks.get()
            if chunk is None:
                return
            if isinstance(chunk, Exception):
                raise chunk
            yield chunk

    async def aclose(self) -> None:
        self.closed = True
