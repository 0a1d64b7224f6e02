"""``flotilla hub install`` and the manifests in deploy/, against the real hub."""

import subprocess
import sys
from pathlib import Path

import yaml

from flotilla.api import ClusterName
from flotilla.hub.install import apply_all
from tests.e2e.localfleet import LocalFleet

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = ROOT / "_output" / "bin" / "kubectl"


def test_install_is_idempotent(fleet: LocalFleet) -> None:
    command = [sys.executable, "-m", "flotilla", "hub", "install"]
    for _ in range(2):
        result = subprocess.run(
            [*command, "--kubeconfig", str(fleet.kubeconfig)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "Flotilla is installed on hub" in result.stdout


def test_kubectl_explains_the_cluster_kind(fleet: LocalFleet) -> None:
    result = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(fleet.kubeconfig), "--context", "hub",
         "explain", "cluster.spec"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "kubeconfigSecretRef" in result.stdout
    assert "Relative weight for placement" in result.stdout


async def test_the_controller_deployment_passes_a_server_side_dry_run(fleet: LocalFleet) -> None:
    manifests = list(yaml.safe_load_all((ROOT / "deploy" / "controller.yaml").read_text()))
    assert {m["kind"] for m in manifests} >= {"Deployment", "ServiceAccount", "ClusterRole"}
    async with fleet.client(ClusterName("hub")) as hub:
        await apply_all(hub, manifests, dry_run=True)
