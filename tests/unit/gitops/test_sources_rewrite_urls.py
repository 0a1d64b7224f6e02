from pathlib import Path

from flotilla.gitops.sources import GitSources
from tests.gitservers import GitHttpServer, GitRepo


def test_the_longest_matching_prefix_is_rewritten(tmp_path: Path) -> None:
    sources = GitSources(
        tmp_path,
        rewrites=[
            ("https://github.com/", "http://mirror.local/gh/"),
            ("https://github.com/org/special", "http://special.local/s"),
        ],
    )
    assert sources.rewritten("https://github.com/org/x") == "http://mirror.local/gh/org/x"
    assert sources.rewritten("https://github.com/org/special.git") == "http://special.local/s.git"
    assert sources.rewritten("https://gitlab.com/org/x") == "https://gitlab.com/org/x"


async def test_a_github_url_is_fetched_from_the_server_it_is_rewritten_to(
    tmp_path: Path,
) -> None:
    repo = GitRepo.create(tmp_path / "served", "org/x")
    tip = repo.commit({"a": "1"}, "first")
    with GitHttpServer(tmp_path / "served") as server:
        sources = GitSources(tmp_path / "cache", rewrites=[("https://github.com/", server.url(""))])
        revision = await sources.resolve("https://github.com/org/x", "main")
        tree = await sources.checkout("https://github.com/org/x", tip, "")
        assert revision.sha == tip and (tree / "a").read_text() == "1"
        assert server.requests("org/x") >= 1
        assert sources.fetches("https://github.com/org/x") == 1
        assert sources.fetches(server.url("org/x")) == 1, "one cache for both spellings"
