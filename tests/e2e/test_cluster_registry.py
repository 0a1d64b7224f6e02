"""``flotilla cluster``: registration verifies the member and refuses what would not work."""

import base64
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from flotilla.api import ClusterName
from flotilla.kube import resource_path
from tests.e2e.localfleet import LocalFleet


def flotilla(fleet: LocalFleet, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "flotilla", *args, "--hub-kubeconfig", str(fleet.kubeconfig)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _kubeconfig(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / f"kubeconfig-{uuid.uuid4().hex[:6]}"
    path.write_text(yaml.safe_dump(document))
    return path


def _fleet_kubeconfig(fleet: LocalFleet) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(fleet.kubeconfig.read_text())
    return document


def test_dev_up_registered_every_member(fleet: LocalFleet) -> None:
    result = flotilla(fleet, "cluster", "list", "-o", "json")
    assert result.returncode == 0, result.stderr
    names = {item["metadata"]["name"] for item in yaml.safe_load(result.stdout)["items"]}
    assert names >= {member.name for member in fleet.members}


def test_add_list_label_and_remove_a_cluster(fleet: LocalFleet) -> None:
    name = f"again-{uuid.uuid4().hex[:6]}"
    member = fleet.members[0]
    added = flotilla(
        fleet,
        "cluster",
        "add",
        member.name,
        "--name",
        name,
        "--kubeconfig",
        str(fleet.kubeconfig),
        "--label",
        "tier=gold",
        "--region",
        "mars-1",
    )
    assert added.returncode == 0, added.stderr
    assert "verified https://" in added.stdout
    try:
        listed = flotilla(fleet, "cluster", "list")
        line = next(line for line in listed.stdout.splitlines() if line.startswith(name))
        assert "mars-1" in line
        assert "tier=gold" in line
        labelled = flotilla(fleet, "cluster", "label", name, "tier=silver", "region-")
        assert labelled.returncode == 0, labelled.stderr
        got = yaml.safe_load(flotilla(fleet, "cluster", "get", name, "-o", "yaml").stdout)
        assert got["metadata"]["labels"] == {"tier": "silver"}
        assert got["connectivity"].startswith("ok:")
        again = flotilla(
            fleet,
            "cluster",
            "add",
            member.name,
            "--name",
            name,
            "--kubeconfig",
            str(fleet.kubeconfig),
        )
        assert again.returncode == 1
        assert "registered already" in again.stderr
    finally:
        removed = flotilla(fleet, "cluster", "remove", name)
    assert removed.returncode == 0, removed.stderr
    assert name not in flotilla(fleet, "cluster", "list").stdout


def test_a_server_that_does_not_answer_is_refused(fleet: LocalFleet, tmp_path: Path) -> None:
    document = _fleet_kubeconfig(fleet)
    for cluster in document["clusters"]:
        cluster["cluster"]["server"] = "https://127.0.99.1:6443"
    result = flotilla(
        fleet,
        "cluster",
        "add",
        "us-east",
        "--name",
        "nowhere",
        "--kubeconfig",
        str(_kubeconfig(tmp_path, document)),
    )
    assert result.returncode == 1
    assert "cannot reach https://127.0.99.1:6443" in result.stderr
    assert "check the server address" in result.stderr


def test_a_wrong_ca_is_refused_as_a_tls_failure(fleet: LocalFleet, tmp_path: Path) -> None:
    document = _fleet_kubeconfig(fleet)
    by_name = {c["name"]: c["cluster"] for c in document["clusters"]}
    first, second = fleet.members[0].name, fleet.members[1].name
    by_name[first]["certificate-authority-data"] = by_name[second]["certificate-authority-data"]
    result = flotilla(
        fleet,
        "cluster",
        "add",
        first,
        "--name",
        "wrong-ca",
        "--kubeconfig",
        str(_kubeconfig(tmp_path, document)),
    )
    assert result.returncode == 1
    assert "TLS to" in result.stderr
    assert "certificate authority" in result.stderr


def test_a_missing_context_is_named(fleet: LocalFleet) -> None:
    result = flotilla(
        fleet, "cluster", "add", "pluto", "--name", "pluto", "--kubeconfig", str(fleet.kubeconfig)
    )
    assert result.returncode == 1
    assert "no context 'pluto'" in result.stderr


@pytest.fixture
async def weak_token(fleet: LocalFleet) -> str:
    """A token of a ServiceAccount with no rights on the first member."""
    member = fleet.members[0]
    name = f"weak-{uuid.uuid4().hex[:6]}"
    async with fleet.client(member.name) as client:
        account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}
        await client.create(resource_path("v1", "serviceaccounts", namespace="default"), account)
        request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
        path = resource_path("v1", "serviceaccounts", namespace="default", name=name) + "/token"
        answer = await client.create(path, request)
    return str(answer["status"]["token"])


async def test_a_token_without_rights_is_refused_with_what_it_lacks(
    fleet: LocalFleet, tmp_path: Path, weak_token: str
) -> None:
    member = fleet.members[0].name
    document = _fleet_kubeconfig(fleet)
    for user in document["users"]:
        user["user"] = {"token": weak_token}
    result = flotilla(
        fleet,
        "cluster",
        "add",
        member,
        "--name",
        "weak",
        "--kubeconfig",
        str(_kubeconfig(tmp_path, document)),
    )
    assert result.returncode == 1
    assert "lack permissions Flotilla needs" in result.stderr
    assert "create namespaces" in result.stderr
    assert weak_token not in result.stderr + result.stdout


async def test_the_stored_credentials_live_in_a_secret_owned_by_the_cluster(
    fleet: LocalFleet,
) -> None:
    member = fleet.members[0].name
    async with fleet.client(ClusterName("hub")) as hub:
        cluster = await hub.get(f"/apis/flotilla.io/v1alpha1/clusters/{member}")
        ref = cluster["spec"]["kubeconfigSecretRef"]
        secret = await hub.get(
            resource_path("v1", "secrets", namespace=ref["namespace"], name=ref["name"])
        )
    assert secret["metadata"]["ownerReferences"][0]["uid"] == cluster["metadata"]["uid"]
    stored = yaml.safe_load(base64.b64decode(secret["data"]["kubeconfig"]))
    assert stored["clusters"][0]["cluster"]["server"] == fleet.members[0].server
    assert "status" not in cluster or "kubeconfig" not in str(cluster["status"])
