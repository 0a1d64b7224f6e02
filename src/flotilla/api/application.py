"""``Application`` (argoproj.io/v1alpha1): a git source rendered onto one cluster, kept there.

Flotilla serves Argo CD's own kind rather than a flotilla.io copy of it. ApplicationSets
(the seed's among them) generate argoproj.io Applications, Argo users' manifests and
``kubectl get applications`` work as they are, and there is one kind to learn. The price is
that a hub runs Flotilla's GitOps or Argo CD, not both: when the ``applications.argoproj.io``
CRD exists and is not Flotilla's, ``flotilla hub install`` leaves it alone and the controller
leaves every Application to whoever owns it (see ``flotilla.gitops.ownership``).

The fields are Argo CD's, with Argo CD's meaning, for what Flotilla implements; a field it
does not implement is not in the schema, so the API server refuses it (kubectl's strict
field validation names it) instead of silently ignoring it. ``status`` is Argo CD's shape
(``sync``, ``health``, ``resources``, ``history``, ``operationState``, ``conditions`` with
Argo's condition types) plus the deletion guard's memory, which Argo CD does not have.

Bounds as in :mod:`flotilla.api.placement`: every list and string has one, in the CRD and
in these models.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import Field

from flotilla.api.meta import Model
from flotilla.api.placement import MAX_NAME_LENGTH, PruneRecord

ARGO_GROUP = "argoproj.io"
ARGO_VERSION = "v1alpha1"
ARGO_API_VERSION = f"{ARGO_GROUP}/{ARGO_VERSION}"

DEFAULT_APP_NAMESPACES = ("argocd", "fleet-default")
"""Where the controller looks for Applications, ApplicationSets and GitRepos unless told
(Argo CD's namespace, and Fleet's for the clusters it manages); ``hub install`` makes them."""

RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
"""Argo CD's: the Application's objects are removed from its cluster before it goes."""
CASCADE_FINALIZERS = frozenset({RESOURCES_FINALIZER, f"{RESOURCES_FINALIZER}/background"})
"""Argo CD's foreground finalizer and its ``/background`` form: Flotilla removes the
objects first either way."""

MAX_URL_LENGTH = 2048
MAX_PATH_LENGTH = 1024
MAX_REVISION_LENGTH = 255
MAX_LIST = 100
MAX_VALUES_LENGTH = 256 * 1024
MAX_HISTORY = 100
DEFAULT_HISTORY = 10
MAX_STATUS_RESOURCES = 5000
"""Per-object entries kept in an Application's status (Argo CD keeps them all)."""

RELEASE_NAME_PATTERN = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$"
"""Helm's rule for release names (or empty: the Application's name)."""
NOT_AN_OPTION_PATTERN = r"^([^-].*)?$"
"""Does not start with ``-``: the value is an argument of helm or git, never one of their flags."""

SyncStatus = Literal["Synced", "OutOfSync", "Unknown"]
HealthStatus = Literal["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"]
ResourceSync = Literal["Synced", "OutOfSync", "Missing", "Extraneous", "Unknown"]
OperationPhase = Literal["Running", "Succeeded", "Failed", "Error", "Terminating"]


class ApplicationSourceDirectory(Model):
    recurse: bool = Field(default=False, description="Read subdirectories too.")
    include: str = Field(
        default="", max_length=MAX_PATH_LENGTH, description="Glob (or {a,b}) of files to read."
    )
    exclude: str = Field(
        default="", max_length=MAX_PATH_LENGTH, description="Glob (or {a,b}) of files to skip."
    )


class HelmParameter(Model):
    name: str = Field(min_length=1, max_length=MAX_PATH_LENGTH, description="A --set key.")
    value: str = Field(default="", max_length=MAX_VALUES_LENGTH, description="Its value.")
    force_string: bool = Field(default=False, description="--set-string instead of --set.")


class ApplicationSourceHelm(Model):
    release_name: str = Field(
        default="",
        max_length=53,
        pattern=RELEASE_NAME_PATTERN,
        description="Helm release name (dot-separated DNS labels); the Application's name.",
    )
    value_files: list[str] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        description="Values files, relative to the chart.",
    )
    values: str = Field(
        default="", max_length=MAX_VALUES_LENGTH, description="Inline values, as YAML text."
    )
    values_object: dict[str, Any] | None = Field(
        default=None, description="Inline values as an object (wins over values)."
    )
    parameters: list[HelmParameter] = Field(
        default_factory=list, max_length=MAX_LIST, description="--set parameters."
    )
    skip_crds: bool = Field(default=False, description="Leave the chart's crds/ out.")


class ApplicationSourceKustomize(Model):
    name_prefix: str = Field(default="", max_length=MAX_NAME_LENGTH)
    name_suffix: str = Field(default="", max_length=MAX_NAME_LENGTH)
    images: list[str] = Field(
        default_factory=list, max_length=MAX_LIST, description="Image overrides, name=ref."
    )
    common_labels: dict[str, str] = Field(default_factory=dict, max_length=MAX_LIST)
    namespace: str = Field(default="", max_length=63)


class PluginEnv(Model):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    value: str = Field(default="", max_length=MAX_VALUES_LENGTH)


class PluginParameter(Model):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    string: str | None = Field(default=None, max_length=MAX_VALUES_LENGTH)
    array: list[str] | None = Field(default=None, max_length=MAX_LIST)
    map: dict[str, str] | None = Field(default=None, max_length=MAX_LIST)


class ApplicationSourcePlugin(Model):
    """Argo CD's config management plugin source. Flotilla has one plugin, built in:
    ``fleet-overlays`` (Fleet's raw-YAML overlays; parameters ``overlays`` and ``exclude``)."""

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    env: list[PluginEnv] = Field(default_factory=list, max_length=MAX_LIST)
    parameters: list[PluginParameter] = Field(default_factory=list, max_length=MAX_LIST)


class ApplicationSource(Model):
    repo_url: str = Field(
        alias="repoURL",
        min_length=1,
        max_length=MAX_URL_LENGTH,
        pattern=NOT_AN_OPTION_PATTERN,
        description="Git repository (https, http, ssh, git, file) or Helm repository URL.",
    )
    target_revision: str = Field(
        default="HEAD",
        max_length=MAX_REVISION_LENGTH,
        description="Branch, tag or commit (git); chart version (Helm repository).",
    )
    path: str = Field(
        default="", max_length=MAX_PATH_LENGTH, description="Directory in the repository."
    )
    chart: str = Field(
        default="",
        max_length=MAX_NAME_LENGTH,
        pattern=NOT_AN_OPTION_PATTERN,
        description="Chart name in a Helm repository.",
    )
    directory: ApplicationSourceDirectory | None = None
    helm: ApplicationSourceHelm | None = None
    kustomize: ApplicationSourceKustomize | None = None
    plugin: ApplicationSourcePlugin | None = None


class ApplicationDestination(Model):
    server: str = Field(
        default="", max_length=MAX_URL_LENGTH, description="A registered cluster's API URL."
    )
    name: str = Field(
        default="", max_length=MAX_NAME_LENGTH, description="A registered cluster's name."
    )
    namespace: str = Field(
        default="", max_length=63, description="Namespace for objects that name none."
    )


class SyncPolicyAutomated(Model):
    prune: bool = Field(default=False, description="Delete what is no longer in git.")
    self_heal: bool = Field(default=False, description="Revert changes made on the cluster.")
    allow_empty: bool = Field(
        default=False, description="Allow a sync that leaves the Application with nothing."
    )
    enabled: bool | None = Field(default=None, description="false turns automation off.")


class Backoff(Model):
    duration: str = Field(default="5s", max_length=32, description="First wait, e.g. 5s.")
    factor: int = Field(default=2, ge=1, le=100, description="Each wait is this times longer.")
    max_duration: str = Field(default="3m", max_length=32, description="Longest wait.")


class RetryStrategy(Model):
    limit: int = Field(default=5, ge=-1, le=1000, description="Retries (-1: no limit).")
    backoff: Backoff | None = None


class SyncPolicy(Model):
    automated: SyncPolicyAutomated | None = None
    sync_options: list[str] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        description="Options such as CreateNamespace=true, PruneLast=true.",
    )
    retry: RetryStrategy | None = None


class ResourceIgnoreDifferences(Model):
    """Fields of matching objects a comparison leaves out (Argo CD's ``ignoreDifferences``)."""

    group: str = Field(default="", max_length=MAX_NAME_LENGTH, description='"" is the core group.')
    kind: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    name: str = Field(default="", max_length=MAX_NAME_LENGTH, description="Any when empty.")
    namespace: str = Field(default="", max_length=MAX_NAME_LENGTH, description="Any when empty.")
    json_pointers: list[str] = Field(
        default_factory=list, max_length=MAX_LIST, description="RFC 6901 pointers: /spec/replicas."
    )
    jq_path_expressions: list[str] = Field(
        default_factory=list, max_length=MAX_LIST, description="Not supported: use jsonPointers."
    )
    managed_fields_managers: list[str] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        description="Fields these field managers own are left out too.",
    )


class ApplicationSpec(Model):
    project: str = Field(default="default", max_length=MAX_NAME_LENGTH)
    source: ApplicationSource
    destination: ApplicationDestination
    sync_policy: SyncPolicy | None = None
    ignore_differences: list[ResourceIgnoreDifferences] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        description="Fields a comparison (and self-heal) leaves out; with the sync option "
        "RespectIgnoreDifferences=true a sync keeps their live values too.",
    )
    revision_history_limit: int | None = Field(
        default=None, ge=0, le=MAX_HISTORY, description="Sync history kept (default 10)."
    )

    def automated(self) -> bool:
        auto = self.sync_policy.automated if self.sync_policy else None
        return auto is not None and auto.enabled is not False

    def option(self, name: str) -> bool:
        """Whether sync option ``name`` (``CreateNamespace``) is set to true."""
        options = self.sync_policy.sync_options if self.sync_policy else []
        return any(o.replace(" ", "").lower() == f"{name.lower()}=true" for o in options)


class SyncOperation(Model):
    revision: str = Field(default="", max_length=MAX_REVISION_LENGTH)
    prune: bool = False
    dry_run: bool = False
    sync_options: list[str] = Field(default_factory=list, max_length=MAX_LIST)


class OperationInitiator(Model):
    username: str = Field(default="", max_length=MAX_NAME_LENGTH)
    automated: bool = False


class Operation(Model):
    sync: SyncOperation | None = None
    initiated_by: OperationInitiator | None = None


class ResourceHealth(Model):
    status: str = Field(default="", max_length=32)
    message: str = Field(default="", max_length=1024)


class ResourceStatus(Model):
    group: str = ""
    version: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    status: str = Field(default="", description="Synced, OutOfSync, Missing or Extraneous.")
    health: ResourceHealth | None = None
    message: str = Field(default="", max_length=1024, description="Why it is not synced.")
    requires_pruning: bool = False


class SyncStatusInfo(Model):
    status: str = "Unknown"
    revision: str = ""


class HealthInfo(Model):
    status: str = "Unknown"
    message: str = Field(default="", max_length=1024)


class HistoryEntry(Model):
    id: int
    revision: str
    deployed_at: datetime.datetime | None = None
    deploy_started_at: datetime.datetime | None = None
    source: ApplicationSource | None = None
    phase: str = Field(default="", description="The sync's result: Succeeded or Failed.")
    digest: str = Field(default="", description="Digest of the rendered manifests.")
    message: str = Field(default="", max_length=1024, description="The commit's subject.")


class ResourceResult(Model):
    group: str = ""
    version: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    status: str = Field(default="", description="Synced, SyncFailed, Pruned or PruneSkipped.")
    message: str = Field(default="", max_length=1024)


class SyncResult(Model):
    revision: str = ""
    resources: list[ResourceResult] = Field(default_factory=list)
    source: ApplicationSource | None = None


class OperationState(Model):
    operation: Operation | None = None
    phase: str = ""
    message: str = Field(default="", max_length=4096)
    started_at: datetime.datetime | None = None
    finished_at: datetime.datetime | None = None
    retry_count: int = 0
    sync_result: SyncResult | None = None


class AppCondition(Model):
    """Argo CD's condition: a type and a message (ComparisonError, SyncError, ...)."""

    type: str
    message: str = Field(default="", max_length=4096)
    last_transition_time: datetime.datetime | None = None


class ApplicationStatus(Model):
    sync: SyncStatusInfo | None = None
    health: HealthInfo | None = None
    resources: list[ResourceStatus] = Field(
        default_factory=list, description=f"Per object, at most {MAX_STATUS_RESOURCES}."
    )
    history: list[HistoryEntry] = Field(default_factory=list, max_length=MAX_HISTORY)
    conditions: list[AppCondition] = Field(default_factory=list)
    operation_state: OperationState | None = None
    reconciled_at: datetime.datetime | None = None
    source_type: str = Field(default="", description="Directory, Kustomize, Helm or Plugin.")
    observed_generation: int | None = None
    prune_guard: list[PruneRecord] = Field(
        default_factory=list, description="What the deletion guard holds and has let through."
    )
    prune_confirmation_used: str = Field(
        default="", description="The prune confirmation a pass has used (it counts once)."
    )


__all__ = [
    "ARGO_API_VERSION",
    "ARGO_GROUP",
    "ARGO_VERSION",
    "CASCADE_FINALIZERS",
    "DEFAULT_APP_NAMESPACES",
    "RESOURCES_FINALIZER",
    "AppCondition",
    "ApplicationDestination",
    "ApplicationSource",
    "ApplicationSpec",
    "ApplicationStatus",
    "HistoryEntry",
    "Operation",
    "OperationState",
    "ResourceIgnoreDifferences",
    "ResourceStatus",
    "SyncOperation",
    "SyncPolicy",
]
