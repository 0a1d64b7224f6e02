"""A controller that is not (or no longer) the leader writes nothing, to members or hub."""

from .harness import Fleet, configmaps, controlling


def _fleet() -> Fleet:
    fleet = Fleet()
    fleet.add_member("m1", env="prod")
    fleet.add_template("a")
    fleet.add_placement()
    return fleet


async def test_a_controller_that_never_leads_writes_nothing() -> None:
    fleet = _fleet()
    async with controlling(fleet, leading=lambda: False):
        await fleet.until(lambda: fleet.passes() >= 1)
        for _ in range(3):  # a deposed controller looks again every second
            seen = fleet.passes()
            await fleet.advance(1.0)
            assert fleet.passes() > seen

    assert fleet.writes(fleet.hub) == []
    assert fleet.writes(fleet.members["m1"]) == []
    assert "status" not in fleet.placement()


async def test_a_deposed_leader_stops_applying_template_changes() -> None:
    fleet = _fleet()
    leading = True
    async with controlling(fleet, leading=lambda: leading):
        await fleet.until(fleet.is_("Applied", "True"))
        await fleet.settle()
        hub_writes, member_writes = (
            len(fleet.writes(fleet.hub)),
            len(fleet.writes(fleet.members["m1"])),
        )
        leading = False
        seen = fleet.passes()
        fleet.hub.merge_patch(f"{configmaps()}/a", {"data": {"key": "new"}})
        await fleet.until(lambda: fleet.passes() > seen)
        await fleet.advance(2.0)

    assert fleet.on("m1")["a"]["data"] == {"key": "a"}
    assert len(fleet.writes(fleet.hub)) == hub_writes
    assert len(fleet.writes(fleet.members["m1"])) == member_writes
