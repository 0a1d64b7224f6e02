"""What a client sends on the wire that the server refuses, or waits for, and how long."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flotilla.runtime import serving as serving_module
from flotilla.runtime.metrics import Metrics
from flotilla.runtime.serving import Request, Response, serve


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[int]:
    port: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def echo(request: Request) -> Response:
        return Response(200, request.body)

    task = asyncio.create_task(
        serve(
            "127.0.0.1",
            0,
            metrics=Metrics(),
            ready=lambda: True,
            started=port.set_result,
            routes={"/echo": echo},
        )
    )
    starting: list[asyncio.Future[Any]] = [port, task]
    await asyncio.wait(starting, return_when=asyncio.FIRST_COMPLETED)
    try:
        yield port.result()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def exchange(port: int, *pieces: bytes) -> bytes:
    """Everything the server answers to ``pieces``, sent one write at a time."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
        async with asyncio.timeout(5):
            return await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_a_post_without_content_length_needs_one() -> None:
    async with serving() as port:
        answer = await exchange(port, b"POST /echo HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 411 Length Required\r\n")


@pytest.mark.parametrize("length", [b"-1", b"12x", b"+4", b"\xd9\xa1"])
async def test_a_malformed_content_length_is_a_bad_request(length: bytes) -> None:
    async with serving() as port:
        answer = await exchange(
            port, b"POST /echo HTTP/1.1\r\nContent-Length: " + length + b"\r\n\r\n"
        )
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")


async def test_two_different_content_lengths_are_a_bad_request() -> None:
    async with serving() as port:
        answer = await exchange(
            port, b"POST /echo HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"
        )
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")


async def test_a_content_length_beside_chunked_encoding_is_a_bad_request() -> None:
    async with serving() as port:
        answer = await exchange(
            port,
            b"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\n\r\n",
        )
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")


async def test_a_malformed_request_line_is_a_bad_request() -> None:
    async with serving() as port:
        answer = await exchange(port, b"GARBAGE\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")


async def test_too_many_headers_are_refused() -> None:
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(serving_module.MAX_HEADERS + 1))
    async with serving() as port:
        answer = await exchange(port, b"GET /healthz HTTP/1.1\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")


async def test_a_header_line_over_the_reader_limit_is_refused() -> None:
    async with serving() as port:
        answer = await exchange(
            port, b"GET /healthz HTTP/1.1\r\nX-Long: " + b"a" * (128 * 1024) + b"\r\n\r\n"
        )
    assert answer.startswith(b"HTTP/1.1 431 ")


async def test_expect_100_continue_is_answered_before_the_body_is_sent() -> None:
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /echo HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(5):
            interim = await reader.readuntil(b"\r\n\r\n")
        writer.write(b"hello")
        async with asyncio.timeout(5):
            final = await reader.read()
        writer.close()
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert final.startswith(b"HTTP/1.1 200 OK\r\n")
    assert final.endswith(b"\r\n\r\nhello")


async def test_a_client_that_trickles_its_headers_is_cut_off_at_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(serving_module, "HEAD_TIMEOUT", 0.2)
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def trickle() -> None:
            writer.write(b"GET /healthz HTTP/1.1\r\n")
            while True:  # each line well within any per-line timeout, the head never ends
                writer.write(b"X-Slow: 1\r\n")
                await writer.drain()
                await asyncio.sleep(0.02)

        trickling = asyncio.create_task(trickle())
        try:
            async with asyncio.timeout(5):
                try:
                    answer = await reader.read()
                except ConnectionResetError:
                    # Closed with the client's unread headers in its buffer, the kernel
                    # resets the connection instead of ending it: cut off all the same.
                    answer = b""
        finally:
            trickling.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await trickling
            writer.close()
    assert answer == b""
