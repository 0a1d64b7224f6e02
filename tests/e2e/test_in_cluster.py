"""The controller as the shipped Deployment runs it, against the real hub.

The hub has no kubelet, so the test plays one: it applies the shipped ServiceAccount and
RBAC, gets a token for that ServiceAccount with a real TokenRequest, writes it with the hub's
CA where a pod would find them, and starts the controller with the Deployment's own
arguments and exactly a pod's environment (``KUBERNETES_SERVICE_HOST/PORT``, no kubeconfig,
no ``$FLOTILLA_DEV_DIR``). Only the service-account directory (``--service-account-dir``;
a pod has it at /var/run/secrets/kubernetes.io/serviceaccount) and the metrics port (0: the
machine runs other things on 8080) differ.

Every shipped manifest is also dry-run against the hub, whose ``flotilla-system`` enforces
the ``restricted`` Pod Security level: the controller's pod is admitted there, and a pod
that breaks the level is refused (so the check can fail).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from flotilla.api import SYSTEM_NAMESPACE, ClusterName
from flotilla.hub.install import apply_all
from flotilla.kube import (
    ConnectionConfig,
    Forbidden,
    KubeClient,
    KubeError,
    NotFound,
    load_kubeconfig,
    resource_path,
)
from tests.e2e.controllers import ControllerProcess, launch
from tests.e2e.localfleet import LocalFleet
from tests.e2e.placements import config_map, create, placement, wait_condition
from tests.e2e.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
HUB = ClusterName("hub")
ACCOUNT = "flotilla-controller"
LEASE = resource_path(
    "coordination.k8s.io/v1", "leases", namespace=SYSTEM_NAMESPACE, name="flotilla-controller"
)
LEASE_DURATION = 15  # flotilla.manager.ManagerOptions.lease_duration


def _documents(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / name).read_text()) if doc]


def _deployment() -> dict[str, Any]:
    (found,) = [m for m in _documents("controller.yaml") if m["kind"] == "Deployment"]
    return found


def _hub_config(fleet: LocalFleet) -> ConnectionConfig:
    return load_kubeconfig(fleet.kubeconfig, context=HUB)


@pytest.fixture(scope="module")
def shipped_rbac(fleet: LocalFleet) -> None:
    """The shipped namespace, ServiceAccount, RBAC and PodDisruptionBudget, applied for
    real (the Deployment only as a dry run: the hub has no nodes to run it)."""
    manifests = [
        *_documents("namespace.yaml"),
        *(m for m in _documents("controller.yaml") if m["kind"] != "Deployment"),
    ]

    async def apply() -> None:
        async with fleet.client(HUB) as hub:
            await apply_all(hub, manifests)

    asyncio.run(apply())


@pytest.fixture(scope="module")
def service_account(
    fleet: LocalFleet, shipped_rbac: None, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """What the kubelet mounts: a TokenRequest token, the hub's CA, the namespace."""
    directory = tmp_path_factory.mktemp("serviceaccount")
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600},
    }
    path = resource_path("v1", "serviceaccounts", namespace=SYSTEM_NAMESPACE, name=ACCOUNT)

    async def token() -> str:
        async with fleet.client(HUB) as hub:
            answer = await hub.create(f"{path}/token", request)
        return str(answer["status"]["token"])

    (directory / "token").write_text(asyncio.run(token()))
    ca = _hub_config(fleet).ca_data
    assert ca, "the hub's kubeconfig has no certificate-authority-data"
    (directory / "ca.crt").write_bytes(ca)
    (directory / "namespace").write_text(SYSTEM_NAMESPACE)
    return directory


@dataclass
class Pods:
    """Controller processes started as pods of the shipped Deployment; all stopped at the end."""

    fleet: LocalFleet
    service_account: Path
    logs: Path
    started: list[ControllerProcess] = field(default_factory=list)

    def start(self, name: str) -> ControllerProcess:
        (container,) = _deployment()["spec"]["template"]["spec"]["containers"]
        args = [arg.replace("$(POD_NAME)", name) for arg in container["args"]]
        args = [re.sub(r"^(--metrics-bind-address=0\.0\.0\.0):\d+$", r"\1:0", a) for a in args]
        assert "--metrics-bind-address=0.0.0.0:0" in args, container["args"]
        server = urlsplit(_hub_config(self.fleet).server)
        home = self.logs / f"home-{name}"
        home.mkdir(exist_ok=True)
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "HOSTNAME": name,
            "POD_NAME": name,
            "KUBERNETES_SERVICE_HOST": str(server.hostname),
            "KUBERNETES_SERVICE_PORT": str(server.port or 443),
        }
        command = [
            sys.executable, "-m", "flotilla", *args,
            "--service-account-dir", str(self.service_account),
        ]  # fmt: skip
        log = self.logs / f"in-cluster-{name}.log"
        pod = launch(command, log, identity=name, env=env, cwd=home)
        assert "serving /metrics on 0.0.0.0:" in log.read_text(), "not bound for the kubelet"
        self.started.append(pod)
        return pod

    def stop_all(self) -> None:
        for pod in self.started:
            pod.stop()


@pytest.fixture(scope="module")
def pods(fleet: LocalFleet, service_account: Path, controller_logs: Path) -> Iterator[Pods]:
    started = Pods(fleet, service_account, controller_logs)
    yield started
    started.stop_all()


async def _holder(fleet: LocalFleet) -> str:
    async with fleet.client(HUB) as hub:
        lease = await hub.get(LEASE)
    return str((lease.get("spec") or {}).get("holderIdentity") or "")


async def _leads(fleet: LocalFleet, pod: ControllerProcess) -> None:
    async def holds() -> bool:
        return await _holder(fleet) == pod.identity

    # A previous holder that was killed keeps the lease until it expires.
    await eventually(holds, timeout=LEASE_DURATION * 3, what=f"{pod.identity} leads")


async def _probes_answer(pod: ControllerProcess) -> None:
    async def ok() -> bool:
        async with httpx.AsyncClient(timeout=5) as http:
            answers = [
                await http.get(f"http://127.0.0.1:{pod.port}{path}")
                for path in ("/healthz", "/readyz")
            ]
        return all(answer.status_code == 200 for answer in answers)

    await eventually(ok, timeout=30, what=f"/healthz and /readyz of {pod.identity}")


@contextlib.asynccontextmanager
async def _as_the_service_account(
    service_account: Path, fleet: LocalFleet
) -> AsyncIterator[KubeClient]:
    config = ConnectionConfig(
        server=_hub_config(fleet).server,
        ca_data=(service_account / "ca.crt").read_bytes(),
        token=(service_account / "token").read_text(),
    )
    async with KubeClient(config) as client:
        yield client


async def test_the_shipped_rbac_reads_secrets_only_in_flotilla_system(
    fleet: LocalFleet, service_account: Path
) -> None:
    async with _as_the_service_account(service_account, fleet) as client:
        await client.get(resource_path("v1", "secrets", namespace=SYSTEM_NAMESPACE))
        for elsewhere in (None, "default", "kube-system"):
            with pytest.raises(Forbidden):
                await client.get(resource_path("v1", "secrets", namespace=elsewhere))


async def test_the_controller_may_only_dry_run_create_templates(
    fleet: LocalFleet, service_account: Path
) -> None:
    """RBAC lets it create template kinds (for the admission check); the shipped policy
    makes the hub refuse any such create that is not a dry run."""
    collection = resource_path("v1", "configmaps", namespace="default")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "sa-probe-"}}
    async with _as_the_service_account(service_account, fleet) as client:
        await client.request("POST", collection, params={"dryRun": "All"}, body=body)

        async def refused() -> str | None:  # a new policy takes a moment to be in force
            try:
                created = await client.create(collection, body)
            except KubeError as exc:
                return str(exc)
            async with fleet.client(HUB) as hub:  # it got through: take it away again
                await hub.delete(f"{collection}/{created['metadata']['name']}")
            return None

        refusal = await eventually(refused, timeout=30, what="a real create refused")
    assert "dry-run create" in refusal, refusal


async def test_the_controller_in_a_pods_environment_leads_probes_and_propagates(
    fleet: LocalFleet, pods: Pods, hub_ns: str
) -> None:
    pod = pods.start("flotilla-controller-a")
    await _leads(fleet, pod)
    await _probes_answer(pod)

    member = fleet.members[0].name
    async with fleet.client(HUB) as hub:
        await create(hub, hub_ns, config_map("in-cluster", {"from": "a pod"}))
        spec = {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "in-cluster"}],
            "clusterAffinity": {"clusterNames": [member]},
        }
        await create(hub, hub_ns, placement("in-cluster", spec))
    await wait_condition(fleet, hub_ns, "in-cluster", "Applied", "True", timeout=60)
    async with fleet.client(member) as client:
        copied = await client.get(
            resource_path("v1", "configmaps", namespace=hub_ns, name="in-cluster")
        )
    assert copied["data"] == {"from": "a pod"}

    # Its finalizer is removed by the controller, while it still runs.
    path = f"/apis/flotilla.io/v1alpha1/namespaces/{hub_ns}/placements/in-cluster"
    async with fleet.client(HUB) as hub:
        await hub.delete(path)

        async def gone() -> bool:
            try:
                await hub.get(path)
            except NotFound:
                return True
            return False

        await eventually(gone, timeout=60, what="the Placement is finalized")
    token = (pods.service_account / "token").read_text()
    assert token not in pod.log.read_text()


async def test_a_second_replica_takes_over_when_the_leader_is_killed(
    fleet: LocalFleet, pods: Pods
) -> None:
    first = next((p for p in pods.started if p.process.poll() is None), None)
    if first is None:
        first = pods.start("flotilla-controller-a")
    await _leads(fleet, first)
    second = pods.start("flotilla-controller-b")
    await _probes_answer(second)  # a standby is ready: the PodDisruptionBudget counts it
    assert await _holder(fleet) == first.identity
    first.kill()
    started = time.monotonic()
    await _leads(fleet, second)
    assert time.monotonic() - started < LEASE_DURATION + 10


async def test_every_shipped_manifest_passes_a_server_side_dry_run(
    fleet: LocalFleet, shipped_rbac: None
) -> None:
    files = sorted(p for p in DEPLOY.rglob("*.yaml") if p.name != "kustomization.yaml")
    manifests = [doc for path in files for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert {"Deployment", "PodDisruptionBudget", "ClusterRole", "Secret"} <= {
        m["kind"] for m in manifests
    }
    async with fleet.client(HUB) as hub:
        await apply_all(hub, manifests, dry_run=True)


async def test_the_controller_pod_is_admitted_where_restricted_is_enforced(
    fleet: LocalFleet, shipped_rbac: None
) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "flotilla-pod-security-check", "namespace": SYSTEM_NAMESPACE},
        "spec": copy.deepcopy(_deployment()["spec"]["template"]["spec"]),
    }
    path = resource_path("v1", "pods", namespace=SYSTEM_NAMESPACE, name=pod["metadata"]["name"])
    async with fleet.client(HUB) as hub:
        namespace = await hub.get(resource_path("v1", "namespaces", name=SYSTEM_NAMESPACE))
        labels = namespace["metadata"].get("labels") or {}
        assert labels.get("pod-security.kubernetes.io/enforce") == "restricted"
        await hub.apply(path, pod, field_manager="e2e", dry_run=True)

        weaker = copy.deepcopy(pod)
        weaker["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
        with pytest.raises(Forbidden):  # PodSecurity: allowPrivilegeEscalation != false
            await hub.apply(path, weaker, field_manager="e2e", dry_run=True)


async def test_cluster_add_with_a_service_account_stores_its_token_not_the_users(
    fleet: LocalFleet,
) -> None:
    member = fleet.members[0].name
    name = f"sa-{uuid.uuid4().hex[:6]}"
    command = [
        sys.executable, "-m", "flotilla", "cluster", "add", member, "--name", name,
        "--kubeconfig", str(fleet.kubeconfig), "--hub-kubeconfig", str(fleet.kubeconfig),
        "--service-account",
    ]  # fmt: skip
    added = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=120, check=False
    )
    secret_path = resource_path(
        "v1", "secrets", namespace=SYSTEM_NAMESPACE, name=f"cluster-{name}-kubeconfig"
    )
    try:
        assert added.returncode == 0, added.stderr
        assert f"cluster {name} registered" in added.stdout
        async with fleet.client(HUB) as hub:
            secret = await hub.get(secret_path)
        stored = yaml.safe_load(base64.b64decode(secret["data"]["kubeconfig"]))
        (user,) = [entry["user"] for entry in stored["users"]]
        assert set(user) == {"token"}, "the user's client certificate was stored"
        assert user["token"] not in added.stdout + added.stderr
        async with fleet.client(member) as client:
            review = await client.create(
                "/apis/authentication.k8s.io/v1/tokenreviews",
                {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                 "spec": {"token": user["token"]}},
            )  # fmt: skip
        username = review["status"]["user"]["username"]
        assert username == "system:serviceaccount:flotilla-system:flotilla"
    finally:
        remove = [sys.executable, "-m", "flotilla", "cluster", "remove", name,
                  "--hub-kubeconfig", str(fleet.kubeconfig)]  # fmt: skip
        await asyncio.to_thread(
            subprocess.run, remove, capture_output=True, timeout=60, check=False
        )
