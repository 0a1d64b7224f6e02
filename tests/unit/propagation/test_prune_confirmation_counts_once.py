"""A confirm-prune annotation lets one pass past the guard, once, for a short while."""

from __future__ import annotations

import datetime

from flotilla.propagation import pruning

BLOCKED = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)


def stamp(when: datetime.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def valid(annotation: str, *, now: datetime.datetime, used: str = "") -> bool:
    return pruning.confirmation_valid(annotation, blocked_since=BLOCKED, used=used, now=now)


def test_a_confirmation_after_the_block_is_valid() -> None:
    given = BLOCKED + datetime.timedelta(seconds=30)
    assert valid(stamp(given), now=given + datetime.timedelta(seconds=1))


def test_a_confirmation_from_before_the_block_is_not() -> None:
    given = BLOCKED - datetime.timedelta(seconds=1)
    assert not valid(stamp(given), now=BLOCKED + datetime.timedelta(seconds=1))


def test_a_future_dated_confirmation_never_disables_the_guard() -> None:
    future = stamp(datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC))
    assert not valid(future, now=BLOCKED + datetime.timedelta(seconds=1))


def test_a_confirmation_expires() -> None:
    given = BLOCKED + datetime.timedelta(seconds=1)
    late = given + pruning.CONFIRM_WINDOW + datetime.timedelta(seconds=1)
    assert not valid(stamp(given), now=late)


def test_a_used_confirmation_is_not_valid_again() -> None:
    given = stamp(BLOCKED + datetime.timedelta(seconds=1))
    assert not valid(given, now=BLOCKED + datetime.timedelta(seconds=2), used=given)


def test_nothing_blocked_means_nothing_to_confirm() -> None:
    given = stamp(BLOCKED)
    assert not pruning.confirmation_valid(given, blocked_since=None, used="", now=BLOCKED)


def test_garbage_is_not_a_confirmation() -> None:
    assert not valid("yes please", now=BLOCKED)
