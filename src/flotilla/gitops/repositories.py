"""Repository credentials: hub Secrets in ``flotilla-system``, in Argo CD's own format.

A Secret labelled ``argocd.argoproj.io/secret-type: repository`` holds the credentials of
one repository (``url`` is that repository); ``repo-creds`` holds a credential template for
every repository whose URL starts with its ``url`` (the longest prefix wins, and an exact
``repository`` wins over any template), as in Argo CD. URLs compare by
``urls.credentials_key``, more strictly than Argo CD: the scheme must match (an https
Secret's password never goes to an http URL; ssh's spellings are one scheme), a template
covers whole path segments (``team-a`` is not a prefix of ``team-ab/x``), and a URL with
``.`` or ``..`` segments, or a Secret's, matches nothing. Keys: ``username``, ``password`` (a
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
from flotilla.gitops.urls import CredentialsKey, credentials_key

SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"
WEBHOOK_SECRET = "flotilla-webhook"


def credentials_for(url: str, secrets: Iterable[Mapping[str, Any]]) -> Credentials | None:
    """The credentials for repository ``url``, or None when no Secret names it."""
    wanted = credentials_key(url)
    if wanted is None:
        return None
    exact: Credentials | None = None
    best: tuple[int, Credentials] | None = None
    for secret in secrets:
        kind = label_of(dict(secret), SECRET_TYPE_LABEL)
        if kind not in ("repository", "repo-creds"):
            continue
        data = secret_data(secret)
        named = credentials_key(data.get("url", ""))
        if named is None:
            continue
        if kind == "repository" and named == wanted:
            exact = _credentials(data)
        elif (
            kind == "repo-creds"
            and _under(wanted, named)
            and (best is None or len(named[2]) > best[0])
        ):
            best = (len(named[2]), _credentials(data))
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


def _under(url: CredentialsKey, prefix: CredentialsKey) -> bool:
    """Whether repository ``url`` is ``prefix`` or below it: one scheme, one host (and
    port), and the prefix's path segments leading the URL's."""
    scheme, host, segments = url
    return (scheme, host) == prefix[:2] and segments[: len(prefix[2])] == prefix[2]


__all__ = ["SECRET_TYPE_LABEL", "WEBHOOK_SECRET", "credentials_for", "secret_data"]
