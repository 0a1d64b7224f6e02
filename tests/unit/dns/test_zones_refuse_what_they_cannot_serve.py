"""A zone is checked once, when it is compiled: what could not be answered right is a
ZoneError naming the record, and nothing of the zone is served."""

from __future__ import annotations

import dns.name
import pytest

from flotilla.dns import Record, Zone, ZoneError, compile_zones
from flotilla.dns import zones as zones_module


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([Record("web.example.org.", "A", "10.0.0.1")], "outside the zone"),
        ([Record("a", "CNAME", "b"), Record("a", "A", "10.0.0.1")], "a CNAME and other data"),
        ([Record("a", "CNAME", "b"), Record("a", "CNAME", "c")], "more than one CNAME"),
        ([Record("a", "A", "not-an-address")], "record 0 .*'not-an-address'"),
        ([Record("a", "SOA", "ns hostmaster 1 2 3 4 5")], "not a type a record may have"),
        ([Record("a", "NOPE", "x")], "record 0"),
        ([Record("a", "A", "10.0.0.1", ttl=-1)], "TTL out of range"),
    ],
)
def test_records_that_cannot_be_served(records: list[Record], message: str) -> None:
    with pytest.raises(ZoneError, match=message):
        compile_zones([Zone("clusterset.local", records)])


def test_a_zone_given_twice_and_too_many_records(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ZoneError, match="given twice"):
        compile_zones([Zone("clusterset.local."), Zone("ClusterSet.Local")])
    monkeypatch.setattr(zones_module, "MAX_RECORDS", 2)
    with pytest.raises(ZoneError, match="more than 2 records"):
        compile_zones([Zone("a.", [Record("x", "A", "10.0.0.1")] * 3)])


def test_empty_non_terminals_exist_and_owners_are_case_insensitive() -> None:
    compiled = compile_zones([Zone("Clusterset.Local", [Record("Web.Shop.svc", "A", "10.0.0.1")])])
    zone = compiled.find(dns.name.from_text("web.shop.svc.clusterset.local"))
    assert zone is not None
    names = {n.to_text() for n in zone.names}
    assert names == {
        "clusterset.local.",
        "svc.clusterset.local.",
        "shop.svc.clusterset.local.",
        "web.shop.svc.clusterset.local.",
    }
    assert compiled.find(dns.name.from_text("web.shop.svc.cluster.local")) is None
