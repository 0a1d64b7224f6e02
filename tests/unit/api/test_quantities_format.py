from decimal import Decimal

import pytest

from flotilla.api.quantity import format_quantity, parse_quantity


@pytest.mark.parametrize(("text", "shown"), [("16", "16"), ("2k", "2000"), ("2000m", "2")])
def test_whole_cpus_are_shown_in_cores(text: str, shown: str) -> None:
    assert format_quantity("cpu", parse_quantity(text)) == shown


@pytest.mark.parametrize(
    ("text", "shown"), [("500m", "500m"), ("1.5", "1500m"), ("2250m", "2250m")]
)
def test_fractional_cpus_are_shown_in_millicores(text: str, shown: str) -> None:
    assert format_quantity("cpu", parse_quantity(text)) == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("64Gi", "64Gi"),
        ("1024Mi", "1Gi"),
        ("1.5Gi", "1536Mi"),
        ("100Mi", "100Mi"),
        ("3Ki", "3Ki"),
        ("2048Ti", "2Pi"),
    ],
)
def test_memory_is_shown_in_the_largest_binary_unit_that_divides_it(text: str, shown: str) -> None:
    assert format_quantity("memory", parse_quantity(text)) == shown


def test_memory_no_binary_unit_divides_is_shown_in_bytes() -> None:
    assert format_quantity("memory", parse_quantity("1G")) == "1000000000"
    assert format_quantity("memory", Decimal(1000)) == "1000"


@pytest.mark.parametrize("resource", ["ephemeral-storage", "hugepages-2Mi", "hugepages-1Gi"])
def test_storage_and_hugepages_are_shown_like_memory(resource: str) -> None:
    assert format_quantity(resource, parse_quantity("20Gi")) == "20Gi"


def test_other_resources_are_shown_as_plain_numbers() -> None:
    assert format_quantity("pods", parse_quantity("110")) == "110"
    assert format_quantity("nvidia.com/gpu", Decimal("0.5")) == "0.5"


def test_zero_memory_is_shown_as_zero() -> None:
    assert format_quantity("memory", Decimal(0)) == "0"


def test_a_non_zero_cpu_below_a_millicore_is_not_shown_as_zero() -> None:
    assert format_quantity("cpu", parse_quantity("100u")) == "1m"
