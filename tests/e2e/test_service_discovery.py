"""Service discovery on the local fleet: the Multi-Cluster Services API with real API
servers and every member's own DNS server on its address, port 53, queried with dnspython
over UDP and TCP (what the seed's ``nslookup <svc>.<ns>.svc.clusterset.local`` does).

Export -> import in every member with the namespace (exporters included) and a clusterset
IP; conflicts resolved by the oldest export; headless services with per-endpoint names from
two clusters; Cilium's global-service annotations; bad input (ExternalName, no Service);
DNS answering while the hub is down."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import dns.asyncquery
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from flotilla.api import ClusterName
from flotilla.kube import NotFound, resource_path
from tests.e2e.controllers import ControllerProcess, Controllers
from tests.e2e.localfleet import LocalFleet
from tests.e2e.waiting import eventually

MCS = "multicluster.x-k8s.io/v1beta1"
EAST, WEST, SOUTH = ClusterName("us-east"), ClusterName("eu-west"), ClusterName("ap-south")
MEMBERS = (EAST, WEST, SOUTH)


@pytest.fixture(scope="module")
def controller(controllers: Controllers) -> Iterator[ControllerProcess]:
    yield controllers.start()


@pytest.fixture
async def discovering(fleet: LocalFleet, controller: ControllerProcess) -> ControllerProcess:
    """The controller, once every member has joined the clusterset (its MCS CRDs served)."""

    async def joined() -> bool:
        for member in MEMBERS:
            async with fleet.client(member) as client:
                await client.list(resource_path(MCS, "serviceexports"), limit=1)
        return True

    await eventually(joined, timeout=60, what="every member joined")
    return controller


def address(fleet: LocalFleet, cluster: str) -> str:
    return next(m.address for m in fleet.members if m.name == cluster)


def echo(fleet: LocalFleet, cluster: str) -> str:
    return next(m.echo_address for m in fleet.members if m.name == cluster)


async def ask(
    fleet: LocalFleet, cluster: str, name: str, rdtype: str = "A", *, tcp: bool = False
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    where = address(fleet, cluster)
    if tcp:
        return await dns.asyncquery.tcp(query, where, port=53, timeout=2)
    return await dns.asyncquery.udp(query, where, port=53, timeout=2)


def values(response: dns.message.Message, rdtype: str = "A") -> list[str]:
    kind = dns.rdatatype.from_text(rdtype)
    return sorted(r.to_text() for rrset in response.answer if rrset.rdtype == kind for r in rrset)


async def apply(fleet: LocalFleet, cluster: str, body: dict[str, Any]) -> None:
    meta = body["metadata"]
    plural = {"Service": "services", "ServiceExport": "serviceexports",
              "EndpointSlice": "endpointslices"}[body["kind"]]  # fmt: skip
    path = resource_path(body["apiVersion"], plural, namespace=meta["namespace"], name=meta["name"])
    async with fleet.client(ClusterName(cluster)) as client:
        await client.apply(path, body, field_manager="e2e")


async def delete_export(fleet: LocalFleet, cluster: str, ns: str, name: str) -> None:
    async with fleet.client(ClusterName(cluster)) as client:
        with contextlib.suppress(NotFound):
            await client.delete(resource_path(MCS, "serviceexports", namespace=ns, name=name))


def service(
    ns: str,
    name: str,
    *,
    headless: bool = False,
    ports: list[dict[str, Any]] | None = None,
    annotations: dict[str, str] | None = None,
    external: bool = False,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"ports": ports or [{"name": "http", "port": 80, "protocol": "TCP"}]}
    if external:
        spec = {"type": "ExternalName", "externalName": "example.org"}
    elif headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "annotations": annotations or {}},
            "spec": spec}  # fmt: skip


def export(ns: str, name: str) -> dict[str, Any]:
    return {"apiVersion": MCS, "kind": "ServiceExport", "metadata": {"name": name, "namespace": ns}}


def endpoints(ns: str, name: str, addresses: list[tuple[str, str | None, bool]]) -> dict[str, Any]:
    """A Service's EndpointSlice as its owner would write it: (address, hostname, ready)."""
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": f"{name}-manual", "namespace": ns,
                     "labels": {"kubernetes.io/service-name": name}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [a], "conditions": {"ready": ready},
                       **({"hostname": h} if h else {})} for a, h, ready in addresses],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }  # fmt: skip


async def get_import(fleet: LocalFleet, cluster: str, ns: str, name: str) -> dict[str, Any] | None:
    async with fleet.client(ClusterName(cluster)) as client:
        try:
            found: dict[str, Any] = await client.get(
                resource_path(MCS, "serviceimports", namespace=ns, name=name)
            )
        except NotFound:
            return None
        return found


async def conditions(
    fleet: LocalFleet, cluster: str, ns: str, name: str
) -> dict[str, dict[str, Any]]:
    async with fleet.client(ClusterName(cluster)) as client:
        found = await client.get(resource_path(MCS, "serviceexports", namespace=ns, name=name))
    return {c["type"]: c for c in (found.get("status") or {}).get("conditions") or []}


async def test_an_export_is_imported_everywhere_and_resolves_from_every_member(
    fleet: LocalFleet, discovering: ControllerProcess, ns: str
) -> None:
    await apply(fleet, EAST, service(ns, "web"))
    await apply(fleet, EAST, endpoints(ns, "web", [("10.1.0.7", None, True)]))
    await apply(fleet, EAST, export(ns, "web"))
    name = f"web.{ns}.svc.clusterset.local"

    async def imported_everywhere() -> list[str] | None:
        ips = []
        for member in MEMBERS:
            found = await get_import(fleet, member, ns, "web")
            if found is None or not (found.get("spec") or {}).get("ips"):
                return None
            ips.append(found["spec"]["ips"][0])
        return ips if len(set(ips)) == 1 else None

    ips = await eventually(imported_everywhere, timeout=30, what="the import in every member")
    imported = await get_import(fleet, WEST, ns, "web")
    assert imported is not None
    assert imported["spec"]["type"] == "ClusterSetIP"
    assert imported["spec"]["ports"] == [{"name": "http", "protocol": "TCP", "port": 80}]
    assert imported["status"]["clusters"] == [{"cluster": "us-east"}]
    state = await conditions(fleet, EAST, ns, "web")
    assert state["Valid"]["status"] == "True" and state["Conflict"]["status"] == "False"
    await eventually(lambda: _ready(fleet, ns, "web"), timeout=30, what="Ready=True")

    async def resolves() -> bool:
        for member in MEMBERS:
            for tcp in (False, True):
                if values(await ask(fleet, member, name, tcp=tcp)) != ips[:1]:
                    return False
        return True

    await eventually(resolves, timeout=20, what="A from every member, UDP and TCP")
    srv = await ask(fleet, SOUTH, f"_http._tcp.{name}", "SRV")
    assert values(srv, "SRV") == [f"0 100 80 {name}."]
    version = await ask(fleet, WEST, "dns-version.clusterset.local", "TXT")
    assert values(version, "TXT") == ['"1.0.0"']
    nodata = await ask(fleet, WEST, name, "AAAA")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer and nodata.authority
    refused = await ask(fleet, WEST, f"web.{ns}.svc.cluster.local")
    assert refused.rcode() == dns.rcode.REFUSED

    # the export goes: the import goes everywhere, and the name with it
    await delete_export(fleet, EAST, ns, "web")

    async def gone() -> bool:
        for member in MEMBERS:
            if await get_import(fleet, member, ns, "web") is not None:
                return False
        return (await ask(fleet, WEST, name)).rcode() == dns.rcode.NXDOMAIN

    await eventually(gone, timeout=30, what="the import and its name gone")


async def _ready(fleet: LocalFleet, ns: str, name: str) -> bool:
    return (await conditions(fleet, EAST, ns, name)).get("Ready", {}).get("status") == "True"


async def test_the_oldest_export_wins_a_conflict_and_both_say_so(
    fleet: LocalFleet, discovering: ControllerProcess, ns: str
) -> None:
    await apply(fleet, EAST, service(ns, "api"))
    await apply(fleet, EAST, export(ns, "api"))
    await eventually(lambda: get_import(fleet, WEST, ns, "api"), timeout=30, what="imported")
    await asyncio.sleep(1.1)  # creation times have a one-second resolution
    grpc = [{"name": "grpc", "port": 9090, "protocol": "TCP"}]
    await apply(fleet, WEST, service(ns, "api", headless=True, ports=grpc))
    await apply(fleet, WEST, export(ns, "api"))

    async def conflicted() -> bool:
        east = await conditions(fleet, EAST, ns, "api")
        west = await conditions(fleet, WEST, ns, "api")
        return all(
            c.get("Conflict", {}).get("status") == "True"
            and c["Conflict"]["reason"] == "PortConflict,TypeConflict"
            for c in (east, west)
        )

    await eventually(conflicted, timeout=30, what="Conflict=True (ports, type) on both exports")
    imported = await get_import(fleet, SOUTH, ns, "api")
    assert imported is not None
    assert imported["spec"]["type"] == "ClusterSetIP"  # the oldest's
    ports = {p["name"] for p in imported["spec"]["ports"]}
    assert ports == {"http", "grpc"}  # the union
    assert sorted(c["cluster"] for c in imported["status"]["clusters"]) == ["eu-west", "us-east"]
    # the newer export agrees (a Service's clusterIP is immutable: made again): the conflict
    # clears and the import keeps what it had
    async with fleet.client(WEST) as client:
        await client.delete(resource_path("v1", "services", namespace=ns, name="api"))
    await apply(fleet, WEST, service(ns, "api"))

    async def cleared() -> bool:
        west = await conditions(fleet, WEST, ns, "api")
        return west.get("Conflict", {}).get("status") == "False"

    await eventually(cleared, timeout=30, what="the conflict cleared")
    again = await get_import(fleet, SOUTH, ns, "api")
    assert again is not None and again["spec"]["ips"] == imported["spec"]["ips"]


async def test_headless_imports_answer_every_ready_endpoint_with_per_endpoint_names(
    fleet: LocalFleet, discovering: ControllerProcess, ns: str
) -> None:
    await apply(fleet, EAST, service(ns, "db", headless=True))
    await apply(fleet, EAST, endpoints(ns, "db", [("10.1.0.11", "db-0", True),
                                                  ("10.1.0.12", "db-1", False)]))  # fmt: skip
    await apply(fleet, WEST, service(ns, "db", headless=True))
    await apply(fleet, WEST, endpoints(ns, "db", [("10.2.0.21", "db-0", True)]))
    for cluster in (EAST, WEST):
        await apply(fleet, cluster, export(ns, "db"))
    name = f"db.{ns}.svc.clusterset.local"

    async def both() -> bool:
        return values(await ask(fleet, SOUTH, name)) == ["10.1.0.11", "10.2.0.21"]

    await eventually(both, timeout=30, what="the ready endpoints of both clusters")
    east0 = await ask(fleet, SOUTH, f"db-0.us-east.{name}")
    west0 = await ask(fleet, SOUTH, f"db-0.eu-west.{name}", tcp=True)
    assert values(east0) == ["10.1.0.11"] and values(west0) == ["10.2.0.21"]
    not_ready = await ask(fleet, SOUTH, f"db-1.us-east.{name}")
    assert not_ready.rcode() == dns.rcode.NXDOMAIN
    srv = values(await ask(fleet, WEST, f"_http._tcp.{name}", "SRV"), "SRV")
    assert srv == [f"0 50 8080 db-0.eu-west.{name}.", f"0 50 8080 db-0.us-east.{name}."]
    imported = await get_import(fleet, SOUTH, ns, "db")
    assert imported is not None and imported["spec"]["type"] == "Headless"
    assert "ips" not in imported["spec"]
    # db-1 becomes ready in us-east: answered within a few seconds
    await apply(fleet, EAST, endpoints(ns, "db", [("10.1.0.11", "db-0", True),
                                                  ("10.1.0.12", "db-1", True)]))  # fmt: skip

    async def three() -> bool:
        return values(await ask(fleet, SOUTH, name)) == ["10.1.0.11", "10.1.0.12", "10.2.0.21"]

    await eventually(three, timeout=10, what="db-1 answered once ready")


async def test_a_member_without_the_namespace_imports_once_it_has_it(
    fleet: LocalFleet, discovering: ControllerProcess
) -> None:
    ns = f"e2e-part-{uuid.uuid4().hex[:6]}"
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    try:
        for member in (EAST, WEST):
            async with fleet.client(member) as client:
                await client.create(resource_path("v1", "namespaces"), body)
        await apply(fleet, EAST, service(ns, "web"))
        await apply(fleet, EAST, export(ns, "web"))
        await eventually(lambda: get_import(fleet, WEST, ns, "web"), timeout=30, what="in eu-west")
        assert await get_import(fleet, SOUTH, ns, "web") is None  # no namespace, no import
        name = f"web.{ns}.svc.clusterset.local"
        assert (await ask(fleet, SOUTH, name)).rcode() == dns.rcode.NXDOMAIN
        async with fleet.client(SOUTH) as client:
            await client.create(resource_path("v1", "namespaces"), body)

        async def imported() -> bool:
            return bool(values(await ask(fleet, SOUTH, name)))

        await eventually(imported, timeout=30, what="ap-south imports once it has the namespace")
    finally:
        for member in MEMBERS:
            async with fleet.client(member) as client:
                with contextlib.suppress(NotFound):
                    await client.delete(resource_path("v1", "namespaces", name=ns))


async def test_bad_exports_are_not_valid_and_import_nothing(
    fleet: LocalFleet, discovering: ControllerProcess, ns: str
) -> None:
    await apply(fleet, EAST, service(ns, "outside", external=True))
    await apply(fleet, EAST, export(ns, "outside"))
    await apply(fleet, WEST, export(ns, "missing"))

    async def refused() -> bool:
        outside = await conditions(fleet, EAST, ns, "outside")
        missing = await conditions(fleet, WEST, ns, "missing")
        return (
            outside.get("Valid", {}).get("reason") == "InvalidServiceType"
            and missing.get("Valid", {}).get("reason") == "NoService"
        )

    await eventually(refused, timeout=30, what="Valid=False with the reasons")
    for member in MEMBERS:
        assert await get_import(fleet, member, ns, "outside") is None
        assert await get_import(fleet, member, ns, "missing") is None


async def test_cilium_global_services_are_exported_and_shared_false_stays_home(
    fleet: LocalFleet, discovering: ControllerProcess, ns: str
) -> None:
    annotations = {"service.cilium.io/global": "true"}
    await apply(fleet, EAST, service(ns, "echo", headless=True, annotations=annotations))
    await apply(fleet, EAST, endpoints(ns, "echo", [("10.1.0.31", None, True)]))
    private = {**annotations, "service.cilium.io/shared": "false"}
    await apply(fleet, WEST, service(ns, "echo", headless=True, annotations=private))
    await apply(fleet, WEST, endpoints(ns, "echo", [("10.2.0.31", None, True)]))
    name = f"echo.{ns}.svc.clusterset.local"

    async def answered() -> bool:
        south = values(await ask(fleet, SOUTH, name))
        west = values(await ask(fleet, WEST, name))
        return south == ["10.1.0.31"] and west == ["10.1.0.31", "10.2.0.31"]

    await eventually(answered, timeout=30, what="shared=false kept eu-west's endpoint at home")


async def test_mesh_status_shows_each_member_of_the_clusterset(
    fleet: LocalFleet, discovering: ControllerProcess, ns: str
) -> None:
    await apply(fleet, EAST, service(ns, "seen"))
    await apply(fleet, EAST, export(ns, "seen"))
    await eventually(lambda: get_import(fleet, SOUTH, ns, "seen"), timeout=30, what="imported")
    shown = fleet.flotilla("mesh", "status", "-o", "json")
    assert shown.returncode == 0, shown.stderr
    members = {m["cluster"]: m for m in json.loads(shown.stdout)["members"]}
    assert sorted(members) == sorted(MEMBERS)
    for member in MEMBERS:
        item = members[member]
        assert item["clusterId"] == member and item["clusterset"] == "flotilla"
        assert item["crds"] is True
        assert item["dns"] == f"ok {address(fleet, member)}:53"
        assert item["imports"] >= 1
    assert members[EAST]["exports"] >= 1
    table = fleet.flotilla("mesh", "status")
    assert table.returncode == 0 and "CLUSTER ID" in table.stdout


async def test_connectivity_test_resolves_and_reaches_every_pair(
    fleet: LocalFleet, discovering: ControllerProcess
) -> None:
    done = fleet.flotilla("connectivity", "test", "-o", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    pairs = {(p["from"], p["to"]): p for p in report["pairs"]}
    assert sorted(pairs) == sorted((a, b) for a in MEMBERS for b in MEMBERS if a != b)
    for (_, target), pair in pairs.items():
        assert pair["ok"], pair
        assert pair["addresses"] == [echo(fleet, target)]
        assert pair["connectMs"] >= 0
    assert all(report["members"][m]["apiLatencyMs"] for m in MEMBERS)
    one = fleet.flotilla("connectivity", "test", "--from", EAST, "--to", WEST, "-o", "json")
    assert one.returncode == 0, one.stderr
    assert [(p["from"], p["to"], p["ok"]) for p in json.loads(one.stdout)["pairs"]] == [
        (EAST, WEST, True)
    ]
    # ap-south's echo server gone: every pair to it fails, by name, and the exit code says so
    killed = await asyncio.create_subprocess_exec(
        "pkill", "-f", "--", f"--listen={echo(fleet, SOUTH)}:8079"
    )
    await killed.wait()
    try:
        broken = fleet.flotilla("connectivity", "test", "--to", SOUTH, "--timeout", "20")
        assert broken.returncode == 1, broken.stdout
        assert f"failed: us-east -> ap-south: cannot connect to {echo(fleet, SOUTH)}:8079" in (
            broken.stderr
        )
    finally:
        fleet.cli("up")  # starts the echo server again


async def test_dns_keeps_answering_while_the_hub_is_down(
    fleet: LocalFleet, discovering: ControllerProcess, ns: str
) -> None:
    await apply(fleet, EAST, service(ns, "steady"))
    await apply(fleet, EAST, export(ns, "steady"))
    name = f"steady.{ns}.svc.clusterset.local"

    async def resolves() -> list[str] | None:
        found = values(await ask(fleet, WEST, name))
        return found or None

    before = await eventually(resolves, timeout=30, what="resolvable")
    fleet.cli("fault", "hub", "crash")
    try:
        discovering.kill()  # the control plane is gone altogether
        for member in MEMBERS:
            assert values(await ask(fleet, member, name)) == before
            assert values(await ask(fleet, member, name, tcp=True)) == before
    finally:
        fleet.cli("fault", "hub", "heal")
