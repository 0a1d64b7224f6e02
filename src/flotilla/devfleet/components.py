"""The command lines of a cluster's components.

Pure functions of the topology and the file layout, so they are easy to read and test.
Choices worth knowing:

- etcd runs without fsync: the fleet is for tests and demos, and fsync dominates its cost.
- ``--endpoint-reconciler-type=none`` lets the apiserver advertise a loopback address.
- The hub's controller-manager runs only the namespace and garbage-collector controllers:
  the hub stores templates and never runs them. Members run the usual set but the
  node-lifecycle controller (see MEMBER_CONTROLLERS).
- kwok plays kubelet for every node of a member: it keeps nodes Ready, gives pods IPs from
  the member's own range, makes them Ready and finalizes deleted ones.
- ``clusterset-dns`` is Flotilla's own data plane (``flotilla dns serve``): each member
  answers for ``clusterset.local`` on its address, port 53, reading only that member. It is
  this Python's ``flotilla``, not a built binary; so is ``connectivity-echo`` (the backend
  of ``flotilla connectivity test``'s test service, on an address of the member's pod range
  put on the loopback interface: EndpointSlices refuse loopback addresses).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from flotilla.devfleet.binaries import KWOK_STAGES
from flotilla.devfleet.pki import ClusterPki
from flotilla.devfleet.topology import (
    APISERVER_PORT,
    CONTROLLER_MANAGER_PORT,
    DNS_PORT,
    ECHO_PORT,
    ETCD_CLIENT_PORT,
    ETCD_PEER_PORT,
    SCHEDULER_PORT,
    LocalCluster,
)

HUB_CONTROLLERS = "namespace,garbagecollector,serviceaccount"
"""Templates are stored on the hub, never run; but a namespace's ``default`` ServiceAccount
must exist for the hub's admission to judge a workload's pod template as a Pod."""
# Without the node-lifecycle controller: kwok's heartbeats can lag on a loaded 2-core machine,
# and once that controller marks a simulated node NotReady it marks its pods NotReady, which
# kwok never undoes. Node health is not what the fleet simulates; API server faults are.
MEMBER_CONTROLLERS = "*,-node-lifecycle-controller"


@dataclass(frozen=True)
class ClusterLayout:
    """Where one cluster keeps its files under the fleet's state directory."""

    directory: Path

    @property
    def pki(self) -> ClusterPki:
        return ClusterPki(self.directory / "pki")

    @property
    def etcd_data(self) -> Path:
        return self.directory / "etcd"

    def log(self, component: str) -> Path:
        return self.directory / "logs" / f"{component}.log"

    def kubeconfig(self, stem: str) -> Path:
        return self.directory / f"{stem}.kubeconfig"


CLUSTERSET_DNS = "clusterset-dns"
CONNECTIVITY_ECHO = "connectivity-echo"
_OURS = frozenset({CLUSTERSET_DNS, CONNECTIVITY_ECHO})
"""Components that are Flotilla itself (no binary to find)."""


def components(cluster: LocalCluster) -> list[str]:
    """The cluster's components, in start order."""
    names = ["etcd", "kube-apiserver", "kube-controller-manager"]
    if cluster.role == "member":
        names += ["kube-scheduler", "kwok", CLUSTERSET_DNS, CONNECTIVITY_ECHO]
    return names


def required_files(cluster: LocalCluster) -> list[str]:
    """The binaries (and data files) the cluster's components need."""
    names = [name for name in components(cluster) if name not in _OURS]
    return [*names, KWOK_STAGES] if "kwok" in names else names


def command_line(
    component: str, cluster: LocalCluster, layout: ClusterLayout, files: Mapping[str, Path]
) -> list[str]:
    """The argv of ``component``; ``files`` maps required_files() to their paths."""
    builder = _BUILDERS[component]
    program = [sys.executable, "-m", "flotilla"] if component in _OURS else [str(files[component])]
    return [*program, *builder(cluster, layout, files)]


def _etcd(cluster: LocalCluster, layout: ClusterLayout, _files: Mapping[str, Path]) -> list[str]:
    peer = f"http://{cluster.address}:{ETCD_PEER_PORT}"
    client = f"http://{cluster.address}:{ETCD_CLIENT_PORT}"
    return [
        f"--name={cluster.name}",
        f"--data-dir={layout.etcd_data}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster={cluster.name}={peer}",
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ]


def _apiserver(
    cluster: LocalCluster, layout: ClusterLayout, _files: Mapping[str, Path]
) -> list[str]:
    pki = layout.pki
    return [
        f"--advertise-address={cluster.address}",
        f"--bind-address={cluster.address}",
        f"--secure-port={APISERVER_PORT}",
        f"--etcd-servers={cluster.etcd_url}",
        "--endpoint-reconciler-type=none",
        f"--service-cluster-ip-range={cluster.service_cidr}",
        f"--client-ca-file={pki.ca_cert}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        "--service-account-issuer=https://kubernetes.default.svc",
        f"--service-account-key-file={pki.sa_pub}",
        f"--service-account-signing-key-file={pki.sa_key}",
        "--authorization-mode=RBAC",
        "--allow-privileged=true",
        "--profiling=false",
        f"--cert-dir={layout.directory / 'apiserver-certs'}",
        # New nodes would get a not-ready taint that only the node-lifecycle controller lifts,
        # and members run without it (see MEMBER_CONTROLLERS).
        "--disable-admission-plugins=TaintNodesByCondition",
    ]


def _controller_manager(
    cluster: LocalCluster, layout: ClusterLayout, _files: Mapping[str, Path]
) -> list[str]:
    kubeconfig = layout.kubeconfig("kube-controller-manager")
    controllers = HUB_CONTROLLERS if cluster.role == "hub" else MEMBER_CONTROLLERS
    return [
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        f"--bind-address={cluster.address}",
        f"--secure-port={CONTROLLER_MANAGER_PORT}",
        f"--cert-dir={layout.directory / 'controller-manager-certs'}",
        f"--controllers={controllers}",
        f"--cluster-name={cluster.name}",
        f"--service-account-private-key-file={layout.pki.sa_key}",
        f"--root-ca-file={layout.pki.ca_cert}",
        # Each controller acts as its own ServiceAccount, bound by bootstrap RBAC (as kubeadm).
        "--use-service-account-credentials=true",
        f"--service-cluster-ip-range={cluster.service_cidr}",
        "--leader-elect=false",
        "--profiling=false",
    ]


def _scheduler(
    cluster: LocalCluster, layout: ClusterLayout, _files: Mapping[str, Path]
) -> list[str]:
    kubeconfig = layout.kubeconfig("kube-scheduler")
    return [
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        f"--bind-address={cluster.address}",
        f"--secure-port={SCHEDULER_PORT}",
        f"--cert-dir={layout.directory / 'scheduler-certs'}",
        "--leader-elect=false",
        "--profiling=false",
    ]


def _kwok(cluster: LocalCluster, layout: ClusterLayout, files: Mapping[str, Path]) -> list[str]:
    return [
        f"--kubeconfig={layout.kubeconfig('admin')}",
        f"--config={files[KWOK_STAGES]}",
        "--manage-all-nodes=true",
        f"--cidr={cluster.pod_cidr}",
        f"--node-ip={cluster.address}",
    ]


def _clusterset_dns(
    cluster: LocalCluster, layout: ClusterLayout, _files: Mapping[str, Path]
) -> list[str]:
    return [
        "dns",
        "serve",
        f"--kubeconfig={layout.kubeconfig('admin')}",
        f"--listen={cluster.address}:{DNS_PORT}",
        "--log-level=warning",
    ]


def _connectivity_echo(
    cluster: LocalCluster, _layout: ClusterLayout, _files: Mapping[str, Path]
) -> list[str]:
    return [
        "connectivity",
        "serve",
        f"--listen={cluster.echo_address}:{ECHO_PORT}",
        f"--name={cluster.name}",
    ]


_BUILDERS = {
    "etcd": _etcd,
    "kube-apiserver": _apiserver,
    "kube-controller-manager": _controller_manager,
    "kube-scheduler": _scheduler,
    "kwok": _kwok,
    CLUSTERSET_DNS: _clusterset_dns,
    CONNECTIVITY_ECHO: _connectivity_echo,
}
