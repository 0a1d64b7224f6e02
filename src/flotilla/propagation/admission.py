"""The hub's admission for what members receive: a tenant gets no more on a member than in
its hub namespace.

Overrides rewrite templates after the hub admitted them, so a Placement could otherwise
send a member what the hub would refuse in the same namespace (``privileged``,
``hostPath``, another ``serviceAccountName``). Before anything is applied, every rendered
manifest is sent to the hub as a server-side dry-run *create* in the Placement's namespace
(``dryRun=All``, a generated name, so the template itself and immutable fields never get
in the way): the hub's ValidatingAdmissionPolicies, webhooks and quotas judge it as they
would judge it created there. Pod Security admission enforces only on Pods (for a
Deployment it merely warns), so the pod template of every workload kind is dry-run created
as a Pod too: a namespace labelled ``pod-security.kubernetes.io/enforce: restricted`` on the
hub refuses a ``privileged`` container that an Override adds. A refusal keeps the
manifest off every member and its message (which names the policy) goes into the
Placement's status. Nothing is persisted on the hub.

Answers are remembered per rendered form (its digest) for ``REMEMBER`` seconds, so an
unchanged Placement costs nothing per pass, and a changed hub policy is seen within that
time. When the hub cannot be asked (a timeout, a 5xx), the manifest is not applied this
pass: unsure never means "send it".
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from flotilla.api.placement import ResourceStatus
from flotilla.kube import ApiError, KubeClient, KubeError, RestMapper, resource_path
from flotilla.propagation.applier import digest
from flotilla.propagation.status import resource_status
from flotilla.runtime.clock import Clock

REMEMBER = 60.0
UNSURE = "the hub's admission could not be asked; not applied this pass"
PASSING = "not yet: "
"""The start of a refusal that is expected to clear by itself (asked again soon)."""
CONCURRENCY = 8
"""Dry-run requests to the hub in flight at once, per pass."""
MAX_REMEMBERED = 10_000


class HubAdmission:
    def __init__(self, hub: KubeClient, mapper: RestMapper, *, clock: Clock) -> None:
        self._hub = hub
        self._mapper = mapper
        self._clock = clock
        self._answers: dict[str, tuple[float, str]] = {}

    async def admitted(
        self, desired: dict[str, list[dict[str, Any]]]
    ) -> tuple[dict[str, list[dict[str, Any]]], list[ResourceStatus], bool]:
        """``desired`` (per cluster) without what the hub refuses, those refusals, and
        whether some answer is worth asking for again soon (unsure, or about to change)."""
        unique = {digest(m): m for manifests in desired.values() for m in manifests}
        semaphore = asyncio.Semaphore(CONCURRENCY)

        async def ask(manifest: dict[str, Any]) -> str:
            async with semaphore:
                return await self.refusal(manifest)

        answers = dict(
            zip(unique, await asyncio.gather(*(ask(m) for m in unique.values())), strict=True)
        )
        admitted: dict[str, list[dict[str, Any]]] = {}
        refused: list[ResourceStatus] = []
        for cluster, manifests in desired.items():
            admitted[cluster] = []
            for manifest in manifests:
                if answer := answers[digest(manifest)]:
                    refused.append(resource_status(cluster, manifest, error=answer))
                else:
                    admitted[cluster].append(manifest)
        retry = any(a == UNSURE or a.startswith(PASSING) for a in answers.values())
        return admitted, refused, retry

    async def refusal(self, manifest: dict[str, Any]) -> str:
        """Why the hub would refuse ``manifest`` in its namespace ("" when it admits it)."""
        key = digest(manifest)
        now = self._clock.monotonic()
        known = self._answers.get(key)
        if known is not None and now - known[0] < REMEMBER:
            return known[1]
        answer = await self._ask(manifest)
        if answer is None:  # unsure this time: refuse, remember nothing
            return UNSURE
        if answer.startswith(PASSING):  # soon to change: remember nothing
            return answer
        if len(self._answers) >= MAX_REMEMBERED:
            self._answers.clear()
        self._answers[key] = (now, answer)
        return answer

    async def _ask(self, manifest: dict[str, Any]) -> str | None:
        api_version, kind = str(manifest["apiVersion"]), str(manifest["kind"])
        meta = manifest.get("metadata") or {}
        try:
            info = await self._mapper.resource_for(api_version, kind)
        except (KubeError, ValueError):
            return None
        namespace = str(meta.get("namespace") or "") if info.namespaced else None
        body = copy.deepcopy(manifest)
        name = str(meta.get("name") or "")
        body["metadata"].pop("name", None)
        body["metadata"]["generateName"] = f"{name[:50]}-"
        collection = resource_path(api_version, info.plural, namespace=namespace)
        answer = await self._dry_run(collection, body, secret=(api_version, kind) == SECRET)
        pod = pod_of(manifest)
        if answer == "" and pod is not None and namespace:
            answer = await self._judge_pod(pod, namespace)
        return answer

    async def _judge_pod(self, pod: dict[str, Any], namespace: str) -> str | None:
        pods = resource_path("v1", "pods", namespace=namespace)
        answer = await self._dry_run(pods, pod, secret=False, what="its pod template")
        if answer and answer.startswith(PASSING) and pod["spec"].get("serviceAccountName"):
            # A ServiceAccount that exists only on members (workload identity, say): judge
            # the pod as the namespace's default account runs it; policies on the pod's
            # fields (Pod Security, VAPs) are what this check is for.
            pod = copy.deepcopy(pod)
            pod["spec"].pop("serviceAccountName", None)
            pod["spec"].pop("serviceAccount", None)
            answer = await self._dry_run(pods, pod, secret=False, what="its pod template")
        return answer

    async def _dry_run(
        self, collection: str, body: dict[str, Any], *, secret: bool, what: str = "it"
    ) -> str | None:
        """ "" when the hub admits ``body``, why not when it refuses, None when unsure."""
        namespace = (body.get("metadata") or {}).get("namespace")
        try:
            await self._hub.request("POST", collection, params={"dryRun": "All"}, body=body)
        except ApiError as exc:
            if exc.status >= 500 or exc.status == 429:
                return None
            if (
                collection.endswith("/pods")
                and exc.status == 403
                and "exceeded quota" in exc.message
            ):
                return ""  # the hub's quota counts the template already; members' quotas count
            if exc.status == 403 and "error looking up service account" in exc.message:
                # The ServiceAccount admission plugin runs before Pod Security: without the
                # account on the hub the pod cannot be judged. A namespace's `default` one
                # appears moments after the namespace; a named one must exist on the hub.
                return (
                    f"{PASSING}the hub has no such ServiceAccount in namespace {namespace}, "
                    f"so it cannot judge {what}; create it there (a template, say)"
                )
            if exc.status in (400, 403, 422):
                if secret:  # a policy's message may quote the Secret's data
                    return f"the hub refuses {what} in namespace {namespace} ({exc.reason})"
                return f"the hub refuses {what} in namespace {namespace}: {exc.message}"[:400]
            return None
        except KubeError:
            return None
        return ""


SECRET = ("v1", "Secret")
_POD_TEMPLATES: dict[tuple[str, str], tuple[str, ...]] = {
    ("apps", "Deployment"): ("spec", "template"),
    ("apps", "StatefulSet"): ("spec", "template"),
    ("apps", "DaemonSet"): ("spec", "template"),
    ("apps", "ReplicaSet"): ("spec", "template"),
    ("batch", "Job"): ("spec", "template"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template"),
    ("", "ReplicationController"): ("spec", "template"),
}


def pod_of(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The Pod a workload manifest's pod template makes (None: not a workload kind)."""
    group = str(manifest.get("apiVersion") or "").rpartition("/")[0]
    where = _POD_TEMPLATES.get((group, str(manifest.get("kind") or "")))
    if where is None:
        return None
    node: Any = manifest
    for key in where:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict) or not isinstance(node.get("spec"), dict):
        return None
    meta = manifest.get("metadata") or {}
    raw_meta = node.get("metadata")
    template_meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    spec = copy.deepcopy(node["spec"])
    if (group, manifest.get("kind")) == ("apps", "StatefulSet"):
        _claim_volumes(manifest, spec)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": f"{str(meta.get('name') or 'pod')[:50]}-",
            "namespace": meta.get("namespace"),
            "labels": dict(template_meta.get("labels") or {}),
            "annotations": dict(template_meta.get("annotations") or {}),
        },
        "spec": spec,
    }


def _claim_volumes(statefulset: dict[str, Any], spec: dict[str, Any]) -> None:
    """The volumes a StatefulSet's controller adds to its pods for volumeClaimTemplates."""
    claims = (statefulset.get("spec") or {}).get("volumeClaimTemplates") or []
    name = str((statefulset.get("metadata") or {}).get("name") or "")
    raw = spec.get("volumes")
    volumes: list[Any] = raw if isinstance(raw, list) else []
    have = {v.get("name") for v in volumes if isinstance(v, dict)}
    for claim in claims:
        claim_name = (
            ((claim or {}).get("metadata") or {}).get("name") if isinstance(claim, dict) else None
        )
        if isinstance(claim_name, str) and claim_name not in have:
            claim_ref = {"claimName": f"{claim_name}-{name}-0"}
            volumes.append({"name": claim_name, "persistentVolumeClaim": claim_ref})
    if volumes:
        spec["volumes"] = volumes


__all__ = ["HubAdmission", "pod_of"]
