"""A ``repo-creds`` template covers the repositories below its URL by whole path segments
(``team-a`` is not a prefix of ``team-ab``), and a URL with ``.`` or ``..`` segments, raw or
percent-encoded, gets no credentials at all: curl and servers resolve them, so
``https://git.corp/team-a/../team-b/x`` is team-b's repository, not team-a's."""

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
        "https://git.corp/team-a/../team-b/x",
        "https://git.corp/team-a/./../team-b/x",
        "https://git.corp/team-a/x/../../team-b/y",
        "https://git.corp/team-a/%2e%2e/team-b/x",
        "https://git.corp/team-a/%2E%2E/team-b/x",
        "https://git.corp/team-a/.%2e/team-b/x",
        "https://git.corp/team-a/%252e%252e/team-b/x",
        "https://git.corp/team-a/x%2f..%2fteam-b",
        "https://git.corp/team-a/x%5c..%5cteam-b",
        "https://git.corp/team-a/..\\team-b/x",
        "https://git.corp/team-a/x/..",
        "https://git.corp/team-a/x?/../team-b",
        "https://git.corp/team-a/x#/../team-b",
        "ssh://git@git.corp/team-a/../team-b/x",
    ],
)
def test_a_url_with_dot_segments_gets_no_template(template: dict[str, Any], url: str) -> None:
    assert password_for(url, template) is None


def test_a_url_with_dot_segments_gets_no_exact_match_either() -> None:
    exact = secret("repository", "https://git.corp/team-b/x", "team-b-token")
    assert password_for("https://git.corp/team-a/../team-b/x", exact) is None
    assert password_for("https://git.corp/team-b/./x", exact) is None


def test_a_secret_whose_url_has_dot_segments_matches_nothing() -> None:
    odd = secret("repo-creds", "https://git.corp/team-a/../", "odd")
    assert password_for("https://git.corp/team-b/x", odd) is None
    assert password_for("https://git.corp/x", odd) is None


@pytest.mark.parametrize("template", [TEAM_A, TEAM_A_NO_SLASH])
@pytest.mark.parametrize(
    "url",
    ["https://git.corp/team-ab/x", "https://git.corp/team-a.b/x", "https://git.corp/team-"],
)
def test_a_template_does_not_cover_a_longer_segment(template: dict[str, Any], url: str) -> None:
    assert password_for(url, template) is None


@pytest.mark.parametrize("template", [TEAM_A, TEAM_A_NO_SLASH])
@pytest.mark.parametrize(
    "url",
    [
        "https://git.corp/team-a/x",
        "https://git.corp/team-a/x.git",
        "https://git.corp/team-a/sub/group/x",
        "https://git.corp//team-a//x",
        "https://git.corp/team-a",
        "https://git.corp/team-a/x.y..z",
        "https://git.corp/team-a/.hidden",
    ],
)
def test_a_template_covers_the_repositories_below_it(template: dict[str, Any], url: str) -> None:
    assert password_for(url, template) == "team-a-token"


def test_the_longest_template_wins_and_an_exact_repository_wins_over_all() -> None:
    host = secret("repo-creds", "https://git.corp", "host")
    team = secret("repo-creds", "https://git.corp/team-a", "team")
    sub = secret("repo-creds", "https://git.corp/team-a/sub/", "sub")
    exact = secret("repository", "https://git.corp/team-a/sub/x.git", "exact")
    assert password_for("https://git.corp/team-a/sub/x", host, sub, team) == "sub"
    assert password_for("https://git.corp/team-a/y", sub, host, team) == "team"
    assert password_for("https://git.corp/team-b/y", sub, host, team) == "host"
    assert password_for("https://git.corp/team-a/sub/x", host, sub, exact, team) == "exact"
    assert password_for("https://git.corp/team-a/sub/xy", host, sub, exact, team) == "sub"
