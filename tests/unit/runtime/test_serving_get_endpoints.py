"""The probes and the scrape keep answering as they always did, beside the POST routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from flotilla.runtime.metrics import Metrics
from flotilla.runtime.serving import Request, Response, serve


@contextlib.asynccontextmanager
async def serving(ready: Callable[[], bool] = lambda: True) -> AsyncIterator[httpx.AsyncClient]:
    port: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def hook(request: Request) -> Response:
        return Response(200, b"hooked")

    task = asyncio.create_task(
        serve(
            "127.0.0.1",
            0,
            metrics=Metrics(),
            ready=ready,
            started=port.set_result,
            routes={"/api/webhook": hook},
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


async def test_metrics_are_served_in_the_prometheus_text_format() -> None:
    async with serving() as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4"
    assert b"# TYPE" in response.content


async def test_healthz_answers_ok() -> None:
    async with serving() as client:
        response = await client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok")


async def test_readyz_follows_ready() -> None:
    state = {"ready": False}
    async with serving(ready=lambda: state["ready"]) as client:
        before = await client.get("/readyz")
        state["ready"] = True
        after = await client.get("/readyz")
    assert (before.status_code, before.text) == (503, "not ready")
    assert (after.status_code, after.text) == (200, "ok")


async def test_a_query_string_does_not_change_the_endpoint() -> None:
    async with serving() as client:
        response = await client.get("/healthz?verbose=1")
    assert (response.status_code, response.text) == (200, "ok")


async def test_an_unknown_path_is_not_found() -> None:
    async with serving() as client:
        response = await client.get("/nothing-here")
    assert (response.status_code, response.text) == (404, "not found")


async def test_a_post_to_a_get_endpoint_is_not_allowed() -> None:
    async with serving() as client:
        response = await client.post("/metrics", content=b"{}")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


async def test_a_get_of_a_post_route_is_not_allowed() -> None:
    async with serving() as client:
        response = await client.get("/api/webhook")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_a_failing_readiness_check_is_a_500_and_the_server_goes_on() -> None:
    def broken() -> bool:
        raise RuntimeError("informers gone")

    async with serving(ready=broken) as client:
        failed = await client.get("/readyz")
        health = await client.get("/healthz")
    assert (failed.status_code, failed.text) == (500, "internal server error")
    assert health.status_code == 200
