"""A deleted Placement takes its objects off the members, then lets its finalizer go."""

from .harness import Fleet, configmaps, controlling


async def test_a_deleted_placement_removes_its_objects_then_its_finalizer() -> None:
    fleet = Fleet()
    fleet.add_member("m1", env="prod")
    fleet.add_member("m2", env="prod")
    fleet.add_template("a")
    fleet.add_template("b")
    fleet.add_placement()

    async with controlling(fleet):
        await fleet.until(fleet.is_("Applied", "True"))
        assert sorted(fleet.on("m2")) == ["a", "b"]
        await fleet.delete_placement()
        await fleet.until(lambda: fleet.placement() == {})

    for member in ("m1", "m2"):
        assert fleet.on(member) == {}
        paths = sorted(r.url.path for r in fleet.deletes(member))
        assert paths == [f"{configmaps()}/a", f"{configmaps()}/b"]
