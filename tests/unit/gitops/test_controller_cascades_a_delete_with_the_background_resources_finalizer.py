"""Argo CD's background cascade finalizer (``resources-finalizer.argocd.argoproj.io/
background``) deletes an Application's objects like the foreground one: Flotilla deletes
them from the member first, then removes that finalizer, and leaves others' finalizers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flotilla.api.application import RESOURCES_FINALIZER

from .controller_harness import application, configmap_file, world

BACKGROUND = f"{RESOURCES_FINALIZER}/background"
OTHERS = "example.com/audit"
FILES: dict[str, str | None] = {
    f"guestbook/{name}.yaml": configmap_file(name) for name in ("alpha", "beta")
}


def cascading(url: str) -> dict[str, Any]:
    return application(url, automated={}, finalizers=(OTHERS, BACKGROUND))


async def test_the_background_finalizer_deletes_the_objects_then_goes(tmp_path: Path) -> None:
    async with world(tmp_path, files=FILES, app=cascading) as here:
        await here.until(lambda: here.names_on_member() == {"alpha", "beta"})
        await here.until(here.synced)
        await here.settle()

        await here.delete_app()
        await here.until(lambda: here.app().get("metadata", {}).get("finalizers") == [OTHERS])
        await here.settle()

        assert here.names_on_member() == set()
        assert here.app()["metadata"].get("deletionTimestamp")
