"""GitHub push deliveries become a Push naming every URL of the repository.

Payloads are shaped like GitHub's own (trimmed of fields nobody reads), and signed as
GitHub signs them: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from flotilla.gitops.webhook import Push, WebhookError, WebhookSecrets, parse

SECRET = "gh-webhook-secret-6c1f"
SECRETS = WebhookSecrets(github=SECRET)
BEFORE = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
AFTER = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"


def repository() -> dict[str, Any]:
    return {
        "id": 186853002,
        "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
        "name": "deploy",
        "full_name": "acme/deploy",
        "private": True,
        "owner": {"name": "acme", "login": "acme", "id": 21031067, "type": "Organization"},
        "html_url": "https://github.com/acme/deploy",
        "url": "https://github.com/acme/deploy",
        "git_url": "git://github.com/acme/deploy.git",
        "ssh_url": "git@github.com:acme/deploy.git",
        "clone_url": "https://github.com/acme/deploy.git",
        "svn_url": "https://github.com/acme/deploy",
        "default_branch": "main",
        "master_branch": "main",
        "organization": "acme",
    }


def push_payload(ref: str = "refs/heads/main") -> dict[str, Any]:
    commit = {
        "id": AFTER,
        "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
        "distinct": True,
        "message": "web: bump image to 1.4.2",
        "timestamp": "2024-05-02T10:11:12+02:00",
        "url": f"https://github.com/acme/deploy/commit/{AFTER}",
        "author": {"name": "Ada", "email": "ada@acme.example", "username": "ada"},
        "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
        "added": [],
        "removed": [],
        "modified": ["apps/web/values.yaml"],
    }
    return {
        "ref": ref,
        "before": BEFORE,
        "after": AFTER,
        "repository": repository(),
        "pusher": {"name": "ada", "email": "ada@acme.example"},
        "sender": {"login": "ada", "id": 583231, "type": "User"},
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"https://github.com/acme/deploy/compare/{BEFORE[:12]}...{AFTER[:12]}",
        "commits": [commit],
        "head_commit": commit,
    }


def ping_payload() -> dict[str, Any]:
    return {
        "zen": "Keep it logically awesome.",
        "hook_id": 479165212,
        "hook": {
            "type": "Repository",
            "id": 479165212,
            "name": "web",
            "active": True,
            "events": ["push"],
            "config": {
                "content_type": "json",
                "insecure_ssl": "0",
                "url": "https://flotilla.acme.example/api/webhook",
            },
        },
        "repository": repository(),
        "sender": {"login": "ada", "id": 583231, "type": "User"},
    }


def delivery(event: str, body: bytes, *, content_type: str = "application/json") -> dict[str, str]:
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Host": "flotilla.acme.example",
        "User-Agent": "GitHub-Hookshot/a1b2c3d",
        "Content-Type": content_type,
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-GitHub-Event": event,
        "X-GitHub-Hook-ID": "479165212",
        "X-Hub-Signature": "sha1=0000000000000000000000000000000000000000",
        "X-Hub-Signature-256": f"sha256={signature}",
    }


def test_a_branch_push_names_the_repository_branch_and_commit() -> None:
    body = json.dumps(push_payload()).encode()
    assert parse(delivery("push", body), body, SECRETS) == Push(
        provider="github",
        repo_urls=(
            "https://github.com/acme/deploy",
            "https://github.com/acme/deploy.git",
            "git@github.com:acme/deploy.git",
            "git://github.com/acme/deploy.git",
        ),
        branch="main",
        tag="",
        after=AFTER,
    )


def test_a_branch_with_slashes_keeps_them() -> None:
    body = json.dumps(push_payload("refs/heads/release/2024.05")).encode()
    push = parse(delivery("push", body), body, SECRETS)
    assert push is not None
    assert (push.branch, push.tag) == ("release/2024.05", "")


def test_a_tag_push_names_the_tag_and_no_branch() -> None:
    body = json.dumps(push_payload("refs/tags/v1.4.2")).encode()
    push = parse(delivery("push", body), body, SECRETS)
    assert push is not None
    assert (push.branch, push.tag, push.after) == ("", "v1.4.2", AFTER)


def test_a_ping_is_ignored() -> None:
    body = json.dumps(ping_payload()).encode()
    assert parse(delivery("ping", body), body, SECRETS) is None


def test_other_events_are_ignored() -> None:
    body = json.dumps({"action": "opened", "repository": repository()}).encode()
    assert parse(delivery("issues", body), body, SECRETS) is None


def test_a_push_of_a_ref_that_is_neither_branch_nor_tag_is_ignored() -> None:
    body = json.dumps(push_payload("refs/notes/commits")).encode()
    assert parse(delivery("push", body), body, SECRETS) is None


def test_a_form_encoded_delivery_is_read_from_its_payload_field() -> None:
    body = urlencode({"payload": json.dumps(push_payload())}).encode()
    headers = delivery("push", body, content_type="application/x-www-form-urlencoded")
    push = parse(headers, body, SECRETS)
    assert push is not None
    assert (push.repo_urls[0], push.branch, push.after) == (
        "https://github.com/acme/deploy",
        "main",
        AFTER,
    )


def test_a_form_encoded_delivery_without_a_payload_field_is_a_bad_request() -> None:
    body = urlencode({"data": json.dumps(push_payload())}).encode()
    headers = delivery("push", body, content_type="application/x-www-form-urlencoded")
    with pytest.raises(WebhookError) as refused:
        parse(headers, body, SECRETS)
    assert refused.value.status == 400


def test_header_names_are_matched_whatever_their_case() -> None:
    body = json.dumps(push_payload()).encode()
    shouted = {name.upper(): value for name, value in delivery("push", body).items()}
    lowered = {name.lower(): value for name, value in delivery("push", body).items()}
    assert parse(shouted, body, SECRETS) == parse(lowered, body, SECRETS) is not None


def test_the_signature_covers_the_raw_body_not_the_json() -> None:
    body = json.dumps(push_payload()).encode()
    reformatted = json.dumps(push_payload(), indent=2).encode()
    with pytest.raises(WebhookError) as refused:
        parse(delivery("push", body), reformatted, SECRETS)
    assert refused.value.status == 401
