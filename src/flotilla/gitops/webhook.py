"""Push webhooks from GitHub, GitLab and Gitea (or Forgejo), verified and reduced to a Push.

Polling finds a new commit in minutes; a push webhook says so at once. ``parse`` checks the
sender's signature over the raw body before it reads the payload, and reduces a push event
to what matching needs: every URL the payload gives for the repository (an application may
name any of them, see ``urls``), the branch or tag, and the new commit. ``handler`` serves
it as a POST route of ``flotilla.runtime.serving``.

The provider is told by its event header. Gitea and Forgejo also send GitHub's headers for
compatibility, so theirs are looked for first. Signatures:

- GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``.
- Gitea, Forgejo, Gogs: ``X-Gitea-Signature`` (or ``X-Forgejo-``/``X-Gogs-Signature``),
  the same HMAC in hex without a prefix.
- GitLab: ``X-Gitlab-Token``, the secret itself.

All are compared in constant time. A provider without a configured secret is refused (401)
unless ``allow_unsigned`` is set, which then accepts that provider's deliveries unchecked;
a configured secret is always checked. The messages of ``WebhookError`` go back to the
sender and never quote the secret, a signature or the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from flotilla.gitops.urls import redact
from flotilla.runtime.serving import Handler, Request, Response

__all__ = [
    "MAX_PAYLOAD",
    "Push",
    "WebhookError",
    "WebhookSecrets",
    "handler",
    "parse",
]

logger = logging.getLogger(__name__)

MAX_PAYLOAD = 1 << 20
"""Bytes a delivery may have (1 MiB); larger ones are refused with 413."""

GITHUB = "github"
GITLAB = "gitlab"
GITEA = "gitea"

_GITEA_EVENT_HEADERS = ("x-forgejo-event", "x-gitea-event", "x-gogs-event")
_GITEA_SIGNATURE_HEADERS = ("x-forgejo-signature", "x-gitea-signature", "x-gogs-signature")
_GITLAB_PUSH_EVENTS = {"push hook": "push", "tag push hook": "tag_push"}
_BRANCH_PREFIX = "refs/heads/"
_TAG_PREFIX = "refs/tags/"
_JSON = "application/json"


@dataclass(frozen=True)
class Push:
    """A verified push: which repository, which branch or tag, and its new commit.

    ``repo_urls`` are all the URLs the payload names for the repository, first one first;
    ``branch`` is ``""`` for a tag push and ``tag`` is ``""`` for a branch push. ``after``
    is the new commit (all zeros when the ref was deleted).
    """

    provider: str
    repo_urls: tuple[str, ...]
    branch: str
    tag: str
    after: str


class WebhookError(Exception):
    """A delivery refused; ``status`` is the HTTP answer, the message is safe to send back.

    400: not a delivery we understand; 401: a signature missing, wrong, or no secret to
    check it with; 413: too large.
    """

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class WebhookSecrets:
    """The shared secret of each provider's webhooks; ``""`` when none is configured."""

    github: str = ""
    gitlab: str = ""
    gitea: str = ""

    def __repr__(self) -> str:
        configured = [name for name in (GITHUB, GITLAB, GITEA) if getattr(self, name)]
        return f"WebhookSecrets(configured={configured})"


@dataclass(frozen=True)
class _Ignored:
    """A valid delivery that is not a push of a branch or tag, and why."""

    reason: str


def parse(
    headers: Mapping[str, str],
    body: bytes,
    secrets: WebhookSecrets,
    *,
    allow_unsigned: bool = False,
) -> Push | None:
    """The push ``body`` reports, or None for a valid delivery that is not one (a ping).

    Raises WebhookError when the delivery is refused.
    """
    found = _parse(headers, body, secrets, allow_unsigned=allow_unsigned)
    return found if isinstance(found, Push) else None


def handler(
    secrets: WebhookSecrets,
    on_push: Callable[[Push], int],
    *,
    allow_unsigned: bool = False,
) -> Handler:
    """A POST route that hands each verified push to ``on_push``.

    ``on_push`` returns how many applications it triggered; the answer is 200 with
    ``{"triggered": n}``, 200 with ``{"ignored": reason}`` for a delivery that is not a push,
    or the WebhookError's status with ``{"error": message}``.
    """

    async def handle(request: Request) -> Response:
        try:
            found = _parse(request.headers, request.body, secrets, allow_unsigned=allow_unsigned)
        except WebhookError as refused:
            logger.warning(
                "webhook refused", extra={"status": refused.status, "reason": str(refused)}
            )
            return _json(refused.status, {"error": str(refused)})
        if isinstance(found, _Ignored):
            logger.info("webhook ignored", extra={"reason": found.reason})
            return _json(200, {"ignored": found.reason})
        triggered = on_push(found)
        logger.info(
            "webhook push",
            extra={
                "provider": found.provider,
                "repo": redact(found.repo_urls[0]),
                "branch": found.branch,
                "tag": found.tag,
                "revision": found.after,
                "triggered": triggered,
            },
        )
        return _json(200, {"triggered": triggered})

    return handle


def _parse(
    headers: Mapping[str, str],
    body: bytes,
    secrets: WebhookSecrets,
    *,
    allow_unsigned: bool,
) -> Push | _Ignored:
    if len(body) > MAX_PAYLOAD:
        raise WebhookError(f"payload larger than {MAX_PAYLOAD} bytes", status=413)
    lowered = {name.lower(): value for name, value in headers.items()}
    if gitea_event := _first(lowered, _GITEA_EVENT_HEADERS):
        signature = _first(lowered, _GITEA_SIGNATURE_HEADERS)
        _check_hmac(GITEA, secrets.gitea, signature, body, allow_unsigned=allow_unsigned)
        return _gitea(gitea_event, _payload(lowered, body))
    if gitlab_event := lowered.get("x-gitlab-event", "").strip():
        token = lowered.get("x-gitlab-token")
        _check_token(secrets.gitlab, token, allow_unsigned=allow_unsigned)
        return _gitlab(gitlab_event, _payload(lowered, body, form=False))
    if github_event := lowered.get("x-github-event", "").strip():
        signed = lowered.get("x-hub-signature-256", "").strip()
        prefix, _, signature = signed.partition("=")
        if signed and prefix.lower() != "sha256":
            raise WebhookError("X-Hub-Signature-256 is not sha256=<hex>", status=401)
        _check_hmac(GITHUB, secrets.github, signature, body, allow_unsigned=allow_unsigned)
        return _github(github_event, _payload(lowered, body))
    raise WebhookError(
        "not a push webhook from GitHub, GitLab or Gitea: expected one of the headers "
        "X-GitHub-Event, X-Gitlab-Event, X-Gitea-Event or X-Forgejo-Event",
        status=400,
    )


def _first(headers: Mapping[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        if value := headers.get(name, "").strip():
            return value
    return ""


def _check_hmac(
    provider: str, secret: str, signature: str, body: bytes, *, allow_unsigned: bool
) -> None:
    header = "X-Hub-Signature-256" if provider == GITHUB else "X-Gitea-Signature"
    if not secret:
        if allow_unsigned:
            return
        raise WebhookError(_no_secret(provider), status=401)
    if not signature:
        raise WebhookError(f"missing {header}: is the webhook's secret set?", status=401)
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given = signature.strip().lower().encode("utf-8", "replace")
    if not hmac.compare_digest(given, expected.encode()):
        raise WebhookError(f"{header} does not match the payload", status=401)


def _check_token(secret: str, token: str | None, *, allow_unsigned: bool) -> None:
    if not secret:
        if allow_unsigned:
            return
        raise WebhookError(_no_secret(GITLAB), status=401)
    if not token:
        raise WebhookError("missing X-Gitlab-Token: is the webhook's secret token set?", status=401)
    if not hmac.compare_digest(token.encode("utf-8", "replace"), secret.encode()):
        raise WebhookError("X-Gitlab-Token is not the configured secret", status=401)


def _no_secret(provider: str) -> str:
    return (
        f"no secret is configured for {provider} webhooks: configure one "
        "(and set it on the webhook), or allow unsigned webhooks"
    )


def _payload(headers: Mapping[str, str], body: bytes, *, form: bool = True) -> dict[str, Any]:
    """The JSON object of the delivery: the body, or its ``payload=`` field when form-encoded.

    GitHub and Gitea can send ``application/x-www-form-urlencoded``; GitLab sends JSON only.
    """
    content_type = headers.get("content-type", _JSON).partition(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
        if form and content_type == "application/x-www-form-urlencoded":
            fields = parse_qs(text, strict_parsing=True)
            payloads = fields.get("payload", [])
            if len(payloads) != 1:
                raise WebhookError("a form-encoded delivery needs one payload field", status=400)
            text = payloads[0]
        decoded = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        raise WebhookError("the payload is not valid JSON", status=400) from None
    if not isinstance(decoded, dict):
        raise WebhookError("the payload is not a JSON object", status=400)
    return decoded


def _github(event: str, payload: dict[str, Any]) -> Push | _Ignored:
    if event != "push":
        return _Ignored(_event_reason(GITHUB, event))
    repository = _object(payload, "repository")
    urls = _urls(repository, ("html_url", "clone_url", "ssh_url", "git_url"))
    return _push(GITHUB, urls, payload)


def _gitea(event: str, payload: dict[str, Any]) -> Push | _Ignored:
    if event != "push":
        return _Ignored(_event_reason(GITEA, event))
    repository = _object(payload, "repository")
    urls = _urls(repository, ("html_url", "clone_url", "ssh_url"))
    return _push(GITEA, urls, payload)


def _gitlab(event: str, payload: dict[str, Any]) -> Push | _Ignored:
    kind = _GITLAB_PUSH_EVENTS.get(event.lower())
    if event.lower() == "system hook" and payload.get("object_kind") in ("push", "tag_push"):
        kind = payload["object_kind"]
    if kind is None:
        return _Ignored(_event_reason(GITLAB, event))
    project = _object(payload, "project")
    repository = payload.get("repository")
    urls = _urls(
        project, ("web_url", "git_http_url", "git_ssh_url", "http_url", "ssh_url", "homepage")
    )
    if isinstance(repository, dict):
        urls += _urls(repository, ("homepage", "git_http_url", "git_ssh_url", "url"))
    return _push(GITLAB, urls, payload)


def _event_reason(provider: str, event: str) -> str:
    return "ping" if event == "ping" else f"{provider} event {event[:64]!r} is not a push"


def _object(payload: dict[str, Any], key: str) -> dict[str, Any]:
    found = payload.get(key)
    if not isinstance(found, dict):
        raise WebhookError(f"the payload has no {key} object", status=400)
    return found


def _urls(holder: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(value for key in keys if isinstance(value := holder.get(key), str) and value)


def _push(provider: str, urls: tuple[str, ...], payload: dict[str, Any]) -> Push | _Ignored:
    unique = tuple(dict.fromkeys(urls))
    if not unique:
        raise WebhookError("the payload names no URL for the repository", status=400)
    ref, after = payload.get("ref"), payload.get("after")
    if not isinstance(ref, str) or not ref:
        raise WebhookError("the payload has no ref", status=400)
    if not isinstance(after, str):
        raise WebhookError("the payload has no after commit", status=400)
    if ref.startswith(_BRANCH_PREFIX):
        return Push(provider, unique, ref.removeprefix(_BRANCH_PREFIX), "", after)
    if ref.startswith(_TAG_PREFIX):
        return Push(provider, unique, "", ref.removeprefix(_TAG_PREFIX), after)
    return _Ignored(f"ref {ref[:128]!r} is neither a branch nor a tag")


def _json(status: int, document: dict[str, object]) -> Response:
    return Response(status, json.dumps(document).encode(), "application/json")
