import datetime

from flotilla.api import Condition, set_condition

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
T1 = T0 + datetime.timedelta(minutes=1)


def test_a_new_condition_is_added_with_its_transition_time() -> None:
    conditions: list[Condition] = []
    assert set_condition(conditions, type="Ready", status="True", reason="Ok", message="", now=T0)
    assert conditions[0].last_transition_time == T0


def test_the_same_condition_again_changes_nothing() -> None:
    conditions: list[Condition] = []
    set_condition(conditions, type="Ready", status="True", reason="Ok", message="m", now=T0)
    assert not set_condition(
        conditions, type="Ready", status="True", reason="Ok", message="m", now=T1
    )


def test_transition_time_moves_only_when_the_status_changes() -> None:
    conditions: list[Condition] = []
    set_condition(conditions, type="Ready", status="True", reason="Ok", message="", now=T0)
    set_condition(conditions, type="Ready", status="True", reason="Ok", message="new", now=T1)
    assert conditions[0].last_transition_time == T0
    set_condition(conditions, type="Ready", status="False", reason="Down", message="", now=T1)
    assert conditions[0].last_transition_time == T1
    assert len(conditions) == 1


def test_the_observed_generation_is_set_on_the_condition() -> None:
    conditions: list[Condition] = []
    set_condition(
        conditions,
        type="Ready",
        status="True",
        reason="Ok",
        message="",
        now=T0,
        observed_generation=3,
    )
    assert conditions[0].observed_generation == 3
    assert conditions[0].to_wire()["observedGeneration"] == 3


def test_a_new_generation_alone_is_a_change_that_keeps_the_transition_time() -> None:
    conditions: list[Condition] = []
    set_condition(
        conditions,
        type="Ready",
        status="True",
        reason="Ok",
        message="",
        now=T0,
        observed_generation=3,
    )
    assert set_condition(
        conditions,
        type="Ready",
        status="True",
        reason="Ok",
        message="",
        now=T1,
        observed_generation=4,
    )
    assert (conditions[0].observed_generation, conditions[0].last_transition_time) == (4, T0)
    assert not set_condition(
        conditions,
        type="Ready",
        status="True",
        reason="Ok",
        message="",
        now=T1,
        observed_generation=4,
    )


def test_a_status_change_keeps_the_new_observed_generation() -> None:
    conditions: list[Condition] = []
    set_condition(
        conditions,
        type="Ready",
        status="True",
        reason="Ok",
        message="",
        now=T0,
        observed_generation=3,
    )
    set_condition(
        conditions,
        type="Ready",
        status="False",
        reason="Down",
        message="",
        now=T1,
        observed_generation=5,
    )
    assert (conditions[0].observed_generation, conditions[0].last_transition_time) == (5, T1)


def test_without_a_generation_the_condition_has_none() -> None:
    conditions: list[Condition] = []
    set_condition(conditions, type="Ready", status="True", reason="Ok", message="", now=T0)
    assert "observedGeneration" not in conditions[0].to_wire()
