"""``Placement`` and ``Override``: which templates of a hub namespace go to which clusters,
how their replicas are shared, and how they differ per cluster.

A Placement lives in the namespace of its templates and selects them by kind and name or
labels. Scheduling picks clusters (affinity, tolerations, spread, maxClusters) and divides
replicas; rendering applies overrides (inline rules of the Placement, then the rules of
every ``Override`` of the namespace whose resource selectors match); propagation applies
the result with server-side apply and reports back in ``status``.

Every list, string and map of a spec has an upper bound, stated in the CRD (so the API
server refuses an object past it) and enforced by these models (so the controller refuses
one stored before the limit existed). Lengths are Kubernetes' own where it has one; counts
are far above honest use and keep the work one object can ask for small. A JSON patch's
``value`` is any JSON and has no bound of its own: the object's size bounds it, and
rendering caps what patches can grow a manifest to (:mod:`flotilla.propagation.overrides`).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from flotilla.api.meta import Condition, Model
from flotilla.api.selectors import (
    MAX_LABEL_KEY_LENGTH,
    MAX_LABEL_VALUE_LENGTH,
    LabelSelector,
    LabelValue,
)

MAX_STATUS_RESOURCES = 100
"""Per-resource status entries kept in a Placement's status; the rest are counted only."""

MAX_RESOURCE_SELECTORS = 100
"""Resource selectors of a Placement, or of one override rule."""
MAX_OVERRIDE_RULES = 100
"""Inline override rules of a Placement, and rules of one Override."""
MAX_JSON_PATCHES = 1000
"""JSON patch operations of one override rule."""
MAX_IMAGE_OVERRIDES = 100
MAX_CLUSTER_NAMES = 1000
"""Cluster names in one list (clusterNames, excludeClusters, a static weight's clusters)."""
MAX_TOLERATIONS = 100
MAX_SPREAD_CONSTRAINTS = 16
MAX_STATIC_WEIGHTS = 100
MAX_LABELS = 100
"""Labels, or annotations, that one override rule adds."""
MAX_NAME_LENGTH = 253
"""An object name: a DNS subdomain."""
MAX_KIND_LENGTH = 63
MAX_API_VERSION_LENGTH = 317
"""A group (a DNS subdomain, 253), ``/``, and a version (63)."""
MAX_JSON_POINTER_LENGTH = 1024
MAX_IMAGE_PART_LENGTH = 255
"""A registry, repository or tag an image override sets (Docker's longest part is 255)."""
MAX_ANNOTATION_VALUE_LENGTH = 256 * 1024
"""All annotations of an object together may hold 256 KiB, so one value can too."""

ClusterName = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH)]
AnnotationValue = Annotated[str, StringConstraints(max_length=MAX_ANNOTATION_VALUE_LENGTH)]


class ResourceSelector(Model):
    """Templates in the Placement's namespace: by kind, and by name or labels (or all)."""

    api_version: str = Field(
        min_length=1, max_length=MAX_API_VERSION_LENGTH, description="apiVersion, e.g. apps/v1."
    )
    kind: str = Field(
        min_length=1, max_length=MAX_KIND_LENGTH, description="Kind, e.g. Deployment."
    )
    name: str = Field(
        default="",
        max_length=MAX_NAME_LENGTH,
        description="One template by name; empty for all/labels.",
    )
    label_selector: LabelSelector | None = Field(
        default=None, description="Templates whose labels match."
    )


class ClusterAffinity(Model):
    cluster_names: list[ClusterName] = Field(
        default_factory=list,
        max_length=MAX_CLUSTER_NAMES,
        description="Only these clusters (empty: any).",
    )
    label_selector: LabelSelector | None = Field(
        default=None, description="Only clusters whose labels match."
    )
    exclude_clusters: list[ClusterName] = Field(
        default_factory=list, max_length=MAX_CLUSTER_NAMES, description="Never these."
    )

    def matches(self, cluster: str, labels: Mapping[str, str]) -> bool:
        """Whether the cluster of that name and labels is one this affinity allows."""
        if self.cluster_names and cluster not in self.cluster_names:
            return False
        if self.label_selector is not None and not self.label_selector.matches(labels):
            return False
        return cluster not in self.exclude_clusters


class Toleration(Model):
    """Lets the Placement use clusters with a matching taint."""

    key: str = Field(
        default="",
        max_length=MAX_LABEL_KEY_LENGTH,
        description="Taint key; empty with Exists matches all.",
    )
    operator: Literal["Equal", "Exists"] = Field(default="Equal", description="Equal or Exists.")
    value: str = Field(
        default="", max_length=MAX_LABEL_VALUE_LENGTH, description="Taint value for Equal."
    )
    effect: Literal["", "NoSchedule", "NoExecute"] = Field(
        default="", description="Taint effect; empty matches all effects."
    )


class SpreadConstraint(Model):
    """Spread chosen clusters over the values of a cluster label, such as region."""

    topology_key: str = Field(
        min_length=1, max_length=MAX_LABEL_KEY_LENGTH, description="Cluster label, e.g. region."
    )
    min_groups: int = Field(default=1, ge=1, description="At least this many distinct values.")
    max_groups: int | None = Field(default=None, ge=1, description="At most this many.")


class StaticWeight(Model):
    cluster_names: list[ClusterName] = Field(
        default_factory=list, max_length=MAX_CLUSTER_NAMES, description="Clusters by name."
    )
    label_selector: LabelSelector | None = Field(default=None, description="Clusters by label.")
    weight: int = Field(ge=0, le=10000, description="Relative share of replicas.")


class ReplicaScheduling(Model):
    type: Literal["Duplicated", "Divided"] = Field(
        default="Duplicated",
        description="Duplicated: every cluster gets the template's replicas; "
        "Divided: they are shared out.",
    )
    weighting: Literal["Static", "Dynamic"] = Field(
        default="Static",
        description="Divided by staticWeights (default 1 each), or by allocatable capacity.",
    )
    static_weights: list[StaticWeight] = Field(
        default_factory=list,
        max_length=MAX_STATIC_WEIGHTS,
        description="Weights by cluster name or labels; first match wins.",
    )


class Failover(Model):
    enabled: bool = Field(default=True, description="Move work off NotReady clusters.")
    toleration_seconds: int = Field(
        default=10, ge=0, le=86400, description="How long a NotReady cluster keeps its share."
    )
    failback: bool = Field(
        default=True, description="Move work back when the cluster is Ready again."
    )


class DeletionGuard(Model):
    max_delete_percent: int = Field(
        default=50,
        ge=0,
        le=100,
        description="A pass may prune at most this share of a cluster's managed objects "
        "without `flotilla placement confirm-prune`.",
    )
    grace_period_seconds: int = Field(
        default=5,
        ge=0,
        le=3600,
        description="An object is pruned only once it has been unwanted this long: a "
        "template deleted and created again within it is not a delete.",
    )


class ImageOverride(Model):
    component: Literal["Registry", "Repository", "Tag"] = Field(
        description="Which part of every container image to change."
    )
    operator: Literal["replace", "addIfAbsent", "remove"] = Field(
        default="replace", description="replace, addIfAbsent or remove."
    )
    value: str = Field(
        default="",
        max_length=MAX_IMAGE_PART_LENGTH,
        description="The new registry, repository or tag.",
    )


class JsonPatchOperation(Model):
    """One RFC 6902 operation."""

    op: Literal["add", "remove", "replace", "move", "copy", "test"] = Field(
        description="The operation."
    )
    path: str = Field(
        max_length=MAX_JSON_POINTER_LENGTH, description="JSON pointer, e.g. /spec/replicas."
    )
    value: Any = Field(default=None, description="Value for add, replace and test.")
    from_: str | None = Field(
        default=None,
        alias="from",
        max_length=MAX_JSON_POINTER_LENGTH,
        description="Source for move/copy.",
    )


class OverrideRule(Model):
    """Changes to rendered manifests for the clusters it targets."""

    target_clusters: ClusterAffinity | None = Field(
        default=None, description="Clusters this rule is for (empty: all)."
    )
    resource_selectors: list[ResourceSelector] = Field(
        default_factory=list,
        max_length=MAX_RESOURCE_SELECTORS,
        description="Templates this rule is for (empty: all).",
    )
    image_overrides: list[ImageOverride] = Field(
        default_factory=list, max_length=MAX_IMAGE_OVERRIDES, description="Images."
    )
    json_patches: list[JsonPatchOperation] = Field(
        default_factory=list, max_length=MAX_JSON_PATCHES, description="RFC 6902 patches."
    )
    labels: dict[str, LabelValue] = Field(
        default_factory=dict, max_length=MAX_LABELS, description="Labels to add."
    )
    annotations: dict[str, AnnotationValue] = Field(
        default_factory=dict, max_length=MAX_LABELS, description="Annotations to add."
    )
    replicas: int | None = Field(default=None, ge=0, description="Pin spec.replicas.")


class PlacementSpec(Model):
    """Which templates go where, and how."""

    resource_selectors: list[ResourceSelector] = Field(
        min_length=1,
        max_length=MAX_RESOURCE_SELECTORS,
        description="Templates in this namespace to place.",
    )
    cluster_affinity: ClusterAffinity | None = Field(
        default=None, description="Which clusters may be chosen."
    )
    tolerations: list[Toleration] = Field(
        default_factory=list, max_length=MAX_TOLERATIONS, description="Taints tolerated."
    )
    spread_constraints: list[SpreadConstraint] = Field(
        default_factory=list,
        max_length=MAX_SPREAD_CONSTRAINTS,
        description="Spread over cluster label values.",
    )
    max_clusters: int | None = Field(default=None, ge=1, description="At most this many.")
    replica_scheduling: ReplicaScheduling = Field(
        default_factory=ReplicaScheduling, description="Duplicated or Divided replicas."
    )
    failover: Failover = Field(default_factory=Failover, description="Lost-cluster handling.")
    deletion_guard: DeletionGuard = Field(
        default_factory=DeletionGuard, description="Limit on pruning in one pass."
    )
    overrides: list[OverrideRule] = Field(
        default_factory=list,
        max_length=MAX_OVERRIDE_RULES,
        description="Inline override rules, applied before Overrides.",
    )
    deletion_policy: Literal["Delete", "Orphan"] = Field(
        default="Delete",
        description="When the Placement is deleted: Delete removes its objects from members; "
        "Orphan leaves them there, unmanaged.",
    )


class OverrideSpec(Model):
    """Override rules for Placements of this namespace."""

    rules: list[OverrideRule] = Field(
        min_length=1, max_length=MAX_OVERRIDE_RULES, description="Rules, applied in order."
    )


class Decision(Model):
    cluster: str = Field(description="A chosen cluster.")
    replicas: int | None = Field(default=None, description="Its share (Divided).")
    reason: str = Field(default="", description="Why, e.g. Scheduled or Failover.")


class ClusterSummary(Model):
    cluster: str = Field(description="Cluster name.")
    applied: int = Field(default=0, description="Objects applied.")
    failed: int = Field(default=0, description="Objects that failed.")
    desired_replicas: int = Field(default=0, description="Replicas asked for.")
    ready_replicas: int = Field(default=0, description="Ready replicas seen.")
    available_replicas: int = Field(default=0, description="Available replicas seen.")
    drift_corrections: int = Field(default=0, description="Drifts reverted.")
    stranded: bool = Field(default=False, description="Unreachable; cleanup waits for it.")


class ResourceStatus(Model):
    cluster: str = Field(description="Cluster name.")
    api_version: str = Field(description="apiVersion.")
    kind: str = Field(description="Kind.")
    namespace: str = Field(default="", description="Namespace on the member.")
    name: str = Field(description="Name.")
    applied: bool = Field(default=False, description="Last apply succeeded.")
    error: str = Field(default="", description="Why it failed.")
    observed_generation: int | None = Field(default=None, description="Member's generation.")
    desired_replicas: int | None = Field(default=None, description="Replicas asked for.")
    ready_replicas: int | None = Field(default=None, description="Ready replicas.")
    available_replicas: int | None = Field(default=None, description="Available replicas.")
    last_drift: str = Field(default="", description="Last drift: field manager and time.")


class PruneRecord(Model):
    """The deletion guard's memory for one cluster, kept in status so a new leader has it."""

    cluster: str = Field(description="Cluster name.")
    pending_since: datetime.datetime | None = Field(
        default=None, description="Since when the objects in pendingDigest are unwanted."
    )
    pending_digest: str = Field(default="", description="Which objects are waiting to go.")
    window_start: datetime.datetime | None = Field(
        default=None, description="Start of the guard's current window."
    )
    pruned_in_window: int = Field(default=0, ge=0, description="Objects pruned in it.")
    blocked_digest: str = Field(
        default="", description="Which objects the guard holds: what a confirmation lets go."
    )


class PlacementStatus(Model):
    observed_generation: int | None = Field(default=None, description="Spec generation seen.")
    conditions: list[Condition] = Field(
        default_factory=list, description="Scheduled, Applied, Available, Drifted, PruneBlocked."
    )
    decisions: list[Decision] = Field(default_factory=list, description="Chosen clusters.")
    clusters: list[ClusterSummary] = Field(default_factory=list, description="Per cluster.")
    resources: list[ResourceStatus] = Field(
        default_factory=list, description=f"Per object, at most {MAX_STATUS_RESOURCES}."
    )
    resources_total: int = Field(default=0, description="Objects in all, listed or not.")
    managed_kinds: list[str] = Field(
        default_factory=list,
        description="apiVersion/kind of everything ever applied, so pruning finds it all.",
    )
    last_failover_time: datetime.datetime | None = Field(
        default=None, description="When work last moved because of a lost cluster."
    )
    prune_guard: list[PruneRecord] = Field(
        default_factory=list,
        description="Per cluster: what the deletion guard holds and has let through.",
    )
    prune_confirmation_used: str = Field(
        default="",
        description="The confirm-prune annotation value a pass already used (valid once).",
    )
    evacuated: list[str] = Field(
        default_factory=list,
        description="Clusters failover moved work off: their copies are pruned, without "
        "the guard, once they are reachable.",
    )
