"""Objects another hub's Flotilla put on a member are neither taken over nor pruned."""

from typing import Any

from flotilla.api.labels import HUB_LABEL, MANAGED_BY_LABEL, PLACEMENT_LABEL

from .harness import OWNER, Fleet, configmaps, controlling

OTHER_HUB = "another-hub-uid"


def _theirs(name: str) -> dict[str, Any]:
    labels = {PLACEMENT_LABEL: OWNER, MANAGED_BY_LABEL: "flotilla", HUB_LABEL: OTHER_HUB}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "web", "labels": labels},
        "data": {"theirs": "yes"},
    }


async def test_another_hubs_objects_with_our_placement_label_are_left_alone() -> None:
    fleet = Fleet()
    member = fleet.add_member("m1", env="prod")
    fleet.add_template("a")
    fleet.add_template("b")
    fleet.add_template("shared")  # a template of ours whose name another hub's object has
    fleet.add_placement()
    member.put(configmaps(), _theirs("shared"))
    member.put(configmaps(), _theirs("stray"))  # not a template here: ours would be pruned
    before = fleet.on("m1")

    async with controlling(fleet):
        await fleet.until(lambda: sorted(fleet.on("m1")) == ["a", "b", "shared", "stray"])
        await fleet.until(fleet.is_("Applied", "False", "ApplyFailed"))

    errors = {r["name"]: r["error"] for r in fleet.resources() if not r["applied"]}
    assert errors == {
        "shared": "exists on the member and is managed by something other than this hub; "
        "not touched"
    }
    after = fleet.on("m1")
    assert after["shared"] == before["shared"]
    assert after["stray"] == before["stray"]
    touched = [
        r.url.path for r in fleet.writes(member) if r.url.path.endswith(("/shared", "/stray"))
    ]
    assert touched == []
