"""Rancher Fleet's ``GitRepo`` and ``ClusterGroup`` (fleet.cattle.io/v1alpha1), served by
Flotilla.

A GitRepo names a repository, a branch (or a revision), paths in it and targets; every
directory under those paths with a ``fleet.yaml`` is a bundle (and each path is one, with
or without). Flotilla deploys each bundle to each cluster a target chooses as one Argo CD
``Application`` in the GitRepo's namespace (Flotilla's unit of sync, with its health,
prune, self-heal and deletion guard), owned by the GitRepo; the GitRepo's status shows the
bundles and their per-cluster states as Fleet does (Ready, NotReady, WaitApplied,
ErrApplied, OutOfSync, Modified). Fleet's ``Bundle`` and ``BundleDeployment`` objects are
not served: the Applications are their place.

Cluster groups are Fleet's: a ``ClusterGroup`` selects registered Clusters by label, a
target's ``clusterGroup`` names one of the GitRepo's namespace, ``clusterGroupSelector``
selects groups by their labels. A GitRepo without targets targets the group ``default``,
as in Fleet (nothing, until such a group exists).
"""

from __future__ import annotations

import datetime

from pydantic import Field

from flotilla.api.application import MAX_LIST, MAX_PATH_LENGTH, MAX_REVISION_LENGTH, MAX_URL_LENGTH
from flotilla.api.meta import Condition, Model
from flotilla.api.placement import MAX_NAME_LENGTH, PruneRecord
from flotilla.api.selectors import LabelSelector

FLEET_GROUP = "fleet.cattle.io"
FLEET_VERSION = "v1alpha1"
DEFAULT_BRANCH = "master"
"""Fleet's default branch."""
DEFAULT_POLLING = "15s"
DEFAULT_GROUP = "default"


class GitTarget(Model):
    """Which clusters a GitRepo deploys to: every criterion given must hold."""

    name: str = Field(default="", max_length=MAX_NAME_LENGTH, description="The target's name.")
    cluster_name: str = Field(default="", max_length=MAX_NAME_LENGTH)
    cluster_selector: LabelSelector | None = None
    cluster_group: str = Field(default="", max_length=MAX_NAME_LENGTH)
    cluster_group_selector: LabelSelector | None = None


class CorrectDrift(Model):
    enabled: bool = Field(default=False, description="Revert changes made on the clusters.")


class GitRepoSpec(Model):
    repo: str = Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="Git repository URL, without credentials (they go in a repository Secret "
        "in flotilla-system, as for Applications).",
    )
    client_secret_name: str = Field(
        default="",
        max_length=MAX_NAME_LENGTH,
        description="Fleet's per-GitRepo credentials: not supported (a GitRepo naming one is "
        "refused); use a repository Secret in flotilla-system.",
    )
    branch: str = Field(default="", max_length=MAX_REVISION_LENGTH, description="Default master.")
    revision: str = Field(
        default="", max_length=MAX_REVISION_LENGTH, description="A tag or commit (wins)."
    )
    paths: list[str] = Field(
        default_factory=list, max_length=MAX_LIST, description="Directories (default: the root)."
    )
    polling_interval: str = Field(default="", max_length=32, description="Default 15s.")
    target_namespace: str = Field(
        default="", max_length=63, description="Every bundle's namespace, whatever it says."
    )
    targets: list[GitTarget] = Field(default_factory=list, max_length=MAX_LIST)
    paused: bool = Field(default=False, description="Deploy no new commit.")
    keep_resources: bool = Field(
        default=False, description="Leave the objects on the clusters when the GitRepo goes."
    )
    correct_drift: CorrectDrift | None = None


class BundleCluster(Model):
    cluster: str
    state: str = Field(description="Ready, NotReady, WaitApplied, ErrApplied, OutOfSync, Modified.")
    message: str = Field(default="", max_length=1024)
    application: str = Field(default="", max_length=MAX_NAME_LENGTH)


class BundleStatus(Model):
    name: str
    path: str = Field(default="", max_length=MAX_PATH_LENGTH)
    clusters: list[BundleCluster] = Field(default_factory=list)


class Display(Model):
    ready_bundle_deployments: str = ""
    state: str = ""
    message: str = Field(default="", max_length=1024)


class Summary(Model):
    desired_ready: int = 0
    ready: int = 0
    not_ready: int = 0
    wait_applied: int = 0
    err_applied: int = 0
    out_of_sync: int = 0
    modified: int = 0


class GitRepoStatus(Model):
    observed_generation: int | None = None
    commit: str = Field(default="", description="The commit deployed.")
    last_polling_time: datetime.datetime | None = None
    conditions: list[Condition] = Field(default_factory=list, description="Ready, Accepted.")
    display: Display | None = None
    summary: Summary | None = None
    bundles: list[BundleStatus] = Field(default_factory=list)
    prune_guard: list[PruneRecord] = Field(default_factory=list)
    prune_confirmation_used: str = ""


class ClusterGroupSpec(Model):
    selector: LabelSelector | None = Field(
        default=None, description="The registered Clusters in the group (none: no cluster)."
    )


class ClusterGroupStatus(Model):
    cluster_count: int = 0
    clusters: list[str] = Field(default_factory=list)


__all__ = [
    "DEFAULT_BRANCH",
    "DEFAULT_GROUP",
    "DEFAULT_POLLING",
    "FLEET_GROUP",
    "FLEET_VERSION",
    "BundleCluster",
    "BundleStatus",
    "ClusterGroupSpec",
    "ClusterGroupStatus",
    "CorrectDrift",
    "Display",
    "GitRepoSpec",
    "GitRepoStatus",
    "GitTarget",
    "Summary",
]
