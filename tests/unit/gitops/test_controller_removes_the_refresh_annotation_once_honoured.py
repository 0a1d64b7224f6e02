"""The ``argocd.argoproj.io/refresh`` annotation asks for one fresh look: the pass that
fetches the repository again for it takes it off the Application (as Argo CD does), so the
passes after it (every Cluster event is one) do not fetch again and again.

``GitSources.fetches`` counts the network operations for the repository; fake time never
moves here, so no poll interval runs out.
"""

from __future__ import annotations

from pathlib import Path

from flotilla.gitops.controller import REFRESH_ANNOTATION
from tests.gitservers import free_port

from .controller_harness import World, application, world


def annotations(here: World) -> dict[str, str]:
    return dict(here.app()["metadata"].get("annotations") or {})


async def test_the_refresh_annotation_goes_after_the_pass_that_honoured_it(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as here:
        await here.until(here.synced)
        await here.settle()
        fetches = here.sources.fetches(here.url)

        here.change_app({"metadata": {"annotations": {REFRESH_ANNOTATION: "normal",
                                                      "team": "web"}}})  # fmt: skip
        await here.until(lambda: here.sources.fetches(here.url) == fetches + 1)
        await here.settle()
        assert annotations(here) == {"team": "web"}, "only the refresh annotation goes"
        assert here.synced()

        for _ in range(3):
            await here.touch_cluster()
        assert here.sources.fetches(here.url) == fetches + 1
        assert REFRESH_ANNOTATION not in annotations(here)


async def test_the_refresh_annotation_goes_when_the_fresh_fetch_fails_too(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}/apps.git"
    async with world(tmp_path, app=lambda _url: application(down, automated={})) as here:
        await here.until(lambda: bool(here.condition("ComparisonError")))
        await here.settle()
        fetches = here.sources.fetches(down)

        here.change_app({"metadata": {"annotations": {REFRESH_ANNOTATION: "hard"}}})
        await here.until(lambda: here.sources.fetches(down) == fetches + 1)
        await here.until(lambda: REFRESH_ANNOTATION not in annotations(here))
        await here.settle()
        for _ in range(3):
            await here.touch_cluster()
        assert here.sources.fetches(down) == fetches + 1, "the failure's wait holds again"
