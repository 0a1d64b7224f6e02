"""Deleting an Application with Argo CD's resources finalizer deletes its objects from the
member, except one annotated ``argocd.argoproj.io/sync-options: Delete=false``: that one is
left behind, and the finalizer still goes (the Application is deleted).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flotilla.api.application import RESOURCES_FINALIZER

from .controller_harness import SYNC_OPTIONS, application, configmap_file, world

FILES: dict[str, str | None] = {
    "guestbook/kept.yaml": configmap_file(
        "kept", annotations={SYNC_OPTIONS: "PruneLast=true, Delete=false"}
    ),
    "guestbook/deleted.yaml": configmap_file("deleted"),
}


def cascading(url: str) -> dict[str, Any]:
    return application(url, automated={}, finalizers=(RESOURCES_FINALIZER,))


async def test_delete_false_keeps_an_object_when_its_application_is_deleted(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, files=FILES, app=cascading) as here:
        await here.until(lambda: here.names_on_member() == {"kept", "deleted"})
        await here.until(here.synced)
        await here.settle()

        await here.delete_app()
        await here.until(lambda: not here.app())
        await here.settle()

        assert here.names_on_member() == {"kept"}
        assert [r.url.path.rsplit("/", 1)[-1] for r in here.member.requests(method="DELETE")] == [
            "deleted"
        ]
