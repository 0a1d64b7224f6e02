"""Git URLs naming one repository compare equal, whatever their form, as Argo CD has it."""

from __future__ import annotations

import pytest

from flotilla.gitops.urls import normalize, redact, same_repo


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://github.com/acme/deploy", "github.com/acme/deploy"),
        ("https://github.com/acme/deploy.git", "github.com/acme/deploy"),
        ("https://github.com/acme/deploy/", "github.com/acme/deploy"),
        ("https://github.com/acme/deploy.git/", "github.com/acme/deploy"),
        ("  https://GitHub.COM/acme/deploy\n", "github.com/acme/deploy"),
        ("https://github.com/Acme/Deploy", "github.com/acme/deploy"),
        ("http://github.com/acme/deploy", "github.com/acme/deploy"),
        ("https://github.com:443/acme/deploy", "github.com/acme/deploy"),
        ("http://git.acme.example:80/acme/deploy", "git.acme.example/acme/deploy"),
        ("https://user:tok3n@github.com/acme/deploy.git", "github.com/acme/deploy"),
        ("ssh://git@github.com/acme/deploy.git", "github.com/acme/deploy"),
        ("ssh://git@github.com:22/acme/deploy.git", "github.com/acme/deploy"),
        ("git@github.com:acme/deploy.git", "github.com/acme/deploy"),
        ("git@github.com:/acme/deploy.git", "github.com/acme/deploy"),
        ("github.com:acme/deploy", "github.com/acme/deploy"),
        ("git://github.com/acme/deploy.git", "github.com/acme/deploy"),
        ("git+ssh://git@github.com/acme/deploy", "github.com/acme/deploy"),
        ("https://github.com//acme//deploy", "github.com/acme/deploy"),
        (
            "ssh://git@gitlab.acme.example:2222/platform/deploy.git",
            "gitlab.acme.example:2222/platform/deploy",
        ),
        ("https://git.acme.example:8443/acme/deploy", "git.acme.example:8443/acme/deploy"),
        ("ssh://git@github.com:443/acme/deploy", "github.com:443/acme/deploy"),
        (
            "https://gitlab.acme.example/group/sub/project.git",
            "gitlab.acme.example/group/sub/project",
        ),
        ("https://[2001:DB8::1]:8443/acme/deploy.git", "[2001:db8::1]:8443/acme/deploy"),
        ("git@[2001:db8::1]:acme/deploy.git", "[2001:db8::1]/acme/deploy"),
        ("/srv/git/Deploy.git", "/srv/git/Deploy"),
        ("file:///srv/git/Deploy.git/", "/srv/git/Deploy"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize(url: str, key: str) -> None:
    assert normalize(url) == key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("git@github.com:acme/deploy", "ssh://git@github.com/acme/deploy"),
        ("ssh://git@github.com/acme/deploy", "https://github.com/acme/deploy"),
        ("git@github.com:acme/deploy.git", "https://github.com/acme/deploy/"),
        ("https://token@GITHUB.com/acme/deploy", "https://github.com/acme/deploy.git"),
        ("https://github.com:443/acme/deploy", "ssh://github.com:22/acme/deploy"),
        ("https://github.com/Acme/Deploy", "git@github.com:acme/deploy.git"),
    ],
)
def test_same_repository(a: str, b: str) -> None:
    assert same_repo(a, b)
    assert same_repo(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://github.com/acme/deploy", "https://github.com/acme/deploy-staging"),
        ("https://github.com/acme/deploy", "https://github.com/other/deploy"),
        ("https://github.com/acme/deploy", "https://gitlab.com/acme/deploy"),
        ("https://git.acme.example/acme/deploy", "https://git.acme.example:8443/acme/deploy"),
        ("ssh://git@git.acme.example:2222/acme/deploy", "git@git.acme.example:acme/deploy"),
        ("https://github.com/acme/deploy", "https://github.com/acme"),
        ("/srv/git/Deploy", "/srv/git/deploy"),
        ("", ""),
    ],
)
def test_different_repositories(a: str, b: str) -> None:
    assert not same_repo(a, b)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:s3cr3t@github.com/acme/deploy.git", "https://github.com/acme/deploy.git"),
        ("https://x-access-token:ghs_abc@github.com/a/b", "https://github.com/a/b"),
        ("https://p@ss:w@rd@git.acme.example/a/b", "https://git.acme.example/a/b"),
        ("ssh://git@github.com:22/acme/deploy", "ssh://github.com:22/acme/deploy"),
        ("git@github.com:acme/deploy.git", "github.com:acme/deploy.git"),
        ("https://github.com/acme/deploy", "https://github.com/acme/deploy"),
        ("https://github.com/acme/a@b", "https://github.com/acme/a@b"),
        ("https://tok@github.com", "https://github.com"),
        ("/srv/git/deploy", "/srv/git/deploy"),
        ("not a url", "not a url"),
    ],
)
def test_redact(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_a_url_with_a_bad_port_still_has_a_key() -> None:
    assert normalize("https://github.com:http/acme/deploy") == "https://github.com:http/acme/deploy"


def test_a_url_with_an_unclosed_bracketed_host_still_has_a_key() -> None:
    assert normalize("https://[2001:db8::1/acme/deploy") == "https://[2001:db8::1/acme/deploy"
    assert not same_repo("https://[2001:db8::1/acme/deploy", "https://github.com/acme/deploy")
