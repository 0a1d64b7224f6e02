from pathlib import Path

from flotilla.gitops.sources import GitSources
from tests.gitservers import GitHttpServer, GitRepo, git


def only_cache_repo(cache: Path) -> Path:
    (repo,) = (cache / "repos").iterdir()
    return repo


async def test_a_branch_is_fetched_with_depth_one(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    for number in range(5):
        repo.commit({"n": str(number)}, f"commit {number}")
    await GitSources(tmp_path / "cache").resolve(repo.url_file, "main")
    cached = only_cache_repo(tmp_path / "cache")
    assert git("--git-dir", str(cached), "rev-parse", "--is-shallow-repository") == "true"
    assert git("--git-dir", str(cached), "rev-list", "--count", "--all") == "1"


async def test_a_sha_behind_the_tip_is_fetched_alone_when_the_server_allows(
    tmp_path: Path,
) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    old = repo.commit({"n": "0"}, "old")
    for number in range(1, 4):
        repo.commit({"n": str(number)}, f"commit {number}")
    with GitHttpServer(tmp_path / "served") as server:
        sources = GitSources(tmp_path / "cache")
        assert (await sources.resolve(server.url("app.git"), old)).sha == old
        assert sources.fetches(server.url("app.git")) == 1
    cached = only_cache_repo(tmp_path / "cache")
    assert git("--git-dir", str(cached), "rev-list", "--count", "--all") == "1"


async def test_a_sha_the_server_refuses_to_send_alone_comes_with_a_deeper_fetch(
    tmp_path: Path,
) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    old = repo.commit({"n": "0"}, "old")
    repo.commit({"n": "1"}, "new")
    with GitHttpServer(tmp_path / "served", protocol_v2=False) as server:
        sources = GitSources(tmp_path / "cache")
        await sources.resolve(server.url("app.git"), "main")
        revision = await sources.resolve(server.url("app.git"), old)
        assert (revision.sha, revision.message) == (old, "old")
        assert sources.fetches(server.url("app.git")) == 3, "branch, refused sha, everything"
