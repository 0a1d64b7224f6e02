"""``deletionPolicy: Orphan``: a deleted Placement leaves its objects where they are."""

from .harness import Fleet, controlling


async def test_a_placement_deleted_with_deletion_policy_orphan_leaves_its_objects() -> None:
    fleet = Fleet()
    fleet.add_member("m1", env="prod")
    fleet.add_template("a")
    fleet.add_placement(deletionPolicy="Orphan")

    async with controlling(fleet):
        await fleet.until(fleet.is_("Applied", "True"))
        await fleet.delete_placement()
        await fleet.until(lambda: fleet.placement() == {})

    assert sorted(fleet.on("m1")) == ["a"]
    assert fleet.deletes("m1") == []
