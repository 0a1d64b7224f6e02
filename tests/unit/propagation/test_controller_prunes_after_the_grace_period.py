"""A deleted template's copy goes only after the grace period; one recreated within it stays."""

from .harness import Fleet, configmaps, controlling

GRACE = 10


def _fleet() -> Fleet:
    fleet = Fleet()
    fleet.add_member("m1", env="prod")
    for name in ("a", "b", "c"):
        fleet.add_template(name)
    fleet.add_placement(deletionGuard={"gracePeriodSeconds": GRACE})
    return fleet


def _pending(fleet: Fleet) -> bool:
    records = (fleet.placement().get("status") or {}).get("pruneGuard") or []
    return any(record.get("pendingSince") for record in records)


async def test_a_deleted_template_is_pruned_once_the_grace_period_has_passed() -> None:
    fleet = _fleet()
    async with controlling(fleet):
        await fleet.until(fleet.is_("Applied", "True"))
        fleet.hub.delete(configmaps(), "web/c")
        await fleet.until(lambda: _pending(fleet))

        await fleet.advance(GRACE - 0.5)
        assert "c" in fleet.on("m1")
        assert fleet.deletes("m1") == []

        await fleet.advance(1.0)
        await fleet.until(lambda: "c" not in fleet.on("m1"))

    assert sorted(fleet.on("m1")) == ["a", "b"]
    assert [r.url.path for r in fleet.deletes("m1")] == [f"{configmaps()}/c"]


async def test_a_template_deleted_and_created_again_within_the_grace_period_stays() -> None:
    fleet = _fleet()
    async with controlling(fleet):
        await fleet.until(fleet.is_("Applied", "True"))
        uid = fleet.on("m1")["c"]["metadata"]["uid"]
        fleet.hub.delete(configmaps(), "web/c")
        await fleet.until(lambda: _pending(fleet))
        await fleet.advance(GRACE / 2)

        fleet.add_template("c")  # kubectl replace --force
        await fleet.until(lambda: not _pending(fleet))
        await fleet.advance(GRACE * 2)

    assert fleet.deletes("m1") == []
    assert fleet.on("m1")["c"]["metadata"]["uid"] == uid
