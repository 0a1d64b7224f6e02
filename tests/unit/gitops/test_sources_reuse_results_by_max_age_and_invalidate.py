from pathlib import Path

import pytest

from flotilla.gitops.sources import Credentials, GitSources, SourceError
from tests.gitservers import GitHttpServer, GitRepo


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_result_younger_than_max_age_is_reused_and_an_older_one_refetched(
    tmp_path: Path,
) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    first = repo.commit({"a": "1"}, "first")
    clock = Clock()
    sources = GitSources(tmp_path / "cache", monotonic=clock)
    assert (await sources.resolve(repo.url_file, "main", max_age=30)).sha == first
    second = repo.commit({"a": "2"}, "second")
    clock.now += 29
    assert (await sources.resolve(repo.url_file, "main", max_age=30)).sha == first
    assert sources.fetches(repo.url_file) == 1
    clock.now += 1
    assert (await sources.resolve(repo.url_file, "main", max_age=30)).sha == second
    assert sources.fetches(repo.url_file) == 2


async def test_max_age_zero_always_asks_the_server(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    repo.commit({"a": "1"}, "first")
    sources = GitSources(tmp_path / "cache")
    await sources.resolve(repo.url_file, "main")
    second = repo.commit({"a": "2"}, "second")
    assert (await sources.resolve(repo.url_file, "main")).sha == second
    assert sources.fetches(repo.url_file) == 2


async def test_invalidate_makes_the_next_resolve_fetch_the_new_commit(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    repo.commit({"a": "1"}, "first")
    sources = GitSources(tmp_path / "cache")
    await sources.resolve(repo.url_file, "main", max_age=3600)
    second = repo.commit({"a": "2"}, "second")
    sources.invalidate(repo.url_file)
    assert (await sources.resolve(repo.url_file, "main", max_age=3600)).sha == second
    assert sources.fetches(repo.url_file) == 2


async def test_a_full_sha_already_fetched_is_not_fetched_again(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    first = repo.commit({"a": "1"}, "first")
    sources = GitSources(tmp_path / "cache")
    await sources.resolve(repo.url_file, "main")
    assert (await sources.resolve(repo.url_file, first)).sha == first
    assert sources.fetches(repo.url_file) == 1
    # An abbreviated one may be a branch's name: see test_sources_resolve_a_hex_named_ref_...


async def test_cached_results_are_not_given_to_callers_with_other_credentials(
    tmp_path: Path,
) -> None:
    repo = GitRepo.create(tmp_path / "served", "private.git")
    tip = repo.commit({"a": "1"}, "first")
    with GitHttpServer(tmp_path / "served", username="deploy", password="right-pw") as server:
        url = server.url("private.git")
        sources = GitSources(tmp_path / "cache")
        right = Credentials(username="deploy", password="right-pw")
        await sources.resolve(url, "main", right, max_age=3600)
        for other in (None, Credentials(username="deploy", password="wrong-pw")):
            for revision in ("main", tip, tip[:8]):
                with pytest.raises(SourceError, match="authentication failed"):
                    await sources.resolve(url, revision, other, max_age=3600)
        assert (await sources.resolve(url, tip, right)).sha == tip
