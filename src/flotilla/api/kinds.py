"""The kinds of flotilla.io/v1alpha1 and how their CRDs present them."""

from __future__ import annotations

from flotilla.api.application import (
    ARGO_GROUP,
    ARGO_VERSION,
    ApplicationSpec,
    ApplicationStatus,
    Operation,
)
from flotilla.api.applicationset import ApplicationSetSpec, ApplicationSetStatus
from flotilla.api.cluster import ClusterSpec, ClusterStatus
from flotilla.api.crds import KindInfo, PrinterColumn
from flotilla.api.fleet import (
    FLEET_GROUP,
    FLEET_VERSION,
    ClusterGroupSpec,
    ClusterGroupStatus,
    GitRepoSpec,
    GitRepoStatus,
)
from flotilla.api.placement import OverrideSpec, PlacementSpec, PlacementStatus

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

PLACEMENT = KindInfo(
    kind="Placement",
    plural="placements",
    scope="Namespaced",
    spec=PlacementSpec,
    status=PlacementStatus,
    description="Places templates of its namespace on member clusters.",
    short_names=("fpl",),
    columns=(
        PrinterColumn("Scheduled", "string", '.status.conditions[?(@.type=="Scheduled")].status'),
        PrinterColumn("Applied", "string", '.status.conditions[?(@.type=="Applied")].status'),
        PrinterColumn("Available", "string", '.status.conditions[?(@.type=="Available")].status'),
        PrinterColumn(
            "Drifted", "string", '.status.conditions[?(@.type=="Drifted")].status', priority=1
        ),
        PrinterColumn("Resources", "integer", ".status.resourcesTotal", priority=1),
        PrinterColumn("Age", "date", ".metadata.creationTimestamp"),
    ),
)

OVERRIDE = KindInfo(
    kind="Override",
    plural="overrides",
    scope="Namespaced",
    spec=OverrideSpec,
    status=None,
    description="Per-cluster changes to the manifests Placements of its namespace render.",
    short_names=("fov",),
    columns=(PrinterColumn("Age", "date", ".metadata.creationTimestamp"),),
)

APPLICATION = KindInfo(
    kind="Application",
    plural="applications",
    scope="Namespaced",
    spec=ApplicationSpec,
    status=ApplicationStatus,
    description=(
        "A git source rendered onto one cluster and kept in sync (Argo CD's Application, "
        "served by Flotilla)."
    ),
    short_names=("app", "apps"),
    categories=("flotilla", "argoproj"),
    columns=(
        PrinterColumn("Sync Status", "string", ".status.sync.status"),
        PrinterColumn("Health Status", "string", ".status.health.status"),
        PrinterColumn("Revision", "string", ".status.sync.revision", priority=10),
        PrinterColumn("Project", "string", ".spec.project", priority=10),
        PrinterColumn("Age", "date", ".metadata.creationTimestamp"),
    ),
    group=ARGO_GROUP,
    version=ARGO_VERSION,
    top_level=(("operation", Operation),),
)

APPLICATIONSET = KindInfo(
    kind="ApplicationSet",
    plural="applicationsets",
    scope="Namespaced",
    spec=ApplicationSetSpec,
    status=ApplicationSetStatus,
    description=(
        "Applications generated from parameter sets (Argo CD's ApplicationSet, served by Flotilla)."
    ),
    short_names=("appset", "appsets"),
    categories=("flotilla", "argoproj"),
    columns=(
        PrinterColumn(
            "Status", "string", '.status.conditions[?(@.type=="ResourcesUpToDate")].reason'
        ),
        PrinterColumn("Age", "date", ".metadata.creationTimestamp"),
    ),
    group=ARGO_GROUP,
    version=ARGO_VERSION,
)

GITREPO = KindInfo(
    kind="GitRepo",
    plural="gitrepos",
    scope="Namespaced",
    spec=GitRepoSpec,
    status=GitRepoStatus,
    description="Bundles of a git repository deployed to clusters (Rancher Fleet's GitRepo, "
    "served by Flotilla).",
    categories=("flotilla", "fleet"),
    columns=(
        PrinterColumn("Repo", "string", ".spec.repo"),
        PrinterColumn("Commit", "string", ".status.commit"),
        PrinterColumn(
            "BundleDeployments-Ready", "string", ".status.display.readyBundleDeployments"
        ),
        PrinterColumn("Status", "string", ".status.display.message"),
    ),
    group=FLEET_GROUP,
    version=FLEET_VERSION,
)

CLUSTERGROUP = KindInfo(
    kind="ClusterGroup",
    plural="clustergroups",
    scope="Namespaced",
    spec=ClusterGroupSpec,
    status=ClusterGroupStatus,
    description="Registered Clusters chosen by label, for GitRepo targets (Rancher Fleet's).",
    categories=("flotilla", "fleet"),
    columns=(PrinterColumn("Clusters-Ready", "integer", ".status.clusterCount"),),
    spec_required=False,
    group=FLEET_GROUP,
    version=FLEET_VERSION,
)

ALL_KINDS: tuple[KindInfo, ...] = (
    CLUSTER,
    PLACEMENT,
    OVERRIDE,
    APPLICATION,
    APPLICATIONSET,
    GITREPO,
    CLUSTERGROUP,
)
