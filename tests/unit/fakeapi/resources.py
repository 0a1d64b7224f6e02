"""What the fake knows of resources before anything is written: kinds, status subresources.

Kinds name lists (``DeploymentList``); the status subresources say which resources keep
status apart from the rest, as the real ones do (Flotilla's CRDs declare it for every kind
with a status).
"""

from __future__ import annotations

from flotilla.api import ALL_KINDS
from flotilla.kube.paths import WELL_KNOWN, resource_path


def default_kinds() -> dict[str, str]:
    kinds = {resource_path(v, plural): kind for (v, kind), (plural, _) in WELL_KNOWN.items()}
    kinds |= {resource_path(info.api_version, info.plural): info.kind for info in ALL_KINDS}
    kinds |= {
        "/api/v1/nodes": "Node",
        "/api/v1/pods": "Pod",
        "/apis/apps/v1/statefulsets": "StatefulSet",
        "/apis/apps/v1/daemonsets": "DaemonSet",
        "/apis/batch/v1/jobs": "Job",
        "/apis/events.k8s.io/v1/events": "Event",
    }
    return kinds


def default_status_subresources() -> set[str]:
    flotilla = {resource_path(i.api_version, i.plural) for i in ALL_KINDS if i.status is not None}
    core = {f"/api/v1/{plural}" for plural in ("namespaces", "nodes", "pods", "services")}
    apps = {f"/apis/apps/v1/{plural}" for plural in ("deployments", "statefulsets", "daemonsets")}
    return flotilla | core | apps | {"/apis/batch/v1/jobs"}
