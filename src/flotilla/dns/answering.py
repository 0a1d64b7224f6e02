"""The authoritative answer to one query, by the rules, with dnspython's messages.

This is the complete path: every query the wire fast path (``wire``) does not take comes
here, and the fast path's answers are made here once per (name, type) and kept as bytes.

- Only ``QUERY`` (else NOTIMP), class IN (else REFUSED), one question (else FORMERR).
- A name in none of the zones is REFUSED: an authoritative server that does not recurse
  says so rather than answer for a zone it does not hold (``cluster.local`` among them).
- In a zone: the RRset of the type asked (AA set). A CNAME is followed inside the server's
  zones (at most 8 links). A name that exists without that type is NODATA (NOERROR, no
  answer); a name that does not exist is NXDOMAIN; both carry the zone's SOA in the
  authority section with the negative TTL (RFC 2308: min(SOA TTL, SOA minimum)). A name
  with no records but names below it exists (RFC 8020). ``ANY`` answers every RRset of
  the node (the zones are small and ours).
- SRV and NS targets inside the zones get their addresses in the additional section.
- EDNS0 (RFC 6891): a query with OPT gets OPT back (our payload 1232, the DNS flag day
  size), the DO bit copied (RFC 3225); a version other than 0 is BADVERS. A Client Subnet
  option (RFC 7871) is echoed with scope 0: these answers do not depend on the client.
- Records go out in the zone's order (not shuffled): the zone's builder orders them (local
  endpoints first, say), and the kept answers of ``wire`` are the same bytes.
- Over UDP a response larger than the client's limit (512 bytes without EDNS) is sent
  truncated (TC, question only), so the client retries over TCP.
"""

from __future__ import annotations

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from flotilla.dns.zones import CompiledZone, Zones

EDNS_PAYLOAD = 1232
PLAIN_UDP = 512
MAX_CNAME_CHAIN = 8
TCP_LIMIT = 65535


def answer(query: dns.message.Message, zones: Zones) -> dns.message.Message:
    """The response to ``query`` (its size limit is the caller's: ``to_wire``)."""
    # No padding (RFC 8467 is for encrypted transports): the fast path's bytes are the same.
    response = dns.message.make_response(query, our_payload=EDNS_PAYLOAD, pad=0)
    response.flags &= ~dns.flags.RA
    if query.edns >= 0:
        response.ednsflags |= query.ednsflags & dns.flags.DO
        if query.edns > 0:
            response.set_rcode(dns.rcode.BADVERS)
            return response
        subnet = _client_subnet(query)
        if subnet is not None:
            response.use_edns(0, response.ednsflags, EDNS_PAYLOAD, options=[subnet])
    if query.opcode() != dns.opcode.QUERY:
        response.set_rcode(dns.rcode.NOTIMP)
        return response
    if len(query.question) != 1:
        response.set_rcode(dns.rcode.FORMERR)
        return response
    question = query.question[0]
    if question.rdclass != dns.rdataclass.IN:
        response.set_rcode(dns.rcode.REFUSED)
        return response
    name = question.name.canonicalize()
    zone = zones.find(name)
    if zone is None:
        response.set_rcode(dns.rcode.REFUSED)
        return response
    response.flags |= dns.flags.AA
    _resolve(response, zones, zone, name, question.rdtype)
    return response


def _resolve(
    response: dns.message.Message,
    zones: Zones,
    zone: CompiledZone,
    name: dns.name.Name,
    rdtype: int,
) -> None:
    seen: set[dns.name.Name] = set()
    for _ in range(MAX_CNAME_CHAIN + 1):
        if name in seen:  # a loop: what was found so far, once
            return
        seen.add(name)
        node = zone.nodes.get(name)
        if node is None:
            if name not in zone.names:
                _negative(response, zone, dns.rcode.NXDOMAIN)
            else:
                _negative(response, zone, dns.rcode.NOERROR)
            return
        if rdtype == dns.rdatatype.ANY:
            response.answer.extend(node.rrsets.values())
            return
        found = node.rrsets.get(rdtype)
        if found is not None:
            response.answer.append(found)
            _additional(response, zones, found)
            return
        cname = node.rrsets.get(dns.rdatatype.CNAME)
        if cname is None:
            _negative(response, zone, dns.rcode.NOERROR)
            return
        response.answer.append(cname)
        target = cname[0].target.canonicalize()
        next_zone = zones.find(target)
        if next_zone is None:  # the resolver follows it from here
            return
        zone, name = next_zone, target
    # a loop or a chain longer than we follow: what we have, as a resolver would stop too


def _negative(response: dns.message.Message, zone: CompiledZone, rcode: dns.rcode.Rcode) -> None:
    response.set_rcode(rcode)  # after a CNAME, the rcode is the target's (RFC 6604)
    response.authority.append(zone.negative_soa)


def _additional(response: dns.message.Message, zones: Zones, rrset: dns.rrset.RRset) -> None:
    if rrset.rdtype not in (dns.rdatatype.SRV, dns.rdatatype.NS, dns.rdatatype.MX):
        return
    seen: set[dns.name.Name] = set()
    for rdata in rrset:
        target = getattr(rdata, "target", None) or getattr(rdata, "exchange", None)
        if not isinstance(target, dns.name.Name) or target in seen:
            continue
        seen.add(target)
        zone = zones.find(target.canonicalize())
        node = zone.nodes.get(target.canonicalize()) if zone is not None else None
        if node is None:
            continue
        for kind in (dns.rdatatype.A, dns.rdatatype.AAAA):
            found = node.rrsets.get(kind)
            if found is not None:
                response.additional.append(found)


def _client_subnet(query: dns.message.Message) -> dns.edns.ECSOption | None:
    for option in query.options:
        if isinstance(option, dns.edns.ECSOption):
            return dns.edns.ECSOption(option.address, option.srclen, 0)
    return None


def to_wire(response: dns.message.Message, *, limit: int) -> bytes:
    """``response`` in wire format within ``limit`` bytes, truncated (TC) when it is not."""
    try:
        return response.to_wire(max_size=limit, want_shuffle=False)
    except dns.exception.TooBig:
        response.answer.clear()
        response.authority.clear()
        response.additional.clear()
        response.flags |= dns.flags.TC
        return response.to_wire(max_size=limit, want_shuffle=False)


def udp_limit(query: dns.message.Message) -> int:
    """What a UDP response to ``query`` may weigh: 512 bytes without EDNS, else the
    client's payload size, at least 512 and at most ours."""
    if query.edns < 0:
        return PLAIN_UDP
    return max(PLAIN_UDP, min(query.payload, EDNS_PAYLOAD))
