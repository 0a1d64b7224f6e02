"""Where an Application's git comes from, on the local fleet: the seed's public URL rewritten
to a real `git daemon`, a signed GitHub push that triggers only its own applications, smart
HTTP behind basic auth and ssh with a key and known_hosts (the credentials in hub Secrets),
and a per-application poll."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from flotilla.kube import NotFound, resource_path
from tests.e2e.controllers import ControllerProcess, Controllers
from tests.e2e.gitops import (
    HUB,
    application,
    cm,
    cm_path,
    condition,
    create_app,
    dest,
    member_get,
    synced,
    wait_app,
)
from tests.e2e.localfleet import LocalFleet
from tests.e2e.waiting import eventually
from tests.gitservers import GitDaemon, GitHttpServer, GitRepo, GitSshServer

__all__ = ["dest"]

PUBLIC = "https://github.com/org/"
USER, PASSWORD = "ada", "pw-" + uuid.uuid4().hex
WEBHOOK_KEY = "hook-" + uuid.uuid4().hex
SECRETS = resource_path("v1", "secrets", namespace="flotilla-system")


@dataclass
class Served:
    root: Path
    daemon: GitDaemon
    http: GitHttpServer
    ssh: GitSshServer

    def repo(self, prefix: str) -> tuple[str, GitRepo]:
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        return name, GitRepo.create(self.root, name)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("served")
    with (
        GitDaemon(root) as daemon,
        GitHttpServer(root, username=USER, password=PASSWORD) as http,
        GitSshServer(root) as ssh,
    ):
        yield Served(root, daemon, http, ssh)


def _secret(name: str, data: dict[str, str], secret_type: str | None) -> dict[str, object]:
    labels = {"argocd.argoproj.io/secret-type": secret_type} if secret_type else {}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "flotilla-system", "labels": labels},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


async def _put_secret(fleet: LocalFleet, secret: dict[str, object]) -> None:
    async with fleet.client(HUB) as client:
        await client.create(SECRETS, secret)


async def _drop_secret(fleet: LocalFleet, name: str) -> None:
    async with fleet.client(HUB) as client:
        with contextlib.suppress(NotFound):
            await client.delete(f"{SECRETS}/{name}")


@pytest.fixture(scope="module")
async def gitops(
    fleet: LocalFleet, controllers: Controllers, served: Served
) -> AsyncIterator[ControllerProcess]:
    """A controller that would poll only every 10 minutes, so what syncs sooner was pushed."""
    await _drop_secret(fleet, "flotilla-webhook")
    await _put_secret(fleet, _secret("flotilla-webhook", {"webhook.github": WEBHOOK_KEY}, None))
    yield controllers.start(
        "--git-poll-interval", "600", "--git-url-rewrite", f"{PUBLIC}={served.daemon.url('')}"
    )
    await _drop_secret(fleet, "flotilla-webhook")


def _push(
    controller: ControllerProcess, repo: str, branch: str, sha: str, key: str | None
) -> httpx.Response:
    body = json.dumps(
        {
            "ref": f"refs/heads/{branch}",
            "after": sha,
            "repository": {"html_url": f"{PUBLIC}{repo}", "clone_url": f"{PUBLIC}{repo}.git"},
        }
    ).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    if key is not None:
        digest = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature-256"] = f"sha256={digest}"
    url = f"http://127.0.0.1:{controller.port}/api/webhook"
    return httpx.post(url, content=body, headers=headers, timeout=10)


async def test_a_signed_push_syncs_only_its_applications_and_a_forged_one_is_refused(
    fleet: LocalFleet, gitops: ControllerProcess, served: Served, dest: str
) -> None:
    name, repo = served.repo("api-server")
    first = repo.commit({"k8s/a.yaml": cm("a", {"v": "1"})}, "v1")
    repo.commit({"k8s/a.yaml": cm("a", {"v": "release"})}, "release", branch="release")
    apps = {
        "main": application("hook-" + dest[-8:], repo=f"{PUBLIC}{name}", path="k8s",
                            namespace=dest, automated={}),
        "release": application("hookrel-" + dest[-8:], repo=f"{PUBLIC}{name}", path="k8s",
                               revision="release", namespace=dest, cluster="eu-west",
                               automated={}),
    }  # fmt: skip
    for app in apps.values():
        await create_app(fleet, app)
    main = apps["main"]["metadata"]["name"]
    await wait_app(fleet, main, lambda a: synced(a, first), what="the first sync, rewritten URL")

    second = repo.commit({"k8s/a.yaml": cm("a", {"v": "2"})}, "v2")
    forged = _push(gitops, name, "main", second, "not-the-key")
    assert forged.status_code == 401, forged.text
    unsigned = _push(gitops, name, "main", second, None)
    assert unsigned.status_code == 401, unsigned.text
    assert WEBHOOK_KEY not in forged.text + unsigned.text
    seen = await wait_app(fleet, main, lambda a: True)
    assert seen["status"]["sync"]["revision"] == first

    signed = _push(gitops, name, "main", second, WEBHOOK_KEY)
    assert signed.status_code == 200, signed.text
    assert signed.json() == {"triggered": 1}
    await wait_app(fleet, main, lambda a: synced(a, second), timeout=30, what="the pushed commit")
    live = await member_get(fleet, "us-east", cm_path(dest, "a"))
    assert live is not None and live["data"] == {"v": "2"}


async def test_smart_http_behind_basic_auth_takes_its_credentials_from_a_hub_secret(
    fleet: LocalFleet, gitops: ControllerProcess, served: Served, dest: str
) -> None:
    name, repo = served.repo("private")
    sha = repo.commit({"k8s/a.yaml": cm("a", {"v": "1"})}, "v1")
    url = served.http.url(name)
    app = application("http-" + dest[-8:], repo=url, path="k8s", namespace=dest, automated={})
    await create_app(fleet, app)
    refused = await wait_app(
        fleet, app["metadata"]["name"], lambda a: condition(a, "ComparisonError"),
        what="the fetch refused without credentials",
    )  # fmt: skip
    assert PASSWORD not in json.dumps(refused)

    secret = "repo-" + dest[-8:]
    data = {"url": url, "username": USER, "password": PASSWORD, "type": "git"}
    await _put_secret(fleet, _secret(secret, data, "repository"))
    try:
        seen = await wait_app(fleet, app["metadata"]["name"], lambda a: synced(a, sha))
        assert PASSWORD not in json.dumps(seen)
        assert condition(seen, "ComparisonError") is None
        assert served.http.requests(name) > 0
    finally:
        await _drop_secret(fleet, secret)


async def test_ssh_with_a_key_and_known_hosts_from_a_hub_secret(
    fleet: LocalFleet, gitops: ControllerProcess, served: Served, dest: str
) -> None:
    name, repo = served.repo("over-ssh")
    sha = repo.commit({"k8s/a.yaml": cm("a", {"v": "1"})}, "v1")
    url = served.ssh.url(name)
    secret = "ssh-" + dest[-8:]
    unpinned = {"url": url, "sshPrivateKey": served.ssh.client_key, "type": "git"}
    await _put_secret(fleet, _secret(secret, unpinned, "repository"))
    try:
        app = application("ssh-" + dest[-8:], repo=url, path="k8s", namespace=dest, automated={})
        await create_app(fleet, app)
        refused = await wait_app(
            fleet, app["metadata"]["name"], lambda a: condition(a, "ComparisonError"),
            what="an unknown host key refused",
        )  # fmt: skip
        assert "host key" in (condition(refused, "ComparisonError") or "")
        assert "PRIVATE KEY" not in json.dumps(refused)

        pinned = {**unpinned, "sshKnownHosts": served.ssh.known_hosts}
        async with fleet.client(HUB) as client:
            await client.delete(f"{SECRETS}/{secret}")
        await _put_secret(fleet, _secret(secret, pinned, "repository"))
        seen = await wait_app(fleet, app["metadata"]["name"], lambda a: synced(a, sha))
        assert "PRIVATE KEY" not in json.dumps(seen)
        live = await member_get(fleet, "us-east", cm_path(dest, "a"))
        assert live is not None and live["data"] == {"v": "1"}
    finally:
        await _drop_secret(fleet, secret)


async def test_an_application_polls_at_its_own_interval(
    fleet: LocalFleet, gitops: ControllerProcess, served: Served, dest: str
) -> None:
    name, repo = served.repo("polled")
    first = repo.commit({"k8s/a.yaml": cm("a", {"v": "1"})}, "v1")
    app = application(
        "poll-" + dest[-8:], repo=served.daemon.url(name), path="k8s", namespace=dest,
        automated={}, annotations={"flotilla.io/poll-interval": "5s"},
    )  # fmt: skip
    await create_app(fleet, app)
    await wait_app(fleet, app["metadata"]["name"], lambda a: synced(a, first))
    second = repo.commit({"k8s/a.yaml": cm("a", {"v": "2"})}, "v2")
    await wait_app(fleet, app["metadata"]["name"], lambda a: synced(a, second), timeout=45)

    async def applied() -> bool:
        live = await member_get(fleet, "us-east", cm_path(dest, "a"))
        return live is not None and live["data"] == {"v": "2"}

    await eventually(applied, timeout=10, what="the polled commit on the member")
