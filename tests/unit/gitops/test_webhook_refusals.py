"""Deliveries that are refused, with the status to answer and a message safe to send back.

A message never quotes the secret or the signature it was checked against.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from flotilla.gitops.webhook import MAX_PAYLOAD, WebhookError, WebhookSecrets, parse

SECRET = "s3cret-that-must-not-leak"
SECRETS = WebhookSecrets(github=SECRET)
BODY = json.dumps(
    {
        "ref": "refs/heads/main",
        "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        "repository": {"html_url": "https://github.com/acme/deploy"},
    }
).encode()


def signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def refusal(
    headers: dict[str, str],
    body: bytes = BODY,
    secrets: WebhookSecrets = SECRETS,
    *,
    allow_unsigned: bool = False,
) -> WebhookError:
    with pytest.raises(WebhookError) as refused:
        parse(headers, body, secrets, allow_unsigned=allow_unsigned)
    message = str(refused.value)
    assert SECRET not in message
    assert signature(body).removeprefix("sha256=") not in message
    return refused.value


def test_a_missing_signature_is_refused() -> None:
    error = refusal({"X-GitHub-Event": "push"})
    assert error.status == 401
    assert "X-Hub-Signature-256" in str(error)


def test_a_wrong_signature_is_refused() -> None:
    error = refusal({"X-GitHub-Event": "push", "X-Hub-Signature-256": signature(BODY, "guess")})
    assert error.status == 401


def test_a_signature_of_another_algorithm_is_refused() -> None:
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    error = refusal({"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha1={digest}"})
    assert error.status == 401


def test_a_signature_in_upper_case_hex_is_accepted() -> None:
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature(BODY).upper()}
    assert parse(headers, BODY, WebhookSecrets(github=SECRET)) is not None


def test_a_ping_is_checked_like_a_push() -> None:
    error = refusal({"X-GitHub-Event": "ping", "X-Hub-Signature-256": signature(BODY, "x")})
    assert error.status == 401


def test_a_provider_without_a_secret_is_refused_and_told_to_configure_one() -> None:
    error = refusal(
        {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature(BODY)},
        secrets=WebhookSecrets(gitlab=SECRET),
    )
    assert error.status == 401
    assert "no secret is configured for github" in str(error)


def test_unsigned_deliveries_are_accepted_only_when_allowed() -> None:
    push = parse({"X-GitHub-Event": "push"}, BODY, WebhookSecrets(), allow_unsigned=True)
    assert push is not None
    assert push.repo_urls == ("https://github.com/acme/deploy",)


def test_allowing_unsigned_deliveries_still_checks_a_configured_secret() -> None:
    error = refusal({"X-GitHub-Event": "push"}, allow_unsigned=True)
    assert error.status == 401


def test_a_payload_over_the_limit_is_too_large() -> None:
    body = BODY + b" " * (MAX_PAYLOAD - len(BODY) + 1)
    error = refusal({"X-GitHub-Event": "push", "X-Hub-Signature-256": signature(body)}, body)
    assert error.status == 413


def test_a_payload_at_the_limit_is_read() -> None:
    body = BODY + b" " * (MAX_PAYLOAD - len(BODY))
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature(body)}
    assert parse(headers, body, WebhookSecrets(github=SECRET)) is not None


def test_a_delivery_from_no_known_provider_is_a_bad_request_naming_the_headers() -> None:
    error = refusal({"Content-Type": "application/json", "X-Event-Key": "repo:push"})
    assert error.status == 400
    assert "X-GitHub-Event" in str(error)
    assert "X-Gitlab-Event" in str(error)
    assert "X-Gitea-Event" in str(error)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe{}",
        b"[]",
        b'{"ref": "refs/heads/main", "after": "abc"}',
        b'{"ref": "refs/heads/main", "after": "abc", "repository": {"name": "deploy"}}',
        b'{"after": "abc", "repository": {"html_url": "https://github.com/acme/deploy"}}',
        b'{"ref": "refs/heads/main", "repository": {"html_url": "https://github.com/a/b"}}',
    ],
    ids=["not-json", "not-utf8", "not-an-object", "no-repository", "no-url", "no-ref", "no-after"],
)
def test_a_signed_payload_that_is_not_a_push_event_is_a_bad_request(body: bytes) -> None:
    error = refusal({"X-GitHub-Event": "push", "X-Hub-Signature-256": signature(body)}, body)
    assert error.status == 400


def test_the_secrets_do_not_show_in_their_repr() -> None:
    shown = repr(WebhookSecrets(github=SECRET, gitlab=SECRET + "2"))
    assert SECRET not in shown
    assert "github" in shown
    assert "gitea" not in shown
