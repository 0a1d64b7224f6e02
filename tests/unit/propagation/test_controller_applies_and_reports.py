"""A Placement's templates land on the chosen member, labelled as Flotilla's, and it says so."""

from flotilla.api.labels import HUB_LABEL, MANAGED_BY_LABEL, PLACEMENT_LABEL

from .harness import HUB_ID, OWNER, Fleet, controlling


async def test_two_configmaps_land_on_the_chosen_member_with_our_labels() -> None:
    fleet = Fleet()
    fleet.add_member("m1", env="prod")
    fleet.add_member("m2", env="dev")
    fleet.add_template("a")
    fleet.add_template("b")
    fleet.add_placement()

    async with controlling(fleet):
        await fleet.until(fleet.is_("Applied", "True"))

    on_m1 = fleet.on("m1")
    assert sorted(on_m1) == ["a", "b"]
    for item in on_m1.values():
        labels = item["metadata"]["labels"]
        assert labels[PLACEMENT_LABEL] == OWNER
        assert labels[MANAGED_BY_LABEL] == "flotilla"
        assert labels[HUB_LABEL] == HUB_ID
    assert on_m1["a"]["data"] == {"key": "a"}
    assert fleet.on("m2") == {}
    assert fleet.condition("Applied")["message"] == "2 objects on 1 clusters"
    assert [r["name"] for r in fleet.resources() if r["applied"]] == ["a", "b"]
