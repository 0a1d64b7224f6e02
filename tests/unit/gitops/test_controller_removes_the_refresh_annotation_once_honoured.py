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

from ..fakeapi import body_of
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


async def test_a_sync_asked_with_a_refresh_runs_once_and_its_result_is_written(
    tmp_path: Path,
) -> None:
    """Taking the annotation off changes the Application's resourceVersion: the pass's own
    status write must not then meet a conflict and lose the operation's result (the next
    pass would run the operation again and write its result a second time)."""
    async with world(tmp_path, app=application) as here:
        await here.until(lambda: bool(here.status().get("sync")))
        await here.settle()
        start = len(here.fleet.hub.requests(method="PATCH"))
        here.change_app({
            "metadata": {"annotations": {REFRESH_ANNOTATION: "normal"}},
            "operation": {"sync": {"revision": ""}, "initiatedBy": {"username": "ada"}},
        })  # fmt: skip
        await here.until(lambda: "operation" not in here.app())
        await here.settle()
        assert here.operation_state().get("phase") == "Succeeded"
        results = []
        for request in here.fleet.hub.requests(method="PATCH")[start:]:
            body = body_of(request)
            if "operation" in body:
                break  # the operation is cleared: what follows is later passes
            if (body.get("status") or {}).get("operationState"):
                results.append(request)
        assert len(results) == 1, "the operation's result is written once, by the pass that ran it"
