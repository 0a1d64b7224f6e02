"""GitLab push and tag push hooks become a Push; the secret token is checked as sent.

GitLab does not sign: it sends the configured secret token as ``X-Gitlab-Token``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from flotilla.gitops.webhook import Push, WebhookError, WebhookSecrets, parse

TOKEN = "gl-token-9d2e41"
SECRETS = WebhookSecrets(gitlab=TOKEN)
BEFORE = "95790bf891e76fee5e1747ab589903a6a1f80f22"
AFTER = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
ZEROS = "0" * 40


def project() -> dict[str, Any]:
    return {
        "id": 15,
        "name": "deploy",
        "description": "Fleet manifests",
        "web_url": "https://gitlab.acme.example/platform/deploy",
        "avatar_url": None,
        "git_ssh_url": "ssh://git@gitlab.acme.example:2222/platform/deploy.git",
        "git_http_url": "https://gitlab.acme.example/platform/deploy.git",
        "namespace": "platform",
        "visibility_level": 0,
        "path_with_namespace": "platform/deploy",
        "default_branch": "main",
        "ci_config_path": None,
        "homepage": "https://gitlab.acme.example/platform/deploy",
        "url": "ssh://git@gitlab.acme.example:2222/platform/deploy.git",
        "ssh_url": "ssh://git@gitlab.acme.example:2222/platform/deploy.git",
        "http_url": "https://gitlab.acme.example/platform/deploy.git",
    }


def push_payload(kind: str = "push", ref: str = "refs/heads/main") -> dict[str, Any]:
    return {
        "object_kind": kind,
        "event_name": kind,
        "before": BEFORE if kind == "push" else ZEROS,
        "after": AFTER,
        "ref": ref,
        "ref_protected": True,
        "checkout_sha": AFTER,
        "message": None,
        "user_id": 4,
        "user_name": "Ada Lovelace",
        "user_username": "ada",
        "user_email": "",
        "user_avatar": "https://gitlab.acme.example/uploads/-/system/user/avatar/4/avatar.png",
        "project_id": 15,
        "project": project(),
        "commits": [
            {
                "id": AFTER,
                "message": "web: bump image to 1.4.2\n",
                "title": "web: bump image to 1.4.2",
                "timestamp": "2024-05-02T10:11:12+02:00",
                "url": f"https://gitlab.acme.example/platform/deploy/-/commit/{AFTER}",
                "author": {"name": "Ada Lovelace", "email": "[REDACTED]"},
                "added": [],
                "modified": ["apps/web/values.yaml"],
                "removed": [],
            }
        ],
        "total_commits_count": 1,
        "push_options": {},
        "repository": {
            "name": "deploy",
            "url": "ssh://git@gitlab.acme.example:2222/platform/deploy.git",
            "description": "Fleet manifests",
            "homepage": "https://gitlab.acme.example/platform/deploy",
            "git_http_url": "https://gitlab.acme.example/platform/deploy.git",
            "git_ssh_url": "ssh://git@gitlab.acme.example:2222/platform/deploy.git",
            "visibility_level": 0,
        },
    }


def delivery(event: str, token: str | None = TOKEN) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/17.0.1",
        "X-Gitlab-Event": event,
        "X-Gitlab-Instance": "https://gitlab.acme.example",
        "X-Gitlab-Webhook-UUID": "2b8e5e0c-7f0d-4c0b-9a8a-1f1a4f7f3c11",
        "X-Gitlab-Event-UUID": "b7a4ea8e-16e3-4a40-9ec2-5f5b3d25b0b2",
    }
    if token is not None:
        headers["X-Gitlab-Token"] = token
    return headers


def test_a_push_hook_names_every_url_of_the_project() -> None:
    body = json.dumps(push_payload()).encode()
    assert parse(delivery("Push Hook"), body, SECRETS) == Push(
        provider="gitlab",
        repo_urls=(
            "https://gitlab.acme.example/platform/deploy",
            "https://gitlab.acme.example/platform/deploy.git",
            "ssh://git@gitlab.acme.example:2222/platform/deploy.git",
        ),
        branch="main",
        tag="",
        after=AFTER,
    )


def test_a_tag_push_hook_names_the_tag() -> None:
    body = json.dumps(push_payload("tag_push", "refs/tags/v1.4.2")).encode()
    push = parse(delivery("Tag Push Hook"), body, SECRETS)
    assert push is not None
    assert (push.branch, push.tag, push.after) == ("", "v1.4.2", AFTER)


def test_a_push_seen_by_a_system_hook_counts_too() -> None:
    body = json.dumps(push_payload()).encode()
    push = parse(delivery("System Hook"), body, SECRETS)
    assert push is not None
    assert push.branch == "main"


def test_other_hooks_are_ignored() -> None:
    body = json.dumps({"object_kind": "merge_request", "project": project()}).encode()
    assert parse(delivery("Merge Request Hook"), body, SECRETS) is None


def test_a_wrong_token_is_refused() -> None:
    body = json.dumps(push_payload()).encode()
    with pytest.raises(WebhookError) as refused:
        parse(delivery("Push Hook", token=TOKEN + "x"), body, SECRETS)
    assert refused.value.status == 401
    assert TOKEN not in str(refused.value)


def test_a_missing_token_is_refused() -> None:
    body = json.dumps(push_payload()).encode()
    with pytest.raises(WebhookError) as refused:
        parse(delivery("Push Hook", token=None), body, SECRETS)
    assert refused.value.status == 401
    assert "X-Gitlab-Token" in str(refused.value)


def test_the_token_of_another_provider_does_not_let_a_gitlab_hook_in() -> None:
    body = json.dumps(push_payload()).encode()
    with pytest.raises(WebhookError) as refused:
        parse(delivery("Push Hook"), body, WebhookSecrets(github=TOKEN, gitea=TOKEN))
    assert refused.value.status == 401
    assert "no secret is configured for gitlab" in str(refused.value)
