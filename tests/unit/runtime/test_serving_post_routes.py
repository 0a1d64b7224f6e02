"""POST routes: a handler gets the path, lower-cased headers and the whole body.

Bodies have a length up front and a bound (``MAX_BODY``); a handler that raises is a 500
that neither logs the body nor stops the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest

from flotilla.runtime.metrics import Metrics
from flotilla.runtime.serving import MAX_BODY, Handler, Request, Response, serve


@contextlib.asynccontextmanager
async def serving(routes: Mapping[str, Handler]) -> AsyncIterator[httpx.AsyncClient]:
    port: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(
            "127.0.0.1",
            0,
            metrics=Metrics(),
            ready=lambda: True,
            started=port.set_result,
            routes=routes,
        )
    )
    starting: list[asyncio.Future[Any]] = [port, task]
    await asyncio.wait(starting, return_when=asyncio.FIRST_COMPLETED)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port.result()}") as client:
            yield client
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


DONE = Response(200, b"done")


class Recorder:
    def __init__(self, response: Response = DONE) -> None:
        self.requests: list[Request] = []
        self.response = response

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        return self.response


async def test_a_handler_gets_the_request_and_its_answer_is_sent() -> None:
    hook = Recorder(Response(201, b'{"ok": true}', "application/json"))
    async with serving({"/api/webhook": hook}) as client:
        response = await client.post(
            "/api/webhook?source=ci", content=b'{"ref": "x"}', headers={"X-GitHub-Event": "push"}
        )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"ok": True}
    [request] = hook.requests
    assert (request.method, request.path, request.body) == ("POST", "/api/webhook", b'{"ref": "x"}')
    assert request.headers["x-github-event"] == "push"
    assert request.headers["content-length"] == "12"


async def test_each_path_goes_to_its_own_handler() -> None:
    github, gitlab = Recorder(Response(200, b"a")), Recorder(Response(200, b"b"))
    async with serving({"/hooks/github": github, "/hooks/gitlab": gitlab}) as client:
        first = await client.post("/hooks/gitlab", content=b"1")
        second = await client.post("/hooks/github", content=b"2")
    assert (first.text, second.text) == ("b", "a")
    assert [r.body for r in github.requests] == [b"2"]


async def test_a_body_of_exactly_the_limit_is_accepted() -> None:
    hook = Recorder()
    async with serving({"/api/webhook": hook}) as client:
        response = await client.post("/api/webhook", content=b"x" * MAX_BODY)
    assert response.status_code == 200
    assert len(hook.requests[0].body) == MAX_BODY


async def test_a_body_over_the_limit_is_refused_unread() -> None:
    hook = Recorder()
    async with serving({"/api/webhook": hook}) as client:
        just_over = await client.post("/api/webhook", content=b"x" * (MAX_BODY + 1))
        far_over = await client.post("/api/webhook", content=b"x" * (8 * MAX_BODY))
    assert just_over.status_code == 413
    assert far_over.status_code == 413
    assert hook.requests == []


async def test_a_body_without_a_length_is_refused() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"ref":'
        yield b' "x"}'

    hook = Recorder()
    async with serving({"/api/webhook": hook}) as client:
        response = await client.post("/api/webhook", content=chunks())
    assert response.status_code == 411
    assert hook.requests == []


async def test_a_204_has_no_body() -> None:
    async with serving({"/api/webhook": Recorder(Response(204, b"dropped"))}) as client:
        response = await client.post("/api/webhook", content=b"{}")
    assert (response.status_code, response.content) == (204, b"")
    assert "content-length" not in response.headers


async def test_a_handler_that_raises_is_a_500_without_the_body_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(request: Request) -> Response:
        raise RuntimeError("handler broke")

    caplog.set_level(logging.DEBUG)
    async with serving({"/api/webhook": broken, "/api/other": Recorder()}) as client:
        failed = await client.post("/api/webhook", content=b"secret-looking body 7f3a")
        again = await client.post("/api/webhook", content=b"{}")
        other = await client.post("/api/other", content=b"{}")
    assert (failed.status_code, failed.text) == (500, "internal server error")
    assert again.status_code == 500
    assert other.status_code == 200
    [record, _] = [r for r in caplog.records if r.getMessage() == "request handler failed"]
    assert record.__dict__["path"] == "/api/webhook"
    assert record.__dict__["error_type"] == "RuntimeError"
    assert "7f3a" not in caplog.text


def test_a_route_cannot_take_a_get_endpoint() -> None:
    with pytest.raises(ValueError, match="/metrics"):
        asyncio.run(
            serve(
                "127.0.0.1",
                0,
                metrics=Metrics(),
                ready=lambda: True,
                routes={"/metrics": Recorder()},
            )
        )
