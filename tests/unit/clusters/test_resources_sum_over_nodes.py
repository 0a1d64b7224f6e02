import pytest

from flotilla.api.quantity import sum_resources


def test_resources_of_all_nodes_are_summed_per_name() -> None:
    nodes = [
        {"cpu": "4", "memory": "16Gi", "pods": "110"},
        {"cpu": "3500m", "memory": "8Gi", "pods": "110"},
        {"cpu": "500m", "memory": "8Gi", "pods": "110"},
    ]
    assert sum_resources(nodes) == {"cpu": "8", "memory": "32Gi", "pods": "330"}


def test_a_resource_only_some_nodes_have_is_summed_over_those() -> None:
    nodes = [{"cpu": "2"}, {"cpu": "2", "nvidia.com/gpu": "1"}]
    assert sum_resources(nodes) == {"cpu": "4", "nvidia.com/gpu": "1"}


def test_the_sum_is_sorted_by_resource_name() -> None:
    assert list(sum_resources([{"pods": "1", "cpu": "1", "memory": "1Gi"}])) == [
        "cpu",
        "memory",
        "pods",
    ]


def test_a_value_that_does_not_parse_is_skipped() -> None:
    nodes = [{"cpu": "2", "memory": "lots"}, {"cpu": "bogus", "memory": "1Gi"}]
    assert sum_resources(nodes) == {"cpu": "2", "memory": "1Gi"}


def test_no_nodes_sum_to_nothing() -> None:
    assert sum_resources([]) == {}
    assert sum_resources([{}, {}]) == {}


@pytest.mark.parametrize(("name", "text"), [("cpu", "NaN"), ("memory", "Infinity")])
def test_a_nan_or_infinite_value_is_skipped_too(name: str, text: str) -> None:
    assert sum_resources([{name: text}, {name: "2"}]) == {name: "2"}
