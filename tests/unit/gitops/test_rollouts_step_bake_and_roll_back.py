"""Progressive sync: a change goes step by step (steps by label, maxUpdate, the rest last),
each step waits for what it changed to be Healthy for the bake time, and a Degraded
Application puts back everything the rollout changed; the same change is then held."""

from __future__ import annotations

import datetime
import json
from typing import Any

from flotilla.api.applicationset import RollingSync
from flotilla.gitops.ownedapps import Owner, application
from flotilla.gitops.rollouts import PREVIOUS_ANNOTATION, decide

OWNER = Owner("argoproj.io/v1alpha1", "ApplicationSet", "argocd", "web", "u-1")
T0 = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=datetime.UTC)
ENVS = {"stage-1": "staging", "eu-1": "production", "us-1": "production", "us-2": "production"}
STRATEGY = RollingSync.model_validate({
    "steps": [
        {"matchExpressions": [{"key": "env", "operator": "In", "values": ["staging"]}]},
        {"matchExpressions": [{"key": "region", "operator": "In", "values": ["eu"]}],
         "maxUpdate": 1},
    ],
    "bakeTime": "30s",
})  # fmt: skip


def wanted(revision: str) -> list[dict[str, Any]]:
    return [
        application(
            OWNER,
            name=name,
            labels={"env": env, "region": name[:2]},
            spec={
                "source": {"repoURL": "r", "targetRevision": revision},
                "destination": {"name": name, "namespace": "web"},
            },
        )
        for name, env in ENVS.items()
    ]


def live_as(app: dict[str, Any], *, health: str = "Healthy", generation: int = 2) -> dict[str, Any]:
    live = json.loads(json.dumps(app))
    live["metadata"]["generation"] = generation
    live["status"] = {"observedGeneration": generation, "sync": {"status": "Synced"},
                      "health": {"status": health, "message": "deadline exceeded"}}  # fmt: skip
    return live


def names(apps: list[dict[str, Any]]) -> list[str]:
    return sorted(a["metadata"]["name"] for a in apps)


def test_steps_go_in_order_with_max_update_and_bake_time() -> None:
    old, new = wanted("v1"), wanted("v2")
    live = {a["metadata"]["name"]: live_as(a) for a in old}
    first = decide(STRATEGY, None, wanted=new, pending=new, live=live, now=T0)
    assert names(first.writes) == ["stage-1"]
    assert [s.applications for s in first.record.steps] == [["stage-1"], ["eu-1"], ["us-1", "us-2"]]
    assert first.held == ["eu-1", "us-1", "us-2"]
    assert (
        json.loads(first.writes[0]["metadata"]["annotations"][PREVIOUS_ANNOTATION])["spec"]
        == old[0]["spec"]
    )

    # Written but not yet reconciled (observedGeneration behind): the step waits.
    live["stage-1"] = live_as(new[0], generation=3)
    live["stage-1"]["status"]["observedGeneration"] = 2
    pending = [a for a in new if a["metadata"]["name"] != "stage-1"]
    waiting = decide(STRATEGY, first.record, wanted=new, pending=pending, live=live, now=T0)
    assert waiting.writes == [] and waiting.record.steps[0].phase == "Progressing"

    live["stage-1"] = live_as(new[0], generation=3)
    baking = decide(STRATEGY, waiting.record, wanted=new, pending=pending, live=live, now=T0)
    assert baking.writes == [] and baking.wait == 30.0 and baking.record.steps[0].phase == "Baking"
    later = T0 + datetime.timedelta(seconds=31)
    second = decide(STRATEGY, baking.record, wanted=new, pending=pending, live=live, now=later)
    assert names(second.writes) == ["eu-1"]

    live["eu-1"] = live_as(new[1], generation=3)
    pending = [a for a in pending if a["metadata"]["name"] != "eu-1"]
    held = decide(STRATEGY, second.record, wanted=new, pending=pending, live=live, now=later)
    assert held.writes == [] and held.wait == 30.0, "the eu step bakes before the rest"
    rest = decide(STRATEGY, held.record, wanted=new, pending=pending, live=live,
                  now=later + datetime.timedelta(seconds=31))  # fmt: skip
    assert names(rest.writes) == ["us-1", "us-2"], "the last step has no maxUpdate"
    for app in new[2:]:
        live[app["metadata"]["name"]] = live_as(app, generation=3)
    last = decide(STRATEGY, rest.record, wanted=new, pending=[], live=live,
                  now=later + datetime.timedelta(seconds=90))  # fmt: skip
    assert last.record.phase == "Progressing", "the last step bakes too"
    done = decide(STRATEGY, last.record, wanted=new, pending=[], live=live,
                  now=later + datetime.timedelta(seconds=121))  # fmt: skip
    assert done.record.phase == "Succeeded"


def test_a_degraded_step_puts_back_what_the_rollout_changed_and_holds_the_change() -> None:
    old, new = wanted("v1"), wanted("v2")
    live = {a["metadata"]["name"]: live_as(a) for a in old}
    first = decide(STRATEGY, None, wanted=new, pending=new, live=live, now=T0)
    live["stage-1"] = live_as(first.writes[0], health="Degraded", generation=3)
    pending = [a for a in new if a["metadata"]["name"] != "stage-1"]
    back = decide(STRATEGY, first.record, wanted=new, pending=pending, live=live, now=T0)
    assert back.record.phase == "RolledBack"
    assert "stage-1 turned Degraded (deadline exceeded)" in back.record.message
    (restored,) = back.writes
    assert restored["spec"] == old[0]["spec"]
    live["stage-1"] = live_as(restored, generation=4)
    again = decide(STRATEGY, back.record, wanted=new, pending=new, live=live, now=T0)
    assert again.writes == [] and again.held == names(new), "the same change is not retried"
    newer = wanted("v3")
    fresh = decide(STRATEGY, back.record, wanted=newer, pending=newer, live=live, now=T0)
    assert fresh.record.phase == "Progressing" and names(fresh.writes) == ["stage-1"]


def test_nothing_to_change_starts_no_rollout() -> None:
    current = wanted("v1")
    live = {a["metadata"]["name"]: live_as(a) for a in current}
    assert decide(STRATEGY, None, wanted=current, pending=[], live=live, now=T0).record is None


def test_a_write_that_did_not_land_is_sent_again_and_does_not_count() -> None:
    old, new = wanted("v1"), wanted("v2")
    live = {a["metadata"]["name"]: live_as(a) for a in old}
    first = decide(STRATEGY, None, wanted=new, pending=new, live=live, now=T0)
    assert names(first.writes) == ["stage-1"]
    # The write met a conflict: the live Application is still v1, Healthy.
    later = T0 + datetime.timedelta(seconds=60)
    again = decide(STRATEGY, first.record, wanted=new, pending=new, live=live, now=later)
    assert names(again.writes) == ["stage-1"], "sent again"
    kept = json.loads(again.writes[0]["metadata"]["annotations"][PREVIOUS_ANNOTATION])
    assert kept == {"rollout": first.record.target, "spec": old[0]["spec"]}, "with what to put back"
    assert again.record.steps[0].phase == "Progressing", "not baking what did not land"


def test_a_put_back_that_did_not_land_is_sent_again_until_it_has() -> None:
    old, new = wanted("v1"), wanted("v2")
    live = {a["metadata"]["name"]: live_as(a) for a in old}
    first = decide(STRATEGY, None, wanted=new, pending=new, live=live, now=T0)
    live["stage-1"] = live_as(first.writes[0], health="Degraded", generation=3)
    pending = new[1:]
    back = decide(STRATEGY, first.record, wanted=new, pending=pending, live=live, now=T0)
    (restore,) = back.writes
    # The put-back failed: stage-1 is still the Degraded v2; the next pass sends it again.
    retry = decide(STRATEGY, back.record, wanted=new, pending=pending, live=live, now=T0)
    assert [w["spec"] for w in retry.writes] == [restore["spec"]]
    live["stage-1"] = live_as(restore, generation=4)
    settled = decide(STRATEGY, retry.record, wanted=new, pending=new, live=live, now=T0)
    assert settled.writes == []


def test_an_application_that_comes_besides_is_not_a_new_change() -> None:
    old, new = wanted("v1"), wanted("v2")
    live = {a["metadata"]["name"]: live_as(a) for a in old}
    first = decide(STRATEGY, None, wanted=new, pending=new, live=live, now=T0)
    live["stage-1"] = live_as(first.writes[0], health="Degraded", generation=3)
    back = decide(STRATEGY, first.record, wanted=new, pending=new[1:], live=live, now=T0)
    joined = application(OWNER, name="ap-1", labels={"env": "staging"},
                         spec={"source": {"repoURL": "r", "targetRevision": "v2"},
                               "destination": {"name": "ap-1", "namespace": "web"}})  # fmt: skip
    live["stage-1"] = live_as(back.writes[0], generation=4)
    after = decide(STRATEGY, back.record, wanted=[*new, joined], pending=new, live=live, now=T0)
    assert after.record.phase == "RolledBack" and after.writes == []


def test_a_step_not_healthy_within_the_deadline_rolls_back() -> None:
    old, new = wanted("v1"), wanted("v2")
    live = {a["metadata"]["name"]: live_as(a) for a in old}
    first = decide(STRATEGY, None, wanted=new, pending=new, live=live, now=T0)
    live["stage-1"] = live_as(first.writes[0], health="Progressing", generation=3)
    late = T0 + datetime.timedelta(minutes=11)
    back = decide(STRATEGY, first.record, wanted=new, pending=new[1:], live=live, now=late)
    assert back.record.phase == "RolledBack"
    assert "step 0 made no progress within 10m" in back.record.message
    assert [w["spec"] for w in back.writes] == [old[0]["spec"]]


def test_max_update_takes_a_percentage() -> None:
    strategy = RollingSync.model_validate({"steps": [{"maxUpdate": "50%"}]})
    old, new = wanted("v1"), wanted("v2")
    live = {a["metadata"]["name"]: live_as(a) for a in old}
    first = decide(strategy, None, wanted=new, pending=new, live=live, now=T0)
    assert len(first.writes) == 2, "half of four"


def test_a_rollback_leaves_alone_what_never_landed_and_what_an_older_rollout_kept() -> None:
    old, new = wanted("v1"), wanted("v2")
    live = {a["metadata"]["name"]: live_as(a) for a in old}
    # us-1 still carries what an older rollout kept of before: not this rollout's.
    live["us-1"]["metadata"]["annotations"][PREVIOUS_ANNOTATION] = json.dumps(
        {"rollout": "older", "spec": {"source": {"repoURL": "r", "targetRevision": "v0"}}}
    )
    strategy = RollingSync.model_validate({"steps": [{"maxUpdate": 2}]})
    first = decide(strategy, None, wanted=new, pending=new, live=live, now=T0)
    assert names(first.writes) == ["eu-1", "stage-1"]
    # eu-1's write never landed; stage-1's did and is Degraded.
    live["stage-1"] = live_as(first.writes[1], health="Degraded", generation=3)
    back = decide(strategy, first.record, wanted=new, pending=new[1:], live=live, now=T0)
    assert back.record.phase == "RolledBack"
    assert names(back.writes) == ["stage-1"] and back.writes[0]["spec"] == old[0]["spec"]
    assert "could not be" not in back.record.message, "eu-1 was never changed: nothing lost"


def test_an_application_that_goes_does_not_restart_the_change() -> None:
    old, new = wanted("v1"), wanted("v2")
    live = {a["metadata"]["name"]: live_as(a) for a in old}
    first = decide(STRATEGY, None, wanted=new, pending=new, live=live, now=T0)
    live["stage-1"] = live_as(first.writes[0], health="Degraded", generation=3)
    back = decide(STRATEGY, first.record, wanted=new, pending=new[1:], live=live, now=T0)
    live["stage-1"] = live_as(back.writes[0], generation=4)
    fewer = [a for a in new if a["metadata"]["name"] != "us-2"]
    after = decide(STRATEGY, back.record, wanted=fewer, pending=fewer, live=live, now=T0)
    assert after.record.phase == "RolledBack" and after.writes == []


def test_max_update_zero_holds_the_step_without_a_deadline() -> None:
    strategy = RollingSync.model_validate({"steps": [{"maxUpdate": 0}]})
    old, new = wanted("v1"), wanted("v2")
    live = {a["metadata"]["name"]: live_as(a) for a in old}
    first = decide(strategy, None, wanted=new, pending=new, live=live, now=T0)
    assert first.writes == [] and first.record.steps[0].phase == "Paused"
    later = decide(strategy, first.record, wanted=new, pending=new, live=live,
                   now=T0 + datetime.timedelta(hours=2))  # fmt: skip
    assert later.record.phase == "Progressing" and later.writes == []


def test_a_slow_step_that_keeps_progressing_is_not_rolled_back() -> None:
    strategy = RollingSync.model_validate({"steps": [{"maxUpdate": 1}], "progressDeadline": "5m"})
    old, new = wanted("v1"), wanted("v2")
    live = {a["metadata"]["name"]: live_as(a) for a in old}
    record, now = None, T0
    for _ in range(4):  # one at a time, each Healthy 4 minutes after its write
        step = decide(strategy, record, wanted=new, pending=new, live=live, now=now)
        (written,) = step.writes
        now += datetime.timedelta(minutes=4)
        live[written["metadata"]["name"]] = live_as(written, generation=3)
        record = step.record
        assert record.phase == "Progressing", record.message
