"""A Placement in a reserved namespace places nothing, and says why."""

from .harness import Fleet, controlling

RESERVED = "kube-system"


async def test_a_placement_in_kube_system_places_nothing_and_says_why() -> None:
    fleet = Fleet()
    member = fleet.add_member("m1", env="prod")
    fleet.add_template("a", namespace=RESERVED)
    fleet.add_placement(namespace=RESERVED)

    async with controlling(fleet):
        await fleet.until(fleet.is_("Scheduled", "False", "ReservedNamespace", RESERVED))

    scheduled = fleet.condition("Scheduled", RESERVED)
    assert scheduled["message"].startswith("namespace kube-system is reserved")
    assert fleet.condition("Applied", RESERVED)["status"] == "False"
    assert fleet.on("m1", RESERVED) == {}
    assert fleet.writes(member) == []
