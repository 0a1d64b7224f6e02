"""URL paths of the Kubernetes REST API, built from apiVersion, plural, namespace and name."""

from __future__ import annotations

from urllib.parse import quote


def resource_path(
    api_version: str, plural: str, *, namespace: str | None = None, name: str | None = None
) -> str:
    """``/api/v1/namespaces/ns/pods/p`` or ``/apis/apps/v1/namespaces/ns/deployments``."""
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    parts = [base]
    if namespace is not None:
        parts.append(f"namespaces/{quote(namespace, safe='')}")
    parts.append(plural)
    if name is not None:
        parts.append(quote(name, safe=""))
    return "/".join(parts)


# Kinds Flotilla itself writes, before discovery is available: kind -> (plural, namespaced).
WELL_KNOWN: dict[tuple[str, str], tuple[str, bool]] = {
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "ServiceAccount"): ("serviceaccounts", True),
    ("v1", "Secret"): ("secrets", True),
    ("v1", "ConfigMap"): ("configmaps", True),
    ("v1", "Service"): ("services", True),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("clusterroles", False),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("clusterrolebindings", False),
    ("rbac.authorization.k8s.io/v1", "Role"): ("roles", True),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("rolebindings", True),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): (
        "customresourcedefinitions",
        False,
    ),
    ("coordination.k8s.io/v1", "Lease"): ("leases", True),
    ("policy/v1", "PodDisruptionBudget"): ("poddisruptionbudgets", True),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"): (
        "validatingadmissionpolicies",
        False,
    ),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"): (
        "validatingadmissionpolicybindings",
        False,
    ),
}


def object_path(manifest: dict[str, object]) -> str:
    """The path of a manifest of a well-known kind (see ``WELL_KNOWN``)."""
    api_version, kind = str(manifest.get("apiVersion")), str(manifest.get("kind"))
    try:
        plural, namespaced = WELL_KNOWN[(api_version, kind)]
    except KeyError:
        raise ValueError(f"no path known for {api_version} {kind}") from None
    metadata = manifest.get("metadata")
    meta = metadata if isinstance(metadata, dict) else {}
    namespace = str(meta.get("namespace") or "default") if namespaced else None
    return resource_path(api_version, plural, namespace=namespace, name=str(meta.get("name")))
