"""Checking a member before it is registered: reachable, TLS valid, credentials accepted,
and enough RBAC for what Flotilla does there. Each failure says what is wrong and how to
fix it; none of them shows a credential.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flotilla.kube import (
    ConnectionConfig,
    Forbidden,
    KubeClient,
    KubeError,
    RequestTimeout,
    TlsError,
    TransportError,
    Unauthorized,
    resource_path,
)

# (verb, API group, resource) Flotilla needs on a member: it reads nodes for capacity and
# creates, patches, watches and prunes whatever workloads users place there.
REQUIRED_ACCESS: tuple[tuple[str, str, str], ...] = (
    ("list", "", "nodes"),
    ("get", "", "namespaces"),
    ("create", "", "namespaces"),
    ("patch", "", "namespaces"),
    ("create", "apps", "deployments"),
    ("patch", "apps", "deployments"),
    ("delete", "apps", "deployments"),
    ("watch", "apps", "deployments"),
    ("patch", "", "services"),
    ("patch", "", "configmaps"),
    ("delete", "", "configmaps"),
)


class VerificationError(Exception):
    """The member is not usable as it is; the message says what to fix."""


@dataclass(frozen=True)
class MemberInfo:
    server: str
    version: str
    nodes: int
    latency_ms: float


async def verify_member(config: ConnectionConfig, *, timeout: float = 5.0) -> MemberInfo:
    async with KubeClient(config, timeout=timeout) as client:
        start = time.perf_counter()
        try:
            version = await client.get("/version")
            latency = (time.perf_counter() - start) * 1000
            nodes = await client.get(resource_path("v1", "nodes"), limit="500")
        except TlsError as exc:
            raise VerificationError(
                f"TLS to {config.server} failed: the server's certificate is not signed by the "
                "kubeconfig's certificate authority (or the client certificate was refused); "
                "check certificate-authority-data for this cluster"
            ) from exc
        except RequestTimeout as exc:
            raise VerificationError(
                f"{config.server} accepted the connection but did not answer within "
                f"{timeout:g}s; is the API server overloaded or hung?"
            ) from exc
        except TransportError as exc:
            raise VerificationError(
                f"cannot reach {config.server} ({_cause(exc)}); check the server address in "
                "the kubeconfig and that the cluster is running"
            ) from exc
        except Unauthorized as exc:
            raise VerificationError(
                f"{config.server} rejected the credentials (401 Unauthorized): the token or "
                "client certificate is wrong, expired, or from another cluster"
            ) from exc
        except Forbidden:
            nodes = None
        except KubeError as exc:
            raise VerificationError(f"{config.server} answered with an error: {exc}") from exc
        missing = await _missing_access(client)
    if missing:
        raise VerificationError(
            f"the credentials for {config.server} lack permissions Flotilla needs: "
            f"{', '.join(missing)}; let `flotilla cluster add --service-account` create a "
            "least-privilege ServiceAccount on the member, or grant them (deploy/member/)"
        )
    return MemberInfo(
        server=config.server,
        version=str((version or {}).get("gitVersion") or ""),
        nodes=len((nodes or {}).get("items") or []),
        latency_ms=latency,
    )


async def _missing_access(client: KubeClient) -> list[str]:
    missing = []
    path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    for verb, group, resource in REQUIRED_ACCESS:
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "group": group, "resource": resource}},
        }
        answer = await client.create(path, review)
        if not ((answer or {}).get("status") or {}).get("allowed"):
            missing.append(f"{verb} {resource}" + (f".{group}" if group else ""))
    return missing


def _cause(exc: TransportError) -> str:
    text = str(exc)
    for hint in ("Connection refused", "Name or service not known", "No route to host"):
        if hint.lower() in text.lower():
            return hint.lower()
    return text.split(": ", 2)[-1][:120]
