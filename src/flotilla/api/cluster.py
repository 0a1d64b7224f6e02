"""``Cluster``: a member cluster registered on the hub (cluster-scoped).

Its credentials live in a Secret in ``flotilla-system``, never in the Cluster itself, so
the Cluster can be shown to anyone who may read it. Labels for placement are the object's
own ``metadata.labels``; ``region`` and ``zone`` are also copied there as labels by the CLI.
"""

from __future__ import annotations

import datetime
from typing import Literal

from pydantic import Field

from flotilla.api.meta import SYSTEM_NAMESPACE, Condition, Model

UNREACHABLE_TAINT = "flotilla.io/unreachable"


class SecretKeyRef(Model):
    """Where a member's kubeconfig is stored on the hub."""

    namespace: str = Field(default=SYSTEM_NAMESPACE, description="Namespace.")
    name: str = Field(min_length=1, description="Secret name.")
    key: str = Field(default="kubeconfig", description="Key holding the kubeconfig.")


class Taint(Model):
    """Keeps placements off the cluster unless they tolerate it."""

    key: str = Field(min_length=1, description="Taint key.")
    value: str = Field(default="", description="Taint value.")
    effect: Literal["NoSchedule", "NoExecute"] = Field(
        description="NoSchedule keeps new work off; NoExecute also moves work away."
    )
    time_added: datetime.datetime | None = Field(default=None, description="When it was added.")


class ProbeSettings(Model):
    """How the controller checks the cluster's health."""

    period_seconds: float = Field(default=1.0, ge=0.2, le=300, description="Time between probes.")
    timeout_seconds: float = Field(
        default=2.0, ge=0.1, le=60, description="Client-side timeout of a probe."
    )
    failure_threshold: int = Field(
        default=3, ge=1, le=100, description="Failed probes in a row to be NotReady."
    )


class ClusterSpec(Model):
    """Where the member is, how to reach it, and how placement should treat it."""

    kubeconfig_secret_ref: SecretKeyRef = Field(
        description="The Secret with the member's kubeconfig."
    )
    region: str = Field(default="", description="Region, for spread and failover.")
    zone: str = Field(default="", description="Zone within the region.")
    taints: list[Taint] = Field(default_factory=list, description="Taints set by users.")
    weight: int = Field(default=1, ge=0, le=1000, description="Relative weight for placement.")
    probe: ProbeSettings = Field(
        default_factory=ProbeSettings, description="Health probe settings."
    )


class ClusterStatus(Model):
    """What the controller observed of the member, by probing it."""

    conditions: list[Condition] = Field(default_factory=list, description="Ready and Reachable.")
    kubernetes_version: str = Field(default="", description="The member's version.")
    nodes: int = Field(default=0, description="Number of nodes.")
    ready_nodes: int = Field(default=0, description="Nodes whose Ready is True.")
    capacity: dict[str, str] = Field(default_factory=dict, description="Summed node capacity.")
    allocatable: dict[str, str] = Field(default_factory=dict, description="Summed allocatable.")
    api_latency_ms: float | None = Field(
        default=None, description="Latency of the last successful probe."
    )
    last_probe_time: datetime.datetime | None = Field(
        default=None, description="When the last probe ran."
    )
    consecutive_failures: int = Field(default=0, description="Failed probes in a row.")
    taints: list[Taint] = Field(default_factory=list, description="Taints set by the controller.")
