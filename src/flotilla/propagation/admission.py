"""The hub's admission for what members receive: a tenant gets no more on a member than in
its hub namespace.

Overrides rewrite templates after the hub admitted them, so a Placement could otherwise
send a member what the hub would refuse in the same namespace (``privileged``,
``hostPath``, another ``serviceAccountName``). Before anything is applied, every rendered
manifest is sent to the hub as a server-side dry-run *create* in the Placement's namespace
(``dryRun=All``, a generated name, so the template itself and immutable fields never get
in the way): the hub's ValidatingAdmissionPolicies, webhooks, Pod Security admission and
quotas judge it as they would judge the tenant creating it there. A refusal keeps the
manifest off every member and its message (which names the policy) goes into the
Placement's status. Nothing is persisted on the hub.

Answers are remembered per rendered form (its digest) for ``REMEMBER`` seconds, so an
unchanged Placement costs nothing per pass, and a changed hub policy is seen within that
time. When the hub cannot be asked (a timeout, a 5xx), the manifest is not applied this
pass: unsure never means "send it".
"""

from __future__ import annotations

import copy
from typing import Any

from flotilla.kube import ApiError, KubeClient, KubeError, RestMapper, resource_path
from flotilla.propagation.applier import digest
from flotilla.runtime.clock import Clock

REMEMBER = 60.0
MAX_REMEMBERED = 10_000


class HubAdmission:
    def __init__(self, hub: KubeClient, mapper: RestMapper, *, clock: Clock) -> None:
        self._hub = hub
        self._mapper = mapper
        self._clock = clock
        self._answers: dict[str, tuple[float, str]] = {}

    async def refusal(self, manifest: dict[str, Any]) -> str:
        """Why the hub would refuse ``manifest`` in its namespace ("" when it admits it)."""
        key = digest(manifest)
        now = self._clock.monotonic()
        known = self._answers.get(key)
        if known is not None and now - known[0] < REMEMBER:
            return known[1]
        answer = await self._ask(manifest)
        if answer is None:  # unsure this time: refuse, remember nothing
            return "the hub's admission could not be asked; not applied this pass"
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
        try:
            await self._hub.request("POST", collection, params={"dryRun": "All"}, body=body)
        except ApiError as exc:
            if exc.status >= 500 or exc.status == 429:
                return None
            if exc.status in (400, 403, 422):
                return f"the hub refuses it in namespace {namespace}: {exc.message}"[:400]
            return None
        except KubeError:
            return None
        return ""


__all__ = ["HubAdmission"]
