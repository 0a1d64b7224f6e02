"""The fast path gives byte for byte what the complete path gives, in the client's letter
case, with its ID and RD bit; what it must not answer (truncation, Client Subnet, other
opcodes, malformed input) goes to the complete path; a response is never answered."""

from __future__ import annotations

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flotilla.dns import Answers, Record, Zone, answer, compile_zones, wire
from flotilla.dns.answering import to_wire, udp_limit
from tests.unit.dns.zonedata import zones

NAMES = [
    "web.shop.svc.clusterset.local",
    "db.shop.svc.clusterset.local",
    "nope.shop.svc.clusterset.local",
    "shop.svc.clusterset.local",
    "alias.shop.svc.clusterset.local",
    "_http._tcp.web.shop.svc.clusterset.local",
    "clusterset.local",
    "web.shop.svc.cluster.local",
    "many.shop.svc.clusterset.local",
]
ZONES = zones()
TYPES = ["A", "AAAA", "SRV", "TXT", "NS", "SOA", "CNAME", "ANY", "MX"]


def complete(data: bytes, *, udp: bool) -> bytes:
    query = dns.message.from_wire(data)
    return to_wire(answer(query, ZONES), limit=udp_limit(query) if udp else 65535)


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    rdtype=st.sampled_from(TYPES),
    case=st.integers(min_value=0, max_value=2**32),
    edns=st.sampled_from([None, (512, False), (1232, True), (4096, False)]),
    rd=st.booleans(),
    ident=st.integers(min_value=0, max_value=65535),
    udp=st.booleans(),
)
def test_fast_answers_are_the_complete_answers(  # noqa: PLR0917 (hypothesis passes them)
    name: str,
    rdtype: str,
    case: int,
    edns: tuple[int, bool] | None,
    rd: bool,
    ident: int,
    udp: bool,
) -> None:
    mixed = "".join(c.upper() if case >> (i % 32) & 1 else c for i, c in enumerate(name))
    if edns is None:
        query = dns.message.make_query(mixed, rdtype)
    else:
        query = dns.message.make_query(
            mixed, rdtype, use_edns=0, payload=edns[0], want_dnssec=edns[1]
        )
    query.id = ident
    query.flags = dns.flags.RD if rd else 0
    data = query.to_wire()
    answers = Answers(ZONES)
    first = answers.respond(data, udp=udp)
    second = answers.respond(data, udp=udp)  # from the kept bytes
    assert first == second == complete(data, udp=udp)
    assert first is not None
    response = dns.message.from_wire(first)
    assert response.id == ident
    assert str(response.question[0].name).rstrip(".") == mixed  # the client's own case
    assert bool(response.flags & dns.flags.RD) == rd


def test_kept_answers_are_used_and_what_must_be_truncated_is_not() -> None:
    answers = Answers(zones())
    small = dns.message.make_query("web.shop.svc.clusterset.local", "A").to_wire()
    for _ in range(3):
        answers.respond(small, udp=True)
    assert (answers.fast, answers.complete) == (3, 0)
    big = dns.message.make_query("many.shop.svc.clusterset.local", "A").to_wire()
    truncated = answers.respond(big, udp=True)
    assert truncated is not None
    response = dns.message.from_wire(truncated)
    assert response.flags & dns.flags.TC and not response.answer
    assert answers.complete == 1
    over_tcp = answers.respond(big, udp=False)
    assert over_tcp is not None and len(dns.message.from_wire(over_tcp).answer[0]) == 60
    roomy = dns.message.make_query("many.shop.svc.clusterset.local", "A", use_edns=0, payload=1232)
    fits = answers.respond(roomy.to_wire(), udp=True)
    assert fits is not None and not dns.message.from_wire(fits).flags & dns.flags.TC


def test_padding_asked_for_gives_the_same_bytes_on_both_paths() -> None:
    padding = dns.edns.GenericOption(dns.edns.OptionType.PADDING, b"\x00" * 16)
    query = dns.message.make_query(
        "many.shop.svc.clusterset.local", "A", use_edns=0, payload=1232, options=[padding]
    )
    data = query.to_wire()
    assert Answers(ZONES).respond(data, udp=True) == complete(data, udp=True)


def test_a_cookie_takes_the_fast_path_and_client_subnet_the_complete_one() -> None:
    answers = Answers(zones())
    cookie = dns.edns.GenericOption(dns.edns.OptionType.COOKIE, b"\x01" * 8)
    query = dns.message.make_query(
        "web.shop.svc.clusterset.local", "A", use_edns=0, options=[cookie]
    )
    assert answers.respond(query.to_wire(), udp=True) is not None
    assert (answers.fast, answers.complete) == (1, 0)
    subnet = dns.edns.ECSOption("192.0.2.0", 24)
    query = dns.message.make_query(
        "web.shop.svc.clusterset.local", "A", use_edns=0, options=[subnet]
    )
    response = answers.respond(query.to_wire(), udp=True)
    assert response is not None and answers.complete == 1
    assert any(isinstance(o, dns.edns.ECSOption) for o in dns.message.from_wire(response).options)


@pytest.mark.parametrize(
    "data",
    [
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03web",  # the name runs out
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01",  # a loop
        b"\x12\x34\x01\x00\x00\x02\x00\x00\x00\x00\x00\x00" + b"\x00\x00\x01\x00\x01",
    ],
)
def test_malformed_queries_get_formerr_with_their_id(data: bytes) -> None:
    response = Answers(zones()).respond(data, udp=True)
    assert response is not None
    assert response[:2] == b"\x12\x34"
    assert response[2] & 0x80 and response[3] & 0x0F == dns.rcode.FORMERR


def test_responses_and_scraps_are_not_answered() -> None:
    answers = Answers(zones())
    query = dns.message.make_query("web.shop.svc.clusterset.local", "A")
    reply = dns.message.make_response(query).to_wire()
    assert answers.respond(reply, udp=True) is None
    assert answers.respond(b"\x00\x01", udp=True) is None


def test_the_kept_table_is_bounded_and_belongs_to_its_zones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(wire, "MAX_KEPT", 4)
    answers = Answers(zones())
    for n in range(10):
        answers.respond(dns.message.make_query(f"n{n}.clusterset.local", "A").to_wire(), udp=True)
    assert len(answers._kept) <= 4
    fresh = Answers(compile_zones([Zone("clusterset.local", [Record("n1", "A", "10.9.9.9")])]))
    response = fresh.respond(dns.message.make_query("n1.clusterset.local", "A").to_wire(), udp=True)
    assert response is not None
    assert dns.message.from_wire(response).answer[0][0].address == "10.9.9.9"
