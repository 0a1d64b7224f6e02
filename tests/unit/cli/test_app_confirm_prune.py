"""``flotilla app confirm-prune``: as ``flotilla placement confirm-prune``, for an Application."""

import datetime

from tests.unit.cli.test_app_harness import (
    APPS,
    app_path,
    application,
    hub_with_crd,
    invoke,
    patches,
)

ANNOTATION = "flotilla.io/prune-confirmed-at"


def test_the_annotation_is_set_to_now_when_the_guard_holds_something() -> None:
    api = hub_with_crd()
    api.put(APPS, application(pruneGuard=[{"cluster": "m1", "blockedDigest": "abc"}]))
    before = datetime.datetime.now(datetime.UTC)
    result = invoke(["confirm-prune", "guestbook"], api)
    assert result.exit_code == 0, result.output
    assert "prune confirmed for argocd/guestbook" in result.output
    value = api.get(app_path())["metadata"]["annotations"][ANNOTATION]
    when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert before <= when <= datetime.datetime.now(datetime.UTC)


def test_nothing_held_is_nothing_to_confirm() -> None:
    api = hub_with_crd()
    api.put(APPS, application(pruneGuard=[{"cluster": "m1", "pendingDigest": "abc"}]))
    result = invoke(["confirm-prune", "guestbook"], api)
    assert result.exit_code == 1
    assert "the deletion guard holds nothing of argocd/guestbook" in result.output
    assert patches(api) == []
