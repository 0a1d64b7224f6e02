"""``flotilla hub install``: server-side apply of the hub manifests, then wait for the CRDs.

Idempotent and an in-place upgrade: server-side apply with one field manager converges the
objects to what this version generates, whatever was there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from flotilla.hub.manifests import hub_manifests
from flotilla.kube import KubeClient, KubeError, object_path

FIELD_MANAGER = "flotilla"


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
    client: KubeClient, *, progress: Callable[[str], None] = lambda _: None, timeout: float = 60
) -> None:
    manifests = hub_manifests()
    await apply_all(client, manifests, progress=progress)
    deadline = time.monotonic() + timeout
    for manifest in manifests:
        if manifest["kind"] != "CustomResourceDefinition":
            continue
        path = object_path(manifest)
        while True:
            current = await client.get(path)
            conditions = current.get("status", {}).get("conditions", [])
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                break
            if time.monotonic() > deadline:
                raise InstallError(f"CRD {manifest['metadata']['name']} is not Established")
            await asyncio.sleep(0.1)
