"""A zone shaped like a member's clusterset.local, for the DNS engine's tests."""

from __future__ import annotations

from flotilla.dns import Record, Soa, Zone, Zones, compile_zones

CLUSTERSET = Zone(
    "clusterset.local",
    [
        Record("web.shop.svc", "A", "10.96.0.10"),
        Record("web.shop.svc", "AAAA", "fd00::10"),
        Record("_http._tcp.web.shop.svc", "SRV", "0 100 80 web.shop.svc"),
        Record("db.shop.svc", "A", "10.1.0.5"),
        Record("db.shop.svc", "A", "10.2.0.5"),
        Record("pod-0.east.db.shop.svc", "A", "10.1.0.5"),
        Record("alias.shop.svc", "CNAME", "web.shop.svc"),
        Record("away.shop.svc", "CNAME", "www.example.org."),
        Record("dns-version", "TXT", '"1.0.0"', ttl=30),
        *(Record("many.shop.svc", "A", f"10.3.{n // 250}.{n % 250}") for n in range(60)),
    ],
    soa=Soa(ttl=30, minimum=5),
)


def zones() -> Zones:
    return compile_zones([CLUSTERSET])
