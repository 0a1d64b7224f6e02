"""``flotilla app create --dry-run``: the flags become the Application, created nowhere."""

import json

from tests.unit.cli.test_app_harness import FakeApi, invoke

BASE = ["create", "guestbook", "--repo", "https://git.test/org/apps.git", "--namespace", "web"]


def created(*flags: str) -> dict:
    hub = FakeApi()
    result = invoke([*BASE, *flags, "--dry-run", "-o", "json"], hub)
    assert result.exit_code == 0, result.output
    assert hub.requests == [], "a dry run talks to no hub"
    return json.loads(result.stdout)


def test_a_directory_source_for_a_named_cluster_with_defaults() -> None:
    item = created("--path", "guestbook", "--cluster", "m1")
    assert item["apiVersion"] == "argoproj.io/v1alpha1" and item["kind"] == "Application"
    assert item["metadata"] == {"name": "guestbook", "namespace": "argocd"}
    assert item["spec"] == {
        "project": "default",
        "source": {
            "repoURL": "https://git.test/org/apps.git",
            "targetRevision": "HEAD",
            "path": "guestbook",
        },
        "destination": {"name": "m1", "namespace": "web"},
    }


def test_automated_sync_with_its_options_and_sync_options() -> None:
    item = created(
        "--cluster", "m1", "--auto-sync", "--prune", "--self-heal",
        "--sync-option", "CreateNamespace=true", "--sync-option", "PruneLast=true",
    )  # fmt: skip
    assert item["spec"]["syncPolicy"] == {
        "automated": {"prune": True, "selfHeal": True, "allowEmpty": False},
        "syncOptions": ["CreateNamespace=true", "PruneLast=true"],
    }


def test_manual_sync_has_no_automated_policy() -> None:
    item = created("--cluster", "m1", "--sync-option", "CreateNamespace=true")
    assert item["spec"]["syncPolicy"] == {"syncOptions": ["CreateNamespace=true"]}
    assert "syncPolicy" not in created("--cluster", "m1")["spec"]


def test_a_server_destination_another_namespace_project_and_revision() -> None:
    item = created(
        "--server", "https://m2.test:6443", "--app-namespace", "team", "--project", "shop",
        "--revision", "v1.2.0",
    )  # fmt: skip
    assert item["metadata"]["namespace"] == "team"
    assert item["spec"]["destination"] == {"server": "https://m2.test:6443", "namespace": "web"}
    assert item["spec"]["project"] == "shop"
    assert item["spec"]["source"]["targetRevision"] == "v1.2.0"


def test_helm_options_make_a_helm_source() -> None:
    item = created(
        "--cluster", "m1", "--path", "charts/web", "--helm-set", "image.tag=1.2",
        "--helm-set", "replicas=3", "--values", "values-prod.yaml", "--release-name", "shop",
    )  # fmt: skip
    assert item["spec"]["source"]["helm"] == {
        "releaseName": "shop",
        "valueFiles": ["values-prod.yaml"],
        "parameters": [{"name": "image.tag", "value": "1.2"}, {"name": "replicas", "value": "3"}],
    }


def test_a_chart_of_a_helm_repository_takes_its_version_from_revision() -> None:
    item = created("--cluster", "m1", "--chart", "redis", "--revision", "18.1.0")
    source = item["spec"]["source"]
    assert (source["chart"], source["targetRevision"]) == ("redis", "18.1.0")
    assert "path" not in source


def test_directory_recurse() -> None:
    item = created("--cluster", "m1", "--path", "manifests", "--directory-recurse")
    assert item["spec"]["source"]["directory"] == {"recurse": True}


def test_yaml_is_the_default_output_of_a_dry_run() -> None:
    result = invoke([*BASE, "--cluster", "m1", "--dry-run"], FakeApi())
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("apiVersion: argoproj.io/v1alpha1\nkind: Application\n")
