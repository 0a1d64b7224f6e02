"""A member that never answers costs a pass MEMBER_DEADLINE at most, and others go on."""

from flotilla.propagation.controller import MEMBER_DEADLINE

from .harness import Fleet, controlling


async def test_a_hung_member_does_not_hold_up_the_others_and_reports_its_deadline() -> None:
    fleet = Fleet()
    slow = fleet.add_member("m1", env="prod")
    fleet.add_member("m2", env="prod")
    fleet.add_template("a")
    fleet.add_template("b")
    fleet.add_placement()
    held = slow.hold(method="PATCH", times=1000)  # every apply on m1 hangs

    async with controlling(fleet):
        await fleet.until(lambda: sorted(fleet.on("m2")) == ["a", "b"])
        await fleet.until(lambda: held.waiting == 2)
        assert fleet.placement().get("status") is None  # the pass waits for m1

        await fleet.clock.advance(MEMBER_DEADLINE - 1)  # the pass is still in m1's apply
        assert fleet.placement().get("status") is None
        await fleet.clock.advance(1.5)
        await fleet.until(fleet.is_("Applied", "False", "ApplyFailed"))

    errors = {(r["cluster"], r["name"]): r["error"] for r in fleet.resources()}
    deadline = f"the member did not finish within {MEMBER_DEADLINE:.0f}s; trying again"
    assert errors == {
        ("m1", "a"): deadline,
        ("m1", "b"): deadline,
        ("m2", "a"): "",
        ("m2", "b"): "",
    }
    assert fleet.on("m1") == {}
