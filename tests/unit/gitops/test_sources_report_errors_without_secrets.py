from pathlib import Path

import pytest

from flotilla.gitops.sources import Credentials, GitSources, SourceError
from tests.gitservers import GitDaemon, GitHttpServer, GitRepo, free_port

KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


def test_credentials_show_which_fields_are_set_and_no_values() -> None:
    credentials = Credentials(username="deploy-user", password="hunter2-pw", ssh_private_key=KEY)
    for shown in (repr(credentials), str(credentials), f"{credentials}", repr([credentials])):
        assert "deploy-user" not in shown and "hunter2-pw" not in shown
        assert "OPENSSH" not in shown and "b3BlbnNz" not in shown
        assert "password=<set>" in shown and "known_hosts=<unset>" in shown


async def test_a_wrong_password_is_an_authentication_failure_that_hides_it(
    tmp_path: Path,
) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    repo.commit({"a": "1"}, "first")
    with GitHttpServer(tmp_path / "served", username="deploy", password="right-pw") as server:
        sources = GitSources(tmp_path / "cache")
        wrong = Credentials(username="deploy", password="wrong-pw-123")
        with pytest.raises(SourceError, match="authentication failed") as caught:
            await sources.resolve(server.url("app.git"), "main", wrong)
        with pytest.raises(SourceError, match="authentication failed") as anonymous:
            await sources.resolve(server.url("app.git"), "main")
    assert not caught.value.transient and not anonymous.value.transient
    for text in (str(caught.value), repr(caught.value), str(caught.value.args)):
        assert "wrong-pw-123" not in text and "right-pw" not in text


@pytest.mark.parametrize("scheme", ["http", "git", "ssh"])
async def test_an_unreachable_server_is_a_transient_error(scheme: str, tmp_path: Path) -> None:
    url = f"{scheme}://127.0.0.1:{free_port()}/app.git"
    with pytest.raises(SourceError, match="cannot fetch from") as caught:
        await GitSources(tmp_path / "cache").resolve(url, "main")
    assert caught.value.transient


async def test_an_ssh_failure_shows_no_key_material(tmp_path: Path) -> None:
    credentials = Credentials(username="git", ssh_private_key=KEY, known_hosts="")
    for url in (f"ssh://git@127.0.0.1:{free_port()}/app.git", "git@127.0.0.1:org/app.git"):
        with pytest.raises(SourceError) as caught:
            await GitSources(tmp_path / "cache").resolve(url, "main", credentials)
        assert "PRIVATE KEY" not in str(caught.value) and "b3BlbnNz" not in str(caught.value)
    assert list((tmp_path / "cache" / "tmp").iterdir()) == [], "the key file is removed"


async def test_a_url_that_is_not_a_repository_is_a_terminal_error(tmp_path: Path) -> None:
    GitRepo.create(tmp_path / "served", "app.git").commit({"a": "1"}, "first")
    (tmp_path / "plain").mkdir()
    sources = GitSources(tmp_path / "cache")
    with GitDaemon(tmp_path / "served") as daemon, GitHttpServer(tmp_path / "served") as http:
        for url in (
            (tmp_path / "plain").as_uri(),
            str(tmp_path / "nowhere"),
            daemon.url("nope.git"),
            http.url("nope.git"),
        ):
            with pytest.raises(SourceError, match="is not a git repository") as caught:
                await sources.resolve(url, "main")
            assert not caught.value.transient


@pytest.mark.parametrize(
    "url",
    [
        "ext::sh -c touch% /tmp/x",
        "ext::helper",
        "fd::17",
        "ftp://host/app.git",
        "relative/path",
        "-uhelp",
        "ssh://-oProxyCommand=touch/x",
        "",
    ],
)
async def test_a_url_git_would_misuse_or_cannot_fetch_is_refused(url: str, tmp_path: Path) -> None:
    sources = GitSources(tmp_path / "cache")
    with pytest.raises(SourceError) as caught:
        await sources.resolve(url, "main")
    assert not caught.value.transient
    assert sources.fetches(url) == 0


async def test_userinfo_of_a_url_is_never_shown(tmp_path: Path) -> None:
    url = f"https://someone:tok-abc123@127.0.0.1:{free_port()}/app.git"
    with pytest.raises(SourceError) as caught:
        await GitSources(tmp_path / "cache").resolve(url, "main")
    assert "tok-abc123" not in str(caught.value) and "someone" not in str(caught.value)
    assert "https://127.0.0.1:" in str(caught.value)
