"""Self-heal does not sync again and again when a sync leaves the Application OutOfSync: an
object that left git but says ``Prune=false`` stays on the cluster (Extraneous), so the
Application is OutOfSync after every sync, prune on or not. Each sync writes a new
operationState, and that write is an Application event; without a wait, every event (a
Cluster event enqueues every Application) would be another sync. Self-heal syncs again no
sooner than ``SELF_HEAL_WAIT`` after a sync (Argo CD's self-heal timeout), and then once.

Each sync is counted by the ``startedAt`` of the operationState it writes; fake time moves
only by ``World.advance``, a quarter second before each event (so a sync again would write
a new ``startedAt``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flotilla.gitops.controller import SELF_HEAL_WAIT

from .controller_harness import World, application, configmap_file, world

FILES: dict[str, str | None] = {
    "guestbook/alpha.yaml": configmap_file("alpha"),
    "guestbook/beta.yaml": configmap_file(
        "beta", annotations={"argocd.argoproj.io/sync-options": "Prune=false"}
    ),
}
STEP = 0.25
EVENTS = 8


def self_healing(url: str) -> dict[str, Any]:
    return application(url, automated={"selfHeal": True, "prune": True})


async def a_burst_of_events(here: World) -> None:
    for _ in range(EVENTS):
        await here.advance(STEP)
        await here.touch_cluster()


async def test_self_heal_with_an_extraneous_object_does_not_loop(tmp_path: Path) -> None:
    async with world(tmp_path, files=FILES, app=self_healing) as here:
        await here.until(lambda: here.synced() and here.names_on_member() == {"alpha", "beta"})
        await here.settle()

        sha = here.commit({"guestbook/beta.yaml": None}, "beta goes")
        await here.until(lambda: (here.status().get("sync") or {}).get("revision") == sha)
        await here.until(lambda: here.status()["history"][-1]["revision"] == sha)
        await here.settle()
        assert here.names_on_member() == {"alpha", "beta"}, "beta says Prune=false"
        beta = next(r for r in here.status()["resources"] if r["name"] == "beta")
        assert beta.get("requiresPruning") is True
        assert here.status()["sync"]["status"] == "OutOfSync"
        synced_at = here.fleet.clock.monotonic()
        syncs = here.syncs_written()

        # Events within SELF_HEAL_WAIT of the sync: passes that see OutOfSync, no sync.
        assert EVENTS * STEP < SELF_HEAL_WAIT
        before = here.passes()
        await a_burst_of_events(here)
        assert here.passes() >= before + EVENTS
        assert here.syncs_written() == syncs

        # SELF_HEAL_WAIT is over: at most one more sync, then the wait again.
        await here.advance(synced_at + SELF_HEAL_WAIT + STEP - here.fleet.clock.monotonic())
        after_wait = here.syncs_written()
        assert len(after_wait) <= len(syncs) + 1
        await a_burst_of_events(here)
        assert here.syncs_written() == after_wait
        assert here.names_on_member() == {"alpha", "beta"}
