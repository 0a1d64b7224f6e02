import os
from pathlib import Path

import pytest

from flotilla.gitops.sources import GitSources, SourceError
from tests.gitservers import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "served", "app.git")


async def test_the_root_and_a_directory_hold_the_tree_at_the_commit(
    repo: GitRepo, tmp_path: Path
) -> None:
    first = repo.commit({"deploy/app.yaml": "v: 1\n", "deploy/old.yaml": "x", "README": "r"}, "1")
    second = repo.commit({"deploy/app.yaml": "v: 2\n", "deploy/old.yaml": None}, "2")
    sources = GitSources(tmp_path / "cache")
    await sources.resolve(repo.url_file, first)
    await sources.resolve(repo.url_file, "main")
    for root in ("", "."):
        tree = await sources.checkout(repo.url_file, first, root)
        assert sorted(p.name for p in tree.iterdir()) == ["README", "deploy"]
    deploy = await sources.checkout(repo.url_file, first, "deploy")
    assert (deploy / "app.yaml").read_text() == "v: 1\n"
    later = await sources.checkout(repo.url_file, second, "./deploy/")
    assert sorted(p.name for p in later.iterdir()) == ["app.yaml"]
    assert (later / "app.yaml").read_text() == "v: 2\n"


async def test_a_checkout_is_extracted_once_per_commit(repo: GitRepo, tmp_path: Path) -> None:
    sha = repo.commit({"deploy/app.yaml": "v: 1\n"}, "1")
    sources = GitSources(tmp_path / "cache")
    await sources.resolve(repo.url_file, "main")
    first = await sources.checkout(repo.url_file, sha, "deploy")
    again = await sources.checkout(repo.url_file, sha, "deploy")
    root = await sources.checkout(repo.url_file, sha, "")
    assert first == again
    assert os.stat(first).st_ino == os.stat(again).st_ino
    assert first.parent == root


@pytest.mark.parametrize("path", ["..", "../other", "deploy/../../x", "/etc", "/"])
async def test_a_path_leaving_the_repository_is_refused(
    path: str, repo: GitRepo, tmp_path: Path
) -> None:
    sha = repo.commit({"deploy/app.yaml": "v: 1\n"}, "1")
    sources = GitSources(tmp_path / "cache")
    await sources.resolve(repo.url_file, "main")
    with pytest.raises(SourceError, match="must stay inside the repository") as caught:
        await sources.checkout(repo.url_file, sha, path)
    assert not caught.value.transient


async def test_a_missing_path_or_a_file_is_a_terminal_error_saying_so(
    repo: GitRepo, tmp_path: Path
) -> None:
    sha = repo.commit({"deploy/app.yaml": "v: 1\n"}, "1")
    sources = GitSources(tmp_path / "cache")
    await sources.resolve(repo.url_file, "main")
    with pytest.raises(SourceError, match="path 'nowhere' does not exist") as missing:
        await sources.checkout(repo.url_file, sha, "nowhere")
    with pytest.raises(SourceError, match="is a file, not a directory") as file:
        await sources.checkout(repo.url_file, sha, "deploy/app.yaml")
    assert not missing.value.transient and not file.value.transient


async def test_symlinks_inside_the_repository_are_kept_and_ones_leaving_it_refused(
    repo: GitRepo, tmp_path: Path
) -> None:
    sha = repo.commit(
        {"base/app.yaml": "v: 1\n", "secret/x": "y"},
        "1",
        symlinks={
            "overlay/app.yaml": "../base/app.yaml",
            "secret/passwd": "/etc/passwd",
            "secret/up": "../../../../outside",
            "escape": "..",
        },
    )
    sources = GitSources(tmp_path / "cache")
    await sources.resolve(repo.url_file, "main")
    overlay = await sources.checkout(repo.url_file, sha, "overlay")
    assert (overlay / "app.yaml").read_text() == "v: 1\n"
    with pytest.raises(SourceError, match="symlink leading outside the repository"):
        await sources.checkout(repo.url_file, sha, "secret")
    with pytest.raises(SourceError, match="outside the repository"):
        await sources.checkout(repo.url_file, sha, "escape")
    with pytest.raises(SourceError, match="outside the repository"):
        await sources.checkout(repo.url_file, sha, "")


async def test_a_commit_not_fetched_yet_is_a_transient_error(repo: GitRepo, tmp_path: Path) -> None:
    first = repo.commit({"a": "1"}, "1")
    second = repo.commit({"a": "2"}, "2")
    sources = GitSources(tmp_path / "cache")
    with pytest.raises(SourceError, match="resolve it first") as unknown_repo:
        await sources.checkout(repo.url_file, first, "")
    await sources.resolve(repo.url_file, "main")
    with pytest.raises(SourceError, match="resolve it first") as unknown_commit:
        await sources.checkout(repo.url_file, first, "")
    assert unknown_repo.value.transient and unknown_commit.value.transient
    assert (await sources.checkout(repo.url_file, second, "") / "a").read_text() == "2"


async def test_checkout_needs_a_full_sha(repo: GitRepo, tmp_path: Path) -> None:
    sha = repo.commit({"a": "1"}, "1")
    sources = GitSources(tmp_path / "cache")
    await sources.resolve(repo.url_file, "main")
    for revision in (sha[:8], "main"):
        with pytest.raises(SourceError, match="needs a full commit sha"):
            await sources.checkout(repo.url_file, revision, "")


async def test_a_checkouts_name_cannot_be_derived_from_its_repository_and_commit(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A kustomization's `../../<name>` in one repository must not reach another's tree."""
    sha = repo.commit({"deploy/app.yaml": "v: 1\n"}, "1")
    names = []
    for cache in ("one", "two"):
        sources = GitSources(tmp_path / cache)
        await sources.resolve(repo.url_file, "main")
        root = await sources.checkout(repo.url_file, sha, "")
        names.append(root.name)
    assert names[0] != names[1]
    assert all(len(name) > len(sha) + 33 for name in names)
