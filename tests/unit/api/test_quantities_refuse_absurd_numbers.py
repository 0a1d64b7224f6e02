import pytest

from flotilla.api.quantity import parse_quantity, sum_resources


@pytest.mark.parametrize("text", ["1e999999999", "1e999999999Ei", "1e40", "9" * 5000, "1e-40"])
def test_a_number_no_node_could_report_is_not_a_quantity(text: str) -> None:
    with pytest.raises(ValueError, match="quantity"):
        parse_quantity(text)


def test_a_large_real_quantity_still_parses() -> None:
    assert parse_quantity("8Ei") == 8 * 2**60


def test_a_sum_skips_what_does_not_parse_and_what_is_not_a_string() -> None:
    lists = [{"cpu": "1e999999999", "memory": "1Gi"}, {"cpu": "3", "memory": None}]

    assert sum_resources(lists) == {"cpu": "3", "memory": "1Gi"}
