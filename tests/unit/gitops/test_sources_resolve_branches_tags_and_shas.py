from pathlib import Path

import pytest

from flotilla.gitops.sources import GitSources, SourceError
from tests.gitservers import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "served", "app.git")


async def test_a_branch_resolves_to_its_tip_with_the_commit_details(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.commit({"a.yaml": "a: 1\n"}, "first")
    tip = repo.commit({"b.yaml": "b: 2\n"}, "second line one\nline two\n\nbody")
    revision = await GitSources(tmp_path / "cache").resolve(repo.url_file, "main")
    assert revision.sha == tip
    assert revision.ref == "main"
    assert revision.message == "second line one"
    assert revision.author == "Ada Tester <ada@example.com>"
    assert revision.date[:2] == "20" and revision.date[10] == "T"


async def test_head_and_the_empty_revision_are_the_default_branch(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.commit({"a": "1"}, "on main")
    other = repo.commit({"a": "2"}, "on trunk", branch="trunk")
    repo.set_default_branch("trunk")
    sources = GitSources(tmp_path / "cache")
    head = await sources.resolve(repo.url_file, "HEAD")
    empty = await sources.resolve(repo.url_file, "")
    assert (head.sha, head.ref) == (other, "HEAD")
    assert (empty.sha, empty.ref) == (other, "HEAD")


async def test_tags_resolve_to_the_commit_they_name(repo: GitRepo, tmp_path: Path) -> None:
    first = repo.commit({"a": "1"}, "first")
    repo.commit({"a": "2"}, "second")
    repo.tag("light", first)
    repo.tag("v1.0.0", first, message="release one")
    sources = GitSources(tmp_path / "cache")
    assert (await sources.resolve(repo.url_file, "light")).sha == first
    annotated = await sources.resolve(repo.url_file, "v1.0.0")
    assert (annotated.sha, annotated.message) == (first, "first")


async def test_full_and_abbreviated_shas_resolve_to_their_commit(
    repo: GitRepo, tmp_path: Path
) -> None:
    old = repo.commit({"a": "1"}, "old")
    repo.commit({"a": "2"}, "new")
    sources = GitSources(tmp_path / "cache")
    assert (await sources.resolve(repo.url_file, old)).sha == old
    fresh = GitSources(tmp_path / "other-cache")
    short = await fresh.resolve(repo.url_file, old[:8])
    assert (short.sha, short.ref) == (old, old[:8])


async def test_a_plain_absolute_path_is_a_repository_url(repo: GitRepo, tmp_path: Path) -> None:
    tip = repo.commit({"a": "1"}, "first")
    assert (await GitSources(tmp_path / "cache").resolve(str(repo.path), "main")).sha == tip


async def test_a_branch_in_a_directory_resolves(repo: GitRepo, tmp_path: Path) -> None:
    tip = repo.commit({"a": "1"}, "feature", branch="feature/x")
    sources = GitSources(tmp_path / "cache")
    assert (await sources.resolve(repo.url_file, "feature/x")).sha == tip
    assert (await sources.resolve(repo.url_file, "refs/heads/feature/x")).sha == tip


async def test_a_missing_revision_is_a_terminal_error_naming_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.commit({"a": "1"}, "first")
    sources = GitSources(tmp_path / "cache")
    for missing in ("no-such-branch", "0" * 40, "abcdef1"):
        with pytest.raises(SourceError, match=f"revision '{missing}' not found") as caught:
            await sources.resolve(repo.url_file, missing)
        assert not caught.value.transient


@pytest.mark.parametrize("revision", ["-uhelp", "a..b", "main@{1}", "has space", "x:y", "a/"])
async def test_a_revision_git_would_misread_is_refused(
    revision: str, repo: GitRepo, tmp_path: Path
) -> None:
    sources = GitSources(tmp_path / "cache")
    with pytest.raises(SourceError, match="not a valid git revision") as caught:
        await sources.resolve(repo.url_file, revision)
    assert not caught.value.transient
    assert sources.fetches(repo.url_file) == 0
