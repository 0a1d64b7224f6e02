"""``flotilla app get``: the summary, conditions, last operation and the objects' table."""

import json

from tests.unit.cli.test_app_harness import (
    APPS,
    OLD_SHA,
    SHA,
    application,
    hub_with_crd,
    invoke,
)

STATUS = {
    "sync": {"status": "OutOfSync", "revision": SHA},
    "health": {"status": "Degraded", "message": "1 of 2 objects is degraded"},
    "history": [
        {"id": 1, "revision": OLD_SHA, "message": "first version", "phase": "Succeeded"},
        {"id": 2, "revision": SHA, "message": "bump the image [ci skip]", "phase": "Succeeded"},
    ],
    "conditions": [
        {
            "type": "SyncError",
            "message": "Deployment web: field is immutable",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        },
    ],
    "operationState": {
        "phase": "Failed",
        "message": "one object failed",
        "finishedAt": "2026-01-01T00:01:00Z",
    },
    "resources": [
        {
            "group": "apps",
            "version": "v1",
            "kind": "Deployment",
            "namespace": "web",
            "name": "web",
            "status": "OutOfSync",
            "message": "changed on the cluster by kubectl",
            "health": {"status": "Degraded", "message": "0/2 ready"},
        },
        {
            "version": "v1",
            "kind": "Service",
            "namespace": "web",
            "name": "web",
            "status": "Synced",
            "health": {"status": "Healthy"},
        },
    ],
}


def hub():  # type: ignore[no-untyped-def]
    api = hub_with_crd()
    item = application(**STATUS)
    item["spec"]["syncPolicy"] = {
        "automated": {"prune": True, "selfHeal": True},
        "syncOptions": ["CreateNamespace=true"],
    }
    api.put(APPS, item)
    return api


def test_the_summary_names_source_revisions_destination_and_policy() -> None:
    result = invoke(["get", "guestbook"], hub())
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Name:" in out and "argocd/guestbook" in out
    assert "https://git.test/org/guestbook.git" in out
    assert "Path:" in out and "guestbook" in out
    assert f"{SHA} bump the image [ci skip]" in out, "the commit message comes from history"
    assert "cluster m1, namespace web" in out
    assert "automated (prune, self-heal); options CreateNamespace=true" in out
    assert "Degraded 1 of 2 objects is degraded" in out
    assert "Failed: one object failed (finished 2026-01-01T00:01:00Z)" in out


def test_conditions_and_every_object_are_tables() -> None:
    out = invoke(["get", "guestbook"], hub()).output
    assert "SyncError" in out and "Deployment web: field is immutable" in out
    header = next(line for line in out.splitlines() if line.startswith("GROUP"))
    assert header.split() == ["GROUP", "KIND", "NAMESPACE", "NAME", "SYNC", "HEALTH", "MESSAGE"]
    rows = out.split(header, 1)[1].strip().splitlines()
    assert rows[0].split()[:6] == ["apps", "Deployment", "web", "web", "OutOfSync", "Degraded"]
    assert rows[0].endswith("changed on the cluster by kubectl")
    assert rows[1].split() == ["Service", "web", "web", "Synced", "Healthy"]


def test_namespace_slash_name_is_accepted() -> None:
    result = invoke(["get", "argocd/guestbook", "--app-namespace", "elsewhere"], hub())
    assert result.exit_code == 0, result.output


def test_json_output_is_the_object() -> None:
    result = invoke(["get", "guestbook", "-o", "json"], hub())
    assert json.loads(result.stdout)["status"]["history"][1]["id"] == 2


def test_a_missing_application_is_named() -> None:
    result = invoke(["get", "nope"], hub())
    assert result.exit_code == 1
    assert "no application 'nope' in namespace 'argocd'" in result.output


def test_a_repository_url_with_credentials_is_shown_without_them() -> None:
    api = hub_with_crd()
    item = application()
    item["spec"]["source"]["repoURL"] = "https://ada:canary-token-never-shown@git.test/org/x"
    api.put(APPS, item)
    for args in (["get", "guestbook"], ["get", "guestbook", "-o", "yaml"]):
        result = invoke(args, api)
        assert result.exit_code == 0, result.output
        assert "canary-token-never-shown" not in result.output
        assert "https://git.test/org/x" in result.output
