"""ClusterSet IPs: one per family from the configured range, what members already carry
kept, the lowest free otherwise, no address twice, and a clear reason when a family has no
range or its range is full."""

from __future__ import annotations

import pytest

from flotilla.discovery.allocating import RangeError, Ranges, allocate

RANGES = Ranges.parse(["10.253.0.0/29", "fd00::/125"])


def test_new_imports_get_the_lowest_free_per_family_in_name_order() -> None:
    result = allocate({("b", "web"): ["IPv4"], ("a", "db"): ["IPv4", "IPv6"]}, {}, RANGES)
    assert result.ips == {("a", "db"): ("10.253.0.1", "fd00::1"), ("b", "web"): ("10.253.0.2",)}
    assert result.problems == {}
    assert allocate({("a", "x"): []}, {}, RANGES).ips == {("a", "x"): ("10.253.0.1",)}


def test_what_members_carry_is_kept_and_never_given_twice() -> None:
    wanted = {("a", "db"): ["IPv4"], ("b", "web"): ["IPv4"], ("c", "new"): ["IPv4"]}
    existing = {
        ("a", "db"): ["10.253.0.5"],
        ("b", "web"): ["10.253.0.5"],  # taken by a/db first: b/web gets another
        ("c", "new"): ["192.168.0.1"],  # out of range: replaced
    }
    result = allocate(wanted, existing, RANGES)
    assert result.ips[("a", "db")] == ("10.253.0.5",)
    assert result.ips[("b", "web")] == ("10.253.0.1",)
    assert result.ips[("c", "new")] == ("10.253.0.2",)
    again = allocate(wanted, {k: list(v) for k, v in result.ips.items()}, RANGES)
    assert again.ips == result.ips


def test_a_full_range_or_a_family_without_one_is_a_problem() -> None:
    wanted = {("n", f"s{i}"): ["IPv4"] for i in range(7)}
    result = allocate(wanted, {}, RANGES)
    assert result.problems == {("n", "s6"): "the IPv4 clusterset IP range is full"}
    assert result.ips[("n", "s6")] == ()
    v4_only = Ranges.parse(["10.253.0.0/29"])
    assert allocate({("n", "s"): ["IPv6"]}, {}, v4_only).problems == {
        ("n", "s"): "no clusterset IP range for IPv6"
    }


@pytest.mark.parametrize(
    ("texts", "message"),
    [(["10.0.0.1/16"], "host bits set"), (["10.0.0.0/31"], "too small"),
     (["10.0.0.0/16", "10.1.0.0/16"], "two IPv4"), (["nope"], "does not appear")],
)  # fmt: skip
def test_bad_ranges_are_refused(texts: list[str], message: str) -> None:
    with pytest.raises(RangeError, match=message):
        Ranges.parse(texts)
