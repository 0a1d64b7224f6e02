"""Requests and answers: Status bodies, request predicates, the request log, held requests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

Match = Callable[[httpx.Request], bool]


def status(code: int, reason: str, message: str = "", **details: Any) -> dict[str, Any]:
    """A failure ``Status`` body as a real server sends it."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message or reason,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def error(code: int, reason: str, message: str = "") -> httpx.Response:
    """A ``Status`` answer, for ``FakeApi.inject``: ``error(500, "InternalError")``."""
    return httpx.Response(code, json=status(code, reason, message))


def configmap(name: str, *, namespace: str = "default", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def key_of(obj: dict[str, Any]) -> str:
    metadata = obj["metadata"]
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata['name']}" if namespace else str(metadata["name"])


def body_of(request: httpx.Request) -> Any:
    """The decoded JSON body a client sent."""
    return json.loads(request.content)


def always(_: httpx.Request) -> bool:
    return True


def is_watch(request: httpx.Request) -> bool:
    return request.url.params.get("watch") in ("1", "true")


def is_list(request: httpx.Request) -> bool:
    return request.method == "GET" and not is_watch(request)


def is_continue(request: httpx.Request) -> bool:
    return is_list(request) and "continue" in request.url.params


def matching(*, method: str | None = None, path: str | None = None, match: Match = always) -> Match:
    """Requests with this method, to exactly this path, for which ``match`` holds."""

    def matches(request: httpx.Request) -> bool:
        return (
            (method is None or request.method == method)
            and (path is None or request.url.path == path)
            and match(request)
        )

    return matches


class RequestLog(list[httpx.Request]):
    """Every request, in order; call it to pick some: ``api.requests(method="PATCH")``."""

    def __call__(
        self, *, method: str | None = None, path: str | None = None, match: Match = always
    ) -> list[httpx.Request]:
        picked = matching(method=method, path=path, match=match)
        return [request for request in self if picked(request)]


class Hold:
    """Matching requests wait here until ``release``, then are served as usual."""

    def __init__(self) -> None:
        self.held: list[httpx.Request] = []
        """Every request this hold has caught, released or not."""
        self.waiting = 0
        """How many requests wait now."""
        self._released = asyncio.Event()

    def release(self) -> None:
        self._released.set()

    async def wait(self, request: httpx.Request) -> None:
        self.held.append(request)
        self.waiting += 1
        try:
            await self._released.wait()
        finally:
            self.waiting -= 1
