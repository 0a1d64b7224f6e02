"""Flotilla's DNS engine beside CoreDNS and BIND9, serving the same clusterset.local zone.

1. throughput: queries per second of each server pinned to one core (taskset -c 0;
   CoreDNS with GOMAXPROCS=1, BIND with one worker thread), dnsperf on the other core with
   enough queries in flight to keep it busy; rounds interleaved (this machine is noisy),
   the median round reported;
2. latency: p50/p99 of each answer at a steady 5,000 queries per second (dnsperf -v);
3. discovery (--parts discovery, needs a running `flotilla dev up`): a ServiceExport
   created in us-east until its name resolves from eu-west's DNS (127.0.3.1:53), p50/p99
   over --exports exports, beside the anchor in the same run: the same Service's own
   EndpointSlice appearing on us-east (the member's own controller).

The zone: --services ClusterSetIP services (A + SRV each) and one headless service of 50
endpoints, queried in a random mix (90% A of a service, 5% SRV, 5% names that do not exist).
CoreDNS comes from hack/coredns (v1.15.0, built on first use into _output/bin); BIND and
dnsperf are Debian's (`make packages`).

Usage: python bench/dns_servers.py [--services 1000] [--seconds 8] [--rounds 3]
                           [--parts throughput,latency,discovery] [--exports 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dns.asyncquery
import dns.message

from flotilla.devfleet import default_directory
from flotilla.dns import DnsServer, Record, Soa, Zone, compile_zones
from flotilla.kube import KubeClient, load_kubeconfig, resource_path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "_output" / "bin"
ORIGIN = "clusterset.local."
PORTS = {"flotilla": 5301, "coredns": 5302, "bind9": 5303}


def records(services: int) -> list[tuple[str, str, str]]:
    out = [("ns", "A", "127.0.0.1"), ("dns-version", "TXT", '"1.0.0"')]
    for n in range(services):
        owner = f"svc{n}.shop.svc"
        out.append((owner, "A", f"10.253.{n // 250}.{n % 250 + 1}"))
        out.append((f"_http._tcp.{owner}", "SRV", f"0 100 80 {owner}.{ORIGIN}"))
    for n in range(50):
        out.append(("db.shop.svc", "A", f"10.1.{n // 250}.{n % 250 + 10}"))
    return out


def zone_file(entries: list[tuple[str, str, str]]) -> str:
    lines = [
        f"$ORIGIN {ORIGIN}",
        "$TTL 5",
        "@ 5 IN SOA ns hostmaster 1 7200 1800 86400 5",
        "@ 5 IN NS ns",
    ]
    lines += [f"{name} 5 IN {kind} {data}" for name, kind, data in entries]
    return "\n".join(lines) + "\n"


def queries(services: int, count: int = 20000) -> str:
    rng = random.Random(7)
    out = []
    for _ in range(count):
        roll = rng.random()
        n = rng.randrange(services)
        if roll < 0.90:
            out.append(f"svc{n}.shop.svc.clusterset.local A")
        elif roll < 0.95:
            out.append(f"_http._tcp.svc{n}.shop.svc.clusterset.local SRV")
        else:
            out.append(f"nope{n}.shop.svc.clusterset.local A")
    return "\n".join(out) + "\n"


def serve_flotilla(port: int, path: Path) -> None:
    """The engine alone: the same zone from the same file, on one port."""
    found = []
    for line in path.read_text().splitlines():
        if line.startswith(("$", "@")):
            continue
        name, ttl, _, kind, data = line.split(None, 4)
        found.append(Record(name, kind, data, ttl=int(ttl)))
    zone = Zone(ORIGIN, found, soa=Soa(ttl=5, minimum=5))
    asyncio.run(DnsServer(compile_zones([zone])).serve("127.0.0.1", port))


def coredns() -> Path:
    binary = BIN / "coredns"
    if not binary.exists():
        print("building CoreDNS v1.15.0 (hack/coredns) ...", file=sys.stderr)
        subprocess.run(
            ["go", "build", "-ldflags=-s -w", "-o", str(binary), "github.com/coredns/coredns"],
            cwd=ROOT / "hack" / "coredns",
            check=True,
        )
    return binary


def start(name: str, work: Path, zone: Path) -> subprocess.Popen[bytes]:
    port = PORTS[name]
    log = (work / f"{name}.log").open("wb")
    pin = ["taskset", "-c", "0"]
    if name == "flotilla":
        argv = [sys.executable, __file__, "--serve-flotilla", str(port), str(zone)]
        return subprocess.Popen([*pin, *argv], stdout=log, stderr=log)
    if name == "coredns":
        corefile = work / "Corefile"
        corefile.write_text(f"{ORIGIN}:{port} {{\n  bind 127.0.0.1\n  file {zone}\n}}\n")
        env = {**os.environ, "GOMAXPROCS": "1"}
        argv = [str(coredns()), "-conf", str(corefile), "-quiet"]
        return subprocess.Popen([*pin, *argv], stdout=log, stderr=log, env=env)
    conf = work / "named.conf"
    conf.write_text(
        f'options {{ directory "{work}"; listen-on port {port} {{ 127.0.0.1; }};\n'
        f'  listen-on-v6 {{ none; }}; recursion no; pid-file "{work}/named.pid";\n'
        "  dnssec-validation no; };\n"
        f'zone "clusterset.local" {{ type primary; file "{zone}"; }};\n'
    )
    named = shutil.which("named") or "/usr/sbin/named"
    argv = [named, "-g", "-4", "-n", "1", "-U", "1", "-c", str(conf)]
    return subprocess.Popen([*pin, *argv], stdout=log, stderr=log)


def wait_answering(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = subprocess.run(
            ["dig", "+short", "+time=1", "+tries=1", "-p", str(port), "@127.0.0.1",
             "svc1.shop.svc.clusterset.local"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.stdout.strip():
            return
        time.sleep(0.2)
    raise SystemExit(f"nothing answers on port {port}")


def dnsperf(port: int, data: Path, *, seconds: float, rate: int | None = None) -> str:
    argv = ["taskset", "-c", "1", "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(data),
            "-l", str(seconds), "-c", "4", "-q", "256"]  # fmt: skip
    if rate:
        argv += ["-Q", str(rate), "-v"]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def qps(output: str) -> tuple[float, float]:
    rate = float(re.search(r"Queries per second:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    lost = float(re.search(r"Queries lost:\s+\d+ \(([\d.]+)%\)", output).group(1))  # type: ignore[union-attr]
    return rate, lost


def latencies(output: str) -> list[float]:
    return [float(line.rsplit(None, 1)[1]) for line in output.splitlines() if line.startswith(">")]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def side_by_side(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="flotilla-dns-bench-"))
    zone = work / "db.clusterset.local"
    zone.write_text(zone_file(records(args.services)))
    data = work / "queries.txt"
    data.write_text(queries(args.services))
    servers = {name: start(name, work, zone) for name in PORTS}
    try:
        for port in PORTS.values():
            wait_answering(port)
        parts = args.parts.split(",")
        if "throughput" in parts:
            rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in PORTS}
            for _ in range(args.rounds):
                for name, port in PORTS.items():
                    rounds[name].append(qps(dnsperf(port, data, seconds=args.seconds)))
            print(f"throughput, one core each, {args.services} services, median of {args.rounds}:")
            anchor = statistics.median(r for r, _ in rounds["coredns"])
            for name in PORTS:
                rate = statistics.median(r for r, _ in rounds[name])
                lost = max(share for _, share in rounds[name])
                ratio = rate / anchor
                print(f"  {name:9} {rate:10.0f} q/s  (x{ratio:.2f} of CoreDNS; lost <= {lost}%)")
        if "latency" in parts:
            print("latency at 5000 q/s:")
            for name, port in PORTS.items():
                found = latencies(dnsperf(port, data, seconds=4, rate=5000))
                p50, p99 = percentile(found, 0.5), percentile(found, 0.99)
                line = f"p50 {p50 * 1e6:7.0f} us   p99 {p99 * 1e6:7.0f} us"
                print(f"  {name:9} {line}   ({len(found)} answers)")
    finally:
        for server in servers.values():
            server.terminate()
        for server in servers.values():
            server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def discovery(args: argparse.Namespace) -> None:
    kubeconfig = default_directory() / "kubeconfig"
    controller = subprocess.Popen(
        [sys.executable, "-m", "flotilla", "controller", "run", "--kubeconfig", str(kubeconfig),
         "--metrics-bind-address", "127.0.0.1:0", "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        asyncio.run(_discovery(kubeconfig, args.exports))
    finally:
        controller.terminate()
        controller.wait(10)


async def _discovery(kubeconfig: Path, exports: int) -> None:
    east = KubeClient(load_kubeconfig(kubeconfig, context="us-east"))
    namespace = f"bench-{random.randrange(1 << 30):x}"
    took: list[float] = []
    anchor: list[float] = []
    try:
        async with east:
            for cluster in ("us-east", "eu-west", "ap-south"):
                async with KubeClient(load_kubeconfig(kubeconfig, context=cluster)) as client:
                    await client.create(resource_path("v1", "namespaces"),
                                        {"apiVersion": "v1", "kind": "Namespace",
                                         "metadata": {"name": namespace}})  # fmt: skip
            await asyncio.sleep(5)  # the controller joins the members
            for n in range(exports):
                name = f"s{n}"
                spec = {"selector": {"app": name}, "ports": [{"name": "http", "port": 80}]}
                meta = {"name": name, "namespace": namespace}
                service = {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}
                begin = time.monotonic()
                await east.create(resource_path("v1", "services", namespace=namespace), service)
                await _until_slice(east, namespace, name)
                anchor.append(time.monotonic() - begin)
                export = {"apiVersion": "multicluster.x-k8s.io/v1beta1", "kind": "ServiceExport",
                          "metadata": {"name": name, "namespace": namespace}}  # fmt: skip
                begin = time.monotonic()
                await east.create(resource_path("multicluster.x-k8s.io/v1beta1", "serviceexports",
                                                namespace=namespace), export)  # fmt: skip
                query = dns.message.make_query(f"{name}.{namespace}.svc.clusterset.local", "A")
                while True:
                    answer = await dns.asyncquery.udp(query, "127.0.3.1", port=53, timeout=1)
                    if answer.answer:
                        break
                    await asyncio.sleep(0.005)
                took.append(time.monotonic() - begin)
    finally:
        for cluster in ("us-east", "eu-west", "ap-south"):
            async with KubeClient(load_kubeconfig(kubeconfig, context=cluster)) as client:
                await client.delete(resource_path("v1", "namespaces", name=namespace))
    print(f"export -> resolvable from eu-west, {exports} exports:")
    print(
        f"  p50 {percentile(took, 0.5) * 1e3:6.0f} ms   p99 {percentile(took, 0.99) * 1e3:6.0f} ms"
    )
    print("anchor: a Service -> its own EndpointSlice on us-east (the member's controller):")
    p50, p99 = percentile(anchor, 0.5) * 1e3, percentile(anchor, 0.99) * 1e3
    print(f"  p50 {p50:6.0f} ms   p99 {p99:6.0f} ms")


async def _until_slice(client: KubeClient, namespace: str, name: str) -> None:
    path = resource_path("discovery.k8s.io/v1", "endpointslices", namespace=namespace)
    while True:
        found = await client.list(path, label_selector=f"kubernetes.io/service-name={name}")
        if found.get("items"):
            return
        await asyncio.sleep(0.005)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-flotilla":
        serve_flotilla(int(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--exports", type=int, default=20)
    parser.add_argument("--parts", default="throughput,latency")
    args = parser.parse_args()
    if {"throughput", "latency"} & set(args.parts.split(",")):
        side_by_side(args)
    if "discovery" in args.parts.split(","):
        discovery(args)


if __name__ == "__main__":
    main()
