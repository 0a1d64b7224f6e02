"""Another manager changing our field again and again: reverted at once, then ever later.

The first ``FIGHT_AFTER`` reverts come at once (no fake time passes); from then on each
waits (``FIGHT_BACKOFF``, doubling) and the object's status names the other manager.
"""

from typing import Any

from .harness import Fleet, configmaps, controlling

PATH = f"{configmaps()}/a"
FIGHTING = "changed again and again by 'fighter'"


def _fleet() -> Fleet:
    fleet = Fleet()
    fleet.add_member("m1", env="prod")
    fleet.add_template("a")
    fleet.add_placement()
    return fleet


def _value(fleet: Fleet) -> Any:
    return fleet.on("m1")["a"]["data"]["key"]


def _error(fleet: Fleet) -> str:
    return next((r["error"] for r in fleet.resources() if r["name"] == "a"), "")


def _fight(fleet: Fleet) -> None:
    """Another field manager sets the field our template sets."""
    fleet.members["m1"].merge_patch(PATH, {"data": {"key": "theirs"}}, manager="fighter")


async def _reverted(fleet: Fleet) -> None:
    """Wait for the revert and for its pass to have written status."""
    await fleet.until(lambda: _value(fleet) == "a" and FIGHTING not in _error(fleet))
    await fleet.settle()


async def _reverted_after(fleet: Fleet, backoff: float) -> None:
    """A change while fighting waits ``backoff`` seconds of fake time, then is reverted."""
    _fight(fleet)
    await fleet.until(lambda: FIGHTING in _error(fleet))
    assert _value(fleet) == "theirs"
    await fleet.advance(backoff - 1.0)
    assert _value(fleet) == "theirs"
    await fleet.advance(1.5)
    await _reverted(fleet)


def _drift_events(fleet: Fleet) -> list[dict[str, Any]]:
    events = fleet.hub.objects("/apis/events.k8s.io/v1/namespaces/web/events")
    return [e for e in events if e["reason"] == "DriftCorrected"]


async def test_a_field_fought_over_is_reverted_at_once_then_after_a_growing_wait() -> None:
    fleet = _fleet()
    async with controlling(fleet):
        await fleet.until(fleet.is_("Applied", "True"))
        start = fleet.clock.monotonic()
        for _ in range(3):
            _fight(fleet)
            await _reverted(fleet)
        assert fleet.clock.monotonic() == start
        assert "'fighter'" in fleet.condition("Drifted")["message"]
        assert fleet.condition("Drifted")["status"] == "True"

        await _reverted_after(fleet, 5.0)
        await _reverted_after(fleet, 10.0)

    # The first two reverts said the same thing: one Event for both.
    plain = "m1: ConfigMap a was changed by 'fighter'; reverted"
    assert [e["note"] for e in _drift_events(fleet)].count(plain) == 1


async def test_reverts_of_one_fight_are_one_event_with_a_series_count() -> None:
    fleet = _fleet()
    async with controlling(fleet):
        await fleet.until(fleet.is_("Applied", "True"))
        for _ in range(3):
            _fight(fleet)
            await _reverted(fleet)
        await _reverted_after(fleet, 5.0)
        # More than SERIES_FLUSH after the Event was made: this revert writes the count.
        await _reverted_after(fleet, 10.0)

    events = _drift_events(fleet)
    assert len(events) == 1, [e["note"] for e in events]
    assert events[0]["series"]["count"] == 5
