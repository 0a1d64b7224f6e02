"""Self-heal whose sync keeps failing is retried on the retry backoff, not on every pass: an
Application with ``selfHeal`` whose object drifted on the member, and whose re-apply the
member refuses, is applied again only once ``syncPolicy.retry``'s backoff (Argo CD's
default: 5 s, doubling) has passed, however many events enqueue it meanwhile.

The member is a ``FakeApi`` that answers every write of the object with 403 once the drift
is made; its request log counts the applies. Fake time moves only by ``World.advance``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..fakeapi import error
from ..propagation.harness import configmaps
from .controller_harness import TARGET_NAMESPACE, World, application, world

OBJECT = f"{configmaps(TARGET_NAMESPACE)}/web-config"
FIRST_RETRY = 5.0
"""Argo CD's default ``syncPolicy.retry.backoff.duration``."""


def self_healing(url: str) -> dict[str, Any]:
    return application(url, automated={"selfHeal": True})


def applies(here: World) -> int:
    return len(here.member_writes(OBJECT))


async def test_a_failing_self_heal_is_not_retried_before_the_backoff(tmp_path: Path) -> None:
    async with world(tmp_path, app=self_healing) as here:
        await here.until(here.synced)
        await here.settle()
        assert here.on_member()["data"] == {"color": "blue"}
        synced = applies(here)

        # The member refuses our writes from now on; someone edits the object there.
        here.member.inject(
            error(403, "Forbidden", "no writes today"), method="PATCH", path=OBJECT, times=100
        )
        here.member.merge_patch(OBJECT, {"data": {"color": "red"}}, manager="kubectl-edit")
        await here.until(lambda: applies(here) == synced + 1)
        await here.until(lambda: "403" in here.condition("SyncError").get("message", ""))
        await here.settle()

        # Events before the backoff ends: passes that see the drift, but no apply.
        for _ in range(4):
            await here.touch_cluster()
        await here.advance(FIRST_RETRY - 0.5)
        await here.touch_cluster()
        assert applies(here) == synced + 1
        assert (here.status().get("sync") or {}).get("status") == "OutOfSync"

        # The backoff ends: one more try (refused again), then twice the wait.
        await here.advance(1.0)
        assert applies(here) == synced + 2
        for _ in range(3):
            await here.touch_cluster()
        await here.advance(2 * FIRST_RETRY - 1.0)
        assert applies(here) == synced + 2
        await here.advance(1.0)
        assert applies(here) == synced + 3
        assert here.on_member()["data"] == {"color": "red"}
