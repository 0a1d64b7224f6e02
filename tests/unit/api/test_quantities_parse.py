from decimal import Decimal

import pytest

from flotilla.api.quantity import parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("16", Decimal(16)),
        ("64Gi", Decimal(64 * 2**30)),
        ("1.5", Decimal("1.5")),
        ("2k", Decimal(2000)),
        ("100Mi", Decimal(100 * 2**20)),
        ("1Ki", Decimal(1024)),
        ("3G", Decimal(3 * 10**9)),
        ("250u", Decimal("0.00025")),
    ],
)
def test_a_quantity_has_the_value_of_its_number_times_its_suffix(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


def test_a_binary_suffix_is_not_read_as_its_decimal_prefix() -> None:
    assert parse_quantity("1Mi") != parse_quantity("1M")
    assert parse_quantity("1Mi") == Decimal(2**20)


@pytest.mark.parametrize("text", ["", "abc", "Gi", "m", "1.2.3", "12Q", "Mi12"])
def test_what_is_not_a_quantity_raises_value_error_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="not a quantity") as caught:
        parse_quantity(text)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize("text", ["NaN", "Infinity", " 16 ", "1_000"])
def test_decimal_spellings_that_are_no_kubernetes_quantity_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a quantity"):
        parse_quantity(text)
