"""A manual sync (an ``operation``, as ``flotilla app sync`` writes) prunes only when the
operation says ``prune: true``, as Argo CD's does: ``syncPolicy.automated.prune`` is the
automated sync's setting and does not make a manual sync without ``--prune`` delete.

The Application is automated with ``prune: true`` (where "the policy's prune counts too"
would prune), and git moves without the controller hearing of it (no push, the clock does
not reach the poll interval): the operation is the first pass to see the new commit, so it,
not an automated sync, syncs it. The operation's pass is held at its status write (a
``Hold`` on the hub), so what is on the member then is what the operation did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..fakeapi import body_of
from .controller_harness import APP_PATH, World, application, configmap_file, world

FILES: dict[str, str | None] = {
    f"guestbook/{name}.yaml": configmap_file(name) for name in ("alpha", "beta", "gamma")
}
ALL = {"alpha", "beta", "gamma"}


def pruning(url: str) -> dict[str, Any]:
    return application(url, automated={"prune": True})


def operation(*, prune: bool) -> dict[str, Any]:
    return {
        "operation": {
            "sync": {"revision": "", "prune": prune},
            "initiatedBy": {"username": "ada"},
        }
    }


def finished(here: World, sha: str, *, prune: bool) -> bool:
    """The operation asked for is done: taken off the Application, its result in status."""
    state = here.operation_state()
    return (
        "operation" not in here.app()
        and state.get("phase") == "Succeeded"
        and (state.get("syncResult") or {}).get("revision") == sha
        and ((state.get("operation") or {}).get("sync") or {}).get("prune", False) is prune
        and ((state.get("operation") or {}).get("initiatedBy") or {}).get("username") == "ada"
    )


async def synced_then_gamma_left_git(here: World) -> str:
    await here.until(lambda: here.synced() and here.names_on_member() == ALL)
    await here.settle()
    return here.repo.commit({"guestbook/gamma.yaml": None}, "gamma goes")


async def test_a_manual_sync_without_prune_deletes_nothing(tmp_path: Path) -> None:
    async with world(tmp_path, files=FILES, app=pruning) as here:
        sha = await synced_then_gamma_left_git(here)
        deletes = len(here.member.requests(method="DELETE"))
        held = here.fleet.hub.hold(method="PATCH", path=f"{APP_PATH}/status")
        here.change_app(operation(prune=False))
        await here.until(lambda: held.waiting == 1)
        try:
            # The operation's sync is over (its result is being written): nothing gone.
            assert here.names_on_member() == ALL
            assert len(here.member.requests(method="DELETE")) == deletes
            status = body_of(held.held[0])["status"]
            state = status["operationState"]
            assert state["phase"] == "Succeeded", state
            assert state["operation"]["sync"]["prune"] is False
            assert state["syncResult"]["revision"] == sha
            gamma = next(r for r in status["resources"] if r["name"] == "gamma")
            assert gamma.get("requiresPruning") is True
            assert status["sync"] == {"status": "OutOfSync", "revision": sha}
        finally:
            held.release()


async def test_what_a_manual_sync_left_stays_until_a_sync_with_prune(tmp_path: Path) -> None:
    async with world(tmp_path, files=FILES, app=pruning) as here:
        sha = await synced_then_gamma_left_git(here)
        here.change_app(operation(prune=False))
        await here.until(lambda: finished(here, sha, prune=False))
        await here.settle()
        assert here.status()["history"][-1]["revision"] == sha
        await here.advance(10.0)  # automated sync has nothing to do: git did not move since
        assert here.names_on_member() == ALL
        assert here.status()["sync"] == {"status": "OutOfSync", "revision": sha}

        here.change_app(operation(prune=True))
        await here.until(lambda: finished(here, sha, prune=True))
        assert here.names_on_member() == {"alpha", "beta"}
        await here.until(here.synced)


async def test_a_manual_sync_with_prune_deletes_what_left_git(tmp_path: Path) -> None:
    """The other half of the rule (no automated sync here, so only the operation prunes)."""
    async with world(tmp_path, files=FILES, app=application) as here:
        here.change_app(operation(prune=False))
        await synced_then_gamma_left_git(here)
        here.change_app(operation(prune=True))
        await here.until(lambda: here.names_on_member() == {"alpha", "beta"})
        await here.until(lambda: "operation" not in here.app())
        await here.until(here.synced)
