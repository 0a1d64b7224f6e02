from pathlib import Path

import pytest

from flotilla.gitops.sources import Credentials, GitSources, SourceError
from tests.gitservers import GitDaemon, GitHttpServer, GitRepo


async def test_a_git_daemon_url_resolves(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "served", "team/app.git")
    tip = repo.commit({"a": "1"}, "first")
    with GitDaemon(tmp_path / "served") as daemon:
        revision = await GitSources(tmp_path / "cache").resolve(daemon.url("team/app.git"), "main")
    assert revision.sha == tip


async def test_smart_http_without_auth_resolves(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    tip = repo.commit({"a": "1"}, "first")
    with GitHttpServer(tmp_path / "served") as server:
        revision = await GitSources(tmp_path / "cache").resolve(server.url("app.git"), "main")
        assert server.requests("app.git") >= 2, "info/refs and upload-pack"
    assert revision.sha == tip


async def test_smart_http_with_basic_auth_resolves_with_the_right_password(
    tmp_path: Path,
) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    tip = repo.commit({"a": "1"}, "first")
    with GitHttpServer(tmp_path / "served", username="deploy", password="s3cret-pw") as server:
        sources = GitSources(tmp_path / "cache")
        right = Credentials(username="deploy", password="s3cret-pw")
        assert (await sources.resolve(server.url("app.git"), "main", right)).sha == tip


async def test_a_token_without_username_is_sent_as_x_access_token(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    tip = repo.commit({"a": "1"}, "first")
    with GitHttpServer(
        tmp_path / "served", username="x-access-token", password="ghp_tok"
    ) as server:
        token = Credentials(password="ghp_tok")
        revision = await GitSources(tmp_path / "cache").resolve(server.url("app.git"), "", token)
    assert revision.sha == tip


async def test_userinfo_in_an_http_url_is_used_as_credentials(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    tip = repo.commit({"a": "1"}, "first")
    with GitHttpServer(tmp_path / "served", username="deploy", password="pw-in-url") as server:
        url = server.url("app.git").replace("http://", "http://deploy:pw-in-url@")
        sources = GitSources(tmp_path / "cache")
        assert (await sources.resolve(url, "main")).sha == tip
        wrong = url.replace("pw-in-url", "pw-wrong1")
        with pytest.raises(SourceError, match="authentication failed") as caught:
            await sources.resolve(wrong, "main")
    assert "pw-wrong1" not in str(caught.value)
    assert "deploy" not in str(caught.value)
