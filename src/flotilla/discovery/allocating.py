"""ClusterSet IPs: one per IP family of each ClusterSetIP import, from configured ranges.

Stable for the life of an import without state of its own: what the members' ServiceImports
already carry (written by us) is kept when it is in range, of the right family and not
another import's; only an import without one gets a new address, the lowest free in its
family's range, imports taken in name order so two controllers given the same inputs agree.
Headless imports get none. An import whose family has no range, or whose range is full,
gets no address for it and a reason (the import is still written, so DNS can say NODATA).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

IPv4 = "IPv4"
IPv6 = "IPv6"
DEFAULT_RANGES = ("10.253.0.0/16", "fd00:10:253::/112")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Key = tuple[str, str]
"""(namespace, name)"""


class RangeError(ValueError):
    """A clusterset range that cannot be used."""


@dataclass(frozen=True)
class Ranges:
    by_family: Mapping[str, Network]

    @classmethod
    def parse(cls, texts: Sequence[str]) -> Ranges:
        by_family: dict[str, Network] = {}
        for text in texts:
            try:
                network = ipaddress.ip_network(text, strict=True)
            except ValueError as exc:
                raise RangeError(f"clusterset IP range {text!r}: {exc}") from None
            family = IPv4 if network.version == 4 else IPv6
            if family in by_family:
                raise RangeError(f"two {family} clusterset IP ranges")
            if network.num_addresses < 4:
                raise RangeError(f"clusterset IP range {text!r} is too small")
            by_family[family] = network
        return cls(by_family)


@dataclass(frozen=True)
class Allocation:
    ips: Mapping[Key, tuple[str, ...]]
    problems: Mapping[Key, str]


def allocate(
    wanted: Mapping[Key, Sequence[str]],
    existing: Mapping[Key, Sequence[str]],
    ranges: Ranges,
    *,
    taken: Iterable[str] = (),
) -> Allocation:
    """IPs for every import in ``wanted`` (its IP families, IPv4 when it names none),
    keeping what ``existing`` (the members' current ``spec.ips``) gives where it may;
    ``taken`` are other imports' addresses, never given."""
    taken = {str(ipaddress.ip_address(t)) for t in taken if _is_address(t)}
    ips: dict[Key, dict[str, str]] = {}
    for key in sorted(wanted):
        families = list(wanted[key]) or [IPv4]
        for text in existing.get(key, ()):
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            family = IPv4 if address.version == 4 else IPv6
            network = ranges.by_family.get(family)
            kept = ips.setdefault(key, {})
            if (
                family in families
                and family not in kept
                and network is not None
                and address in network
                and str(address) not in taken
            ):
                kept[family] = str(address)
                taken.add(str(address))
    problems: dict[Key, str] = {}
    free = {family: _addresses(network, taken) for family, network in ranges.by_family.items()}
    for key in sorted(wanted):
        families = list(wanted[key]) or [IPv4]
        kept = ips.setdefault(key, {})
        for family in families:
            if family in kept:
                continue
            pool = free.get(family)
            if pool is None:
                problems[key] = f"no clusterset IP range for {family}"
                continue
            given = next(pool, None)
            if given is None:
                problems[key] = f"the {family} clusterset IP range is full"
                continue
            kept[family] = given
    return Allocation(
        {
            key: tuple(ips[key][f] for f in (list(wanted[key]) or [IPv4]) if f in ips[key])
            for key in wanted
        },
        problems,
    )


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _addresses(network: Network, taken: set[str]) -> Iterator[str]:
    """The usable addresses of ``network`` not in ``taken``, lowest first (the network and,
    for IPv4, the broadcast address left out)."""
    for address in network.hosts():
        text = str(address)
        if text not in taken:
            taken.add(text)
            yield text
