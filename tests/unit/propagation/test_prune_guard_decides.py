"""The deletion guard's decision (``pruning.decide``): unsure never means delete."""

from __future__ import annotations

import datetime
from typing import Any

from flotilla.api.placement import PruneRecord
from flotilla.propagation import pruning

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
NS = "shop"


def obj(name: str, *, namespace: str = NS, kind: str = "ConfigMap") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"},
    }


def decide(
    managed: list[dict[str, Any]],
    wanted: list[dict[str, Any]],
    *,
    record: PruneRecord | None = None,
    now: datetime.datetime = T0,
    grace: float = 0.0,
    percent: int = 50,
    guarded: bool = True,
    confirmed: bool = False,
) -> pruning.Decision:
    return pruning.decide(
        cluster="us-east",
        namespaces=frozenset({NS}),
        managed=managed,
        wanted=[pruning.object_key(m) for m in wanted],
        record=record,
        now=now,
        grace_seconds=grace,
        guard_percent=percent,
        guarded=guarded,
        confirmed=confirmed,
    )


def names(decision: pruning.Decision) -> list[str]:
    return sorted(item["metadata"]["name"] for item in decision.delete)


def test_a_share_within_the_guard_is_pruned() -> None:
    managed = [obj(f"c{i}") for i in range(4)]
    decision = decide(managed, managed[:2])
    assert names(decision) == ["c2", "c3"]
    assert decision.blocked == ""
    assert decision.record.pruned_in_window == 2


def test_more_than_the_guard_is_held_on_any_member_chosen_or_not() -> None:
    managed = [obj(f"c{i}") for i in range(4)]
    # Nothing wanted here: the cluster was un-chosen (a label removed, an affinity typo).
    decision = decide(managed, [])
    assert decision.delete == ()
    assert "4 of 4" in decision.blocked


def test_earlier_prunes_of_the_window_count_toward_the_guard() -> None:
    managed = [obj(f"c{i}") for i in range(10)]
    first = decide(managed, managed[1:])  # 1 of 10: fine
    assert names(first) == ["c0"]
    left = managed[1:]
    second = decide(left, left[4:], record=first.record, now=T0 + datetime.timedelta(seconds=10))
    # 4 more: 5 of 10 within the window is 50%, at the limit
    assert len(second.delete) == 4
    third = decide(
        left[4:], left[5:], record=second.record, now=T0 + datetime.timedelta(seconds=20)
    )
    assert third.delete == ()
    assert "6 of 10" in third.blocked


def test_the_window_ends() -> None:
    managed = [obj(f"c{i}") for i in range(4)]
    first = decide(managed, managed[2:])
    later = T0 + pruning.GUARD_WINDOW + datetime.timedelta(seconds=1)
    second = decide(managed[2:], managed[3:], record=first.record, now=later)
    assert names(second) == ["c2"]


def test_an_unguarded_pass_prunes_everything_unwanted() -> None:
    managed = [obj(f"c{i}") for i in range(3)]
    assert names(decide(managed, [], guarded=False)) == ["c0", "c1", "c2"]


def test_objects_outside_the_placement_namespace_are_never_pruned() -> None:
    stray = obj("argocd-cm", namespace="argocd")
    decision = decide([obj("a"), stray], [obj("a")], guarded=False)
    assert decision.delete == ()


def test_an_unwanted_object_waits_out_the_grace_period() -> None:
    managed = [obj("a"), obj("b"), obj("c")]
    first = decide(managed, managed[1:], grace=5)
    assert first.delete == ()
    assert first.wait == 5
    early = decide(managed, managed[1:], record=first.record, grace=5,
                   now=T0 + datetime.timedelta(seconds=4))  # fmt: skip
    assert early.delete == ()
    due = decide(managed, managed[1:], record=early.record, grace=5,
                 now=T0 + datetime.timedelta(seconds=5))  # fmt: skip
    assert names(due) == ["a"]


def test_a_template_recreated_within_the_grace_is_not_deleted() -> None:
    managed = [obj("a"), obj("b"), obj("c")]
    gone = decide(managed, managed[1:], grace=5)
    back = decide(managed, managed, record=gone.record, grace=5,
                  now=T0 + datetime.timedelta(seconds=3))  # fmt: skip
    assert back.delete == ()
    assert back.record.pending_since is None
    # It goes again later: a new grace period starts then, not from the first time.
    again = decide(managed, managed[1:], record=back.record, grace=5,
                   now=T0 + datetime.timedelta(seconds=6))  # fmt: skip
    assert again.delete == ()
    assert again.wait == 5


def test_the_grace_restarts_when_more_objects_become_unwanted() -> None:
    managed = [obj("a"), obj("b"), obj("c"), obj("d")]
    first = decide(managed, managed[1:], grace=5)
    more = decide(managed, managed[2:], record=first.record, grace=5,
                  now=T0 + datetime.timedelta(seconds=4))  # fmt: skip
    assert more.delete == ()
    assert more.wait == 5


def test_idle_records_need_not_be_kept() -> None:
    managed = [obj("a")]
    assert pruning.idle(decide(managed, managed).record)
    assert not pruning.idle(decide(managed, [], grace=5).record)


def test_a_template_moved_to_another_version_of_its_kind_is_not_unwanted() -> None:
    old = {**obj("web", kind="HorizontalPodAutoscaler"), "apiVersion": "autoscaling/v1"}
    new = {**obj("web", kind="HorizontalPodAutoscaler"), "apiVersion": "autoscaling/v2"}
    # The one live object, seen through the informers of both versions.
    decision = decide([old, new], [new], guarded=False)
    assert decision.delete == ()


def test_a_confirmation_lets_go_what_the_guard_held() -> None:
    managed = [obj(f"c{i}") for i in range(4)]
    held = decide(managed, [])
    assert held.blocked
    assert names(decide(managed, [], record=held.record, confirmed=True)) == [
        "c0", "c1", "c2", "c3",
    ]  # fmt: skip


def test_a_confirmation_does_not_cover_what_became_unwanted_since() -> None:
    managed = [obj(f"c{i}") for i in range(6)]
    held = decide(managed, managed[4:])  # 4 of 6 held
    assert held.blocked
    more = decide(managed, [], record=held.record, confirmed=True)  # now all 6
    assert more.delete == ()
    assert more.blocked
