"""``ApplicationSet`` (argoproj.io/v1alpha1): Applications generated from parameter sets.

Served by Flotilla, like ``Application`` (see :mod:`flotilla.api.application`): Argo CD's
fields with Argo CD's meaning, for what Flotilla implements. Generators are kept as written
(``x-kubernetes-preserve-unknown-fields``): their shapes nest (a matrix holds a merge holds
a git generator), and :mod:`flotilla.gitops.generators` checks them, saying which generator
is wrong and why, in the ApplicationSet's status. The template's ``spec`` is an
Application's spec with parameters in its strings, so it is checked once rendered, when
each generated Application is validated as an Application.

``status`` is Argo CD's (``conditions``, ``resources``: the generated Applications with
their sync and health) plus the deletion guard's memory, which Argo CD does not have.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import Field

from flotilla.api.application import MAX_LIST
from flotilla.api.meta import Condition, Model
from flotilla.api.placement import MAX_NAME_LENGTH, PruneRecord
from flotilla.api.selectors import LabelSelectorRequirement

MAX_GENERATORS = 20
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
"""A Go duration: 30s, 1m30s, 2h."""
MAX_TEMPLATE_PATCH = 64 * 1024
MAX_STATUS_APPLICATIONS = 10_000

ApplicationsSync = Literal["create-only", "create-update", "create-delete", "sync"]


class TemplateMetadata(Model):
    name: str = Field(default="", max_length=MAX_NAME_LENGTH, description="May hold parameters.")
    namespace: str = Field(
        default="",
        max_length=MAX_NAME_LENGTH,
        description="The ApplicationSet's own namespace (the default) is the only one allowed.",
    )
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    finalizers: list[str] = Field(default_factory=list, max_length=MAX_LIST)


class ApplicationTemplate(Model):
    metadata: TemplateMetadata = Field(default_factory=TemplateMetadata)
    spec: dict[str, Any] = Field(
        default_factory=dict,
        description="An Application's spec, with parameters; checked once rendered.",
    )


class ApplicationSetSyncPolicy(Model):
    applications_sync: ApplicationsSync | None = Field(
        default=None,
        description=(
            "What the controller may do to generated Applications: create-only, "
            "create-update, create-delete, or sync (all; the default)."
        ),
    )
    preserve_resources_on_deletion: bool = Field(
        default=False,
        description="Generated Applications get no resources finalizer: deleting one leaves "
        "its objects on the cluster.",
    )


class PreservedFields(Model):
    annotations: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    labels: list[str] = Field(default_factory=list, max_length=MAX_LIST)


class RollingSyncStep(Model):
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        description="The generated Applications (by their labels) this step updates; "
        "none: every one no earlier step took.",
    )
    max_update: int | str | None = Field(
        default=None,
        description="At most this many at a time: a number (0: none, the step waits) or a "
        'percentage of the step ("25%", at least one); default all of the step.',
    )


class RollingSync(Model):
    steps: list[RollingSyncStep] = Field(default_factory=list, max_length=MAX_LIST)
    bake_time: str = Field(
        default="0s",
        max_length=32,
        pattern=DURATION_PATTERN,
        description="How long a step's Applications must stay Healthy before the next step.",
    )
    progress_deadline: str = Field(
        default="10m",
        max_length=32,
        pattern=DURATION_PATTERN,
        description="How long a step may take to become Healthy before the rollout goes back.",
    )


class Strategy(Model):
    type: Literal["AllAtOnce", "RollingSync"] = "AllAtOnce"
    rolling_sync: RollingSync | None = None


class ApplicationSetSpec(Model):
    generators: list[dict[str, Any]] = Field(
        min_length=1, max_length=MAX_GENERATORS, description="Each gives parameter sets."
    )
    template: ApplicationTemplate = Field(description="The Application each set renders.")
    go_template: bool = Field(default=False, description="Go templates instead of fasttemplate.")
    go_template_options: list[str] = Field(
        default_factory=list, max_length=4, description="Such as missingkey=error."
    )
    template_patch: str = Field(
        default="",
        max_length=MAX_TEMPLATE_PATCH,
        description="A Go template giving YAML merged into each rendered Application.",
    )
    sync_policy: ApplicationSetSyncPolicy | None = None
    strategy: Strategy | None = Field(
        default=None,
        description="RollingSync: changes reach the Applications step by step, each gated on "
        "the previous one Healthy, and go back when a step turns Degraded.",
    )
    preserved_fields: PreservedFields | None = Field(
        default=None,
        description="Labels and annotations of generated Applications kept as others set them.",
    )


class ApplicationSetResource(Model):
    """One generated Application, as Argo CD lists them."""

    group: str = "argoproj.io"
    version: str = "v1alpha1"
    kind: str = "Application"
    namespace: str = ""
    name: str = ""
    status: str = Field(default="", description="The Application's sync status.")
    health: dict[str, str] | None = Field(default=None, description="Its health.")


class RolloutStep(Model):
    step: int
    applications: list[str] = Field(default_factory=list)
    phase: str = Field(
        default="Waiting", description="Waiting, Progressing, Paused, Baking, Done, RolledBack."
    )
    started_at: datetime.datetime | None = None
    progressed_at: datetime.datetime | None = Field(
        default=None, description="When it last sent a change (its deadline counts from then)."
    )
    healthy_since: datetime.datetime | None = None


class Rollout(Model):
    """One change rolled out step by step: its record, kept until the next change."""

    target: str = Field(description="Digest of what the rollout brings the Applications to.")
    phase: str = Field(description="Progressing, Succeeded or RolledBack.")
    message: str = Field(default="", max_length=4096)
    started_at: datetime.datetime | None = None
    finished_at: datetime.datetime | None = None
    steps: list[RolloutStep] = Field(default_factory=list)
    changes: dict[str, str] = Field(
        default_factory=dict, description="The Applications it changes, and to what (digests)."
    )
    updated: list[str] = Field(default_factory=list, description="Applications changed so far.")
    restored: dict[str, str] = Field(
        default_factory=dict, description="After a rollback: what each is put back to (digests)."
    )


class ApplicationSetStatus(Model):
    observed_generation: int | None = None
    conditions: list[Condition] = Field(
        default_factory=list,
        description="ErrorOccurred, ParametersGenerated, ResourcesUpToDate (Argo CD's).",
    )
    resources: list[ApplicationSetResource] = Field(
        default_factory=list,
        description=f"The generated Applications (at most {MAX_STATUS_APPLICATIONS}).",
    )
    prune_guard: list[PruneRecord] = Field(
        default_factory=list, description="What the deletion guard holds and has let through."
    )
    prune_confirmation_used: str = Field(
        default="", description="The delete confirmation a pass has used (it counts once)."
    )
    rollout: Rollout | None = Field(default=None, description="The last RollingSync rollout.")


__all__ = [
    "MAX_STATUS_APPLICATIONS",
    "ApplicationSetResource",
    "ApplicationSetSpec",
    "ApplicationSetStatus",
    "ApplicationSetSyncPolicy",
    "ApplicationTemplate",
    "ApplicationsSync",
    "PreservedFields",
    "RollingSync",
    "RollingSyncStep",
    "Rollout",
    "RolloutStep",
    "Strategy",
    "TemplateMetadata",
]
