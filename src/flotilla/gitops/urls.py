"""Which git repository a URL names, so a push webhook finds the applications it concerns.

An application says ``https://github.com/org/app.git``; GitHub's push payload says
``https://github.com/org/app``, ``git@github.com:org/app.git`` and more. They name one
repository: the identity is the host (with a port only when it is not the scheme's default)
and the path, without userinfo, scheme, trailing ``/`` or ``.git``, as Argo CD matches them.

Paths on a host compare case-insensitively, as Argo CD does: GitHub, GitLab, Gitea and
Bitbucket treat ``Org/App`` and ``org/app`` as one repository, and a webhook that matches
nothing leaves an application waiting for its next poll. Local paths (``/srv/git/app``,
``file://``) keep their case. ``normalize`` gives a key for comparison, not a URL to clone.

Credentials are matched more strictly, on ``credentials_key``: the scheme counts (an https
password never goes to an http URL), ssh's spellings (``git@host:x``, ``ssh://``,
``git+ssh://``) being one scheme; a template covers whole path segments only; and a URL that
has ``.`` or ``..`` segments (``%2e%2e`` as well: curl and servers resolve them, so
``team-a/../team-b`` is team-b's repository) or anything else odd gets no key at all.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

__all__ = ["CredentialsKey", "credentials_key", "normalize", "redact", "same_repo"]

CredentialsKey = tuple[str, str, tuple[str, ...]]
"""``(scheme, host[:port], path segments)``: what repository credentials are matched on."""

_DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22, "git": 9418, "git+ssh": 22, "ssh+git": 22}
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")
# user@host:path, as scp and git take it: no scheme, and no "/" before the first ":".
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/]*)@)?(?P<host>\[[^\]/]*\]|[^:/\[\]]+):(?P<path>.*)$")
_SSH_SCHEMES = ("ssh", "git+ssh", "ssh+git")
# Blanks, controls, backslashes (some parsers take them for "/"), a query or a fragment:
# nothing a repository URL needs, and each a way for two parsers to disagree on the URL.
_NO_CREDENTIALS = re.compile(r"[\x00-\x20\x7f\\?#]")


def normalize(url: str) -> str:
    """``host[:port]/path`` naming the repository of ``url``; ``""`` for an empty one.

    ``git@Host:org/repo.git``, ``ssh://git@host/org/repo`` and ``https://host/org/repo/``
    all give ``host/org/repo``; ``ssh://git@host:2222/org/repo`` gives
    ``host:2222/org/repo``. A string that is not a URL comes back stripped and lower-cased.
    """
    url = url.strip()
    if not url:
        return ""
    if _SCHEME.match(url):
        try:
            parts = urlsplit(url)
        except ValueError:  # a bracketed host that does not close
            return url.lower()
        if parts.scheme.lower() == "file" and not parts.hostname:
            return _trim(parts.path, keep_root=True)
        try:
            port = parts.port
        except ValueError:  # a port that is not a number
            return url.lower()
        host = (parts.hostname or "").lower()
        if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
            return f"{_bracketed(host)}:{port}/{_trim(parts.path).lower()}"
        return f"{_bracketed(host)}/{_trim(parts.path).lower()}"
    if url.startswith("/"):
        return _trim(url, keep_root=True)
    scp = _SCP_LIKE.match(url)
    if scp is None:
        return url.lower()
    host = scp["host"].strip("[]").lower()
    return f"{_bracketed(host)}/{_trim(scp['path']).lower()}"


def credentials_key(url: str) -> CredentialsKey | None:
    """``(scheme, host[:port], path segments)`` that repository credentials are matched on,
    or None when ``url`` may get none.

    ``https://host/org/x.git`` and ``https://HOST:443/org/x/`` give
    ``("https", "host", ("org", "x"))``; ``git@host:org/x`` and ``ssh://git@host/org/x``
    both give ``("ssh", "host", ("org", "x"))``; ``http://host/org/x`` gives ``"http"``.
    Host and path compare case-insensitively as in ``normalize`` (local paths keep their
    case). None for a URL with ``.`` or ``..`` path segments, raw or percent-encoded, with a
    blank, a backslash, a query or a fragment, without a host, or with a bad port.
    """
    url = url.strip()
    if not url or _NO_CREDENTIALS.search(url):
        return None
    fold = True
    if _SCHEME.match(url):
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:  # a bad port, a bracketed host that does not close
            return None
        scheme = parts.scheme.lower()
        path = parts.path
        if scheme == "file":
            if parts.netloc:
                return None
            host, fold = "", False
        else:
            host = _bracketed((parts.hostname or "").lower())
            if not host:
                return None
            if port is not None and port != _DEFAULT_PORTS.get(scheme):
                host = f"{host}:{port}"
            if scheme in _SSH_SCHEMES:
                scheme = "ssh"
    elif url.startswith("/"):
        scheme, host, path, fold = "file", "", url, False
    else:
        scp = _SCP_LIKE.match(url)
        if scp is None or not scp["host"].strip("[]"):
            return None
        scheme, host, path = "ssh", _bracketed(scp["host"].strip("[]").lower()), scp["path"]
    segments = _segments(path)
    if segments is None:
        return None
    return scheme, host, (tuple(s.lower() for s in segments) if fold else segments)


def same_repo(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` name one repository (an empty URL names none)."""
    key = normalize(a)
    return bool(key) and key == normalize(b)


def redact(url: str) -> str:
    """``url`` without its userinfo (user, password or token), for messages and logs."""
    stripped = url.strip()
    scheme = _SCHEME.match(stripped)
    if scheme:
        rest = stripped[scheme.end() :]
        authority, slash, path = rest.partition("/")
        return f"{scheme.group()}{authority.rpartition('@')[2]}{slash}{path}"
    scp = _SCP_LIKE.match(stripped)
    if scp is not None and scp["user"] is not None:
        return f"{scp['host']}:{scp['path']}"
    return url


def _trim(path: str, *, keep_root: bool = False) -> str:
    """``path`` without a trailing ``/`` or ``.git``, and without repeated slashes."""
    path = re.sub(r"/{2,}", "/", path).rstrip("/")
    path = path.removesuffix(".git").rstrip("/")
    return path if keep_root else path.lstrip("/")


def _segments(path: str) -> tuple[str, ...] | None:
    """The segments of ``path`` as ``_trim`` leaves it; None when one of them is ``.`` or
    ``..``, or decodes to something holding such a segment (``%2e%2e``, ``x%2f..``)."""
    for segment in path.split("/"):
        decoded = segment
        for _ in range(4):  # %252e%252e is ".." after two decodings
            decoded, previous = unquote(decoded), decoded
            if decoded == previous:
                break
        # "..;x" too: servlet servers (Bitbucket Data Center) resolve it as ".."
        if any(
            part in (".", "..") or part.startswith("..") for part in re.split(r"[/\\;]", decoded)
        ):
            return None
    trimmed = _trim(path)
    return tuple(trimmed.split("/")) if trimmed else ()


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
