"""Runs last (``conftest.py`` moves it to the end of the session): no credential of the fleet,
and none of the canary credentials registered here, appears in any controller log, any
Event on the hub or a member, any Cluster or Placement on the hub, or the CLI's output.

The canaries are credentials a careless user could store: a token with a non-ASCII
character, a token with a line break in it, a server URL with a password, a token the member
rejects (401) and a kubeconfig whose ``tls-server-name`` is a number. They are registered
straight into the hub (``flotilla cluster add`` refuses them, and that refusal is checked
too), a controller probes them until each Cluster says it is not Ready, and then everything
is scanned.
"""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from flotilla.api import ClusterName
from flotilla.clusters import RegistryError, register, remove
from flotilla.kube import resource_path
from tests.e2e.controllers import ControllerProcess
from tests.e2e.localfleet import LocalFleet
from tests.e2e.waiting import eventually

HUB = ClusterName("hub")
FLOTILLA = "/apis/flotilla.io/v1alpha1"


@dataclass(frozen=True)
class Canary:
    """A Cluster registered with a broken credential; ``needles`` must never be seen."""

    name: ClusterName
    kubeconfig: dict[str, Any]
    needles: tuple[str, ...]


def _fleet_secrets(fleet: LocalFleet) -> list[str]:
    document = yaml.safe_load(fleet.kubeconfig.read_text())
    found = []
    for user in document["users"]:
        for key in ("client-key-data", "token"):
            value = user["user"].get(key)
            if not value:
                continue
            found.append(value)
            if key == "client-key-data":
                pem = base64.b64decode(value).decode()
                found += [line for line in pem.splitlines() if "-----" not in line]
    return found


def _canaries(fleet: LocalFleet) -> list[Canary]:
    document = yaml.safe_load(fleet.kubeconfig.read_text())
    member = fleet.members[0].name
    real = next(c["cluster"] for c in document["clusters"] if c["name"] == member)
    server, ca = real["server"], real["certificate-authority-data"]
    tag = uuid.uuid4().hex[:6]

    def kubeconfig(user: dict[str, Any], **cluster: Any) -> dict[str, Any]:
        cluster = {"server": server, "certificate-authority-data": ca, **cluster}
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": cluster}],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "c",
        }

    utf, line_1, line_2 = f"sekritUtf{tag}", f"sekritLineA{tag}", f"sekritLineB{tag}"
    password, wrong, tls = f"sekritPw{tag}", f"sekritWrong{tag}", f"sekritTls{tag}"
    with_password = server.replace("https://", f"https://flotilla:{password}@", 1)
    return [
        Canary(
            ClusterName(f"canary-utf-{tag}"),
            kubeconfig({"token": f"{utf}\u00e9\u2028x"}),
            (utf,),
        ),
        Canary(
            ClusterName(f"canary-newline-{tag}"),
            kubeconfig({"token": f"{line_1}\n{line_2}"}),
            (line_1, line_2),
        ),
        Canary(
            ClusterName(f"canary-password-{tag}"),
            kubeconfig({"token": f"{password}tok"}, server=with_password),
            (password,),
        ),
        Canary(ClusterName(f"canary-wrong-{tag}"), kubeconfig({"token": wrong}), (wrong,)),
        Canary(
            ClusterName(f"canary-tls-{tag}"),
            kubeconfig({"token": tls}, **{"tls-server-name": 123}),
            (tls,),
        ),
    ]


def _flotilla(fleet: LocalFleet, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "flotilla", *args, "--hub-kubeconfig", str(fleet.kubeconfig)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _ready(cluster: dict[str, Any]) -> dict[str, Any] | None:
    for condition in (cluster.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return dict(condition)
    return None


@pytest.fixture
async def canaries(
    fleet: LocalFleet, propagating: ControllerProcess
) -> AsyncIterator[list[Canary]]:
    """The canary Clusters, registered, and each reported not Ready by the controller."""
    registered = _canaries(fleet)
    async with fleet.client(HUB) as hub:
        try:
            for canary in registered:
                await register(hub, name=canary.name, kubeconfig=canary.kubeconfig, labels={})
            for canary in registered:

                async def not_ready(name: str = canary.name) -> dict[str, Any] | None:
                    ready = _ready(await hub.get(f"{FLOTILLA}/clusters/{name}"))
                    return ready if ready and ready.get("status") == "False" else None

                await eventually(not_ready, timeout=60, what=f"{canary.name} reported not Ready")
            yield registered
        finally:
            for canary in registered:
                with contextlib.suppress(RegistryError):  # not registered: nothing to remove
                    await remove(hub, canary.name)


async def _fleet_objects(fleet: LocalFleet) -> str:
    """Every Event of every cluster, and every Cluster and Placement of the hub, as text."""
    parts = []
    for cluster in fleet.clusters:
        async with fleet.client(cluster.name) as client:
            events = await client.list(resource_path("v1", "events"))
            parts.append(json.dumps(events["items"], ensure_ascii=False))
    async with fleet.client(HUB) as hub:
        for plural in ("clusters", "placements"):
            listing = await hub.list(f"{FLOTILLA}/{plural}")
            parts.append(json.dumps(listing["items"], ensure_ascii=False))
    return "\n".join(parts)


def _cli_output(fleet: LocalFleet, canaries: list[Canary], tmp_path: Path) -> str:
    outputs = [fleet.cli("status", "-o", "json").stdout]
    for args in (("cluster", "list"), ("cluster", "list", "-o", "json")):
        result = _flotilla(fleet, *args)
        outputs += [result.stdout, result.stderr]
    for canary in canaries:
        got = _flotilla(fleet, "cluster", "get", canary.name, "-o", "yaml")
        outputs += [got.stdout, got.stderr]
        path = tmp_path / f"{canary.name}.kubeconfig"
        path.write_text(yaml.safe_dump(canary.kubeconfig))
        added = _flotilla(
            fleet,
            "cluster",
            "add",
            "c",
            "--name",
            f"{canary.name}-again",
            "--kubeconfig",
            str(path),
        )
        assert added.returncode != 0, f"cluster add stored {canary.name}'s credential"
        outputs += [added.stdout, added.stderr]
    return "\n".join(outputs)


def _controller_logs(directory: Path) -> str:
    logs = sorted(directory.glob("*.log"))
    assert logs, "no controller ran in this session"
    return "\n".join(path.read_text(errors="replace") for path in logs)


async def test_no_credential_appears_in_any_log_event_status_or_output(
    fleet: LocalFleet,
    controller_logs: Path,
    canaries: list[Canary],
    tmp_path: Path,
) -> None:
    cli = _cli_output(fleet, canaries, tmp_path)
    objects = await _fleet_objects(fleet)
    text = "\n".join([cli, objects, _controller_logs(controller_logs)])

    fleet_secrets = _fleet_secrets(fleet)
    assert len(fleet_secrets) >= len(fleet.clusters)
    needles = fleet_secrets + [needle for canary in canaries for needle in canary.needles]
    leaked = [needle[:8] + "..." for needle in needles if needle in text]
    assert leaked == []
    for canary in canaries:  # the scan saw what it scanned for: each canary is reported
        assert canary.name in objects
