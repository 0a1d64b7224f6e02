"""``flotilla hub install``: server-side apply of the hub manifests, then wait for the CRDs.

Idempotent and an in-place upgrade: server-side apply with one field manager converges the
objects to what this version generates, whatever was there.

Waiting races the API server: a CRD just created may come back with ``status`` or
``status.conditions`` still null, or with conditions that are not yet complete; all of that
means "not yet", as does a transient error. Only the timeout (on the injected clock) or a
terminal error ends the wait.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flotilla.api.labels import FIELD_MANAGER
from flotilla.hub.manifests import hub_manifests
from flotilla.kube import KubeClient, KubeError, NotFound, object_path
from flotilla.runtime.clock import Clock, LoopClock

POLL_SECONDS = 0.1
MANAGED_BY_K8S = "app.kubernetes.io/managed-by"


class InstallError(Exception):
    pass


async def apply_all(
    client: KubeClient,
    manifests: list[dict[str, Any]],
    *,
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> None:
    for manifest in manifests:
        path = object_path(manifest)
        progress(f"applying {manifest['kind']} {manifest['metadata']['name']}")
        try:
            await client.apply(path, manifest, field_manager=FIELD_MANAGER, dry_run=dry_run)
        except KubeError as exc:
            raise InstallError(f"{manifest['kind']} {manifest['metadata']['name']}: {exc}") from exc


async def install(
    client: KubeClient,
    *,
    progress: Callable[[str], None] = lambda _: None,
    timeout: float = 60,
    clock: Clock | None = None,
) -> None:
    clock = clock or LoopClock()
    manifests = []
    for manifest in hub_manifests():
        if await foreign_crd(client, manifest):
            name = manifest["metadata"]["name"]
            progress(
                f"leaving CustomResourceDefinition {name} alone: another installation owns it "
                "(Argo CD?); Flotilla's GitOps stays off on this hub"
            )
            continue
        manifests.append(manifest)
    await apply_all(client, manifests, progress=progress)
    crds = [manifest for manifest in manifests if manifest["kind"] == "CustomResourceDefinition"]
    waiting = ""
    try:
        async with clock.timeout(timeout):
            for crd in crds:
                waiting = crd["metadata"]["name"]
                await _wait_established(client, object_path(crd), clock)
    except TimeoutError:
        raise InstallError(f"CRD {waiting} is not Established after {timeout:g}s") from None


async def foreign_crd(client: KubeClient, manifest: dict[str, Any]) -> bool:
    """Whether ``manifest`` is a CRD that exists on the hub and is not Flotilla's (it lacks
    the managed-by label ``hub_manifests`` puts on Flotilla's): Argo CD's Application CRD,
    for one. Flotilla never takes over another installation's kinds."""
    if manifest["kind"] != "CustomResourceDefinition":
        return False
    try:
        live = await client.get(object_path(manifest))
    except NotFound:
        return False
    return not crd_is_ours(live)


def crd_is_ours(crd: dict[str, Any]) -> bool:
    labels = (crd.get("metadata") or {}).get("labels") or {}
    return isinstance(labels, dict) and labels.get(MANAGED_BY_K8S) == "flotilla"


async def _wait_established(client: KubeClient, path: str, clock: Clock) -> None:
    while True:
        try:
            if established(await client.get(path)):
                return
        except KubeError as exc:
            if not exc.transient:
                raise InstallError(f"reading {path}: {exc}") from exc
        await clock.sleep(POLL_SECONDS)


def established(crd: object) -> bool:
    """Whether the CRD's ``Established`` condition is True; anything malformed is "not yet"."""
    status = crd.get("status") if isinstance(crd, dict) else None
    conditions = status.get("conditions") if isinstance(status, dict) else None
    return any(
        isinstance(condition, dict)
        and condition.get("type") == "Established"
        and condition.get("status") == "True"
        for condition in conditions or []
    )
