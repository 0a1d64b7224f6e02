"""The shape of a local fleet: which clusters, where they listen, what they are called.

Pure data, decided before anything starts, so the same ``--members N`` always gives the same
names, addresses and ranges. Each cluster has a loopback address of its own (127.0.X.1) so
every component can keep its usual port, and addresses in endpoints differ per cluster.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

from flotilla.api import ClusterName

MAX_MEMBERS = 10
DEFAULT_MEMBERS = 3
HUB = ClusterName("hub")

APISERVER_PORT = 6443
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
CONTROLLER_MANAGER_PORT = 10257
SCHEDULER_PORT = 10259
DNS_PORT = 53
"""Each member's clusterset.local DNS, UDP and TCP, on its own address."""
ECHO_PORT = 8079
"""Each member's echo server, the backend of ``flotilla connectivity test``, on its
``echo_address``."""

Role = Literal["hub", "member"]

# (name, region, zone, env): spread over regions and environments so that placement by
# labels, spread over regions and weights by region all have something to choose between.
_MEMBERS: tuple[tuple[str, str, str, str], ...] = (
    ("us-east", "us-east", "us-east-1a", "production"),
    ("eu-west", "eu-west", "eu-west-1a", "production"),
    ("ap-south", "ap-south", "ap-south-1a", "staging"),
    ("us-west", "us-west", "us-west-2a", "production"),
    ("eu-central", "eu-central", "eu-central-1a", "staging"),
    ("ap-northeast", "ap-northeast", "ap-northeast-1a", "production"),
    ("sa-east", "sa-east", "sa-east-1a", "dev"),
    ("us-central", "us-central", "us-central-1a", "dev"),
    ("eu-north", "eu-north", "eu-north-1a", "production"),
    ("ap-southeast", "ap-southeast", "ap-southeast-1a", "staging"),
)


@dataclass(frozen=True)
class LocalCluster:
    """One control plane of the fleet."""

    name: ClusterName
    role: Role
    index: int
    labels: dict[str, str] = field(default_factory=dict)
    nodes: int = 0

    @property
    def address(self) -> str:
        return f"127.0.{self.index + 1}.1"

    @property
    def server(self) -> str:
        return f"https://{self.address}:{APISERVER_PORT}"

    @property
    def etcd_url(self) -> str:
        return f"http://{self.address}:{ETCD_CLIENT_PORT}"

    @property
    def service_cidr(self) -> str:
        return f"10.{96 + self.index}.0.0/16"

    @property
    def echo_address(self) -> str:
        """Where the member's echo server listens: the last address of its pod range, put on
        the loopback interface (an EndpointSlice may not hold a 127.0.0.0/8 address)."""
        return str(ipaddress.ip_network(self.pod_cidr).broadcast_address - 1)

    @property
    def pod_cidr(self) -> str:
        return f"10.{self.index}.0.0/16"

    @property
    def kubernetes_service_ip(self) -> str:
        return str(next(ipaddress.ip_network(self.service_cidr).hosts()))

    @property
    def ports(self) -> dict[str, int]:
        """Ports this cluster's components listen on, at its address."""
        ports = {
            "etcd": ETCD_CLIENT_PORT,
            "etcd-peer": ETCD_PEER_PORT,
            "kube-apiserver": APISERVER_PORT,
            "kube-controller-manager": CONTROLLER_MANAGER_PORT,
        }
        if self.role == "member":
            ports["kube-scheduler"] = SCHEDULER_PORT
            ports["clusterset-dns"] = DNS_PORT
        return ports


def fleet_topology(members: int, *, nodes_per_member: int = 3) -> list[LocalCluster]:
    """The hub followed by ``members`` member clusters."""
    if not 1 <= members <= MAX_MEMBERS:
        raise ValueError(f"--members must be between 1 and {MAX_MEMBERS}, not {members}")
    clusters = [LocalCluster(name=HUB, role="hub", index=0, labels={"flotilla.io/role": "hub"})]
    for index, (name, region, zone, env) in enumerate(_MEMBERS[:members], start=1):
        labels = {
            "region": region,
            "zone": zone,
            "env": env,
            "topology.kubernetes.io/region": region,
            "topology.kubernetes.io/zone": zone,
        }
        clusters.append(
            LocalCluster(
                name=ClusterName(name),
                role="member",
                index=index,
                labels=labels,
                nodes=nodes_per_member,
            )
        )
    return clusters
