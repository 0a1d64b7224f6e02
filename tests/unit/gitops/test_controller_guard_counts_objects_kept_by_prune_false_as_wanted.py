"""The deletion guard's share counts the objects ``Prune=false`` keeps as wanted: they stay
on the cluster, so pruning 2 of 8 objects is 25%, not "2 of 2" (100%). An Application with
six ``argocd.argoproj.io/sync-options: Prune=false`` ConfigMaps and two others; the two
leave git, and the automated sync (``prune: true``, the guard's default 50%) prunes both
without a PruneBlocked condition or a confirmation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flotilla.gitops.status import PRUNE_BLOCKED

from .controller_harness import SYNC_OPTIONS, application, configmap_file, world

KEPT = {f"kept-{n}" for n in range(6)}
DROPPED = {"dropped-0", "dropped-1"}
FILES: dict[str, str | None] = {
    **{
        f"guestbook/{name}.yaml": configmap_file(name, annotations={SYNC_OPTIONS: "Prune=false"})
        for name in KEPT
    },
    **{f"guestbook/{name}.yaml": configmap_file(name) for name in DROPPED},
}


def pruning(url: str) -> dict[str, Any]:
    return application(url, automated={"prune": True})


async def test_two_of_eight_are_pruned_when_six_are_kept(tmp_path: Path) -> None:
    async with world(tmp_path, files=FILES, app=pruning) as here:
        await here.until(lambda: here.names_on_member() == KEPT | DROPPED)
        await here.until(here.synced)
        await here.settle()

        sha = here.commit({f"guestbook/{name}.yaml": None for name in DROPPED}, "two go")
        await here.until(
            lambda: (here.operation_state().get("syncResult") or {}).get("revision") == sha
        )
        await here.settle()

        assert not here.condition(PRUNE_BLOCKED), here.condition(PRUNE_BLOCKED)
        assert here.operation_state()["phase"] == "Succeeded", here.operation_state()
        assert here.names_on_member() == KEPT
        assert here.synced()
