"""Gitea and Forgejo push deliveries become a Push, checked with the Gitea secret.

Gitea sends GitHub's headers too (``X-GitHub-Event``, ``X-Hub-Signature-256``) beside its
own, and Forgejo adds ``X-Forgejo-*``: the delivery is still Gitea's, and only the Gitea
secret may vouch for it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from flotilla.gitops.webhook import Push, WebhookError, WebhookSecrets, parse

SECRET = "gitea-hook-secret-51b0"
BEFORE = "b3b7b3dd5ac8a7c6d1d4f7b6b0c95f0a8b1a7b2e"
AFTER = "4e1b39a1d3e8c7b2a0f0f2d6c4b8a9e7d5c3b1a0"


def push_payload(ref: str = "refs/heads/main") -> dict[str, Any]:
    user = {"id": 1, "login": "ada", "full_name": "Ada", "email": "ada@acme.example"}
    commit = {
        "id": AFTER,
        "message": "web: bump image to 1.4.2\n",
        "url": f"https://git.acme.example/acme/deploy/commit/{AFTER}",
        "author": {"name": "Ada", "email": "ada@acme.example", "username": "ada"},
        "committer": {"name": "Ada", "email": "ada@acme.example", "username": "ada"},
        "verification": None,
        "timestamp": "2024-05-02T10:11:12+02:00",
        "added": [],
        "removed": [],
        "modified": ["apps/web/values.yaml"],
    }
    return {
        "ref": ref,
        "before": BEFORE,
        "after": AFTER,
        "compare_url": f"https://git.acme.example/acme/deploy/compare/{BEFORE}...{AFTER}",
        "commits": [commit],
        "total_commits": 1,
        "head_commit": commit,
        "repository": {
            "id": 7,
            "owner": user,
            "name": "deploy",
            "full_name": "acme/deploy",
            "description": "",
            "empty": False,
            "private": False,
            "fork": False,
            "template": False,
            "parent": None,
            "mirror": False,
            "size": 42,
            "html_url": "https://git.acme.example/acme/deploy",
            "url": "https://git.acme.example/api/v1/repos/acme/deploy",
            "ssh_url": "git@git.acme.example:acme/deploy.git",
            "clone_url": "https://git.acme.example/acme/deploy.git",
            "original_url": "",
            "website": "",
            "default_branch": "main",
        },
        "pusher": user,
        "sender": user,
    }


def gitea_delivery(body: bytes, *, secret: str = SECRET) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    uuid = "4f8d1f3e-2b7a-4a55-9c1e-0e5d2b6c7a90"
    return {
        "Content-Type": "application/json",
        "User-Agent": "Go-http-client/1.1",
        "X-Gitea-Delivery": uuid,
        "X-Gitea-Event": "push",
        "X-Gitea-Event-Type": "push",
        "X-Gitea-Signature": signature,
        "X-Gogs-Delivery": uuid,
        "X-Gogs-Event": "push",
        "X-Gogs-Event-Type": "push",
        "X-Gogs-Signature": signature,
        "X-Hub-Signature": "sha1=0000000000000000000000000000000000000000",
        "X-Hub-Signature-256": f"sha256={signature}",
        "X-GitHub-Delivery": uuid,
        "X-GitHub-Event": "push",
        "X-GitHub-Event-Type": "push",
    }


def forgejo_delivery(body: bytes) -> dict[str, str]:
    headers = gitea_delivery(body)
    headers.update(
        {
            "X-Forgejo-Delivery": headers["X-Gitea-Delivery"],
            "X-Forgejo-Event": "push",
            "X-Forgejo-Event-Type": "push",
            "X-Forgejo-Signature": headers["X-Gitea-Signature"],
        }
    )
    return headers


def test_a_gitea_push_names_the_repository_branch_and_commit() -> None:
    body = json.dumps(push_payload()).encode()
    assert parse(gitea_delivery(body), body, WebhookSecrets(gitea=SECRET)) == Push(
        provider="gitea",
        repo_urls=(
            "https://git.acme.example/acme/deploy",
            "https://git.acme.example/acme/deploy.git",
            "git@git.acme.example:acme/deploy.git",
        ),
        branch="main",
        tag="",
        after=AFTER,
    )


def test_a_forgejo_push_is_a_gitea_push() -> None:
    body = json.dumps(push_payload("refs/tags/v1.4.2")).encode()
    push = parse(forgejo_delivery(body), body, WebhookSecrets(gitea=SECRET))
    assert push is not None
    assert (push.provider, push.branch, push.tag) == ("gitea", "", "v1.4.2")


def test_a_forgejo_push_with_only_forgejo_headers_is_understood() -> None:
    body = json.dumps(push_payload()).encode()
    signature = gitea_delivery(body)["X-Gitea-Signature"]
    headers = {"X-Forgejo-Event": "push", "X-Forgejo-Signature": signature}
    push = parse(headers, body, WebhookSecrets(gitea=SECRET))
    assert push is not None
    assert push.provider == "gitea"


def test_the_github_secret_cannot_vouch_for_a_gitea_delivery() -> None:
    body = json.dumps(push_payload()).encode()
    with pytest.raises(WebhookError) as refused:
        parse(gitea_delivery(body), body, WebhookSecrets(github=SECRET))
    assert refused.value.status == 401
    assert "gitea" in str(refused.value)


def test_a_gitea_signature_made_with_another_secret_is_refused() -> None:
    body = json.dumps(push_payload()).encode()
    with pytest.raises(WebhookError) as refused:
        parse(gitea_delivery(body, secret="other"), body, WebhookSecrets(gitea=SECRET))
    assert refused.value.status == 401


def test_events_other_than_push_are_ignored() -> None:
    body = json.dumps({"action": "opened", "repository": push_payload()["repository"]}).encode()
    headers = gitea_delivery(body)
    for name in ("X-Gitea-Event", "X-Gogs-Event", "X-GitHub-Event"):
        headers[name] = "pull_request"
    assert parse(headers, body, WebhookSecrets(gitea=SECRET)) is None
