"""Hostile input, end to end: broken kubeconfigs and Secrets behind Clusters.

Each case stores a broken credential straight into the hub (as a careless ``kubectl apply``
would; ``flotilla cluster add`` refuses them, checked at the end) for a Cluster of its own.
The controller must report the Cluster Ready=False with a reason that says what to fix,
quote no credential in status, stay alive, and leave the canary Placement alone.
"""

from __future__ import annotations

import base64
import contextlib
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from flotilla.api import ClusterName
from flotilla.kube import NotFound, resource_path
from tests.e2e.controllers import ControllerProcess
from tests.e2e.hostile import Canary, placed_canary, unharmed
from tests.e2e.localfleet import LocalFleet
from tests.e2e.waiting import eventually

HUB = ClusterName("hub")
FLOTILLA = "/apis/flotilla.io/v1alpha1"
SECRETS = resource_path("v1", "secrets", namespace="flotilla-system")
NOT_PEM = base64.b64encode(b"this is not a certificate").decode()
SEKRIT = "sekritHostile"
"""Every token below starts with this; it must never show in a Cluster's status."""


@pytest.fixture(scope="module")
async def canary(fleet: LocalFleet, propagating: ControllerProcess) -> AsyncIterator[Canary]:
    async with placed_canary(fleet) as placed:
        yield placed


def _real(fleet: LocalFleet) -> dict[str, Any]:
    document = yaml.safe_load(fleet.kubeconfig.read_text())
    member = fleet.members[0].name
    return dict(next(c["cluster"] for c in document["clusters"] if c["name"] == member))


def _kubeconfig(
    fleet: LocalFleet, *, user: dict[str, Any] | None = None, **cluster: Any
) -> dict[str, Any]:
    real = _real(fleet)
    base = {
        "server": real["server"],
        "certificate-authority-data": real["certificate-authority-data"],
    }
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "c",
                "cluster": {k: v for k, v in {**base, **cluster}.items() if v is not None},
            }
        ],
        "users": [{"name": "u", "user": user or {"token": f"{SEKRIT}Plain"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }


def _yaml(document: dict[str, Any]) -> bytes:
    return yaml.safe_dump(document).encode()


def _broken(fleet: LocalFleet, case: str) -> bytes:
    """The stored kubeconfig bytes of each broken case."""
    real = _real(fleet)
    match case:
        case "not-yaml":
            return b"{{{ [ this: is: not yaml"
        case "yaml-list":
            return b"- just\n- a list\n"
        case "no-current-context":
            document = _kubeconfig(fleet)
            del document["current-context"]
            return _yaml(document)
        case "ca-not-pem":
            return _yaml(_kubeconfig(fleet, **{"certificate-authority-data": NOT_PEM}))
        case "tls-server-name-number":
            return _yaml(_kubeconfig(fleet, **{"tls-server-name": 123}))
        case "non-ascii-token":
            return _yaml(_kubeconfig(fleet, user={"token": f"{SEKRIT}Utf\u00e9\u2028x"}))
        case "token-with-newline":
            return _yaml(_kubeconfig(fleet, user={"token": f"{SEKRIT}A\n{SEKRIT}B"}))
        case "ipv6-unclosed":
            return _yaml(_kubeconfig(fleet, server="https://[::1"))
        case "plain-http":
            return _yaml(_kubeconfig(fleet, server=real["server"].replace("https", "http", 1)))
        case "insecure-as-string":
            return _yaml(_kubeconfig(fleet, **{"insecure-skip-tls-verify": "false"}))
        case "insecure-with-ca":
            return _yaml(_kubeconfig(fleet, **{"insecure-skip-tls-verify": True}))
        case "url-with-password":
            server = real["server"].replace("https://", f"https://admin:{SEKRIT}Pw@", 1)
            return _yaml(_kubeconfig(fleet, server=server))
        case "server-not-a-string":
            return _yaml(_kubeconfig(fleet, server=["https://a", "https://b"]))
        case "exec-plugin":
            user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "sh"}}
            return _yaml(_kubeconfig(fleet, user=user))
    raise AssertionError(case)


CREDENTIAL_CASES = {
    # case: a fragment the Ready message must carry (it says what to fix)
    "not-yaml": "not a kubeconfig",
    "yaml-list": "not a kubeconfig",
    "no-current-context": "current-context",
    "ca-not-pem": "not a PEM certificate",
    "tls-server-name-number": "tls-server-name",
    "non-ascii-token": "non-ASCII",
    "token-with-newline": "control character",
    "ipv6-unclosed": "not a valid URL",
    "plain-http": "plain http",
    "insecure-as-string": "insecure-skip-tls-verify must be true or false",
    "insecure-with-ca": "insecure",
    "url-with-password": "password",
    "server-not-a-string": "server is not a string",
    "exec-plugin": "plugin",
}


@contextlib.asynccontextmanager
async def _registered(
    fleet: LocalFleet,
    data: bytes | None,
    *,
    ref: dict[str, str] | None = None,
    key: str = "kubeconfig",
) -> AsyncIterator[str]:
    """A Cluster whose Secret holds ``data`` under ``key`` (None: no Secret at all)."""
    name = f"hostile-{uuid.uuid4().hex[:8]}"
    secret_name = f"cluster-{name}-kubeconfig"
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name, "namespace": "flotilla-system"},
        "data": {key: base64.b64encode(data).decode()} if data is not None else {},
    }
    cluster = {
        "apiVersion": "flotilla.io/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": name, "labels": {"hostile": "yes"}},
        "spec": {
            "kubeconfigSecretRef": ref
            or {"namespace": "flotilla-system", "name": secret_name, "key": "kubeconfig"},
            "probe": {"periodSeconds": 1},
        },
    }
    async with fleet.client(HUB) as hub:
        if data is not None:
            await hub.create(SECRETS, secret)
        await hub.create(f"{FLOTILLA}/clusters", cluster)
        try:
            yield name
        finally:
            with contextlib.suppress(NotFound):
                await hub.delete(f"{FLOTILLA}/clusters/{name}")
            with contextlib.suppress(NotFound):
                await hub.delete(f"{SECRETS}/{secret_name}")


async def _not_ready(fleet: LocalFleet, name: str) -> dict[str, Any]:
    """The Cluster's Ready condition once it is False."""

    async def probe() -> dict[str, Any] | None:
        async with fleet.client(HUB) as hub:
            cluster = await hub.get(f"{FLOTILLA}/clusters/{name}")
        for found in (cluster.get("status") or {}).get("conditions") or []:
            if found["type"] == "Ready" and found["status"] == "False":
                return {"condition": found, "cluster": cluster}
        return None

    return await eventually(probe, timeout=30, what=f"{name} Ready=False")


@pytest.mark.parametrize("case", sorted(CREDENTIAL_CASES))
async def test_a_broken_kubeconfig_makes_its_cluster_not_ready_with_a_reason(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary, case: str
) -> None:
    async with _registered(fleet, _broken(fleet, case)) as name:
        found = await _not_ready(fleet, name)
        ready = found["condition"]
        assert ready["reason"] == "CredentialsInvalid", ready
        assert CREDENTIAL_CASES[case] in ready["message"], ready["message"]
        assert SEKRIT not in str(found["cluster"])
        taints = (found["cluster"].get("status") or {}).get("taints") or []
        assert any(t["key"] == "flotilla.io/unreachable" for t in taints)
    await unharmed(fleet, canary, propagating)


async def test_a_secret_without_the_named_key_makes_the_cluster_not_ready(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary
) -> None:
    async with _registered(fleet, _yaml(_kubeconfig(fleet)), key="other") as name:
        ready = (await _not_ready(fleet, name))["condition"]
    assert ready["reason"] == "CredentialsInvalid"
    assert "has no key 'kubeconfig'" in ready["message"]
    await unharmed(fleet, canary, propagating)


async def test_a_missing_secret_makes_the_cluster_not_ready(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary
) -> None:
    async with _registered(fleet, None) as name:
        ready = (await _not_ready(fleet, name))["condition"]
    assert ready["reason"] == "CredentialsMissing"
    assert "not found" in ready["message"]
    await unharmed(fleet, canary, propagating)


async def test_a_secret_in_another_namespace_is_refused(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary
) -> None:
    # A Secret the tenant controls in "default", with a working credential: still refused.
    elsewhere = {"namespace": "default", "name": "borrowed", "key": "kubeconfig"}
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "borrowed"},
        "data": {"kubeconfig": base64.b64encode(_yaml(_kubeconfig(fleet))).decode()},
    }
    path = resource_path("v1", "secrets", namespace="default")
    async with fleet.client(HUB) as hub:
        await hub.create(path, secret)
    try:
        async with _registered(fleet, None, ref=elsewhere) as name:
            ready = (await _not_ready(fleet, name))["condition"]
    finally:
        async with fleet.client(HUB) as hub:
            await hub.delete(f"{path}/borrowed")
    assert ready["reason"] == "CredentialsMissing"
    assert "must be in flotilla-system" in ready["message"]
    await unharmed(fleet, canary, propagating)


async def test_a_token_the_member_rejects_is_an_http_401_reason(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary
) -> None:
    data = _yaml(_kubeconfig(fleet, user={"token": f"{SEKRIT}Wrong"}))
    async with _registered(fleet, data) as name:
        found = await _not_ready(fleet, name)
    assert "Http401: Unauthorized" in found["condition"]["message"], found["condition"]
    assert SEKRIT not in str(found["cluster"])
    await unharmed(fleet, canary, propagating)


async def test_a_fixed_secret_makes_the_cluster_ready_again(
    fleet: LocalFleet, propagating: ControllerProcess, canary: Canary
) -> None:
    document = yaml.safe_load(fleet.kubeconfig.read_text())
    member = fleet.members[0].name
    good = dict(document)
    good["current-context"] = member
    async with _registered(fleet, _broken(fleet, "ca-not-pem")) as name:
        await _not_ready(fleet, name)
        patch = {"data": {"kubeconfig": base64.b64encode(_yaml(good)).decode()}}
        async with fleet.client(HUB) as hub:
            await hub.merge_patch(f"{SECRETS}/cluster-{name}-kubeconfig", patch)

            async def ready() -> bool:
                cluster = await hub.get(f"{FLOTILLA}/clusters/{name}")
                conditions = (cluster.get("status") or {}).get("conditions") or []
                return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

            await eventually(ready, timeout=30, what=f"{name} Ready after the fix")
    await unharmed(fleet, canary, propagating)


@pytest.fixture
def kubeconfig_files(fleet: LocalFleet, tmp_path: Path) -> Iterator[dict[str, Path]]:
    files = {}
    for case in ("non-ascii-token", "plain-http", "url-with-password", "insecure-as-string"):
        path = tmp_path / f"{case}.kubeconfig"
        path.write_bytes(_broken(fleet, case))
        files[case] = path
    yield files


@pytest.mark.parametrize(
    "case", ["non-ascii-token", "plain-http", "url-with-password", "insecure-as-string"]
)
def test_cluster_add_refuses_a_broken_kubeconfig_with_exit_code_1(
    fleet: LocalFleet, kubeconfig_files: dict[str, Path], case: str
) -> None:
    command = [
        sys.executable, "-m", "flotilla", "cluster", "add", "c", "--name", f"refused-{case}",
        "--kubeconfig", str(kubeconfig_files[case]), "--hub-kubeconfig", str(fleet.kubeconfig),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1, result
    assert result.stderr.startswith("error: "), result.stderr
    assert CREDENTIAL_CASES[case] in result.stderr
    assert "Traceback" not in result.stderr
    assert SEKRIT not in result.stdout + result.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "flotilla", "cluster", "list", "--hub-kubeconfig",
         str(fleet.kubeconfig)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert f"refused-{case}" not in listed.stdout
