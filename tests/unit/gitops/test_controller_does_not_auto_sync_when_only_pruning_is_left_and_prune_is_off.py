"""Automated sync with ``prune`` off does not sync an Application whose only difference from
git is objects to prune (Argo CD's rule): such a sync would change nothing, and with
self-heal it would be tried again and again. A sync is counted by the ``startedAt`` of the
operationState it writes; fake time moves only by ``World.advance``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flotilla.gitops.controller import SELF_HEAL_WAIT

from .controller_harness import application, configmap_file, world

FILES: dict[str, str | None] = {
    "guestbook/alpha.yaml": configmap_file("alpha"),
    "guestbook/beta.yaml": configmap_file("beta"),
}


def self_healing(url: str) -> dict[str, Any]:
    return application(url, automated={"selfHeal": True, "prune": False})


async def test_only_objects_to_prune_with_prune_off_is_not_synced(tmp_path: Path) -> None:
    async with world(tmp_path, files=FILES, app=self_healing) as here:
        await here.until(lambda: here.synced() and here.names_on_member() == {"alpha", "beta"})
        await here.settle()
        syncs = here.syncs_written()
        assert syncs

        sha = here.commit({"guestbook/beta.yaml": None}, "beta goes")
        await here.until(lambda: (here.status().get("sync") or {}).get("revision") == sha)
        await here.settle()
        assert here.status()["sync"]["status"] == "OutOfSync"
        beta = next(r for r in here.status()["resources"] if r["name"] == "beta")
        assert beta.get("requiresPruning") is True

        before = here.passes()
        for _ in range(4):
            await here.advance(SELF_HEAL_WAIT)
            await here.touch_cluster()
        assert here.passes() > before
        assert here.syncs_written() == syncs
        assert here.names_on_member() == {"alpha", "beta"}
