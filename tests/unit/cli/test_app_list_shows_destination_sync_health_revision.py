"""``flotilla app list``: one line per Application, in one namespace or all of them."""

import json

from tests.unit.cli.test_app_harness import APPS, SHA, FakeApi, application, hub_with_crd, invoke
from tests.unit.fakeapi import error

TEAM = APPS.replace("/argocd/", "/team/")


def fleet() -> FakeApi:
    hub = hub_with_crd()
    hub.put(APPS, application(
        "guestbook", sync={"status": "Synced", "revision": SHA},
        health={"status": "Healthy"},
    ))  # fmt: skip
    by_server = application("shop")
    by_server["spec"]["destination"] = {"server": "https://m2.test:6443", "namespace": "shop"}
    by_server["spec"]["source"]["targetRevision"] = "1.2.0"
    by_server["status"] = {"sync": {"status": "OutOfSync", "revision": "1.2.0"}}
    hub.put(APPS, by_server)
    other = application("billing")
    other["metadata"]["namespace"] = "team"
    hub.put(TEAM, other)
    return hub


def lines(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()]


def test_the_table_has_cluster_namespace_sync_health_and_a_short_sha() -> None:
    result = invoke(["list"], fleet())
    assert result.exit_code == 0, result.output
    assert lines(result.output) == [
        ["NAME", "CLUSTER", "NAMESPACE", "SYNC", "HEALTH", "REVISION"],
        ["guestbook", "m1", "web", "Synced", "Healthy", SHA[:7]],
        ["shop", "https://m2.test:6443", "shop", "OutOfSync", "1.2.0"],
    ]


def test_all_namespaces_names_each_application_with_its_namespace() -> None:
    result = invoke(["list", "-A"], fleet())
    assert result.exit_code == 0, result.output
    names = [row[0] for row in lines(result.output)[1:]]
    assert sorted(names) == ["argocd/guestbook", "argocd/shop", "team/billing"]


def test_another_namespace() -> None:
    result = invoke(["list", "--app-namespace", "team"], fleet())
    assert [row[0] for row in lines(result.output)[1:]] == ["billing"]


def test_json_output_is_a_list_with_repository_urls_shown_without_credentials() -> None:
    hub = fleet()
    secretive = application("private")
    secretive["spec"]["source"]["repoURL"] = "https://ada:canary-token-never-shown@git.test/x"
    hub.put(APPS, secretive)
    result = invoke(["list", "-o", "json"], hub)
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    assert listing["kind"] == "List"
    assert {i["metadata"]["name"] for i in listing["items"]} == {"guestbook", "private", "shop"}
    assert "canary-token-never-shown" not in result.output
    assert "https://git.test/x" in result.output


def test_a_hub_without_applications_says_so() -> None:
    hub = FakeApi()
    hub.inject(error(404, "NotFound"), path=APPS)
    result = invoke(["list"], hub)
    assert result.exit_code == 1
    assert "run `flotilla hub install`" in result.output
