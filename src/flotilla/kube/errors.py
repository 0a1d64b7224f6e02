"""The exception tree of the Kubernetes boundary, mapped in one place.

    KubeError
    +-- ConfigError            a kubeconfig we cannot use; terminal, says what to fix
    +-- UnknownKind            discovery does not serve the (apiVersion, kind); terminal
    +-- TransportError         no answer: refused, reset, timed out; transient, retry
    |   +-- RequestTimeout     the server accepted the connection but did not answer in time
    |   +-- TlsError           the TLS handshake failed (untrusted certificate); terminal
    +-- ApiError               the server answered with a Status; ``code`` and ``reason``
        +-- Unauthorized (401), Forbidden (403), NotFound (404), Conflict (409),
            Gone (410), Invalid (422), TooManyRequests (429), ServerError (5xx)

``ApiError.transient`` tells callers whether a retry can help: 429 and 5xx can, the rest
cannot. Messages never contain a credential: only the server's own Status message, the
method and the path are kept.
"""

from __future__ import annotations

from typing import Any, ClassVar


class KubeError(Exception):
    """Anything that went wrong talking to a Kubernetes API server."""

    transient: bool = False


class ConfigError(KubeError):
    """A kubeconfig that cannot be used as it is; the message says what to fix."""


class UnknownKind(KubeError):
    """The cluster's discovery documents do not serve this (apiVersion, kind)."""

    def __init__(self, *, api_version: str, kind: str) -> None:
        super().__init__(
            f"kind {kind} (apiVersion {api_version}) is not served by the cluster; "
            "is its CRD installed?"
        )
        self.api_version = api_version
        self.kind = kind


class TransportError(KubeError):
    """The server could not be reached, or the connection broke."""

    transient = True

    def __init__(self, message: str, *, server: str) -> None:
        super().__init__(f"{server}: {message}")
        self.server = server


class TlsError(TransportError):
    """The TLS handshake failed: an untrusted server certificate, or a rejected client one."""

    transient = False


class RequestTimeout(TransportError):
    """No answer within the client-side timeout (a hung server looks like this)."""


class ApiError(KubeError):
    """The API server answered with an error Status."""

    code: ClassVar[int] = 0

    def __init__(self, *, status: int, reason: str, message: str, method: str, path: str) -> None:
        super().__init__(f"{method} {path}: {status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.method = method
        self.path = path


class Unauthorized(ApiError):
    code = 401


class Forbidden(ApiError):
    code = 403


class NotFound(ApiError):
    code = 404


class Conflict(ApiError):
    code = 409


class Gone(ApiError):
    """The resourceVersion asked for is too old: relist."""

    code = 410


class Invalid(ApiError):
    code = 422


class TooManyRequests(ApiError):
    code = 429
    transient = True


class ServerError(ApiError):
    transient = True


_BY_CODE: dict[int, type[ApiError]] = {
    cls.code: cls
    for cls in (Unauthorized, Forbidden, NotFound, Conflict, Gone, Invalid, TooManyRequests)
}


def api_error(*, status: int, body: Any, method: str, path: str) -> ApiError:
    """Build the matching ApiError from an HTTP status and a (maybe) Status body."""
    reason, message = "", ""
    if isinstance(body, dict):
        reason = str(body.get("reason") or "")
        message = str(body.get("message") or "")
    cls = _BY_CODE.get(status, ServerError if status >= 500 else ApiError)
    return cls(status=status, reason=reason or "Unknown", message=message, method=method, path=path)
