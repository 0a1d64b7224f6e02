"""The complete path's answers: AA for our zones, REFUSED for others (cluster.local among
them), NODATA vs NXDOMAIN with the SOA at the negative TTL, CNAMEs followed, SRV targets'
addresses added, EDNS0 echoed with DO copied, BADVERS, Client Subnet echoed at scope 0."""

from __future__ import annotations

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from flotilla.dns import Record, Zone, answer, compile_zones
from tests.unit.dns.zonedata import zones

ZONES = zones()


def ask(name: str, rdtype: str = "A", **options: object) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, **options)  # type: ignore[arg-type]
    return answer(query, ZONES)


def texts(section: list[dns.rrset.RRset]) -> list[str]:
    return sorted(line for rrset in section for line in rrset.to_text().splitlines())


def test_an_address_is_authoritative() -> None:
    response = ask("web.shop.svc.clusterset.local")
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA and not response.flags & dns.flags.RA
    assert texts(response.answer) == ["web.shop.svc.clusterset.local. 5 IN A 10.96.0.10"]
    assert texts(ask("web.shop.svc.clusterset.local", "AAAA").answer) == [
        "web.shop.svc.clusterset.local. 5 IN AAAA fd00::10"
    ]


@pytest.mark.parametrize(
    ("name", "rdtype", "rcode"),
    [
        ("db.shop.svc.clusterset.local", "AAAA", dns.rcode.NOERROR),  # the name has an A
        ("shop.svc.clusterset.local", "A", dns.rcode.NOERROR),  # empty non-terminal
        ("east.db.shop.svc.clusterset.local", "A", dns.rcode.NOERROR),
        ("nope.shop.svc.clusterset.local", "A", dns.rcode.NXDOMAIN),
        ("pod-1.east.db.shop.svc.clusterset.local", "A", dns.rcode.NXDOMAIN),
    ],
)
def test_nodata_and_nxdomain_carry_the_soa_at_the_negative_ttl(
    name: str, rdtype: str, rcode: dns.rcode.Rcode
) -> None:
    response = ask(name, rdtype)
    assert response.rcode() == rcode
    assert not response.answer
    assert texts(response.authority) == [
        "clusterset.local. 5 IN SOA ns.clusterset.local. hostmaster.clusterset.local. "
        "1 7200 1800 86400 5"
    ]
    assert response.flags & dns.flags.AA


@pytest.mark.parametrize("name", ["web.shop.svc.cluster.local", "example.org", "local"])
def test_names_outside_the_zones_are_refused(name: str) -> None:
    response = ask(name)
    assert response.rcode() == dns.rcode.REFUSED
    assert not response.answer and not response.flags & dns.flags.AA


def test_a_cname_is_followed_inside_and_left_to_the_resolver_outside() -> None:
    inside = ask("alias.shop.svc.clusterset.local")
    assert texts(inside.answer) == [
        "alias.shop.svc.clusterset.local. 5 IN CNAME web.shop.svc.clusterset.local.",
        "web.shop.svc.clusterset.local. 5 IN A 10.96.0.10",
    ]
    outside = ask("away.shop.svc.clusterset.local")
    assert outside.rcode() == dns.rcode.NOERROR
    assert texts(outside.answer) == ["away.shop.svc.clusterset.local. 5 IN CNAME www.example.org."]
    asked = ask("alias.shop.svc.clusterset.local", "CNAME")
    assert len(asked.answer) == 1 and asked.answer[0].rdtype == dns.rdatatype.CNAME


def test_srv_targets_get_their_addresses_and_any_gives_the_node() -> None:
    response = ask("_http._tcp.web.shop.svc.clusterset.local", "SRV")
    assert texts(response.answer) == [
        "_http._tcp.web.shop.svc.clusterset.local. 5 IN SRV 0 100 80 web.shop.svc.clusterset.local."
    ]
    assert texts(response.additional) == [
        "web.shop.svc.clusterset.local. 5 IN A 10.96.0.10",
        "web.shop.svc.clusterset.local. 5 IN AAAA fd00::10",
    ]
    assert len(ask("web.shop.svc.clusterset.local", "ANY").answer) == 2
    apex = ask("clusterset.local", "NS")
    assert texts(apex.answer) == ["clusterset.local. 5 IN NS ns.clusterset.local."]


def test_edns_is_echoed_with_do_copied_and_a_newer_version_is_badvers() -> None:
    plain = ask("web.shop.svc.clusterset.local")
    assert plain.edns < 0
    response = ask("web.shop.svc.clusterset.local", use_edns=0, want_dnssec=True, payload=4096)
    assert response.edns == 0 and response.payload == 1232
    assert response.ednsflags & dns.flags.DO
    newer = ask("web.shop.svc.clusterset.local", use_edns=1)
    assert newer.rcode() == dns.rcode.BADVERS and not newer.answer


def test_client_subnet_is_echoed_with_scope_zero() -> None:
    subnet = dns.edns.ECSOption("192.0.2.0", 24)
    response = ask("web.shop.svc.clusterset.local", use_edns=0, options=[subnet])
    echoed = [o for o in response.options if isinstance(o, dns.edns.ECSOption)]
    assert len(echoed) == 1
    assert (echoed[0].address, echoed[0].srclen, echoed[0].scopelen) == ("192.0.2.0", 24, 0)


def test_other_opcodes_and_classes() -> None:
    query = dns.message.make_query("web.shop.svc.clusterset.local", "A")
    query.set_opcode(dns.opcode.NOTIFY)
    assert answer(query, ZONES).rcode() == dns.rcode.NOTIMP
    chaos = dns.message.make_query("version.bind", "TXT", dns.rdataclass.CH)
    assert answer(chaos, ZONES).rcode() == dns.rcode.REFUSED


def test_a_cname_loop_is_answered_once() -> None:
    looped = compile_zones(
        [Zone("loop.test", [Record("a", "CNAME", "b"), Record("b", "CNAME", "a")])]
    )
    response = answer(dns.message.make_query("a.loop.test", "A"), looped)
    assert len(response.answer) == 2
