"""The guard's window is counted across passes: its memory lives in status, and a pass on a
cached status older than the controller's own last write never runs on it."""

from .harness import Fleet, configmaps, controlling


async def test_prunes_in_one_window_add_up_to_the_guard() -> None:
    fleet = Fleet()
    fleet.add_member("m1", env="prod")
    for i in range(10):
        fleet.add_template(f"c{i}")
    fleet.add_placement(deletionGuard={"maxDeletePercent": 50, "gracePeriodSeconds": 0})
    async with controlling(fleet):
        await fleet.until(lambda: len(fleet.on("m1")) == 10)
        await fleet.until(fleet.is_("Applied", "True"))
        for i in range(3):  # 3 of 10: within the guard
            fleet.hub.delete(configmaps(), f"web/c{i}")
        await fleet.until(lambda: len(fleet.on("m1")) == 7)
        await fleet.settle()
        guard = (fleet.placement().get("status") or {}).get("pruneGuard") or []
        assert [r["prunedInWindow"] for r in guard] == [3]
        for i in range(3, 6):  # 3 more: 6 of 10 within one window is past it
            fleet.hub.delete(configmaps(), f"web/c{i}")
        await fleet.until(fleet.is_("PruneBlocked", "True", "DeletionGuard"))
        await fleet.settle()
    assert len(fleet.on("m1")) == 7, "the guard let 6 of 10 go within one window"
