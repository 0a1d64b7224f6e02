"""``flotilla app create`` writes the Application to the hub, or replaces its spec (--upsert)."""

import json

from tests.unit.cli.test_app_harness import (
    APPS,
    NAMESPACE,
    app_path,
    application,
    hub_with_crd,
    invoke,
)
from tests.unit.fakeapi import FakeApi, error

CLUSTERS = "/apis/flotilla.io/v1alpha1/clusters"
CREATE = [
    "create", "guestbook", "--repo", "https://git.test/org/guestbook.git", "--path", "guestbook",
    "--cluster", "m1", "--namespace", "web",
]  # fmt: skip


def with_cluster(api: FakeApi) -> FakeApi:
    api.put(CLUSTERS, {"metadata": {"name": "m1"}, "spec": {}})
    return api


def test_the_application_is_created_by_the_cli_field_manager() -> None:
    hub = with_cluster(hub_with_crd())
    result = invoke(CREATE, hub)
    assert result.exit_code == 0, result.output
    assert "application argocd/guestbook created" in result.output
    stored = hub.get(app_path())
    assert stored is not None
    assert stored["spec"]["destination"] == {"name": "m1", "namespace": "web"}
    (post,) = hub.requests(method="POST", path=APPS)
    assert post.url.params["fieldManager"] == "flotilla-cli"


def test_output_prints_the_created_object() -> None:
    hub = with_cluster(hub_with_crd())
    result = invoke([*CREATE, "-o", "json"], hub)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["metadata"]["uid"] == hub.get(app_path())["metadata"]["uid"]


def test_an_existing_application_is_not_overwritten() -> None:
    hub = with_cluster(hub_with_crd())
    hub.put(APPS, application())
    result = invoke(CREATE, hub)
    assert result.exit_code == 1
    assert "application guestbook exists (use --upsert)" in result.output
    assert hub.requests(method="PUT") == []


def test_upsert_replaces_the_spec_and_keeps_the_rest() -> None:
    hub = with_cluster(hub_with_crd())
    old = application(sync={"status": "Synced", "revision": "abc"})
    old["metadata"]["labels"] = {"team": "shop"}
    old["spec"]["syncPolicy"] = {"automated": {"prune": True}}
    hub.put(APPS, old)
    result = invoke([*CREATE[:5], "other", *CREATE[6:], "--upsert"], hub)
    assert result.exit_code == 0, result.output
    assert "application argocd/guestbook updated" in result.output
    stored = hub.get(app_path())
    assert stored is not None
    assert stored["spec"]["source"]["path"] == "other"
    assert "syncPolicy" not in stored["spec"], "replaced, not merged"
    assert stored["metadata"]["labels"] == {"team": "shop"}
    assert stored["status"] == {"sync": {"status": "Synced", "revision": "abc"}}


def test_a_cluster_that_is_not_registered_is_named() -> None:
    hub = hub_with_crd()
    result = invoke(CREATE, hub)
    assert result.exit_code == 1
    assert "no cluster 'm1' is registered" in result.output
    assert hub.requests(method="POST") == []


def test_a_hub_namespace_that_does_not_exist() -> None:
    hub = with_cluster(hub_with_crd())
    hub.inject(error(404, "NotFound", 'namespaces "argocd" not found'), method="POST", path=APPS)
    result = invoke(CREATE, hub)
    assert result.exit_code == 1
    assert f"namespace {NAMESPACE!r} does not exist on the hub" in result.output
