"""An operation whose result is written but whose clear (the PATCH that takes ``operation``
off the Application) met a 409 is not run again: the next pass only clears it. Run again,
it would sync a second time and write a second operationState for one request.

The hub answers the first clear with a Conflict (``FakeApi.inject``); the status write of
the operation's result is held (a ``Hold``) while fake time moves on a second, so that a
second run would say so in its ``startedAt``. The member's request log counts the applies.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from ..fakeapi import body_of, error
from ..propagation.harness import configmaps
from .controller_harness import APP_PATH, TARGET_NAMESPACE, World, application, world

OBJECT = f"{configmaps(TARGET_NAMESPACE)}/web-config"
OPERATION = {"sync": {"revision": "", "prune": False}, "initiatedBy": {"username": "ada"}}


def is_clear(request: httpx.Request) -> bool:
    body = body_of(request)
    return "operation" in body and body["operation"] is None


def clears(here: World) -> list[httpx.Request]:
    return here.fleet.hub.requests(method="PATCH", path=APP_PATH, match=is_clear)


async def test_an_operation_whose_clear_conflicted_is_cleared_not_run_again(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, app=application) as here:
        await here.until(lambda: (here.status().get("sync") or {}).get("status") == "OutOfSync")
        await here.settle()
        assert not here.on_member(), "not automated: nothing synced yet"
        here.fleet.hub.inject(
            error(409, "Conflict", "the object has been modified"),
            method="PATCH", path=APP_PATH, match=is_clear,
        )  # fmt: skip
        held = here.fleet.hub.hold(method="PATCH", path=f"{APP_PATH}/status")

        here.change_app({"operation": OPERATION})
        await here.until(lambda: held.waiting == 1)
        assert len(here.member_writes(OBJECT)) == 1, "the operation synced"
        await here.fleet.clock.advance(1.0)
        held.release()

        await here.until(lambda: len(clears(here)) == 2)  # the first met the Conflict
        await here.until(lambda: "operation" not in here.app())
        await here.settle()
        assert len(here.syncs_written()) == 1, "one run of the operation"
        assert len(here.member_writes(OBJECT)) == 1
        state = here.operation_state()
        assert state["phase"] == "Succeeded", state
        assert state["operation"]["initiatedBy"]["username"] == "ada"
        assert here.synced()
