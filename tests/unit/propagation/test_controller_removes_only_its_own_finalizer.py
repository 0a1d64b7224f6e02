"""The controller removes its finalizer and no other, with a JSON patch that tests it first."""

import httpx

from flotilla.api.labels import FINALIZER

from ..fakeapi import body_of
from .harness import PLACEMENT, Fleet, controlling, placements

THEIRS = "example.com/keep"


def _json_patch(request: httpx.Request) -> bool:
    return request.headers["content-type"] == "application/json-patch+json"


async def test_another_controllers_finalizer_stays_on_a_deleted_placement() -> None:
    fleet = Fleet()
    fleet.add_member("m1", env="prod")
    fleet.add_template("a")
    fleet.add_placement(finalizers=(THEIRS,))

    async with controlling(fleet):
        await fleet.until(fleet.is_("Applied", "True"))
        assert fleet.placement()["metadata"]["finalizers"] == [THEIRS, FINALIZER]
        await fleet.delete_placement()
        await fleet.until(lambda: FINALIZER not in fleet.placement()["metadata"]["finalizers"])

    meta = fleet.placement()["metadata"]
    assert meta["finalizers"] == [THEIRS]
    assert meta["deletionTimestamp"]
    assert fleet.on("m1") == {}
    path = f"{placements()}/{PLACEMENT}"
    patches = [body_of(r) for r in fleet.hub.requests(method="PATCH", path=path, match=_json_patch)]
    assert patches == [
        [
            {"op": "test", "path": "/metadata/finalizers/1", "value": FINALIZER},
            {"op": "remove", "path": "/metadata/finalizers/1"},
        ]
    ]


async def test_a_finalizer_list_changed_meanwhile_is_read_again_not_patched_blindly() -> None:
    fleet = Fleet()
    fleet.add_member("m1", env="prod")
    fleet.add_template("a")
    fleet.add_placement(finalizers=("first.example/x",))
    path = f"{placements()}/{PLACEMENT}"

    async with controlling(fleet):
        await fleet.until(fleet.is_("Applied", "True"))
        fleet.change_placement({"metadata": {"finalizers": ["first.example/x", FINALIZER, THEIRS]}})
        held = fleet.hub.hold(
            method="PATCH",
            path=path,
            match=_json_patch,
        )
        await fleet.delete_placement()
        await fleet.until(lambda: held.waiting == 1)
        # Meanwhile the first finalizer's controller finishes: ours moves to index 0.
        fleet.change_placement({"metadata": {"finalizers": [FINALIZER, THEIRS]}})
        held.release()
        await fleet.advance(1.0)
        await fleet.until(lambda: fleet.placement()["metadata"]["finalizers"] == [THEIRS])

    assert fleet.on("m1") == {}
    assert len(held.held) == 1
    assert len(fleet.hub.requests(method="PATCH", path=path, match=_json_patch)) == 2
