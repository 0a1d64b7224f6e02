"""A handle on the running local fleet, as end-to-end tests use it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from flotilla.api import ClusterName
from flotilla.devfleet import LocalCluster
from flotilla.kube import KubeClient, load_kubeconfig


@dataclass(frozen=True)
class LocalFleet:
    directory: Path
    kubeconfig: Path
    clusters: list[LocalCluster]

    @property
    def members(self) -> list[LocalCluster]:
        return [cluster for cluster in self.clusters if cluster.role == "member"]

    def client(self, cluster: ClusterName, *, timeout: float = 10.0) -> KubeClient:
        return KubeClient(load_kubeconfig(self.kubeconfig, context=cluster), timeout=timeout)

    def flotilla(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``flotilla ARGS --kubeconfig <the fleet's>`` as a user would; never raises."""
        command = [sys.executable, "-m", "flotilla", *args, "--kubeconfig", str(self.kubeconfig)]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``flotilla dev ARGS`` as a user would, in a separate process."""
        command = [sys.executable, "-m", "flotilla", "dev", "--dir", str(self.directory), *args]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=300)
