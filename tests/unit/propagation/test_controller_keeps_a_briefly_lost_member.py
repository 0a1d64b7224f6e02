"""A member lost a little longer than tolerationSeconds is not emptied the moment it is
back: until it has been Ready that long the scheduler may still choose it again."""

from typing import Any

from .harness import CLUSTERS, Fleet, controlling


def ready(fleet: Fleet, value: bool) -> dict[str, Any]:
    since = fleet.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    status = "True" if value else "False"
    conditions = [
        {"type": t, "status": status, "reason": "Probe", "lastTransitionTime": since, "message": ""}
        for t in ("Ready", "Reachable")
    ]
    return {"status": {"conditions": conditions}}


async def test_a_member_back_from_a_short_outage_keeps_its_objects() -> None:
    fleet = Fleet()
    fleet.add_member("m1", env="prod")
    fleet.add_member("m2", env="prod")
    for i in range(4):
        fleet.add_template(f"c{i}")
    fleet.add_placement(failover={"enabled": True, "tolerationSeconds": 10, "failback": True})
    async with controlling(fleet):
        await fleet.until(lambda: len(fleet.on("m1")) == 4 and len(fleet.on("m2")) == 4)
        await fleet.until(fleet.is_("Applied", "True"))
        fleet.hub.merge_patch(f"{CLUSTERS}/m1/status", ready(fleet, False))
        await fleet.advance(12)  # past tolerationSeconds: the work moves off m1
        assert (fleet.placement()["status"] or {}).get("evacuated") == ["m1"]
        fleet.hub.merge_patch(f"{CLUSTERS}/m1/status", ready(fleet, True))
        await fleet.advance(8)  # back, but not yet for tolerationSeconds
        assert len(fleet.on("m1")) == 4
        await fleet.advance(4)  # settled: failback chooses it again
        await fleet.until(
            lambda: "m1" in {d["cluster"] for d in fleet.placement()["status"]["decisions"]}
        )
        await fleet.settle()
    assert fleet.deletes("m1") == [], "a briefly lost member was emptied"
    assert len(fleet.on("m1")) == 4
