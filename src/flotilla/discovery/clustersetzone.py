"""The ``clusterset.local`` zone of one member, from that member's ServiceImports and
imported EndpointSlices only (the data plane reads nothing else), after the Multi-Cluster
Services DNS specification:

- ``dns-version.clusterset.local`` TXT ``"1.0.0"``.
- ClusterSetIP import ``<svc>.<ns>``: A/AAAA ``<svc>.<ns>.svc.clusterset.local`` with the
  import's IPs; per named port ``_<port>._<proto>.<svc>.<ns>.svc.clusterset.local`` SRV
  ``0 100 <port> <svc>.<ns>.svc.clusterset.local.``.
- Headless import: A/AAAA of ``<svc>.<ns>.svc.clusterset.local`` with every ready endpoint
  address of every source cluster; each endpoint also has
  ``<hostname>.<clusterid>.<svc>.<ns>.svc.clusterset.local``, its hostname being the
  endpoint's own or else its address with ``-`` for ``.`` and ``:`` (what the
  conformance suite and CoreDNS's multicluster plugin use); per named port, one SRV record
  per endpoint (N x M) to those names, with the endpoint's own port.
- Only ready endpoints are answered. A headless import with no ready endpoint is NXDOMAIN
  (the specification says so); a ClusterSetIP import still without an IP is NODATA.
- Cilium's ``service.cilium.io/affinity`` on the import orders the addresses: ``local``
  puts this member's endpoints first, ``remote`` the others'; otherwise by cluster id.

Records that cannot be written (an address that is not one, a label over 63 characters)
are left out and counted in ``skipped``, never a reason to serve nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flotilla.discovery.mirroring import SERVICE_NAME_LABEL, SOURCE_CLUSTER_LABEL, is_ready
from flotilla.dns import DEFAULT_TTL, Record, Zone

ORIGIN = "clusterset.local."
DNS_VERSION = "1.0.0"
DNS_VERSION_TTL = 28800
"""The specification's example."""
AFFINITY_ANNOTATION = "service.cilium.io/affinity"
_MAX_LABEL = 63


@dataclass(frozen=True)
class ClustersetZone:
    zone: Zone
    skipped: int


def clusterset_zone(
    imports: Iterable[Mapping[str, Any]],
    slices: Iterable[Mapping[str, Any]],
    *,
    cluster_id: str,
    ttl: int = DEFAULT_TTL,
) -> ClustersetZone:
    by_service: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for one in slices:
        meta = one.get("metadata") or {}
        labels = meta.get("labels") or {}
        service = labels.get(SERVICE_NAME_LABEL)
        if isinstance(service, str) and labels.get(SOURCE_CLUSTER_LABEL):
            by_service.setdefault((str(meta.get("namespace") or ""), service), []).append(one)
    records = [Record("dns-version", "TXT", f'"{DNS_VERSION}"', ttl=DNS_VERSION_TTL)]
    empty: list[str] = []
    skipped = 0
    for imported in sorted(imports, key=_key):
        namespace, name = _key(imported)
        if not (_label(namespace) and _label(name)):
            skipped += 1
            continue
        owner = f"{name}.{namespace}.svc"
        if not _fits(f"_x._tcp.{owner}"):
            skipped += 1
            continue
        spec = imported.get("spec") or {}
        ports = [p for p in spec.get("ports") or [] if isinstance(p, Mapping)]
        if spec.get("type") == "Headless":
            annotations = (imported.get("metadata") or {}).get("annotations") or {}
            endpoints = _ready_endpoints(
                by_service.get((namespace, name), []),
                cluster_id,
                annotations.get(AFFINITY_ANNOTATION),
            )
            _, bad = _headless(records, owner, ports, endpoints, ttl)
        else:
            ips = [ip for ip in spec.get("ips") or [] if isinstance(ip, str)]
            written, bad = _clusterset_ip(records, owner, ports, ips, ttl)
            if not written:
                empty.append(owner)
        skipped += bad
    return ClustersetZone(Zone(ORIGIN, _deduplicated(records), empty_names=empty), skipped)


def _headless(
    records: list[Record],
    owner: str,
    ports: list[Mapping[str, Any]],
    endpoints: list[_Endpoint],
    ttl: int,
) -> tuple[int, int]:
    """The records of a headless import: (addresses written, records skipped). Its SRV
    records give each endpoint's own port (clients reach the endpoints directly)."""
    written = skipped = 0
    targets: dict[str, Mapping[str, int]] = {}  # per endpoint name, its ports
    for endpoint in endpoints:
        kind = _kind(endpoint.address)
        if kind is None:
            skipped += 1
            continue
        records.append(Record(owner, kind, endpoint.address, ttl=ttl))
        written += 1
        hostname = endpoint.hostname or endpoint.address.replace(".", "-").replace(":", "-")
        if (
            _label(hostname)
            and _label(endpoint.cluster)
            and _fits(f"{hostname}.{endpoint.cluster}.{owner}")
        ):
            target = f"{hostname}.{endpoint.cluster}.{owner}"
            records.append(Record(target, kind, endpoint.address, ttl=ttl))
            targets.setdefault(target, endpoint.ports)
    weight = max(1, 100 // len(targets)) if targets else 0
    for port in ports:
        service_name = _srv_owner(port, owner)
        if service_name is None:
            continue
        for target, numbers in targets.items():
            number = _port(numbers.get(str(port.get("name"))))
            if number is not None:
                data = f"0 {weight} {number} {target}.{ORIGIN}"
                records.append(Record(service_name, "SRV", data, ttl=ttl))
    return written, skipped


def _clusterset_ip(
    records: list[Record], owner: str, ports: list[Mapping[str, Any]], ips: list[str], ttl: int
) -> tuple[int, int]:
    """The records of a ClusterSetIP import: (addresses written, records skipped)."""
    written = skipped = 0
    for ip in ips:
        kind = _kind(ip)
        if kind is None:
            skipped += 1
            continue
        records.append(Record(owner, kind, ip, ttl=ttl))
        written += 1
    for port in ports:
        service_name = _srv_owner(port, owner)
        number = _port(port.get("port"))
        if service_name is None:
            continue
        if number is None:
            skipped += 1
            continue
        records.append(Record(service_name, "SRV", f"0 100 {number} {owner}.{ORIGIN}", ttl=ttl))
    return written, skipped


def _key(imported: Mapping[str, Any]) -> tuple[str, str]:
    meta = imported.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _label(text: str) -> bool:
    return 0 < len(text) <= _MAX_LABEL and "." not in text and "\\" not in text


def _fits(owner: str) -> bool:
    """Whether ``owner`` and the zone make a name DNS can carry (255 octets on the wire)."""
    return len(owner) + len(ORIGIN) + 2 <= 255


def _port(value: Any) -> int | None:
    return value if isinstance(value, int) and 0 < value < 65536 else None


def _kind(address: str) -> str | None:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    return "A" if parsed.version == 4 else "AAAA"


def _srv_owner(port: Mapping[str, Any], owner: str) -> str | None:
    name = port.get("name")
    if not isinstance(name, str) or not _label(name):
        return None  # SRV records are for named ports
    protocol = str(port.get("protocol") or "TCP").lower()
    return f"_{name}._{protocol}.{owner}"


@dataclass(frozen=True)
class _Endpoint:
    cluster: str
    address: str
    hostname: str | None
    ports: Mapping[str, int]
    """Its slice's ports, by name."""


def _ready_endpoints(slices: list[Mapping[str, Any]], local: str, affinity: Any) -> list[_Endpoint]:
    found: list[_Endpoint] = []
    for one in slices:
        cluster = str(((one.get("metadata") or {}).get("labels") or {})[SOURCE_CLUSTER_LABEL])
        ports = {
            str(p.get("name") or ""): p["port"]
            for p in one.get("ports") or []
            if isinstance(p, Mapping) and _port(p.get("port")) is not None
        }
        for endpoint in one.get("endpoints") or []:
            if isinstance(endpoint, Mapping) and is_ready(endpoint):
                hostname = endpoint.get("hostname")
                found.extend(
                    _Endpoint(
                        cluster,
                        str(address),
                        hostname if isinstance(hostname, str) else None,
                        ports,
                    )
                    for address in endpoint.get("addresses") or []
                )

    def order(item: _Endpoint) -> tuple[int, str, str]:
        if affinity == "local":
            first = 0 if item.cluster == local else 1
        elif affinity == "remote":
            first = 1 if item.cluster == local else 0
        else:
            first = 0
        return first, item.cluster, item.address

    return sorted(found, key=order)


def _deduplicated(records: list[Record]) -> list[Record]:
    return list(dict.fromkeys(records))
