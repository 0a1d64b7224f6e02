"""A hub namespace being deleted takes no member objects with it unless a person says so."""

from flotilla.api.labels import FINALIZER

from .harness import NAMESPACE, NAMESPACES, Fleet, controlling


async def test_a_deleted_hub_namespace_holds_until_deletion_policy_orphan() -> None:
    fleet = Fleet()
    fleet.add_member("m1", env="prod")
    fleet.add_template("a")
    fleet.add_template("b")
    fleet.add_placement()

    async with controlling(fleet):
        await fleet.until(fleet.is_("Applied", "True"))
        await fleet.delete(f"{NAMESPACES}/{NAMESPACE}")
        await fleet.delete_placement()  # the namespace controller deletes what it holds
        await fleet.until(fleet.is_("PruneBlocked", "True", "NamespaceDeleting"))

        assert sorted(fleet.on("m1")) == ["a", "b"]
        assert fleet.deletes("m1") == []
        assert fleet.placement()["metadata"]["finalizers"] == [FINALIZER]
        assert "deletionPolicy to Orphan" in fleet.condition("PruneBlocked")["message"]

        fleet.change_placement({"spec": {"deletionPolicy": "Orphan"}})
        await fleet.until(lambda: fleet.placement() == {})

    assert sorted(fleet.on("m1")) == ["a", "b"]
    assert fleet.deletes("m1") == []
