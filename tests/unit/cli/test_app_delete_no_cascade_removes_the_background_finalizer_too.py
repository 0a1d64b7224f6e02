"""``flotilla app delete --no-cascade`` takes off Argo CD's ``/background`` form of the
resources finalizer too: the controller cascades on either form, so leaving it would delete
the objects the user asked to keep. Every other finalizer stays."""

from tests.unit.cli.test_app_harness import (
    APPS,
    app_path,
    application,
    hub_with_crd,
    invoke,
    patches,
)

FINALIZER = "resources-finalizer.argocd.argoproj.io"
BACKGROUND = f"{FINALIZER}/background"


def hub(*finalizers: str):  # type: ignore[no-untyped-def]
    api = hub_with_crd()
    item = application()
    item["metadata"]["finalizers"] = list(finalizers)
    api.put(APPS, item)
    return api


def test_no_cascade_removes_the_background_finalizer() -> None:
    api = hub("example.com/keep", BACKGROUND)
    version = api.get(app_path())["metadata"]["resourceVersion"]
    result = invoke(["delete", "guestbook", "--no-cascade"], api)
    assert result.exit_code == 0, result.output
    assert patches(api) == [
        {"metadata": {"finalizers": ["example.com/keep"], "resourceVersion": version}}
    ]
    assert api.get(app_path())["metadata"]["finalizers"] == ["example.com/keep"]
    assert "its objects stay on the cluster" in result.output


def test_no_cascade_removes_both_forms_at_once() -> None:
    api = hub(BACKGROUND, "example.com/keep", FINALIZER)
    result = invoke(["delete", "guestbook", "--no-cascade"], api)
    assert result.exit_code == 0, result.output
    assert [p["metadata"]["finalizers"] for p in patches(api)] == [["example.com/keep"]]
    assert len(api.requests(method="DELETE", path=app_path())) == 1
