"""``flotilla app sync``: the operation the CLI sets, how it waits for the controller, and
what it prints and exits with."""

import httpx

from tests.unit.cli.test_app_harness import (
    APPS,
    CRD,
    Controller,
    SteppingClock,
    app_path,
    application,
    hub_with_crd,
    invoke,
    patches,
)
from tests.unit.fakeapi import error

OPERATION = {
    "sync": {"revision": "", "prune": False, "dryRun": False},
    "initiatedBy": {"username": "flotilla-cli"},
}


def hub():  # type: ignore[no-untyped-def]
    api = hub_with_crd()
    api.put(APPS, application())
    return api


def test_the_cli_sets_the_operation_on_the_version_it_read() -> None:
    api = hub()
    version = api.get(app_path())["metadata"]["resourceVersion"]
    controller = Controller(api)
    result = invoke(["sync", "guestbook"], api, controller=controller)
    assert result.exit_code == 0, result.output
    (patch,) = patches(api)
    assert patch == {"operation": OPERATION, "metadata": {"resourceVersion": version}}
    assert controller.seen == [OPERATION]
    (request,) = api.requests(method="PATCH", path=app_path())
    assert request.url.params["fieldManager"] == "flotilla-cli"


def test_revision_and_prune_go_into_the_operation() -> None:
    api = hub()
    controller = Controller(api)
    result = invoke(
        ["sync", "guestbook", "--revision", "v2", "--prune"], api, controller=controller
    )
    assert result.exit_code == 0, result.output
    assert controller.seen[0]["sync"] == {"revision": "v2", "prune": True, "dryRun": False}


def test_the_result_is_printed_with_every_object() -> None:
    api = hub()
    result = invoke(["sync", "guestbook"], api, controller=Controller(api))
    assert result.exit_code == 0, result.output
    assert "Phase:     Succeeded" in result.output
    assert "successfully synced (revision 3f78685)" in result.output
    row = next(line for line in result.output.splitlines() if "guestbook-ui" in line)
    assert row.split() == ["apps", "Deployment", "web", "guestbook-ui", "Synced", "deployment",
                           "configured"]  # fmt: skip


def test_a_sync_that_failed_exits_1() -> None:
    api = hub()
    controller = Controller(api, phase="Failed", message="one object failed", resources=[
        {"kind": "ConfigMap", "namespace": "web", "name": "c", "status": "SyncFailed",
         "message": "field is immutable"},
    ])  # fmt: skip
    result = invoke(["sync", "guestbook"], api, controller=controller)
    assert result.exit_code == 1
    assert "Phase:     Failed" in result.output
    assert "field is immutable" in result.output


def test_it_polls_every_half_second_until_the_controller_is_done() -> None:
    api, clock = hub(), SteppingClock()
    result = invoke(["sync", "guestbook"], api, controller=Controller(api, polls=4), clock=clock)
    assert result.exit_code == 0, result.output
    assert clock.slept and set(clock.slept) == {0.5}
    assert len(clock.slept) == 5, "4 reads with the operation set, 1 before the status write"


def test_the_previous_operations_result_is_not_taken_for_this_ones() -> None:
    api = hub()
    api.merge_patch(f"{app_path()}/status", {"status": {"operationState": {
        "phase": "Failed", "message": "the last one", "finishedAt": "2026-01-01T00:00:00Z",
    }}})  # fmt: skip
    controller = Controller(api, writes_status=False)  # clears operation, never writes
    clock = SteppingClock()
    result = invoke(["sync", "guestbook", "--timeout", "10"], api, controller=controller,
                    clock=clock)  # fmt: skip
    assert result.exit_code == 1
    assert "did not finish in 10s" in result.output
    assert "the last one" not in result.output
    assert clock.time == 10


def test_async_returns_once_the_operation_is_set() -> None:
    api = hub()
    result = invoke(["sync", "guestbook", "--async"], api)
    assert result.exit_code == 0, result.output
    assert "sync of argocd/guestbook requested" in result.output
    assert api.get(app_path())["operation"] == OPERATION
    assert len(api.requests(method="GET", path=app_path())) == 1, "no waiting"


def test_a_controller_that_never_answers_times_out() -> None:
    api, clock = hub(), SteppingClock()
    result = invoke(["sync", "guestbook", "--timeout", "3"], api, clock=clock)
    assert result.exit_code == 1
    assert "did not finish in 3s (is the GitOps controller running?)" in result.output
    assert clock.time == 3


def test_another_operation_in_progress_is_not_replaced() -> None:
    api = hub()
    running = {"sync": {"revision": "v1"}, "initiatedBy": {"username": "ada"}}
    api.merge_patch(app_path(), {"operation": running})
    result = invoke(["sync", "guestbook"], api)
    assert result.exit_code == 1
    assert "another operation is in progress" in result.output
    assert patches(api) == []
    assert api.get(app_path())["operation"] == running


def test_an_operation_set_between_read_and_write_is_not_replaced() -> None:
    api = hub()
    running = {"sync": {"revision": "v1"}, "initiatedBy": {"username": "ada"}}

    def someone_else_syncs(request: httpx.Request) -> None:
        read = request.method == "GET" and request.url.path == app_path()
        if read and not api.get(app_path()).get("operation"):
            api.merge_patch(app_path(), {"operation": running})

    result = invoke(["sync", "guestbook"], api, after=someone_else_syncs)
    assert result.exit_code == 1
    assert "another operation is in progress" in result.output
    assert api.get(app_path())["operation"] == running
    assert len(patches(api)) == 1, "refused by the server (stale resourceVersion), then by us"


def test_a_hub_where_argo_cd_owns_applications_is_refused() -> None:
    api = hub_with_crd(ours=False)
    api.put(APPS, application())
    result = invoke(["sync", "guestbook"], api)
    assert result.exit_code == 1
    assert "GitOps is off" in result.output
    assert patches(api) == []


def test_a_crd_that_may_not_be_read_is_not_checked() -> None:
    api = hub()
    api.inject(error(403, "Forbidden"), method="GET", path=CRD)
    result = invoke(["sync", "guestbook", "--async"], api)
    assert result.exit_code == 0, result.output
