"""The webhook route on the controller's HTTP server, spoken to over real HTTP.

Each verified push reaches ``on_push`` once; the sender gets ``{"triggered": n}``, the reason
a delivery is ignored, or the refusal's status and message.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from flotilla.gitops.webhook import Push, WebhookSecrets, handler
from flotilla.runtime.metrics import Metrics
from flotilla.runtime.serving import MAX_BODY, serve

GITHUB_SECRET = "gh-7a1c9"
GITLAB_TOKEN = "gl-0e44b"
GITEA_SECRET = "gt-3f2d8"
SECRETS = WebhookSecrets(github=GITHUB_SECRET, gitlab=GITLAB_TOKEN, gitea=GITEA_SECRET)
AFTER = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"


@contextlib.asynccontextmanager
async def webhook_server(
    on_push: Callable[[Push], int], secrets: WebhookSecrets = SECRETS
) -> AsyncIterator[httpx.AsyncClient]:
    port: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(
            "127.0.0.1",
            0,
            metrics=Metrics(),
            ready=lambda: True,
            started=port.set_result,
            routes={"/api/webhook": handler(secrets, on_push)},
        )
    )
    starting: list[asyncio.Future[Any]] = [port, task]
    await asyncio.wait(starting, return_when=asyncio.FIRST_COMPLETED)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port.result()}") as client:
            yield client
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Triggers:
    """An on_push that records the pushes and triggers ``count`` applications for each."""

    def __init__(self, count: int = 2) -> None:
        self.pushes: list[Push] = []
        self.count = count

    def __call__(self, push: Push) -> int:
        self.pushes.append(push)
        return self.count


def github_push(ref: str = "refs/heads/main") -> bytes:
    return json.dumps(
        {
            "ref": ref,
            "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
            "after": AFTER,
            "repository": {
                "name": "deploy",
                "full_name": "acme/deploy",
                "html_url": "https://github.com/acme/deploy",
                "clone_url": "https://github.com/acme/deploy.git",
                "ssh_url": "git@github.com:acme/deploy.git",
                "git_url": "git://github.com/acme/deploy.git",
                "default_branch": "main",
            },
            "pusher": {"name": "ada", "email": "ada@acme.example"},
            "commits": [],
        }
    ).encode()


def github_headers(event: str, body: bytes, secret: str = GITHUB_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/a1b2c3d",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-GitHub-Event": event,
        "X-Hub-Signature-256": f"sha256={digest}",
    }


async def test_a_github_push_triggers_and_says_how_many() -> None:
    triggers = Triggers(count=3)
    body = github_push()
    async with webhook_server(triggers) as client:
        response = await client.post(
            "/api/webhook", content=body, headers=github_headers("push", body)
        )
    assert (response.status_code, response.json()) == (200, {"triggered": 3})
    [push] = triggers.pushes
    assert (push.provider, push.branch, push.after) == ("github", "main", AFTER)
    assert "git@github.com:acme/deploy.git" in push.repo_urls


async def test_a_form_encoded_github_push_triggers() -> None:
    triggers = Triggers()
    body = urlencode({"payload": github_push("refs/tags/v2").decode()}).encode()
    headers = github_headers("push", body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    async with webhook_server(triggers) as client:
        response = await client.post("/api/webhook", content=body, headers=headers)
    assert response.status_code == 200
    assert [(p.branch, p.tag) for p in triggers.pushes] == [("", "v2")]


async def test_a_gitlab_tag_push_triggers() -> None:
    triggers = Triggers(count=1)
    body = json.dumps(
        {
            "object_kind": "tag_push",
            "event_name": "tag_push",
            "before": "0" * 40,
            "after": AFTER,
            "ref": "refs/tags/v1.4.2",
            "checkout_sha": AFTER,
            "project": {
                "web_url": "https://gitlab.acme.example/platform/deploy",
                "git_ssh_url": "git@gitlab.acme.example:platform/deploy.git",
                "git_http_url": "https://gitlab.acme.example/platform/deploy.git",
                "path_with_namespace": "platform/deploy",
            },
            "commits": [],
            "total_commits_count": 0,
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Gitlab-Event": "Tag Push Hook",
        "X-Gitlab-Token": GITLAB_TOKEN,
    }
    async with webhook_server(triggers) as client:
        response = await client.post("/api/webhook", content=body, headers=headers)
    assert (response.status_code, response.json()) == (200, {"triggered": 1})
    assert [(p.provider, p.tag) for p in triggers.pushes] == [("gitlab", "v1.4.2")]


async def test_a_gitea_push_triggers() -> None:
    triggers = Triggers(count=0)
    body = json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "b3b7b3dd5ac8a7c6d1d4f7b6b0c95f0a8b1a7b2e",
            "after": AFTER,
            "repository": {
                "full_name": "acme/deploy",
                "html_url": "https://git.acme.example/acme/deploy",
                "ssh_url": "git@git.acme.example:acme/deploy.git",
                "clone_url": "https://git.acme.example/acme/deploy.git",
            },
            "commits": [],
        }
    ).encode()
    digest = hmac.new(GITEA_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Gitea-Event": "push",
        "X-Gitea-Signature": digest,
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": f"sha256={digest}",
    }
    async with webhook_server(triggers) as client:
        response = await client.post("/api/webhook", content=body, headers=headers)
    assert (response.status_code, response.json()) == (200, {"triggered": 0})
    assert [p.provider for p in triggers.pushes] == ["gitea"]


async def test_a_ping_is_answered_as_ignored_and_triggers_nothing() -> None:
    triggers = Triggers()
    body = json.dumps({"zen": "Design for failure.", "hook_id": 1, "repository": {}}).encode()
    async with webhook_server(triggers) as client:
        response = await client.post(
            "/api/webhook", content=body, headers=github_headers("ping", body)
        )
    assert (response.status_code, response.json()) == (200, {"ignored": "ping"})
    assert triggers.pushes == []


async def test_a_bad_signature_is_a_401_that_does_not_quote_the_secret() -> None:
    triggers = Triggers()
    body = github_push()
    async with webhook_server(triggers) as client:
        response = await client.post(
            "/api/webhook", content=body, headers=github_headers("push", body, secret="guess")
        )
    assert response.status_code == 401
    assert response.json() == {"error": "X-Hub-Signature-256 does not match the payload"}
    assert GITHUB_SECRET not in response.text
    assert triggers.pushes == []


async def test_a_provider_without_a_secret_is_a_401_saying_to_configure_one() -> None:
    triggers = Triggers()
    body = github_push()
    async with webhook_server(triggers, WebhookSecrets(gitlab=GITLAB_TOKEN)) as client:
        response = await client.post(
            "/api/webhook", content=body, headers=github_headers("push", body)
        )
    assert response.status_code == 401
    assert "no secret is configured for github" in response.json()["error"]
    assert triggers.pushes == []


async def test_an_oversized_delivery_is_a_413() -> None:
    triggers = Triggers()
    body = github_push() + b" " * MAX_BODY
    async with webhook_server(triggers) as client:
        response = await client.post(
            "/api/webhook", content=body, headers=github_headers("push", body)
        )
    assert response.status_code == 413
    assert triggers.pushes == []


async def test_an_unknown_sender_is_a_400() -> None:
    async with webhook_server(Triggers()) as client:
        response = await client.post(
            "/api/webhook", content=b"{}", headers={"X-Event-Key": "repo:push"}
        )
    assert response.status_code == 400
    assert "X-GitHub-Event" in response.json()["error"]


async def test_a_failing_on_push_is_a_500_and_the_next_delivery_is_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[Push] = []

    def on_push(push: Push) -> int:
        calls.append(push)
        if len(calls) == 1:
            raise RuntimeError("queue closed")
        return 1

    caplog.set_level(logging.DEBUG)
    body = github_push()
    async with webhook_server(on_push) as client:
        failed = await client.post(
            "/api/webhook", content=body, headers=github_headers("push", body)
        )
        served = await client.post(
            "/api/webhook", content=body, headers=github_headers("push", body)
        )
    assert (failed.status_code, failed.text) == (500, "internal server error")
    assert (served.status_code, served.json()) == (200, {"triggered": 1})
    assert len(calls) == 2
    assert GITHUB_SECRET not in caplog.text
    assert "ada@acme.example" not in caplog.text  # the body is not logged
