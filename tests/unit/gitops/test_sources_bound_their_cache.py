from pathlib import Path

from flotilla.gitops.sources import GitSources
from tests.gitservers import GitRepo


async def test_the_least_recently_used_repository_is_evicted(tmp_path: Path) -> None:
    repos = {name: GitRepo.create(tmp_path / "served", name) for name in ("a", "b", "c")}
    shas = {name: repo.commit({"f": name}, name) for name, repo in repos.items()}
    sources = GitSources(tmp_path / "cache", max_repos=2)
    await sources.resolve(repos["a"].url_file, "main")
    await sources.resolve(repos["b"].url_file, "main")
    await sources.resolve(repos["a"].url_file, shas["a"])  # a is used again, b is now oldest
    await sources.resolve(repos["c"].url_file, "main")
    assert len(list((tmp_path / "cache" / "repos").iterdir())) == 2
    await sources.resolve(repos["a"].url_file, shas["a"])
    assert sources.fetches(repos["a"].url_file) == 1, "a stayed: its sha needs no fetch"
    await sources.resolve(repos["b"].url_file, shas["b"])
    assert sources.fetches(repos["b"].url_file) == 2, "b was evicted: fetched again"


async def test_repositories_left_by_an_earlier_process_are_reused_despite_its_locks(
    tmp_path: Path,
) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    sha = repo.commit({"f": "1"}, "1")
    await GitSources(tmp_path / "cache").resolve(repo.url_file, "main")
    (cached,) = (tmp_path / "cache" / "repos").iterdir()
    (cached / "shallow.lock").write_text("left by a killed git\n")
    later = GitSources(tmp_path / "cache")
    assert (await later.resolve(repo.url_file, sha)).sha == sha
    newer = repo.commit({"f": "2"}, "2")
    assert (await later.resolve(repo.url_file, "main")).sha == newer
    assert list((tmp_path / "cache" / "repos").iterdir()) == [cached]


async def test_the_least_recently_used_checkout_is_removed(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    shas = [repo.commit({"f": str(n)}, str(n)) for n in range(3)]
    sources = GitSources(tmp_path / "cache", max_checkouts=2)
    for sha in shas:
        await sources.resolve(repo.url_file, sha)
    first = await sources.checkout(repo.url_file, shas[0], "")
    second = await sources.checkout(repo.url_file, shas[1], "")
    assert await sources.checkout(repo.url_file, shas[0], "") == first
    third = await sources.checkout(repo.url_file, shas[2], "")
    assert first.exists() and third.exists()
    assert not second.exists()
    assert (await sources.checkout(repo.url_file, shas[1], "") / "f").read_text() == "1"
