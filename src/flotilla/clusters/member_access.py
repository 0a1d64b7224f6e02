"""Flotilla's own, least-privilege identity on a member, for ``cluster add --service-account``.

Without it the hub stores the credentials the user registered the member with: often
cluster-admin, sometimes a person's. With it, those credentials are used once, to create on
the member a ClusterRole with only what Flotilla does there, a ServiceAccount bound to it
and a long-lived token for it (a ``kubernetes.io/service-account-token`` Secret, which the
member's token controller fills, as ``argocd cluster add`` does); the hub stores that token.
The same objects are shipped in ``deploy/member/`` for those who apply them themselves.

What Flotilla does on a member (``verify.REQUIRED_ACCESS`` checks it): reads nodes and
namespaces (health, capacity), creates the namespaces of Placements, and creates, applies,
watches and prunes objects of the kinds templates may be (``TEMPLATE_RESOURCES``, the same
list the hub's controller may read; ``flotilla.hub.manifests`` keeps its copy). Secrets and
RBAC kinds are left out: writing Roles would need ``escalate``, and Secrets are not read as
templates on the hub.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

from flotilla.clusters.verify import VerificationError
from flotilla.kube import (
    ConnectionConfig,
    Forbidden,
    KubeClient,
    KubeError,
    NotFound,
    object_path,
    resource_path,
)
from flotilla.runtime.clock import Clock, LoopClock

NAMESPACE = "flotilla-system"
SERVICE_ACCOUNT = "flotilla"
ROLE = "flotilla-member"
TOKEN_SECRET = "flotilla-token"
# Not the controller's "flotilla": a hub registered as its own member keeps its namespace's
# labels, which another apply by the same manager would take away.
FIELD_MANAGER = "flotilla-member-access"
TEMPLATE_RESOURCES: dict[str, tuple[str, ...]] = {
    "": ("configmaps", "services", "serviceaccounts", "persistentvolumeclaims"),
    "apps": ("deployments", "statefulsets", "daemonsets"),
    "batch": ("jobs", "cronjobs"),
    "autoscaling": ("horizontalpodautoscalers",),
    "policy": ("poddisruptionbudgets",),
    "networking.k8s.io": ("ingresses", "networkpolicies"),
}
_RBAC = "rbac.authorization.k8s.io"
_MCS = "multicluster.x-k8s.io"
MCS_CRDS = (
    "serviceexports.multicluster.x-k8s.io",
    "serviceimports.multicluster.x-k8s.io",
    "clusterproperties.about.k8s.io",
)
_LABELS = {"app.kubernetes.io/name": "flotilla", "app.kubernetes.io/component": "member-access"}


class MemberAccessError(VerificationError):
    """Flotilla's identity could not be set up on the member; the message says why."""


def member_rules() -> list[dict[str, Any]]:
    """The rules of the member ClusterRole."""
    read = ["get", "list", "watch"]
    write = [*read, "create", "update", "patch", "delete"]
    return [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": read},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": [*read, "create", "patch"]},
        *(
            {"apiGroups": [group], "resources": list(resources), "verbs": write}
            for group, resources in TEMPLATE_RESOURCES.items()
        ),
        # Service discovery (the clusterset): the MCS and About API CRDs, and only they may
        # be changed once there; exports read, their status written; imports and their
        # EndpointSlices written; the cluster id.
        {
            "apiGroups": ["apiextensions.k8s.io"],
            "resources": ["customresourcedefinitions"],
            "verbs": [*read, "create"],
        },
        {
            "apiGroups": ["apiextensions.k8s.io"],
            "resources": ["customresourcedefinitions"],
            "resourceNames": list(MCS_CRDS),
            "verbs": ["update", "patch"],
        },
        {"apiGroups": [_MCS], "resources": ["serviceexports"], "verbs": read},
        {"apiGroups": [_MCS], "resources": ["serviceexports/status"], "verbs": ["update", "patch"]},
        {"apiGroups": [_MCS], "resources": ["serviceimports"], "verbs": write},
        {"apiGroups": [_MCS], "resources": ["serviceimports/status"], "verbs": ["update", "patch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": write},
        {
            "apiGroups": ["about.k8s.io"],
            "resources": ["clusterproperties"],
            "verbs": [*read, "create", "patch"],
        },
    ]


def member_manifests(*, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    """ClusterRole, Namespace, ServiceAccount, binding and token Secret, in apply order."""
    subject = {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": namespace}
    in_namespace = {"name": SERVICE_ACCOUNT, "namespace": namespace, "labels": _LABELS}
    return [
        {
            "apiVersion": f"{_RBAC}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": ROLE, "labels": _LABELS},
            "rules": member_rules(),
        },
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": in_namespace},
        {
            "apiVersion": f"{_RBAC}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{ROLE}-{namespace}", "labels": _LABELS},
            "roleRef": {"apiGroup": _RBAC, "kind": "ClusterRole", "name": ROLE},
            "subjects": [subject],
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                "name": TOKEN_SECRET,
                "namespace": namespace,
                "labels": _LABELS,
                "annotations": {"kubernetes.io/service-account.name": SERVICE_ACCOUNT},
            },
        },
    ]


async def create_member_access(
    member: KubeClient,
    *,
    namespace: str = NAMESPACE,
    clock: Clock | None = None,
    timeout: float = 30.0,
) -> str:
    """Apply ``member_manifests`` with the user's client; return the ServiceAccount's token.

    Idempotent: a second run re-applies the same objects and returns the same token.
    """
    for manifest in member_manifests(namespace=namespace):
        what = f"{manifest['kind']} {manifest['metadata']['name']}"
        try:
            await member.apply(object_path(manifest), manifest, field_manager=FIELD_MANAGER)
        except Forbidden as exc:
            raise MemberAccessError(
                f"the credentials given may not create {what} on {member.server} (403): "
                "--service-account needs rights to create ClusterRoles and their bindings "
                "once (cluster-admin); or apply deploy/member/ with such rights and register "
                "with its token"
            ) from exc
        except KubeError as exc:
            raise MemberAccessError(f"cannot create {what} on {member.server}: {exc}") from exc
    return await _wait_for_token(member, namespace, clock or LoopClock(), timeout)


def with_token(connection: ConnectionConfig, token: str) -> ConnectionConfig:
    """The user's connection to the member (server, CA, TLS), authenticated by ``token``."""
    return dataclasses.replace(connection, token=token, client_cert_data=None, client_key_data=None)


async def _wait_for_token(member: KubeClient, namespace: str, clock: Clock, timeout: float) -> str:
    path = resource_path("v1", "secrets", namespace=namespace, name=TOKEN_SECRET)
    deadline = clock.monotonic() + timeout
    while True:
        try:
            secret = await member.get(path)
        except NotFound:
            secret = {}
        except KubeError as exc:
            raise MemberAccessError(
                f"cannot read Secret {namespace}/{TOKEN_SECRET} on {member.server}: {exc}"
            ) from exc
        encoded = (secret.get("data") or {}).get("token")
        if encoded:
            try:
                return base64.b64decode(encoded, validate=True).decode()
            except ValueError:  # not chained: the error could quote the token
                raise MemberAccessError(
                    f"Secret {namespace}/{TOKEN_SECRET} on {member.server} holds no valid token"
                ) from None
        if clock.monotonic() >= deadline:
            raise MemberAccessError(
                f"the token controller of {member.server} did not fill Secret "
                f"{namespace}/{TOKEN_SECRET} within {timeout:g}s; is kube-controller-manager "
                "running with --service-account-private-key-file?"
            )
        await clock.sleep(0.5)
