"""An asynchronous client for one API server, speaking plain dicts.

One client per cluster, built from an explicit ``ConnectionConfig``: no globals, no
environment. Bodies stay dicts, so fields this code does not know survive a round trip.
Every request has a client-side timeout, because a hung server (SIGSTOP, a frozen etcd)
accepts connections and never answers.

A bearer token read from a file (a pod's projected ServiceAccount token, a kubeconfig's
``tokenFile``) rotates: the client reads the file again once its copy is a minute old, as
client-go does, and at once when the server answers 401 (then retries that request once).

Errors come out as the tree in ``flotilla.kube.errors``. Their messages never repeat a
header value, a token or a URL's userinfo: transport errors describe the httpx error with
those scrubbed and are not chained to it (its text, in a traceback, could quote them), and
a server's Status message is scrubbed of the token too (a proxy may echo headers).
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import time
from collections.abc import AsyncGenerator, Callable, Generator
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

import httpx

from flotilla.kube.config import ConnectionConfig, read_token_file
from flotilla.kube.errors import (
    ApiError,
    ConfigError,
    Gone,
    RequestTimeout,
    TlsError,
    TransportError,
    api_error,
)

DEFAULT_TIMEOUT = 10.0
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
DEFAULT_PAGE_SIZE = 500
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
"""Ask for a list of PartialObjectMetadata: each item's metadata only, not its body."""
DEFAULT_WATCH_SECONDS = 300
WATCH_READ_GRACE = 30.0
"""How much longer than the server-side ``timeoutSeconds`` a watch waits for its next byte."""
TOKEN_REFRESH_SECONDS = 60.0
"""How old a token read from a file may get before it is read again (client-go: a minute)."""
REDACTED = "<redacted>"

logger = logging.getLogger(__name__)


class Monotonic(Protocol):
    def monotonic(self) -> float: ...


class _BearerToken(httpx.Auth):
    """Sets ``Authorization: Bearer``; keeps a token from a file fresh (see the module doc)."""

    def __init__(
        self, token: str, *, file: Path | None, now: Callable[[], float], server: str
    ) -> None:
        self.token = token
        self.seen = {token}
        self._file, self._now, self._server = file, now, server
        self._read_at = now()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._file is not None and self._now() - self._read_at >= TOKEN_REFRESH_SECONDS:
            self._read_again()
        sent = self.token
        request.headers["Authorization"] = f"Bearer {sent}"
        response = yield request
        if response.status_code == 401 and self._file is not None:
            self._read_again()
            if self.token != sent:
                request.headers["Authorization"] = f"Bearer {self.token}"
                yield request

    def _read_again(self) -> None:
        assert self._file is not None
        self._read_at = self._now()
        try:
            token = read_token_file(self._file)
        except ConfigError as exc:  # keep the token we have: it may still be valid
            logger.warning(
                "token file unusable; keeping the token read before",
                extra={"server": self._server, "error": str(exc)},
            )
            return
        self.token = token
        self.seen.add(token)


class KubeClient:
    """Requests to one API server. Use as an async context manager, or call ``aclose``."""

    def __init__(
        self,
        config: ConnectionConfig,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Monotonic | None = None,
    ) -> None:
        """``clock`` times token file refreshes (default: ``time.monotonic``)."""
        self.server = config.server
        headers = {"Accept": "application/json", "User-Agent": "flotilla"}
        self._token = (
            _BearerToken(
                config.token,
                file=config.token_file,
                now=clock.monotonic if clock else time.monotonic,
                server=config.server,
            )
            if config.token
            else None
        )
        extensions = {}
        if config.tls_server_name:
            extensions["sni_hostname"] = config.tls_server_name
        self._http = httpx.AsyncClient(
            base_url=config.server,
            headers=headers,
            auth=self._token,
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
        accept: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Send one request; return the decoded JSON answer (or text for non-JSON)."""
        headers = {"Accept": accept} if accept else {}
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
        except httpx.TransportError as exc:
            raise self._transport_error(exc, method=method, path=path) from None
        decoded = _decode(response)
        if response.is_error:
            raise self._api_error(response.status_code, decoded, method=method, path=path)
        return decoded

    def _transport_error(
        self, exc: httpx.TransportError, *, method: str, path: str
    ) -> TransportError:
        # Never chain the result to ``exc``: its text may quote a header value.
        if isinstance(exc, httpx.TimeoutException):
            what = "no event" if method == "WATCH" else "no answer"
            message = f"{method} {path}: {what} in time ({type(exc).__name__})"
            return RequestTimeout(message, server=self.server)
        error = TlsError if _is_tls_failure(exc) else TransportError
        detail = self._redact(_describe(exc))[:300]  # redact first: a cut token is not found
        return error(f"{method} {path}: {detail}", server=self.server)

    def _api_error(self, status: int, body: Any, *, method: str, path: str) -> ApiError:
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            body = {**body, "message": self._redact(body["message"])}
        return api_error(status=status, body=body, method=method, path=path)

    def _redact(self, text: str) -> str:
        """``text`` without this client's tokens, bearer credentials or URL userinfo."""
        for token in self._token.seen if self._token else ():
            text = text.replace(token, REDACTED)
        text = _BEARER.sub(f"Bearer {REDACTED}", text)
        return _USERINFO.sub("//", text)

    async def get(self, path: str, *, timeout: float | None = None, **params: str) -> Any:
        return await self.request("GET", path, params=params or None, timeout=timeout)

    async def list(
        self,
        path: str,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        timeout: float | None = None,
        metadata_only: bool = False,
    ) -> dict[str, Any]:
        """LIST ``path`` page by page; return one list holding every item.

        With ``metadata_only`` the items are PartialObjectMetadata (apiVersion, kind and
        metadata, no spec, data or status): what to ask for when only names and labels matter.

        The answer keeps the first page's ``apiVersion``, ``kind`` and
        ``metadata.resourceVersion`` (all pages of one list are the same snapshot; client-go's
        pager does the same) and has no ``continue``. A continue token expires (410) when
        etcd compacts while a long list is being paged: the whole list then restarts once,
        and a second expiry raises ``Gone``. ``timeout`` applies to each page.
        """
        params = _selectors(label_selector, field_selector)
        params["limit"] = str(limit)
        accept = METADATA_LIST if metadata_only else None
        listing = await self._list_pages(
            path, params, timeout=timeout, accept=accept, restartable=True
        )
        if listing is None:
            logger.info(
                "continue token expired; restarting the list",
                extra={"server": self.server, "resource": path},
            )
            listing = await self._list_pages(
                path, params, timeout=timeout, accept=accept, restartable=False
            )
        assert listing is not None
        return listing

    async def _list_pages(
        self,
        path: str,
        params: dict[str, str],
        *,
        timeout: float | None,
        accept: str | None,
        restartable: bool,
    ) -> dict[str, Any] | None:
        # None when a continue token expired and the caller may restart.
        first = await self.request("GET", path, params=params, accept=accept, timeout=timeout)
        metadata = dict(first.get("metadata") or {})
        items = list(first.get("items") or [])
        token = metadata.pop("continue", None)
        metadata.pop("remainingItemCount", None)
        while token:
            try:
                page = await self.request(
                    "GET", path, params={**params, "continue": token}, accept=accept,
                    timeout=timeout,
                )  # fmt: skip
            except Gone:
                if restartable:
                    return None
                raise
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
        return {**first, "metadata": metadata, "items": items}

    async def watch(
        self,
        path: str,
        *,
        resource_version: str,
        allow_bookmarks: bool = True,
        timeout_seconds: int = DEFAULT_WATCH_SECONDS,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """WATCH ``path`` from ``resource_version``; yield ``{"type", "object"}`` events.

        The server ends the watch after ``timeout_seconds`` and the generator then ends. The
        client-side read timeout is ``WATCH_READ_GRACE`` longer, so a connection that died
        silently is noticed (``RequestTimeout``) instead of waited on forever. An ERROR event
        raises: ``Gone`` when ``resource_version`` was compacted away (relist), otherwise what
        ``api_error`` maps its Status to. Close the generator (``contextlib.aclosing``) to
        drop the connection early.
        """
        params = _selectors(label_selector, field_selector)
        params.update(
            watch="1", resourceVersion=resource_version, timeoutSeconds=str(timeout_seconds)
        )
        if allow_bookmarks:
            params["allowWatchBookmarks"] = "true"
        default = self._http.timeout
        timeout = httpx.Timeout(
            connect=default.connect,
            read=timeout_seconds + WATCH_READ_GRACE,
            write=default.write,
            pool=default.pool,
        )
        try:
            async with self._http.stream(
                "GET", path, params=params, timeout=timeout, extensions=self._extensions or None
            ) as response:
                if response.is_error:
                    await response.aread()
                    raise self._api_error(
                        response.status_code, _decode(response), method="WATCH", path=path
                    )
                async for line in response.aiter_lines():
                    if line.strip():
                        yield self._watch_event(line, path=path)
        except httpx.TransportError as exc:
            raise self._transport_error(exc, method="WATCH", path=path) from None

    def _watch_event(self, line: str, *, path: str) -> dict[str, Any]:
        # A line that is not an event means the stream is broken: transient, watch again.
        try:
            event = json.loads(line)
        except ValueError:
            raise TransportError(f"WATCH {path}: undecodable event", server=self.server) from None
        if not isinstance(event, dict) or not isinstance(event.get("object"), dict):
            raise TransportError(f"WATCH {path}: malformed event", server=self.server)
        if event.get("type") == "ERROR":
            status = event["object"]
            raise self._api_error(_status_code(status), status, method="WATCH", path=path)
        return event

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


_BEARER = re.compile(r"(?i)bearer\s+[^\s'\"]+")
_USERINFO = re.compile(r"//[^/\s@'\"]*@")


def _describe(exc: httpx.TransportError) -> str:
    # Callers redact the result: httpx and h11 may quote the request's headers.
    cause = exc.__cause__ or exc.__context__
    detail = str(exc) or (str(cause) if cause else "")
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _is_tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _selectors(label_selector: str | None, field_selector: str | None) -> dict[str, str]:
    params = {}
    if label_selector:
        params["labelSelector"] = label_selector
    if field_selector:
        params["fieldSelector"] = field_selector
    return params


def _status_code(status: dict[str, Any]) -> int:
    code = status.get("code")
    if isinstance(code, int) and code >= 400:
        return code
    # Old servers sent "too old resource version" without a code.
    return 410 if status.get("reason") in ("Expired", "Gone") else 500
