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
