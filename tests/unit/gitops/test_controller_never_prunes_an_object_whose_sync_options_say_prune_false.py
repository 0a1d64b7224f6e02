"""An object annotated ``argocd.argoproj.io/sync-options: Prune=false`` is never pruned: when
it leaves git, an automated sync with ``prune: true`` deletes the others that left with it
and leaves it on the member (reported as waiting to be pruned, as Argo CD shows it).

The deletion guard is opened to 100% so that only the annotation holds the object back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .controller_harness import SYNC_OPTIONS, application, configmap_file, world

FILES: dict[str, str | None] = {
    "guestbook/kept.yaml": configmap_file("kept", annotations={SYNC_OPTIONS: "Prune=false"}),
    "guestbook/dropped.yaml": configmap_file("dropped"),
    "guestbook/stays.yaml": configmap_file("stays"),
}


def pruning(url: str) -> dict[str, Any]:
    return application(
        url,
        automated={"prune": True},
        annotations={"flotilla.io/max-delete-percent": "100"},
    )


async def test_prune_false_keeps_an_object_that_left_git(tmp_path: Path) -> None:
    async with world(tmp_path, files=FILES, app=pruning) as here:
        await here.until(lambda: here.names_on_member() == {"kept", "dropped", "stays"})
        await here.until(here.synced)
        await here.settle()
        assert here.on_member("kept")["metadata"]["annotations"][SYNC_OPTIONS] == "Prune=false"

        sha = here.commit({"guestbook/kept.yaml": None, "guestbook/dropped.yaml": None})
        await here.until(lambda: "dropped" not in here.names_on_member())
        await here.until(lambda: (here.status().get("sync") or {}).get("revision") == sha)
        await here.settle()

        assert here.names_on_member() == {"kept", "stays"}
        kept = next(r for r in here.status()["resources"] if r["name"] == "kept")
        assert kept.get("requiresPruning") is True
        assert not here.condition("SyncError")
