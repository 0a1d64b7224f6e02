"""Flotilla's DNS engine: authoritative zones as data, served over UDP and TCP.

Used by service discovery (``clusterset.local``, per member) and global load balancing.
``zones`` is the data, ``answering`` the rules, ``wire`` the fast path of kept answers,
``serving`` the sockets. Nothing here knows Kubernetes.
"""

from flotilla.dns.answering import EDNS_PAYLOAD, answer
from flotilla.dns.serving import DnsServer, Listening
from flotilla.dns.wire import Answers
from flotilla.dns.zones import (
    DEFAULT_TTL,
    EMPTY,
    Record,
    Soa,
    Zone,
    ZoneError,
    Zones,
    compile_zone,
    compile_zones,
)

__all__ = [
    "DEFAULT_TTL",
    "EDNS_PAYLOAD",
    "EMPTY",
    "Answers",
    "DnsServer",
    "Listening",
    "Record",
    "Soa",
    "Zone",
    "ZoneError",
    "Zones",
    "answer",
    "compile_zone",
    "compile_zones",
]
