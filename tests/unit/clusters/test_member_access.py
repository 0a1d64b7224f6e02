"""``cluster add --service-account``: Flotilla's own least-privilege identity on a member.

The member is faked at the wire: server-side applies are stored, and the token controller
fills the token Secret when the test says so.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest

from flotilla.clusters.member_access import (
    FIELD_MANAGER,
    MemberAccessError,
    create_member_access,
    member_manifests,
    member_rules,
    with_token,
)
from flotilla.clusters.verify import REQUIRED_ACCESS, VerificationError
from flotilla.kube import ConnectionConfig, KubeClient
from flotilla.runtime.clock import FakeClock

from ..fakeapi import eventually, settle_until, status

TOKEN = "canary-sa-token-never-shown"
TOKEN_PATH = "/api/v1/namespaces/flotilla-system/secrets/flotilla-token"


class Member:
    """Applies land in ``objects``; the token Secret has data once ``fill_token`` ran."""

    def __init__(self, *, forbid: str = "") -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.applies: list[httpx.Request] = []
        self.forbid = forbid
        self.token: str | None = None
        self.transport = httpx.MockTransport(self._handle)

    def client(self) -> KubeClient:
        return KubeClient(ConnectionConfig(server="https://member.test"), transport=self.transport)

    def fill_token(self, token: str = TOKEN) -> None:
        self.token = token

    def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "PATCH":
            self.applies.append(request)
            if self.forbid and self.forbid in path:
                return httpx.Response(403, json=status(403, "Forbidden", "no"))
            self.objects[path] = json.loads(request.content)
            return httpx.Response(200, json=self.objects[path])
        if request.method == "GET" and path in self.objects:
            body = dict(self.objects[path])
            if path == TOKEN_PATH and self.token is not None:
                body["data"] = {"token": base64.b64encode(self.token.encode()).decode()}
            return httpx.Response(200, json=body)
        return httpx.Response(404, json=status(404, "NotFound"))


def _allows(rules: list[dict[str, Any]], verb: str, group: str, resource: str) -> bool:
    return any(
        group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]
        for rule in rules
    )


def test_the_member_role_grants_everything_verification_asks_for() -> None:
    rules = member_rules()
    missing = [need for need in REQUIRED_ACCESS if not _allows(rules, *need)]
    assert missing == []


def test_the_member_role_grants_no_secrets_no_rbac_and_no_wildcards() -> None:
    for rule in member_rules():
        assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"], rule
        assert "secrets" not in rule["resources"], rule
        assert "rbac.authorization.k8s.io" not in rule["apiGroups"], rule
    assert not _allows(member_rules(), "delete", "", "namespaces")


async def test_the_token_is_returned_once_the_token_controller_fills_the_secret() -> None:
    member, clock = Member(), FakeClock()
    async with member.client() as client:
        task = asyncio.create_task(create_member_access(client, clock=clock))
        await eventually(lambda: clock.sleepers > 0)
        assert not task.done()
        member.fill_token()
        await clock.advance(0.5)
        assert await task == TOKEN
    kinds = [json.loads(r.content)["kind"] for r in member.applies]
    assert kinds == ["ClusterRole", "Namespace", "ServiceAccount", "ClusterRoleBinding", "Secret"]
    assert {r.url.params["fieldManager"] for r in member.applies} == {FIELD_MANAGER}
    secret = member.objects[TOKEN_PATH]
    assert secret["type"] == "kubernetes.io/service-account-token"
    assert secret["metadata"]["annotations"] == {"kubernetes.io/service-account.name": "flotilla"}


async def test_the_binding_names_the_service_account_in_the_chosen_namespace() -> None:
    manifests = {m["kind"]: m for m in member_manifests(namespace="ops")}
    assert manifests["ClusterRoleBinding"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "flotilla", "namespace": "ops"}
    ]
    assert (
        manifests["ClusterRoleBinding"]["roleRef"]["name"]
        == manifests["ClusterRole"]["metadata"]["name"]
    )
    assert manifests["Secret"]["metadata"]["namespace"] == "ops"


async def test_credentials_that_may_not_create_roles_get_a_clear_error() -> None:
    member = Member(forbid="/clusterroles/")
    async with member.client() as client:
        with pytest.raises(MemberAccessError, match=r"may not create ClusterRole flotilla-member"):
            await create_member_access(client, clock=FakeClock())
    assert issubclass(MemberAccessError, VerificationError)  # the CLI prints it, no traceback


async def test_a_token_that_never_comes_is_a_timeout_that_names_the_secret() -> None:
    member, clock = Member(), FakeClock()
    async with member.client() as client:
        task = asyncio.create_task(create_member_access(client, clock=clock, timeout=5))
        await settle_until(clock, task.done, 0.5)
        assert clock.monotonic() >= 1005.0  # FakeClock starts at 1000
        with pytest.raises(MemberAccessError, match=r"flotilla-system/flotilla-token within 5s"):
            await task


async def test_a_token_that_is_not_base64_is_refused_without_showing_it() -> None:
    member = Member()
    member.fill_token()

    def broken(request: httpx.Request) -> httpx.Response:
        response = member._handle(request)
        if request.method == "GET" and request.url.path == TOKEN_PATH:
            body = json.loads(response.content)
            body["data"] = {"token": "%%" + TOKEN}
            return httpx.Response(200, json=body)
        return response

    client = KubeClient(
        ConnectionConfig(server="https://member.test"), transport=httpx.MockTransport(broken)
    )
    async with client:
        with pytest.raises(MemberAccessError) as raised:
            await create_member_access(client, clock=FakeClock())
    assert TOKEN not in str(raised.value)
    assert raised.value.__cause__ is None


def test_the_stored_connection_keeps_the_server_and_ca_and_only_the_token() -> None:
    user = ConnectionConfig(
        server="https://member.test",
        ca_data=b"CA",
        tls_server_name="member",
        client_cert_data=b"CERT",
        client_key_data=b"KEY",
    )
    stored = with_token(user, TOKEN)
    assert (stored.server, stored.ca_data, stored.tls_server_name) == (
        "https://member.test",
        b"CA",
        "member",
    )
    assert (stored.token, stored.client_cert_data, stored.client_key_data) == (TOKEN, None, None)
