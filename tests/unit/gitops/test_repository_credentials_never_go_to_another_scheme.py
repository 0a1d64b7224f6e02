"""A ``repository`` or ``repo-creds`` Secret's credentials go only to URLs of its own scheme:
an https Secret's token never to ``http://`` (it would cross the network in cleartext), nor
an ssh key's Secret to https. The spellings Argo CD takes for one repository still match:
``git@host:org/x`` and ``ssh://git@host/org/x``, ``https://host/x`` and ``.../x.git/``."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.gitops.repositories import SECRET_TYPE_LABEL, credentials_for
from flotilla.gitops.sources import Credentials


def secret(kind: str, url: str, password: str) -> dict[str, Any]:
    return {
        "metadata": {"name": f"{kind}-{password}", "labels": {SECRET_TYPE_LABEL: kind}},
        "stringData": {"url": url, "username": "deploy", "password": password},
    }


def password_for(url: str, *secrets: dict[str, Any]) -> str | None:
    found: Credentials | None = credentials_for(url, secrets)
    return None if found is None else found.password


@pytest.mark.parametrize("kind", ["repository", "repo-creds"])
@pytest.mark.parametrize(
    ("secret_url", "app_url"),
    [
        ("https://git.corp/org/app", "http://git.corp/org/app"),
        ("https://git.corp/org/app", "HTTP://git.corp/org/app.git"),
        ("https://git.corp/org/app", "http://git.corp:443/org/app"),
        ("ssh://git@git.corp/org/app", "http://git.corp/org/app"),
        ("git@git.corp:org/app", "https://git.corp/org/app"),
        ("https://git.corp/org/app", "git@git.corp:org/app"),
        ("https://git.corp/org/app", "git://git.corp/org/app"),
        ("http://git.corp/org/app", "https://git.corp/org/app"),
    ],
)
def test_credentials_are_not_given_to_another_scheme(
    kind: str, secret_url: str, app_url: str
) -> None:
    assert password_for(app_url, secret(kind, secret_url, "tok")) is None


@pytest.mark.parametrize("kind", ["repository", "repo-creds"])
@pytest.mark.parametrize(
    ("secret_url", "app_url"),
    [
        ("https://git.corp/org/app", "https://git.corp/org/app.git"),
        ("https://git.corp/org/app.git", "https://git.corp/org/app/"),
        ("https://git.corp/org/app", "HTTPS://Git.Corp:443/org/app"),
        ("https://git.corp/org/app", "https://user@git.corp/org/app"),
        ("git@git.corp:org/app.git", "ssh://git@git.corp/org/app"),
        ("ssh://git@git.corp:22/org/app", "git@git.corp:org/app"),
        ("ssh://git@git.corp/org/app", "git+ssh://git@git.corp/org/app.git"),
        ("http://git.corp/org/app", "http://git.corp:80/org/app"),
    ],
)
def test_one_repositorys_spellings_in_one_scheme_match(
    kind: str, secret_url: str, app_url: str
) -> None:
    assert password_for(app_url, secret(kind, secret_url, "tok")) == "tok"


def test_an_http_url_takes_the_http_secret_and_not_the_https_one() -> None:
    https = secret("repository", "https://git.corp/org/app", "over-tls")
    http = secret("repository", "http://git.corp/org/app", "in-clear")
    assert password_for("http://git.corp/org/app", https, http) == "in-clear"
    assert password_for("http://git.corp/org/app", http, https) == "in-clear"
    assert password_for("https://git.corp/org/app", http, https) == "over-tls"


def test_an_ssh_secret_on_another_port_is_another_repository() -> None:
    ssh = secret("repository", "ssh://git@git.corp:2222/org/app", "key")
    assert password_for("git@git.corp:org/app", ssh) is None
    assert password_for("ssh://git@git.corp:2222/org/app.git", ssh) == "key"
