"""Which git repository a URL names, so a push webhook finds the applications it concerns.

An application says ``https://github.com/org/app.git``; GitHub's push payload says
``https://github.com/org/app``, ``git@github.com:org/app.git`` and more. They name one
repository: the identity is the host (with a port only when it is not the scheme's default)
and the path, without userinfo, scheme, trailing ``/`` or ``.git``, as Argo CD matches them.

Paths on a host compare case-insensitively, as Argo CD does: GitHub, GitLab, Gitea and
Bitbucket treat ``Org/App`` and ``org/app`` as one repository, and a webhook that matches
nothing leaves an application waiting for its next poll. Local paths (``/srv/git/app``,
``file://``) keep their case. ``normalize`` gives a key for comparison, not a URL to clone.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["normalize", "redact", "same_repo"]

_DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22, "git": 9418, "git+ssh": 22, "ssh+git": 22}
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")
# user@host:path, as scp and git take it: no scheme, and no "/" before the first ":".
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/]*)@)?(?P<host>\[[^\]/]*\]|[^:/\[\]]+):(?P<path>.*)$")


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
        parts = urlsplit(url)
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


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
