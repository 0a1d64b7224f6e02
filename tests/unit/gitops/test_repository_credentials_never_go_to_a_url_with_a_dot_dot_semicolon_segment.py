"""A URL with a ``..;x`` segment gets no credentials: servlet servers (Bitbucket Data Center
behind Tomcat) drop the ``;x`` path parameter and resolve the ``..``, so
``https://git.corp/team-a/..;x/team-b/y`` is team-b's repository, and team-a's template
must not cover it. A ``;`` in a segment that holds no dot segment changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.gitops.repositories import SECRET_TYPE_LABEL, credentials_for


def secret(kind: str, url: str, password: str) -> dict[str, Any]:
    return {
        "metadata": {"name": f"{kind}-{password}", "labels": {SECRET_TYPE_LABEL: kind}},
        "stringData": {"url": url, "username": "deploy", "password": password},
    }


def password_for(url: str, *secrets: dict[str, Any]) -> str | None:
    found = credentials_for(url, secrets)
    return None if found is None else found.password


TEAM_A = secret("repo-creds", "https://git.corp/team-a/", "team-a-token")
TEAM_A_NO_SLASH = secret("repo-creds", "https://git.corp/team-a", "team-a-token")


@pytest.mark.parametrize("template", [TEAM_A, TEAM_A_NO_SLASH])
@pytest.mark.parametrize(
    "url",
    [
        "https://git.corp/team-a/..;x/team-b/y",
        "https://git.corp/team-a/..;/team-b/y",
        "https://git.corp/team-a/..;jsessionid=0/team-b/y",
        "https://git.corp/team-a/x/..;/..;/team-b/y",
        "https://git.corp/team-a/..%3bx/team-b/y",
        "https://git.corp/team-a/..%3Bx/team-b/y",
        "https://git.corp/team-a/.%2e;x/team-b/y",
        "https://git.corp/team-a/.;x/x/..;x/team-b/y",
    ],
)
def test_a_dot_dot_segment_with_a_path_parameter_gets_no_template(
    template: dict[str, Any], url: str
) -> None:
    assert password_for(url, template) is None


@pytest.mark.parametrize("template", [TEAM_A, TEAM_A_NO_SLASH])
@pytest.mark.parametrize("url", ["https://git.corp/team-a/x;y", "https://git.corp/team-a/x..;y/z"])
def test_a_semicolon_without_a_dot_segment_keeps_the_template(
    template: dict[str, Any], url: str
) -> None:
    assert password_for(url, template) == "team-a-token"
