"""A branch or tag whose name is only hex characters (``cafe``, ``2024``, a sha's first eight
characters) is fetched as that ref, never taken for an abbreviated sha of a commit that the
cache already holds. Only a full sha skips the fetch; an abbreviated sha still resolves,
from the cache when it is there, once the server said it has no ref of that name."""

from pathlib import Path

from flotilla.gitops.sources import GitSources
from tests.gitservers import GitRepo, git


async def test_a_branch_named_like_a_cached_commits_sha_prefix_resolves_to_the_branch(
    tmp_path: Path,
) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    cached = repo.commit({"a": "1"}, "on main")
    sources = GitSources(tmp_path / "cache")
    assert (await sources.resolve(repo.url_file, "main")).sha == cached
    name = cached[:8]
    tip = repo.commit({"a": "2"}, "on the hex branch", branch=name)
    resolved = await sources.resolve(repo.url_file, name)
    assert (resolved.sha, resolved.ref) == (tip, name)


async def test_a_tag_named_like_a_cached_commits_sha_prefix_resolves_to_the_tag(
    tmp_path: Path,
) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    tagged = repo.commit({"a": "1"}, "tagged")
    tip = repo.commit({"a": "2"}, "tip")
    sources = GitSources(tmp_path / "cache")
    assert (await sources.resolve(repo.url_file, "main")).sha == tip
    repo.tag(tip[:6], tagged)
    assert (await sources.resolve(repo.url_file, tip[:6])).sha == tagged


async def test_a_hex_named_branch_is_fetched_again_when_it_moves(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    first = repo.commit({"a": "1"}, "first")
    name = first[:7]
    git("--git-dir", str(repo.path), "update-ref", f"refs/heads/{name}", first)
    sources = GitSources(tmp_path / "cache")
    assert (await sources.resolve(repo.url_file, name)).sha == first
    second = repo.commit({"a": "2"}, "second", branch=name)
    assert (await sources.resolve(repo.url_file, name)).sha == second


async def test_a_cached_abbreviated_sha_costs_one_ref_lookup_and_no_full_fetch(
    tmp_path: Path,
) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    first = repo.commit({"a": "1"}, "first")
    sources = GitSources(tmp_path / "cache")
    await sources.resolve(repo.url_file, "main")
    short = await sources.resolve(repo.url_file, first[:10])
    assert (short.sha, short.ref) == (first, first[:10])
    assert sources.fetches(repo.url_file) == 2
