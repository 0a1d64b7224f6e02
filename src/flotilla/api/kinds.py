"""The kinds of flotilla.io/v1alpha1 and how their CRDs present them."""

from __future__ import annotations

from flotilla.api.cluster import ClusterSpec, ClusterStatus
from flotilla.api.crds import KindInfo, PrinterColumn

CLUSTER = KindInfo(
    kind="Cluster",
    plural="clusters",
    scope="Cluster",
    spec=ClusterSpec,
    status=ClusterStatus,
    description="A member cluster registered on the hub; its credentials are in a Secret.",
    short_names=("fcl",),
    columns=(
        PrinterColumn("Ready", "string", '.status.conditions[?(@.type=="Ready")].status'),
        PrinterColumn("Version", "string", ".status.kubernetesVersion"),
        PrinterColumn("Nodes", "integer", ".status.nodes"),
        PrinterColumn("Region", "string", ".spec.region"),
        PrinterColumn("Zone", "string", ".spec.zone", priority=1),
        PrinterColumn("Latency-ms", "number", ".status.apiLatencyMs", priority=1),
        PrinterColumn("Age", "date", ".metadata.creationTimestamp"),
    ),
)

ALL_KINDS: tuple[KindInfo, ...] = (CLUSTER,)
