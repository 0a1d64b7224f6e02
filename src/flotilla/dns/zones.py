"""Zones as data: what a Flotilla DNS server is authoritative for, as plain values.

A ``Zone`` is an origin, its SOA and name servers and a list of ``Record`` (owner, type,
TTL, rdata in presentation form). The capabilities that serve names (``clusterset.local``
for service discovery, global zones for load balancing) build zones from what their
clusters hold and hand the server a new ``Zones`` whenever that changes; nothing in here
does I/O. ``compile_zones`` checks every record once (dnspython parses the rdata) and turns
them into the lookup structure the answering side reads: a node per owner name, the empty
non-terminals between the apex and the owners (a name that exists without records is
NODATA, not NXDOMAIN: RFC 8020), and the SOA used in negative answers.

A zone refuses what it could not answer right: an owner outside the origin, a CNAME beside
other data (RFC 1034 section 3.6.2), an rdata dnspython cannot parse. ``ZoneError`` says
which record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

DEFAULT_TTL = 5
MAX_RECORDS = 200_000
"""Records in all zones of one server: a bound on what one update may cost."""


class ZoneError(Exception):
    """A zone that cannot be served as given; the message names the record."""


@dataclass(frozen=True)
class Record:
    name: str
    """Absolute (with or without the final dot) or relative to the zone's origin."""
    type: str
    data: str
    """The rdata in presentation form: ``10.0.0.1``, ``0 50 80 web.shop.svc.clusterset.local.``"""
    ttl: int = DEFAULT_TTL


@dataclass(frozen=True)
class Soa:
    mname: str = "ns"
    rname: str = "hostmaster"
    serial: int = 1
    refresh: int = 7200
    retry: int = 1800
    expire: int = 86400
    minimum: int = DEFAULT_TTL
    """The negative-caching TTL (RFC 2308): how long a resolver remembers NXDOMAIN."""
    ttl: int = DEFAULT_TTL


@dataclass(frozen=True)
class Zone:
    origin: str
    records: Sequence[Record] = ()
    soa: Soa = field(default_factory=Soa)
    nameservers: Sequence[str] = ("ns",)
    ns_ttl: int = DEFAULT_TTL
    empty_names: Sequence[str] = ()
    """Names that exist without records (NODATA, not NXDOMAIN): a service that has no
    address yet, say."""


@dataclass(frozen=True)
class Node:
    rrsets: Mapping[int, dns.rrset.RRset]
    """By rdata type."""


@dataclass(frozen=True)
class CompiledZone:
    origin: dns.name.Name
    nodes: Mapping[dns.name.Name, Node]
    names: frozenset[dns.name.Name]
    """Every name that exists: the owners and the empty non-terminals above them."""
    soa: dns.rrset.RRset
    negative_soa: dns.rrset.RRset
    """The SOA of negative answers: its TTL is the negative TTL (RFC 2308 section 3)."""


@dataclass(frozen=True)
class Zones:
    """Every zone of one server, looked up by the longest matching origin."""

    zones: Mapping[dns.name.Name, CompiledZone]

    def find(self, name: dns.name.Name) -> CompiledZone | None:
        for depth in range(len(name.labels)):
            zone = self.zones.get(dns.name.Name(name.labels[depth:]))
            if zone is not None:
                return zone
        return None


EMPTY = Zones({})


def compile_zones(zones: Iterable[Zone]) -> Zones:
    compiled: dict[dns.name.Name, CompiledZone] = {}
    total = 0
    for zone in zones:
        total += len(zone.records)
        if total > MAX_RECORDS:
            raise ZoneError(f"more than {MAX_RECORDS} records")
        one = compile_zone(zone)
        if one.origin in compiled:
            raise ZoneError(f"zone {one.origin} is given twice")
        compiled[one.origin] = one
    return Zones(compiled)


def compile_zone(zone: Zone) -> CompiledZone:
    try:
        origin = dns.name.from_text(zone.origin).canonicalize()
    except dns.exception.DNSException as exc:
        raise ZoneError(f"zone origin {zone.origin[:255]!r}: {exc}") from None
    sets: dict[dns.name.Name, dict[int, dns.rrset.RRset]] = {}

    def add(owner: dns.name.Name, rdtype: int, ttl: int, rdata: dns.rdata.Rdata) -> None:
        rrset = sets.setdefault(owner, {}).get(rdtype)
        if rrset is not None and rdtype == dns.rdatatype.CNAME:  # dnspython keeps only the last
            raise ZoneError(f"{owner}: more than one CNAME")
        if rrset is None:
            rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.RdataType.make(rdtype))
            sets[owner][rdtype] = rrset
        rrset.add(rdata, ttl)  # the smallest TTL of an RRset wins (RFC 2181 section 5.2)

    soa = zone.soa
    soa_text = (
        f"{soa.mname} {soa.rname} {soa.serial} {soa.refresh} {soa.retry} {soa.expire} {soa.minimum}"
    )
    add(origin, dns.rdatatype.SOA, soa.ttl, _rdata(origin, "SOA", soa_text, "the SOA"))
    for server in zone.nameservers:
        add(origin, dns.rdatatype.NS, zone.ns_ttl, _rdata(origin, "NS", server, "an NS"))
    for number, record in enumerate(zone.records):
        where = f"{origin} record {number} ({record.name[:255]!r} {record.type[:16]})"
        try:
            owner = dns.name.from_text(record.name, origin).canonicalize()
            rdtype = dns.rdatatype.from_text(record.type)
        except dns.exception.DNSException as exc:
            raise ZoneError(f"{where}: {exc}") from None
        if not owner.is_subdomain(origin):
            raise ZoneError(f"{where}: outside the zone")
        if rdtype in (dns.rdatatype.SOA, dns.rdatatype.OPT, dns.rdatatype.ANY):
            raise ZoneError(f"{where}: not a type a record may have")
        if not 0 <= record.ttl <= 0x7FFFFFFF:
            raise ZoneError(f"{where}: TTL out of range")
        add(owner, rdtype, record.ttl, _rdata(origin, record.type, record.data, where))
    names: set[dns.name.Name] = set()
    existing: list[dns.name.Name] = list(sets)
    for text in zone.empty_names:
        try:
            empty = dns.name.from_text(text, origin).canonicalize()
        except dns.exception.DNSException as exc:
            raise ZoneError(f"{origin} name {text[:255]!r}: {exc}") from None
        if not empty.is_subdomain(origin):
            raise ZoneError(f"{origin} name {text[:255]!r}: outside the zone")
        existing.append(empty)
    _check_cnames(sets)
    for owner in existing:
        parent = owner
        while parent not in names and parent.is_subdomain(origin):
            names.add(parent)
            if parent == origin:
                break
            parent = parent.parent()
    nodes = {owner: Node(dict(rrsets)) for owner, rrsets in sets.items()}
    soa_rrset = sets[origin][dns.rdatatype.SOA]
    negative = dns.rrset.RRset(origin, dns.rdataclass.IN, dns.rdatatype.SOA)
    negative.add(soa_rrset[0], min(soa.ttl, soa.minimum))
    return CompiledZone(
        origin=origin,
        nodes=nodes,
        names=frozenset(names),
        soa=soa_rrset,
        negative_soa=negative,
    )


def _check_cnames(sets: Mapping[dns.name.Name, Mapping[int, dns.rrset.RRset]]) -> None:
    for owner, rrsets in sets.items():
        cname = rrsets.get(dns.rdatatype.CNAME)
        if cname is not None and len(rrsets) > 1:
            raise ZoneError(f"{owner}: a CNAME and other data")


def _rdata(origin: dns.name.Name, rdtype: str, text: str, where: str) -> dns.rdata.Rdata:
    try:
        return dns.rdata.from_text(dns.rdataclass.IN, rdtype, text, origin=origin, relativize=False)
    except (dns.exception.DNSException, ValueError) as exc:
        raise ZoneError(f"{where}: {text[:255]!r}: {exc}") from None
