"""``flotilla app diff`` and ``sync --dry-run`` end to end at the wire: a real git repository,
the real renderer, a hub and a member as ``FakeApi``s (the member answers discovery and
server-side-apply dry runs). Exit codes: 0 no differences, 1 differences, 2 could not tell."""

import asyncio
import base64
from pathlib import Path
from typing import Any

import httpx
import pytest

from flotilla.devfleet.binaries import find_tool
from flotilla.gitops.previewing import plan_sync
from flotilla.gitops.rendering import Tools
from flotilla.kube import ConnectionConfig, KubeClient
from tests.gitservers import GitHttpServer, GitRepo
from tests.unit.cli.test_app_harness import (
    APPS,
    HUB_SERVER,
    SECRETS,
    client_on,
    hub_with_crd,
    invoke,
)
from tests.unit.cli.test_app_harness import application as base_application
from tests.unit.clusters.hubfake import cluster, kubeconfig, secret
from tests.unit.fakeapi import FakeApi
from tests.unit.kube.fake_discovery import API_VERSIONS, APPS_V1, CORE_V1, api_group_list

MEMBER = "https://m1.test"
CLUSTERS = "/apis/flotilla.io/v1alpha1/clusters"
CONFIGMAPS = "/api/v1/namespaces/web/configmaps"
OWNER = "argocd.guestbook"
FILES = {
    "guestbook/config.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  color: blue\n"
    ),
    "guestbook/secret.yaml": (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n"
        "stringData:\n  password: canary-db-password\n"
    ),
}
REPO_PASSWORD = "canary-repo-password"


def application(url: str, **spec: Any) -> dict[str, Any]:
    item = base_application()
    item["spec"]["source"] = {"repoURL": url, "path": "guestbook", "targetRevision": "main"}
    item["spec"].update(spec)
    return item


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.repo = GitRepo.create(tmp_path / "served", "apps.git")
        self.sha = self.repo.commit(FILES, "the guestbook")
        self.cache = tmp_path / "cache"
        self.hub = hub_with_crd()
        self.hub.put(SECRETS, secret("m1-kubeconfig", kubeconfig(cluster={"server": MEMBER})))
        self.hub.put(CLUSTERS, cluster("m1"))
        self.member = FakeApi(documents={
            "/api": API_VERSIONS, "/api/v1": CORE_V1, "/apis": api_group_list(flotilla=False),
            "/apis/apps/v1": APPS_V1,
        })  # fmt: skip
        self.put_app(application(self.repo.url_file))

    def put_app(self, item: dict[str, Any]) -> None:
        self.hub.put(APPS, item)

    def run(self, *args: str) -> Any:
        return invoke(list(args), self.hub, members={MEMBER: self.member},
                      env={"FLOTILLA_CACHE_DIR": str(self.cache)})  # fmt: skip

    def client(self, config: ConnectionConfig) -> KubeClient:
        return KubeClient(config, transport=self.member.transport)

    def sync_as_the_controller_would(self) -> None:
        """Apply what the diff says git wants, as field manager flotilla."""

        async def plan() -> list[dict[str, Any]]:
            async with client_on(self.hub, server=HUB_SERVER) as hub:
                item = self.hub.get(f"{APPS}/guestbook")
                assert item is not None
                done = await plan_sync(
                hub, item, cache_dir=self.cache, member=self.client,
                tools=Tools(kubectl=find_tool("kubectl"), helm=find_tool("helm")),
            )  # fmt: skip
            return [change.manifest for change in done.changes]

        for manifest in asyncio.run(plan()):
            plural = {"ConfigMap": "configmaps", "Secret": "secrets"}[manifest["kind"]]
            path = f"/api/v1/namespaces/web/{plural}/{manifest['metadata']['name']}"
            self.member.apply(path, manifest, manager="flotilla", force=True)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_objects_not_on_the_cluster_are_differences(world: World) -> None:
    result = world.run("diff", "guestbook")
    assert result.exit_code == 1, result.output
    assert "===== /ConfigMap web/web-config ======" in result.output
    assert "+  color: blue" in result.output
    assert "===== /Secret web/db ======" in result.output
    assert "+  password: ++++++++ (changed)" in result.output
    assert f"+    flotilla.io/application: {OWNER}" in result.output
    assert world.member.objects(CONFIGMAPS) == [], "a dry run writes nothing"


def test_no_difference_once_synced(world: World) -> None:
    world.sync_as_the_controller_would()
    result = world.run("diff", "guestbook")
    assert result.exit_code == 0, result.output
    assert result.output == ""


def test_a_change_made_on_the_cluster_shows_against_git(world: World) -> None:
    world.sync_as_the_controller_would()
    world.member.merge_patch(f"{CONFIGMAPS}/web-config", {"data": {"color": "red"}},
                             manager="kubectl-edit")  # fmt: skip
    result = world.run("diff", "guestbook")
    assert result.exit_code == 1, result.output
    assert "-  color: red\n+  color: blue" in result.output
    assert "/Secret" not in result.output, "unchanged objects are not shown"


def test_the_applications_objects_no_longer_in_git_would_be_pruned(world: World) -> None:
    world.sync_as_the_controller_would()
    labels = {"flotilla.io/application": OWNER, "flotilla.io/managed-by": "flotilla"}
    world.member.put(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": "old", "labels": labels}})  # fmt: skip
    world.member.put(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": "not-ours"}})  # fmt: skip
    result = world.run("diff", "guestbook")
    assert result.exit_code == 1, result.output
    assert "===== /ConfigMap web/old ======\n# in the cluster, no longer in git" in result.output
    assert "not-ours" not in result.output


def test_an_object_another_owner_manages_is_named(world: World) -> None:
    labels = {"flotilla.io/placement": "shop.web", "flotilla.io/managed-by": "flotilla"}
    theirs = {"name": "web-config", "labels": labels}
    world.member.put(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": theirs})
    result = world.run("diff", "guestbook")
    assert result.exit_code == 1, result.output
    assert "===== /ConfigMap web/web-config ======\n# owned by placement shop.web" in result.output
    assert world.run("sync", "guestbook", "--dry-run").output.count("would fail") == 1


def test_secret_values_never_appear(world: World) -> None:
    world.sync_as_the_controller_would()
    world.repo.commit({"guestbook/secret.yaml": FILES["guestbook/secret.yaml"].replace(
        "canary-db-password", "canary-db-password-2")}, "rotate")  # fmt: skip
    result = world.run("diff", "guestbook")
    assert result.exit_code == 1, result.output
    assert "-  password: '********'\n+  password: ++++++++ (changed)" in result.output
    for value in ("canary-db-password", base64.b64encode(b"canary-db-password").decode()):
        assert value not in result.output


def test_another_revision_is_compared_when_asked(world: World) -> None:
    world.sync_as_the_controller_would()
    world.repo.commit({"guestbook/config.yaml": FILES["guestbook/config.yaml"].replace(
        "blue", "green")}, "green", branch="next")  # fmt: skip
    assert world.run("diff", "guestbook").exit_code == 0
    result = world.run("diff", "guestbook", "--revision", "next")
    assert result.exit_code == 1 and "+  color: green" in result.output


def test_a_revision_that_does_not_exist_exits_2(world: World) -> None:
    result = world.run("diff", "guestbook", "--revision", "no-such-branch")
    assert result.exit_code == 2
    assert "error" in result.output.lower() and "no-such-branch" in result.output


def test_an_unreachable_member_exits_2_naming_it(world: World) -> None:
    world.member.inject(httpx.ConnectError("connection refused"), times=100)
    result = world.run("diff", "guestbook")
    assert result.exit_code == 2
    assert "cluster m1:" in result.output and "connection refused" in result.output


def test_a_destination_cluster_that_is_not_registered_exits_2(world: World) -> None:
    world.hub.delete(CLUSTERS, "m1")
    result = world.run("diff", "guestbook")
    assert result.exit_code == 2
    assert "no cluster 'm1' is registered" in result.output


def test_the_destination_may_be_named_by_its_api_server(world: World) -> None:
    world.put_app(
        application(world.repo.url_file, destination={"server": MEMBER + "/", "namespace": "web"})
    )
    result = world.run("diff", "guestbook")
    assert result.exit_code == 1, result.output
    assert "/ConfigMap web/web-config" in result.output


def test_git_url_rewrites_fetch_from_elsewhere(world: World) -> None:
    world.put_app(application("https://git.example/org/apps.git"))
    result = world.run(
        "diff",
        "guestbook",
        "--git-url-rewrite",
        f"https://git.example/org/={world.repo.path.parent.as_uri()}/",
    )
    assert result.exit_code == 1, result.output


def test_repository_credentials_come_from_hub_secrets_and_are_never_shown(
    world: World, tmp_path: Path
) -> None:
    with GitHttpServer(tmp_path / "served", username="deploy", password=REPO_PASSWORD) as server:
        url = server.url("apps.git")
        world.put_app(application(url))
        refused = world.run("diff", "guestbook")
        assert refused.exit_code == 2, refused.output
        data = {"url": url, "username": "deploy", "password": REPO_PASSWORD}
        world.hub.put(SECRETS, {
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "repo-apps",
                         "labels": {"argocd.argoproj.io/secret-type": "repository"}},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        })  # fmt: skip
        result = world.run("diff", "guestbook")
    assert result.exit_code == 1, result.output
    for output in (refused.output, result.output):
        assert REPO_PASSWORD not in output
        assert base64.b64encode(f"deploy:{REPO_PASSWORD}".encode()).decode() not in output


def test_sync_dry_run_tells_what_a_sync_would_do(world: World) -> None:
    world.sync_as_the_controller_would()
    world.member.merge_patch(f"{CONFIGMAPS}/web-config", {"data": {"color": "red"}})
    labels = {"flotilla.io/application": OWNER, "flotilla.io/managed-by": "flotilla"}
    world.member.put(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": "old", "labels": labels}})  # fmt: skip
    result = world.run("sync", "guestbook", "--dry-run")
    assert result.exit_code == 0, result.output
    rows = {line.split()[2]: line for line in result.output.splitlines() if " web " in line}
    assert "would be updated" in rows["web-config"]
    assert "unchanged" in rows["db"]
    assert "would be left (prune is off: --prune)" in rows["old"]
    assert f"dry run at revision {world.sha}: nothing was changed" in result.output
    pruning = world.run("sync", "guestbook", "--dry-run", "--prune")
    assert "would be pruned" in pruning.output
    assert world.hub.requests(method="PATCH") == [], "no operation is set"
    assert world.member.get(f"{CONFIGMAPS}/web-config")["data"] == {"color": "red"}
