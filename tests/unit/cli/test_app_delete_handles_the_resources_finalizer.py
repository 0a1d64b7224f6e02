"""``flotilla app delete``: cascade adds Argo CD's resources finalizer before deleting (the
controller then removes the objects and the finalizer); --no-cascade takes it off."""

import httpx

from tests.unit.cli.test_app_harness import (
    APPS,
    SteppingClock,
    app_path,
    application,
    hub_with_crd,
    invoke,
    patches,
)

FINALIZER = "resources-finalizer.argocd.argoproj.io"


def hub(*finalizers: str):  # type: ignore[no-untyped-def]
    api = hub_with_crd()
    item = application()
    if finalizers:
        item["metadata"]["finalizers"] = list(finalizers)
    api.put(APPS, item)
    return api


def test_cascade_adds_the_finalizer_keeping_others_then_deletes() -> None:
    api = hub("example.com/keep")
    version = api.get(app_path())["metadata"]["resourceVersion"]
    result = invoke(["delete", "guestbook"], api)
    assert result.exit_code == 0, result.output
    assert patches(api) == [
        {"metadata": {"finalizers": ["example.com/keep", FINALIZER], "resourceVersion": version}}
    ]
    assert len(api.requests(method="DELETE", path=app_path())) == 1
    stored = api.get(app_path())
    assert stored["metadata"]["deletionTimestamp"], "held by the finalizers"
    assert "the controller removes its objects first" in result.output


def test_cascade_with_the_finalizer_there_writes_nothing_but_the_delete() -> None:
    api = hub(FINALIZER)
    result = invoke(["delete", "guestbook"], api)
    assert result.exit_code == 0, result.output
    assert patches(api) == []


def test_no_cascade_removes_only_that_finalizer() -> None:
    api = hub(FINALIZER, "example.com/keep")
    result = invoke(["delete", "guestbook", "--no-cascade"], api)
    assert result.exit_code == 0, result.output
    assert patches(api)[0]["metadata"]["finalizers"] == ["example.com/keep"]
    assert api.get(app_path())["metadata"]["finalizers"] == ["example.com/keep"]
    assert "its objects stay on the cluster" in result.output


def test_no_cascade_without_finalizers_deletes_at_once() -> None:
    api = hub()
    result = invoke(["delete", "guestbook", "--no-cascade", "--wait"], api)
    assert result.exit_code == 0, result.output
    assert api.get(app_path()) is None
    assert "application argocd/guestbook is gone" in result.output


def test_wait_waits_for_the_controller_to_take_the_finalizer_off() -> None:
    api, clock = hub(), SteppingClock()
    reads = []

    def controller(request: httpx.Request) -> None:
        item = api.get(app_path())
        if request.method != "GET" or item is None or not item["metadata"].get("deletionTimestamp"):
            return
        reads.append(request)
        if len(reads) == 3:  # objects removed from the member: the finalizer goes
            api.merge_patch(app_path(), {"metadata": {"finalizers": None}}, manager="gitops")

    result = invoke(["delete", "guestbook", "--wait"], api, after=controller, clock=clock)
    assert result.exit_code == 0, result.output
    assert api.get(app_path()) is None
    assert clock.slept == [0.5, 0.5, 0.5]


def test_wait_gives_up_after_the_timeout() -> None:
    api, clock = hub(), SteppingClock()
    result = invoke(["delete", "guestbook", "--wait", "--timeout", "2"], api, clock=clock)
    assert result.exit_code == 1
    assert "still there after 2s" in result.output
    assert clock.time == 2


def test_a_missing_application_is_named() -> None:
    result = invoke(["delete", "nope"], hub())
    assert result.exit_code == 1
    assert "no application 'nope'" in result.output
