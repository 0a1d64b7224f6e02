"""What a Placement may write on members: its own namespace, never a reserved one, and no
cluster-scoped object unless the hub admin allows the kind. Pure.

Whoever may create Placements, Overrides and templates in a hub namespace is a tenant of
that namespace; the controller writes on members with far more rights than the tenant has.
So a Placement's reach on members is its namespace:

- A namespace is *reserved* when it is in :data:`DEFAULT_RESERVED_NAMESPACES` (the
  system's own) or in the admin's additions. A Placement in a reserved namespace places
  nothing and says why; a rendered manifest whose ``metadata.namespace`` is reserved is
  refused. The admin may allow single reserved namespaces again (``allowed_reserved``).
- A rendered manifest without ``metadata.namespace``, or of one of the kinds in
  :data:`REFUSED_CLUSTER_KINDS` (every cluster-scoped kind Kubernetes serves, and
  Flotilla's Cluster), is cluster-scoped and refused: a ClusterRoleBinding to
  cluster-admin, a webhook that sees every request or a CRD would reach far past the
  namespace. The admin allows kinds one by one (``allowed_cluster_kinds``), as
  ``Kind.group`` (``Kind`` for the core group), the way Kubernetes writes a GroupKind.

Custom kinds that are cluster-scoped on a member are known only from that member's REST
mapping: planning sees a namespace in them, so the controller must ask
:meth:`TenancyPolicy.allows_cluster_scoped` when the member maps a kind as cluster-scoped.

A namespace Flotilla creates on a member carries its ``managed-by`` and ``hub`` labels (and
is never pruned: it may come to hold what others put there). A namespace that exists on a
member without them belongs to someone else (argocd, cert-manager, a team's own):
Placements write into it only where the admin lets them (``adoptable_namespaces``; ``*``
for a single team that owns its members).

The policy is decided by the hub admin (controller settings), never by anything a tenant
can write in its namespace. A refusal holds what is on members (nothing is pruned for it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_RESERVED_NAMESPACES = frozenset(
    {"kube-system", "kube-public", "kube-node-lease", "flotilla-system"}
)

REFUSED_CLUSTER_KINDS = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ComponentStatus",
        "MutatingWebhookConfiguration.admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration.admissionregistration.k8s.io",
        "ValidatingAdmissionPolicy.admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io",
        "MutatingAdmissionPolicy.admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding.admissionregistration.k8s.io",
        "CustomResourceDefinition.apiextensions.k8s.io",
        "APIService.apiregistration.k8s.io",
        "CertificateSigningRequest.certificates.k8s.io",
        "ClusterTrustBundle.certificates.k8s.io",
        "FlowSchema.flowcontrol.apiserver.k8s.io",
        "PriorityLevelConfiguration.flowcontrol.apiserver.k8s.io",
        "IngressClass.networking.k8s.io",
        "IPAddress.networking.k8s.io",
        "ServiceCIDR.networking.k8s.io",
        "RuntimeClass.node.k8s.io",
        "ClusterRole.rbac.authorization.k8s.io",
        "ClusterRoleBinding.rbac.authorization.k8s.io",
        "DeviceClass.resource.k8s.io",
        "ResourceSlice.resource.k8s.io",
        "PriorityClass.scheduling.k8s.io",
        "CSIDriver.storage.k8s.io",
        "CSINode.storage.k8s.io",
        "StorageClass.storage.k8s.io",
        "VolumeAttachment.storage.k8s.io",
        "VolumeAttributesClass.storage.k8s.io",
        "StorageVersionMigration.storagemigration.k8s.io",
        "Cluster.flotilla.io",
    }
)
"""Cluster-scoped kinds, as ``Kind.group``: refused even when a manifest names a namespace."""


@dataclass(frozen=True)
class TenancyPolicy:
    """The hub admin's decisions; the default is the safe one.

    ``reserved_namespaces`` replaces the default set, so extend it:
    ``TenancyPolicy(reserved_namespaces=DEFAULT_RESERVED_NAMESPACES | {"argocd"})``.
    """

    reserved_namespaces: frozenset[str] = DEFAULT_RESERVED_NAMESPACES
    allowed_reserved: frozenset[str] = frozenset()
    allowed_cluster_kinds: frozenset[str] = frozenset()
    adoptable_namespaces: frozenset[str] = frozenset()
    """Member namespaces Flotilla did not create that Placements may write into anyway
    (``*``: any, the common single-team case)."""

    def __post_init__(self) -> None:
        for name in (
            "reserved_namespaces",
            "allowed_reserved",
            "allowed_cluster_kinds",
            "adoptable_namespaces",
        ):
            value: Iterable[str] = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"{name} is a set of names, not one string")
            object.__setattr__(self, name, frozenset(value))

    def is_reserved(self, namespace: str) -> bool:
        return namespace in self.reserved_namespaces and namespace not in self.allowed_reserved

    def may_adopt(self, namespace: str) -> bool:
        """Whether Placements may write into ``namespace`` on a member that already has it
        and where Flotilla did not create it."""
        return "*" in self.adoptable_namespaces or namespace in self.adoptable_namespaces

    def allows_cluster_scoped(self, group: str, kind: str) -> bool:
        """Whether a tenant may place a cluster-scoped object of this kind (``*``: any)."""
        return (
            "*" in self.allowed_cluster_kinds
            or group_kind(group, kind) in self.allowed_cluster_kinds
        )

    def namespace_refusal(self, namespace: str) -> str | None:
        """Why a Placement in ``namespace`` may place nothing (None: it may place)."""
        if not self.is_reserved(namespace):
            return None
        return (
            f"namespace {namespace} is reserved: Placements in it place nothing "
            "unless the hub admin allows the namespace"
        )

    def manifest_refusal(self, manifest: Mapping[str, Any]) -> str | None:
        """Why ``manifest`` may not be written on a member (None: it may)."""
        api_version = str(manifest.get("apiVersion") or "")
        kind = str(manifest.get("kind") or "")
        group = api_version.rpartition("/")[0]
        metadata = manifest.get("metadata")
        namespace = metadata.get("namespace") if isinstance(metadata, Mapping) else None
        name = group_kind(group, kind)
        if (not namespace or name in REFUSED_CLUSTER_KINDS) and not self.allows_cluster_scoped(
            group, kind
        ):
            return (
                f"{name} is cluster-scoped: a Placement places only namespaced objects "
                "unless the hub admin allows the kind"
            )
        if isinstance(namespace, str) and self.is_reserved(namespace):
            return (
                f"namespace {namespace} is reserved: nothing is placed in it "
                "unless the hub admin allows the namespace"
            )
        return None


DEFAULT_TENANCY = TenancyPolicy()


def group_kind(group: str, kind: str) -> str:
    """``Kind.group``, or ``Kind`` for the core group: how Kubernetes writes a GroupKind."""
    return f"{kind}.{group}" if group else kind
