"""What a request path names: a collection, an object, or an object's subresource.

Parsed the way kube-apiserver's RequestInfoFactory does it: ``/api/v1`` or
``/apis/<group>/<version>``, then ``namespaces/<ns>/`` for namespaced resources, then the
resource, the name and the subresource. ``/api/v1/namespaces/<name>/status`` is the
Namespace's own status, not a resource named ``status`` in it.

Objects of a resource live together whatever namespace path wrote them, so that
``/apis/apps/v1/deployments`` lists every namespace's Deployments while
``/apis/apps/v1/namespaces/web/deployments`` lists one namespace's.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True)
class Target:
    resource: str
    """The resource's collection across all namespaces: ``/apis/apps/v1/deployments``."""
    api_version: str
    plural: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def qualified(self) -> str:
        """``deployments.apps`` or ``configmaps``: how a real server's messages name it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def key(self) -> str:
        assert self.name is not None
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def holds(self, obj: dict[str, object]) -> bool:
        """Whether ``obj`` of this resource is in this (maybe namespaced) collection."""
        metadata = obj.get("metadata")
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        return self.namespace is None or namespace == self.namespace


def parse(path: str) -> Target | None:
    """The target of ``path``, or None for paths that name no resource (``/version``)."""
    parts = [unquote(part) for part in path.strip("/").split("/")]
    if len(parts) >= 2 and parts[0] == "api":
        prefix, api_version, rest = f"/api/{parts[1]}", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        prefix, api_version, rest = (
            f"/apis/{parts[1]}/{parts[2]}",
            f"{parts[1]}/{parts[2]}",
            parts[3:],
        )
    else:
        return None
    namespace = None
    if len(rest) > 2 and rest[0] == "namespaces" and rest[2] not in NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3 or not all(rest):
        return None
    return Target(
        resource=f"{prefix}/{rest[0]}",
        api_version=api_version,
        plural=rest[0],
        namespace=namespace,
        name=rest[1] if len(rest) > 1 else None,
        subresource=rest[2] if len(rest) > 2 else None,
    )
