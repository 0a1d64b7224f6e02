"""Rendering: a hub template turned into the manifest one member cluster gets. Pure.

The hub is a real API server, so a template read from it carries what that server added:
identity and bookkeeping (uid, resourceVersion, managedFields, ...), ``status``, and values
allocated on the hub that mean nothing on a member (a Service's cluster IPs and node
ports, a Namespace's ``kubernetes`` finalizer, a Job's generated controller-uid selector).
:func:`strip_server_fields` removes those; applying them would fail or pin a member to the
hub's allocations. Finalizers in ``metadata`` are kept: no controller runs on the hub to add
any, so they are the user's.

:func:`render` then sets the cluster's replica share, applies the override rules for the
cluster in order (:mod:`flotilla.propagation.overrides`) and adds the labels by which
Flotilla finds what it manages. The same inputs always give the same output, key order
included: no timestamps, hashes or generations are added, so an unchanged template renders
to an unchanged apply body.

Replicas: a template that leaves ``spec.replicas`` out (because an HPA or a person scales
the workload on the member) gets no ``spec.replicas``, even with Divided scheduling, so
that server-side apply leaves the field to its owner there. The hub defaults a missing
``spec.replicas`` of a Deployment, StatefulSet or ReplicaSet to 1, so the field alone does
not say whether the user set it; when the template carries ``managedFields`` the field
counts as set only if some field manager owns it. A manager that wrote with a plain create
or update (``kubectl create``, client-side ``kubectl apply``) owns the defaulted value as
well; only server-side apply of a template without replicas keeps it unowned.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from flotilla.api.labels import MANAGED_BY, MANAGED_BY_LABEL, OWNER_LABELS, PLACEMENT_LABEL
from flotilla.api.placement import OverrideRule
from flotilla.propagation.overrides import (
    MAX_PATCH_OPERATIONS,
    RenderError,
    apply_rule,
    rule_applies,
)

__all__ = [
    "MANAGED_BY",
    "MANAGED_BY_LABEL",
    "PLACEMENT_LABEL",
    "RenderError",
    "apply_order",
    "managed_labels",
    "prune_order",
    "render",
    "strip_server_fields",
]

_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "ownerReferences",  # they point at hub objects
)
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_JOB_UID_LABELS = ("batch.kubernetes.io/controller-uid", "controller-uid")


def managed_labels(placement_namespace: str, placement_name: str) -> dict[str, str]:
    """The labels that mark an object on a member as written for this Placement."""
    return {
        PLACEMENT_LABEL: f"{placement_namespace}.{placement_name}",
        MANAGED_BY_LABEL: MANAGED_BY,
    }


def strip_server_fields(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``manifest`` without what the hub's API server added to it."""
    result: dict[str, Any] = copy.deepcopy(dict(manifest))
    result.pop("status", None)
    metadata = result.get("metadata")
    if isinstance(metadata, dict):
        for key in _SERVER_METADATA:
            metadata.pop(key, None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict) and _LAST_APPLIED in annotations:
            del annotations[_LAST_APPLIED]
            if not annotations:
                del metadata["annotations"]
    spec = result.get("spec")
    if not isinstance(spec, dict):
        return result
    match _group_kind(result):
        case ("", "Service"):
            _strip_service(spec)
        case ("", "Namespace"):
            spec.pop("finalizers", None)
            if not spec:
                del result["spec"]
        case ("", "PersistentVolumeClaim"):
            # Bound on the hub it never is (no binder runs there); a static binding names a
            # member's PersistentVolume, so it belongs in a per-cluster override.
            spec.pop("volumeName", None)
        case ("batch", "Job"):
            _strip_job(spec)
    return result


def render(
    template: Mapping[str, Any],
    *,
    placement: tuple[str, str],
    cluster: str,
    replicas: int | None,
    rules: Sequence[OverrideRule],
    cluster_labels: Mapping[str, str],
) -> dict[str, Any]:
    """The manifest to apply to ``cluster`` for ``template`` of ``placement`` (namespace, name).

    ``replicas`` is the cluster's share, or None to keep the template's; it is set only
    when the template sets ``spec.replicas`` (see the module docstring). Rules are matched
    against the hub template and applied in order; errors name the rule by its 1-based
    position in ``rules``. At most :data:`MAX_PATCH_OPERATIONS` JSON patch operations
    apply to one manifest, over all its rules. Raises RenderError.
    """
    manifest = strip_server_fields(template)
    spec = manifest.get("spec")
    if isinstance(spec, dict) and "replicas" in spec:
        if not sets_replicas(template):
            del spec["replicas"]
        elif replicas is not None:
            spec["replicas"] = replicas
    operations = 0
    for number, rule in enumerate(rules, 1):
        if not rule_applies(
            rule, cluster=cluster, cluster_labels=cluster_labels, template=template
        ):
            continue
        if operations + len(rule.json_patches) > MAX_PATCH_OPERATIONS:
            index = MAX_PATCH_OPERATIONS - operations + 1
            raise RenderError(
                f"more than {MAX_PATCH_OPERATIONS} JSON patch operations for one manifest",
                subject=_subject(template),
                step=f"JSON patch {index} ({rule.json_patches[index - 1].op} "
                f"{rule.json_patches[index - 1].path})",
                rule=number,
            )
        operations += len(rule.json_patches)
        try:
            manifest = apply_rule(manifest, rule)
        except RenderError as exc:
            raise exc.in_rule(number) from None
        if _identity(manifest) != _identity(template):
            raise RenderError(
                "an override may not change apiVersion, kind, metadata.name or metadata.namespace",
                subject=_subject(template),
                step="identity check",
                rule=number,
            )
    metadata = manifest.get("metadata")
    if not isinstance(metadata, dict):
        metadata = manifest["metadata"] = {}
    # A template's own owner labels (another Placement's, an Application's) would make the
    # object look owned by someone else on the member: only this Placement's are kept.
    labels = {k: v for k, v in (metadata.get("labels") or {}).items() if k not in OWNER_LABELS}
    metadata["labels"] = {**labels, **managed_labels(*placement)}
    return manifest


def _subject(template: Mapping[str, Any]) -> str:
    return f"{template.get('kind')} {(template.get('metadata') or {}).get('name')}"


def _identity(manifest: Mapping[str, Any]) -> tuple[Any, ...]:
    metadata = manifest.get("metadata")
    meta = metadata if isinstance(metadata, Mapping) else {}
    return (
        manifest.get("apiVersion"),
        manifest.get("kind"),
        meta.get("name"),
        meta.get("namespace"),
    )


_APPLY_CLASSES: dict[tuple[str, str], int] = {
    ("", "Namespace"): 0,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): 1,
    # What pods and their controllers refer to, or are limited by.
    **{
        group_kind: 2
        for group_kind in (
            ("", "ServiceAccount"),
            ("", "ConfigMap"),
            ("", "Secret"),
            ("", "PersistentVolume"),
            ("", "PersistentVolumeClaim"),
            ("", "ResourceQuota"),
            ("", "LimitRange"),
            ("storage.k8s.io", "StorageClass"),
            ("scheduling.k8s.io", "PriorityClass"),
            ("rbac.authorization.k8s.io", "Role"),
            ("rbac.authorization.k8s.io", "ClusterRole"),
            ("rbac.authorization.k8s.io", "RoleBinding"),
            ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        )
    },
    ("", "Service"): 3,
    **{
        group_kind: 4
        for group_kind in (
            ("", "Pod"),
            ("", "ReplicationController"),
            ("apps", "Deployment"),
            ("apps", "StatefulSet"),
            ("apps", "DaemonSet"),
            ("apps", "ReplicaSet"),
            ("batch", "Job"),
            ("batch", "CronJob"),
        )
    },
}
_OTHER = 5


def apply_order(manifests: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``manifests`` in the order to apply them: namespaces, CRDs, what workloads refer to
    (service accounts, RBAC, config, secrets, storage, quotas), services, workloads, then
    everything else (custom resources, HPAs, ingresses, ...). Stable within each class.

    Kinds are matched with their API group, so a custom kind named Service is "else".
    """
    return sorted(
        (dict(manifest) for manifest in manifests),
        key=lambda manifest: _APPLY_CLASSES.get(_group_kind(manifest), _OTHER),
    )


def prune_order(manifests: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The order to delete ``manifests`` in: the reverse of :func:`apply_order`."""
    return apply_order(manifests)[::-1]


def _group_kind(manifest: Mapping[str, Any]) -> tuple[str, str]:
    api_version = str(manifest.get("apiVersion") or "")
    group = api_version.rpartition("/")[0]
    return group, str(manifest.get("kind") or "")


def _strip_service(spec: dict[str, Any]) -> None:
    # "None" is a headless Service, which the user asked for; an address was allocated.
    if spec.get("clusterIP") != "None":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    spec.pop("healthCheckNodePort", None)
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.pop("nodePort", None)


def _strip_job(spec: dict[str, Any]) -> None:
    """Remove the selector and labels the API server generates from the hub Job's uid.

    With ``manualSelector: true`` the selector is the user's and is kept as it is.
    """
    if spec.get("manualSelector") is True:
        return
    selector = spec.get("selector")
    if isinstance(selector, dict):
        match_labels = selector.get("matchLabels")
        if isinstance(match_labels, dict):
            for key in _JOB_UID_LABELS:
                match_labels.pop(key, None)
            if not match_labels:
                del selector["matchLabels"]
        if not selector:
            del spec["selector"]
    template = spec.get("template")
    metadata = template.get("metadata") if isinstance(template, dict) else None
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    if isinstance(labels, dict):
        for key in _JOB_UID_LABELS:
            labels.pop(key, None)


def sets_replicas(template: Mapping[str, Any]) -> bool:
    """Whether the user set ``spec.replicas`` (as opposed to the hub defaulting it)."""
    metadata = template.get("metadata")
    entries = metadata.get("managedFields") if isinstance(metadata, Mapping) else None
    if not entries or not isinstance(entries, list):
        return True  # no field ownership to go by (e.g. a manifest read from a file)
    return any(
        "f:replicas" in ((entry.get("fieldsV1") or {}).get("f:spec") or {})
        for entry in entries
        if isinstance(entry, dict)
    )
