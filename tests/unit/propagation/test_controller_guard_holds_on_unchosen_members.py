"""A member that is no longer chosen keeps its objects until a person confirms, once."""

from flotilla.api.labels import CONFIRM_PRUNE_ANNOTATION

from .harness import Fleet, controlling


def _confirm(fleet: Fleet) -> None:
    """What `flotilla placement confirm-prune` writes: the current (fake) wall time."""
    when = fleet.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    fleet.change_placement({"metadata": {"annotations": {CONFIRM_PRUNE_ANNOTATION: when}}})


async def test_an_unchosen_member_keeps_its_objects_until_one_confirmation() -> None:
    fleet = Fleet()
    fleet.add_member("m1", env="prod")
    fleet.add_template("a")
    fleet.add_template("b")
    fleet.add_placement()

    async with controlling(fleet):
        await fleet.until(fleet.is_("Applied", "True"))
        fleet.relabel("m1", env="dev")  # affinity no longer matches m1
        await fleet.until(fleet.is_("PruneBlocked", "True", "DeletionGuard"))
        assert sorted(fleet.on("m1")) == ["a", "b"]
        assert fleet.deletes("m1") == []
        assert "confirm-prune app -n web" in fleet.condition("PruneBlocked")["message"]

        _confirm(fleet)
        await fleet.until(lambda: fleet.on("m1") == {})
        await fleet.until(fleet.is_("PruneBlocked", "False"))
        assert len(fleet.deletes("m1")) == 2

        # Chosen again, then not: the annotation (same second, so only its record of
        # use tells it from a new one) does not let a second pass delete.
        fleet.relabel("m1", env="prod")
        await fleet.until(lambda: sorted(fleet.on("m1")) == ["a", "b"])
        await fleet.until(fleet.is_("Applied", "True"))
        fleet.relabel("m1", env="dev")
        await fleet.until(fleet.is_("PruneBlocked", "True", "DeletionGuard"))

    assert sorted(fleet.on("m1")) == ["a", "b"]
    assert len(fleet.deletes("m1")) == 2
