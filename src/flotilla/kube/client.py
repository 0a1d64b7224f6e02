"""An asynchronous client for one API server, speaking plain dicts.

One client per cluster, built from an explicit ``ConnectionConfig``: no globals, no
environment. Bodies stay dicts, so fields this code does not know survive a round trip.
Every request has a client-side timeout, because a hung server (SIGSTOP, a frozen etcd)
accepts connections and never answers.

Errors come out as the tree in ``flotilla.kube.errors``.
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any, Self

import httpx

from flotilla.kube.config import ConnectionConfig
from flotilla.kube.errors import RequestTimeout, TransportError, api_error

DEFAULT_TIMEOUT = 10.0
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"


class KubeClient:
    """Requests to one API server. Use as an async context manager, or call ``aclose``."""

    def __init__(
        self,
        config: ConnectionConfig,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.server = config.server
        headers = {"Accept": "application/json", "User-Agent": "flotilla"}
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        extensions = {}
        if config.tls_server_name:
            extensions["sni_hostname"] = config.tls_server_name
        self._http = httpx.AsyncClient(
            base_url=config.server,
            headers=headers,
            verify=config.ssl_context() if transport is None else False,
            timeout=timeout,
            transport=transport,
            trust_env=False,
        )
        self._extensions = extensions

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> Any:
        """Send one request; return the decoded JSON answer (or text for non-JSON)."""
        headers = {}
        content = None
        if body is not None:
            content = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        try:
            response = await self._http.request(
                method,
                path,
                params=params,
                content=content,
                headers=headers,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                extensions=self._extensions or None,
            )
        except httpx.TimeoutException as exc:
            raise RequestTimeout(
                f"{method} {path}: no answer in time ({type(exc).__name__})", server=self.server
            ) from exc
        except httpx.TransportError as exc:
            raise TransportError(f"{method} {path}: {_describe(exc)}", server=self.server) from exc
        decoded = _decode(response)
        if response.is_error:
            raise api_error(status=response.status_code, body=decoded, method=method, path=path)
        return decoded

    async def get(self, path: str, *, timeout: float | None = None, **params: str) -> Any:
        return await self.request("GET", path, params=params or None, timeout=timeout)

    async def create(self, path: str, body: dict[str, Any]) -> Any:
        return await self.request("POST", path, body=body)

    async def replace(self, path: str, body: dict[str, Any]) -> Any:
        """PUT ``body``; its metadata.resourceVersion makes this a compare-and-swap."""
        return await self.request("PUT", path, body=body)

    async def delete(self, path: str, **params: str) -> Any:
        return await self.request("DELETE", path, params=params or None)

    async def merge_patch(self, path: str, patch: dict[str, Any]) -> Any:
        return await self.request("PATCH", path, body=patch, content_type=MERGE_PATCH)

    async def apply(
        self,
        path: str,
        body: dict[str, Any],
        *,
        field_manager: str,
        force: bool = True,
        dry_run: bool = False,
    ) -> Any:
        """Server-side apply ``body`` at ``path`` (the object's own path)."""
        params = {"fieldManager": field_manager, "force": "true" if force else "false"}
        if dry_run:
            params["dryRun"] = "All"
        return await self.request("PATCH", path, params=params, body=body, content_type=APPLY_PATCH)

    async def readyz(self, *, timeout: float = 2.0) -> str:
        """The server's /readyz answer; raises when it is not ready or does not answer."""
        return str(await self.request("GET", "/readyz", timeout=timeout))


def _decode(response: httpx.Response) -> Any:
    if "json" in response.headers.get("content-type", ""):
        try:
            return response.json()
        except ValueError:
            return response.text
    return response.text


def _describe(exc: httpx.TransportError) -> str:
    cause = exc.__cause__ or exc.__context__
    detail = str(exc) or (str(cause) if cause else "")
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
