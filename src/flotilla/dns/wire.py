"""The fast path: most queries are answered from bytes made once, without parsing a message.

A resolver's query is nearly always the same shape: a 12-byte header, one question, at most
an OPT record with no options but a cookie or padding. For that shape the response depends
only on (name, type, class, EDNS or not, DO bit), so it is made once by ``answering`` and
kept as bytes; a later query with that key is answered by copying its ID, its RD bit and its
question (in the client's own letter case: resolvers randomise it, RFC draft "0x20") into
the kept bytes. Every name compression pointer in the kept bytes points into the question,
which keeps its length, so the copy stays valid.

Anything else (other opcodes, several questions, EDNS options such as Client Subnet that
can change the answer, a response over the client's UDP limit that must be truncated, and
malformed input) takes the complete path. The kept answers are per ``Zones``: a new set of
zones starts an empty table, so no answer outlives the data it came from. The table is
bounded (random names would otherwise fill it with NXDOMAINs): when full it starts again.
"""

from __future__ import annotations

import struct

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from flotilla.dns.answering import EDNS_PAYLOAD, PLAIN_UDP, TCP_LIMIT, answer, to_wire, udp_limit
from flotilla.dns.zones import Zones

MAX_KEPT = 50_000
_HEADER = struct.Struct("!HHHHHH")
_TYPE_CLASS = struct.Struct("!HH")
_OPT = struct.Struct("!HHBBHH")  # type, payload, extended rcode, version, flags, rdlen
_OPTION = struct.Struct("!HH")
_HARMLESS_OPTIONS = frozenset({10, 12})  # COOKIE (ignored: RFC 7873 section 5.2), PADDING
_DO = 0x8000
_RD = 0x01  # in the third byte

Key = tuple[bytes, int, int, bool, bool]


class Answers:
    """Responses to queries for one set of zones."""

    def __init__(self, zones: Zones) -> None:
        self.zones = zones
        self._kept: dict[Key, bytes] = {}
        self.fast = 0
        self.complete = 0

    def respond(self, data: bytes, *, udp: bool) -> bytes | None:
        """The response to the query ``data``; None when nothing should be sent (a
        response, or bytes too short to say whom to answer)."""
        parsed = _parse(data)
        if parsed is not None:
            key, question_end, payload = parsed
            kept = self._kept.get(key)
            if kept is None:
                kept = self._make(key)
            limit = (
                (max(PLAIN_UDP, min(payload, EDNS_PAYLOAD)) if key[3] else PLAIN_UDP)
                if udp
                else TCP_LIMIT
            )
            if len(kept) <= limit:
                self.fast += 1
                return b"".join(
                    (
                        data[:2],
                        bytes((kept[2] | (data[2] & _RD), kept[3])),
                        kept[4:12],
                        data[12:question_end],
                        kept[question_end:],
                    )
                )
        self.complete += 1
        return self._complete(data, udp=udp)

    def _make(self, key: Key) -> bytes:
        name, rdtype, rdclass, edns, do = key
        query = dns.message.make_query(
            dns.name.from_wire(name, 0)[0],
            dns.rdatatype.RdataType.make(rdtype),
            dns.rdataclass.RdataClass.make(rdclass),
            use_edns=0 if edns else False,
            want_dnssec=do,
            payload=EDNS_PAYLOAD,
        )
        query.id = 0
        query.flags = 0
        made = to_wire(answer(query, self.zones), limit=TCP_LIMIT)
        if len(self._kept) >= MAX_KEPT:
            self._kept.clear()
        self._kept[key] = made
        return made

    def _complete(self, data: bytes, *, udp: bool) -> bytes | None:
        if len(data) < 12 or data[2] & 0x80:
            return None
        try:
            query = dns.message.from_wire(data, ignore_trailing=False)
        except dns.message.UnknownTSIGKey:
            return _error(data, dns.rcode.NOTAUTH)
        except (dns.exception.DNSException, ValueError, IndexError, struct.error):
            return _error(data, dns.rcode.FORMERR)
        response = answer(query, self.zones)
        return to_wire(response, limit=udp_limit(query) if udp else TCP_LIMIT)


def _parse(data: bytes) -> tuple[Key, int, int] | None:
    """(key, where the question ends, the client's UDP payload) for a query of the usual
    shape; None for anything the complete path must see."""
    if len(data) < 17:
        return None
    _, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(data)
    if flags & 0xF800 or qdcount != 1 or ancount or nscount or arcount > 1:
        return None  # a response, another opcode, or not one plain question
    position = 12
    while True:
        length = data[position]
        if length == 0:
            position += 1
            break
        if length & 0xC0 or position + length + 1 >= len(data):
            return None
        position += length + 1
    name_end = position
    if name_end > 12 + 255 or name_end + 4 > len(data):
        return None
    rdtype, rdclass = _TYPE_CLASS.unpack_from(data, name_end)
    question_end = name_end + 4
    edns = do = False
    payload = PLAIN_UDP
    if arcount:
        if len(data) < question_end + 11 or data[question_end] != 0:
            return None
        kind, payload, _, version, ednsflags, rdlen = _OPT.unpack_from(data, question_end + 1)
        end = question_end + 11 + rdlen
        if kind != dns.rdatatype.OPT or version != 0 or end != len(data):
            return None
        option = question_end + 11
        while option < end:
            if option + 4 > end:
                return None
            code, size = _OPTION.unpack_from(data, option)
            if code not in _HARMLESS_OPTIONS:
                return None
            option += 4 + size
        if option != end:
            return None
        edns, do = True, bool(ednsflags & _DO)
    elif question_end != len(data):
        return None
    if rdtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR, dns.rdatatype.OPT):
        return None
    return (data[12:name_end].lower(), rdtype, rdclass, edns, do), question_end, payload


def _error(data: bytes, rcode: int) -> bytes:
    """A header-only response: the ID and opcode of what was sent, with ``rcode``."""
    opcode_rd = data[2] & 0x79
    return data[:2] + bytes((0x80 | opcode_rd, rcode & 0xF)) + bytes(8)
