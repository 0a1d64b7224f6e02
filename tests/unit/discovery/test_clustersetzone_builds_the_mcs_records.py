"""One member's clusterset.local zone from its imports and imported slices, answered by the
engine: ClusterSetIP A and SRV, headless A of the ready endpoints of every cluster,
per-endpoint names (hostname, else the address), N x M SRV with the endpoints' ports,
NXDOMAIN for a headless import with no ready endpoint, NODATA for one still without an IP,
Cilium's affinity ordering, and what cannot be written skipped, never the whole zone."""

from __future__ import annotations

from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype

from flotilla.discovery.clustersetzone import clusterset_zone
from flotilla.dns import answer, compile_zones


def imported(name: str, kind: str = "ClusterSetIP", **spec: Any) -> dict[str, Any]:
    annotations = spec.pop("annotations", {})
    return {"metadata": {"name": name, "namespace": "shop", "annotations": annotations},
            "spec": {"type": kind, "ports": [{"name": "http", "protocol": "TCP", "port": 80}],
                     **spec}}  # fmt: skip


def slice_of(
    service: str, cluster: str, *endpoints: tuple[str, str | None, bool]
) -> dict[str, Any]:
    return {
        "metadata": {"name": f"{service}-{cluster}", "namespace": "shop",
                     "labels": {"multicluster.kubernetes.io/service-name": service,
                                "multicluster.kubernetes.io/source-cluster": cluster}},
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": [a], "conditions": {"ready": r},
                       **({"hostname": h} if h else {})} for a, h, r in endpoints],
    }  # fmt: skip


def ask(
    imports: list[Any], slices: list[Any], name: str, rdtype: str = "A", *, local: str = "east"
) -> Any:
    built = clusterset_zone(imports, slices, cluster_id=local)
    response = answer(dns.message.make_query(name, rdtype), compile_zones([built.zone]))
    kind = dns.rdatatype.from_text(rdtype)
    found = [r.to_text() for rrset in response.answer if rrset.rdtype == kind for r in rrset]
    return response.rcode(), found, built.skipped


def test_a_clusterset_ip_import_has_its_address_and_srv() -> None:
    imports = [imported("web", ips=["10.253.0.1"])]
    assert ask(imports, [], "web.shop.svc.clusterset.local")[:2] == (0, ["10.253.0.1"])
    srv = ask(imports, [], "_http._tcp.web.shop.svc.clusterset.local", "SRV")
    assert srv[1] == ["0 100 80 web.shop.svc.clusterset.local."]
    no_ip = ask([imported("web")], [], "web.shop.svc.clusterset.local")
    assert no_ip[:2] == (dns.rcode.NOERROR, [])  # exists: NODATA
    version = ask([], [], "dns-version.clusterset.local", "TXT")
    assert version[1] == ['"1.0.0"']


def test_headless_answers_ready_endpoints_with_per_endpoint_names() -> None:
    imports = [imported("db", "Headless")]
    slices = [
        slice_of("db", "east", ("10.1.0.5", "db-0", True), ("10.1.0.6", None, True),
                 ("10.1.0.7", "db-2", False)),
        slice_of("db", "west", ("10.2.0.5", "db-0", True)),
    ]  # fmt: skip
    name = "db.shop.svc.clusterset.local"
    assert ask(imports, slices, name)[1] == ["10.1.0.5", "10.1.0.6", "10.2.0.5"]
    assert ask(imports, slices, f"db-0.west.{name}")[1] == ["10.2.0.5"]
    assert ask(imports, slices, f"10-1-0-6.east.{name}")[1] == ["10.1.0.6"]  # no hostname
    assert ask(imports, slices, f"db-2.east.{name}")[0] == dns.rcode.NXDOMAIN  # not ready
    srv = ask(imports, slices, f"_http._tcp.{name}", "SRV")[1]
    assert sorted(srv) == [
        f"0 33 8080 10-1-0-6.east.{name}.",
        f"0 33 8080 db-0.east.{name}.",
        f"0 33 8080 db-0.west.{name}.",
    ]
    nobody = [slice_of("db", "east", ("10.1.0.7", "db-2", False))]
    assert ask(imports, nobody, name)[0] == dns.rcode.NXDOMAIN


def test_cilium_affinity_orders_the_addresses() -> None:
    slices = [slice_of("db", "east", ("10.1.0.5", None, True)),
              slice_of("db", "west", ("10.2.0.5", None, True))]  # fmt: skip
    for affinity, first in (("local", "10.1.0.5"), ("remote", "10.2.0.5")):
        imports = [imported("db", "Headless", annotations={"service.cilium.io/affinity": affinity})]
        built = clusterset_zone(imports, slices, cluster_id="east")
        addresses = [r.data for r in built.zone.records if r.name == "db.shop.svc"]
        assert addresses[0] == first


def test_what_cannot_be_written_is_skipped_not_the_zone() -> None:
    imports = [
        imported("web", ips=["10.253.0.1"]),
        imported("bad", ips=["not-an-ip"]),
        imported(
            "far", ips=["10.253.0.2"], ports=[{"name": "http", "protocol": "TCP", "port": 70000}]
        ),
        imported("x" * 64, ips=["10.253.0.3"]),
    ]
    rcode, found, skipped = ask(imports, [], "web.shop.svc.clusterset.local")
    assert (rcode, found) == (0, ["10.253.0.1"])
    assert skipped == 3
    assert ask(imports, [], "far.shop.svc.clusterset.local")[1] == ["10.253.0.2"]
