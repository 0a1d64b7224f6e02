import asyncio
import threading
from pathlib import Path

from flotilla.gitops.sources import GitSources
from tests.gitservers import GitHttpServer, GitRepo, wait_until


async def test_concurrent_resolves_of_one_revision_make_one_fetch(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    tip = repo.commit({"a": "1"}, "first")
    with GitHttpServer(tmp_path / "served") as server:
        url = server.url("app.git")
        await GitSources(tmp_path / "alone").resolve(url, "main")
        one_fetch = server.requests("app.git")
        sources = GitSources(tmp_path / "cache")
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(sources.resolve(url, "main")) for _ in range(20)]
        assert {task.result().sha for task in tasks} == {tip}
        assert sources.fetches(url) == 1
        assert server.requests("app.git") == 2 * one_fetch


async def test_different_revisions_fetch_separately_and_both_succeed(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    main = repo.commit({"a": "1"}, "first")
    other = repo.commit({"a": "2"}, "other", branch="other")
    sources = GitSources(tmp_path / "cache")
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(sources.resolve(repo.url_file, rev)) for rev in ["main", "other"] * 5
        ]
    assert [task.result().sha for task in tasks] == [main, other] * 5
    assert sources.fetches(repo.url_file) == 2


async def test_a_waiter_still_gets_the_result_when_the_fetching_caller_is_cancelled(
    tmp_path: Path,
) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    tip = repo.commit({"a": "1"}, "first")
    gate = threading.Event()
    with GitHttpServer(tmp_path / "served", on_request=lambda: gate.wait(10)) as server:
        url = server.url("app.git")
        sources = GitSources(tmp_path / "cache")
        async with asyncio.TaskGroup() as group:
            fetching = group.create_task(sources.resolve(url, "main"))
            await wait_until(lambda: server.requests("app.git") == 1)
            waiting = group.create_task(sources.resolve(url, "main"))
            await asyncio.sleep(0)
            fetching.cancel()
            await asyncio.wait([fetching])
            gate.set()
        assert waiting.result().sha == tip
        assert fetching.cancelled()
        assert sources.fetches(url) == 2, "the waiter fetched again"
