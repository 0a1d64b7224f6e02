import threading
import time
from pathlib import Path

import pytest

from flotilla.gitops.sources import GitSources, SourceError
from tests.gitservers import GitHttpServer, GitRepo


async def test_a_fetch_that_hangs_is_killed_and_is_a_transient_error(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    tip = repo.commit({"a": "1"}, "first")
    gate = threading.Event()
    with GitHttpServer(tmp_path / "served", on_request=lambda: gate.wait(10)) as server:
        sources = GitSources(tmp_path / "cache", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"timed out after 0\.5s") as caught:
            await sources.resolve(server.url("app.git"), "main")
        assert caught.value.transient
        assert time.monotonic() - started < 5
        gate.set()
        assert (await sources.resolve(server.url("app.git"), "main")).sha == tip
