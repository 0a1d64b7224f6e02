"""Repository credentials: hub Secrets in ``flotilla-system``, in Argo CD's own format.

A Secret labelled ``argocd.argoproj.io/secret-type: repository`` holds the credentials of
one repository (``url`` is that repository); ``repo-creds`` holds a credential template for
every repository whose URL starts with its ``url`` (the longest prefix wins, and an exact
``repository`` wins over any template), as in Argo CD. Keys: ``username``, ``password`` (a
password or a token), ``sshPrivateKey``, ``sshKnownHosts`` (Flotilla's: Argo CD keeps known
hosts in a ConfigMap), ``insecureIgnoreHostKey``, and ``webhook.github`` /
``webhook.gitlab`` / ``webhook.gitea`` in the Secret named ``flotilla-webhook``.

The Secrets live where only the hub admin writes (the controller reads Secrets only there):
whoever may create Applications chooses a repository, never whose password goes with it.
Pure: it works on the Secrets an informer holds.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

from flotilla.api.labels import label_of
from flotilla.gitops.sources import Credentials
from flotilla.gitops.urls import normalize

SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"
WEBHOOK_SECRET = "flotilla-webhook"


def credentials_for(url: str, secrets: Iterable[Mapping[str, Any]]) -> Credentials | None:
    """The credentials for repository ``url``, or None when no Secret names it."""
    wanted = normalize(url)
    exact: Credentials | None = None
    best: tuple[int, Credentials] | None = None
    for secret in secrets:
        kind = label_of(dict(secret), SECRET_TYPE_LABEL)
        if kind not in ("repository", "repo-creds"):
            continue
        data = secret_data(secret)
        prefix = data.get("url", "")
        if not prefix:
            continue
        if kind == "repository" and normalize(prefix) == wanted:
            exact = _credentials(data)
        elif (
            kind == "repo-creds"
            and _starts(url, prefix)
            and (best is None or len(prefix) > best[0])
        ):
            best = (len(prefix), _credentials(data))
    if exact is not None:
        return exact
    return best[1] if best else None


def secret_data(secret: Mapping[str, Any]) -> dict[str, str]:
    """A Secret's values, decoded (``stringData`` as well, for fakes); bad base64 is left out."""
    out: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[str(key)] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
    for key, value in (secret.get("stringData") or {}).items():
        out[str(key)] = str(value)
    return out


def _credentials(data: Mapping[str, str]) -> Credentials:
    return Credentials(
        username=data.get("username", ""),
        password=data.get("password", ""),
        ssh_private_key=data.get("sshPrivateKey", ""),
        known_hosts=data.get("sshKnownHosts", ""),
        insecure_ignore_host_key=data.get("insecureIgnoreHostKey", "").lower() == "true",
    )


def _starts(url: str, prefix: str) -> bool:
    """Whether ``url`` is under ``prefix``, compared as Argo CD does: the normalized forms,
    the prefix ending at a path boundary."""
    url_n, prefix_n = normalize(url), normalize(prefix)
    return url_n == prefix_n or url_n.startswith(prefix_n.rstrip("/") + "/")


__all__ = ["SECRET_TYPE_LABEL", "WEBHOOK_SECRET", "credentials_for", "secret_data"]
