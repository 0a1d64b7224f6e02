"""GitOps, measured on a fleet of its own (3 members) with a real smart HTTP git server.

1. webhook: one repository followed by an Application on each of the 3 members; a commit,
   then a signed GitHub push to the controller, until the commit's data is on every member
   (seen by watches): p50/p99 over --commits commits, beside the anchor measured commit by
   commit in the same run: `git fetch` of that commit plus the same server-side applies sent
   directly to the 3 members;
2. poll: the same with no webhook, each Application polling every 5 s (the shortest interval
   Flotilla takes): p50/p99, bounded by the interval;
3. scale: --apps Applications (2 ConfigMaps each) from one repository over the 3 members:
   time to converge from nothing, and after one commit that touches every one of them,
   against the same rendered manifests applied directly in the same run; git fetches (info/refs
   requests seen by the server) per commit; controller memory per Application (PSS).

4. appset: an ApplicationSet of --elements list elements x the 3 clusters (300
   Applications by default, 2 ConfigMaps each): time until all are generated on the hub and
   until all converged, against the same manifests applied directly in the same run;
   controller memory per generated Application.

Usage: python bench/gitops.py [--commits 20] [--apps 200] [--elements 100]
                              [--parts webhook,poll,scale,appset]
Needs the fleet's addresses free: stop a running dev fleet first (`flotilla dev down`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from propagation import Bench, _Lines, _percentile, _pss_kib, _row

from flotilla.kube import KubeClient, resource_path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.gitservers import GitHttpServer, GitRepo, free_port, git

APPS = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"
APPSETS = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applicationsets"
SECRETS = resource_path("v1", "secrets", namespace="flotilla-system")
WEBHOOK_KEY = uuid.uuid4().hex
PARTS = ("webhook", "poll", "scale", "appset")


class GitOpsBench(Bench):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.port = free_port()

    def start_controller(self) -> None:
        log = (self.directory / "controller.log").open("ab")
        profile = os.environ.get("FLOTILLA_BENCH_PROFILE")  # a file for cProfile's stats
        command = [
            sys.executable, *(["-m", "cProfile", "-o", profile] if profile else []),
            "-m", "flotilla", "controller", "run", "--kubeconfig",
            str(self.kubeconfig), "--metrics-bind-address", f"127.0.0.1:{self.port}",
            "--log-level", "warning", "--git-poll-interval", "600",
            "--git-cache-dir", str(self.directory / "git-cache"),
        ]  # fmt: skip
        self.controller = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    async def webhook_secret(self) -> None:
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "flotilla-webhook", "namespace": "flotilla-system"},
            "data": {"webhook.github": base64.b64encode(WEBHOOK_KEY.encode()).decode()},
        }
        async with self.client("hub") as hub:
            await hub.create(SECRETS, secret)

    async def push(self, url: str, sha: str) -> None:
        body = json.dumps(
            {"ref": "refs/heads/main", "after": sha, "repository": {"clone_url": url}}
        ).encode()
        signature = hmac.new(WEBHOOK_KEY.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "X-GitHub-Event": "push",
            "X-Hub-Signature-256": f"sha256={signature}",
            "Content-Type": "application/json",
        }
        async with httpx.AsyncClient(timeout=10) as client:
            for _ in range(100):  # the controller may still be starting
                with contextlib.suppress(httpx.TransportError):
                    answer = await client.post(
                        f"http://127.0.0.1:{self.port}/api/webhook", content=body, headers=headers
                    )
                    answer.raise_for_status()
                    return
                await asyncio.sleep(0.1)
        raise TimeoutError("the controller's webhook endpoint did not answer")

    async def create_apps(self, apps: list[dict[str, Any]]) -> None:
        async with self.client("hub", timeout=30) as hub:
            sem = asyncio.Semaphore(16)

            async def one(app: dict[str, Any]) -> None:
                async with sem:
                    await hub.create(APPS, app)

            await asyncio.gather(*(one(app) for app in apps))

    async def delete_apps(self) -> None:
        async with self.client("hub", timeout=30) as hub:
            items = (await hub.list(APPS)).get("items") or []
            for item in items:
                await hub.delete(f"{APPS}/{item['metadata']['name']}")
            for _ in range(600):
                if not (await hub.list(APPS)).get("items"):
                    return
                await asyncio.sleep(0.2)
            raise TimeoutError("the applications were not deleted")

    async def follow(
        self,
        repo: GitRepo,
        url: str,
        commits: int,
        *,
        webhook: bool,
        fetches: Callable[[], int] = lambda: 0,
    ) -> tuple[list[float], list[float], int]:
        """(Flotilla, the anchor, Flotilla's git fetches for the commits): commit to the
        commit's data on all 3 members."""
        namespace = f"bench-{uuid.uuid4().hex[:6]}"
        annotations = {} if webhook else {"flotilla.io/poll-interval": "5s"}
        repo.commit({"k8s/cm.yaml": _manifest("follow", "0")}, "start")
        apps = [
            _application(
                f"follow-{namespace}-{member}",
                url,
                path="k8s",
                cluster=member,
                namespace=namespace,
                annotations=annotations,
            )
            for member in self.members
        ]
        seen: dict[str, dict[str, float]] = {}
        clients = {member: self.client(member) for member in self.members}
        watches = [
            asyncio.create_task(_watch_values(client, namespace, member, seen))
            for member, client in clients.items()
        ]
        await asyncio.sleep(1)  # the watches are open
        await self.create_apps(apps)
        flotilla: list[float] = []
        anchor: list[float] = []
        scratch = self.directory / f"anchor-{namespace}.git"
        git("init", "--bare", "--quiet", str(scratch))
        fetched = 0
        try:
            await _arrived(seen, "follow=0", self.members, timeout=120)
            for commit in range(1, commits + 1):
                sha = repo.commit({"k8s/cm.yaml": _manifest("follow", str(commit))}, f"c{commit}")
                before = fetches()
                start = time.perf_counter()
                if webhook:
                    await self.push(url, sha)
                flotilla.append(await _arrived(seen, f"follow={commit}", self.members) - start)
                await asyncio.sleep(0.3)
                fetched += fetches() - before
                if not webhook:
                    continue
                start = time.perf_counter()
                await asyncio.to_thread(
                    git, "--git-dir", str(scratch), "fetch", "--quiet", url, "main"
                )
                manifest = _object("direct", str(commit))
                path = resource_path("v1", "configmaps", namespace=namespace, name="direct")
                await asyncio.gather(
                    *(c.apply(path, manifest, field_manager="direct") for c in clients.values())
                )
                anchor.append(await _arrived(seen, f"direct={commit}", self.members) - start)
                await asyncio.sleep(0.3)
        finally:
            for task in watches:
                task.cancel()
            for client in clients.values():
                await client.aclose()
            await self.delete_apps()
        return flotilla, anchor, fetched

    async def scale(
        self, repo: GitRepo, server: GitHttpServer, name: str, count: int
    ) -> dict[str, float]:
        url = server.url(name)
        namespace = "bench-scale"
        files = {f"apps/{i:03d}/cm.yaml": _pair(i, "1") for i in range(count)}
        repo.commit(files, "many apps")
        apps = [
            _application(f"scale-{i:03d}", url, path=f"apps/{i:03d}",
                         cluster=self.members[i % len(self.members)], namespace=namespace)
            for i in range(count)
        ]  # fmt: skip
        pss_before = _pss_kib(self.controller.pid) if self.controller else 0
        fetched = server.connections(name)
        start = time.perf_counter()
        await self.create_apps(apps)
        created = time.perf_counter() - start
        await self._converged(namespace, count, "1")
        cold = time.perf_counter() - start
        cold_fetches = server.connections(name) - fetched
        await asyncio.sleep(3)
        pss_after = _pss_kib(self.controller.pid) if self.controller else 0

        sha = repo.commit({f"apps/{i:03d}/cm.yaml": _pair(i, "2") for i in range(count)}, "all")
        fetched = server.connections(name)
        start = time.perf_counter()
        await self.push(url, sha)
        await self._converged(namespace, count, "2")
        commit = time.perf_counter() - start
        commit_fetches = server.connections(name) - fetched

        direct_cold = await self._direct(count, "direct-scale", "1")
        direct_commit = await self._direct(count, "direct-scale", "2")
        await self.delete_apps()
        return {
            "cold": cold, "created": created, "commit": commit, "direct_cold": direct_cold,
            "direct_commit": direct_commit, "cold_fetches": cold_fetches,
            "commit_fetches": commit_fetches,
            "per_app": (pss_after - pss_before) * 1024 / count,
        }  # fmt: skip

    async def appset(
        self, repo: GitRepo, server: GitHttpServer, name: str, elements: int
    ) -> dict[str, float]:
        """An ApplicationSet: ``elements`` list elements x the 3 clusters, each Application
        2 ConfigMaps; until all are generated, then until all converged."""
        url = server.url(name)
        namespace = "bench-appset"
        repo.commit({f"apps/{i:03d}/cm.yaml": _pair(i, "1") for i in range(elements)}, "apps")
        body = {
            "apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
            "metadata": {"name": "bench", "namespace": "argocd"},
            "spec": {
                "generators": [{"matrix": {"generators": [
                    {"list": {"elements": [{"i": f"{i:03d}"} for i in range(elements)]}},
                    {"clusters": {}},
                ]}}],
                "template": {
                    "metadata": {"name": "bench-{{i}}-{{name}}"},
                    "spec": {
                        "project": "default",
                        "source": {"repoURL": url, "targetRevision": "main", "path": "apps/{{i}}"},
                        "destination": {"name": "{{name}}", "namespace": namespace},
                        "syncPolicy": {"automated": {"prune": True},
                                       "syncOptions": ["CreateNamespace=true"]},
                    },
                },
            },
        }  # fmt: skip
        total = elements * len(self.members)
        pss_before = _pss_kib(self.controller.pid) if self.controller else 0
        start = time.perf_counter()
        async with self.client("hub", timeout=30) as hub:
            await hub.create(APPSETS, body)
            for _ in range(6000):
                if len((await hub.list(APPS)).get("items") or []) >= total:
                    break
                await asyncio.sleep(0.1)
        generated = time.perf_counter() - start
        await self._converged(namespace, elements, "1", spread=False)
        converged = time.perf_counter() - start
        await asyncio.sleep(3)
        pss_after = _pss_kib(self.controller.pid) if self.controller else 0
        direct = await self._direct(elements, "direct-appset", "1", spread=False)
        async with self.client("hub", timeout=30) as hub:
            await hub.delete(f"{APPSETS}/bench")
        await self.delete_apps()
        return {
            "generated": generated, "converged": converged, "direct": direct, "total": total,
            "per_app": (pss_after - pss_before) * 1024 / total,
        }  # fmt: skip

    def _pairs_of(self, index: int, count: int, *, spread: bool) -> range:
        """Which pairs member ``index`` holds: one member each (spread) or all of them."""
        return range(index, count, len(self.members)) if spread else range(count)

    async def _converged(
        self, namespace: str, count: int, value: str, *, spread: bool = True
    ) -> None:
        path = resource_path("v1", "configmaps", namespace=namespace)
        expected = {m: 2 * len(self._pairs_of(i, count, spread=spread))
                    for i, m in enumerate(self.members)}  # fmt: skip
        deadline = time.monotonic() + 600
        async with contextlib.AsyncExitStack() as stack:
            clients = {m: await stack.enter_async_context(self.client(m)) for m in self.members}
            while time.monotonic() < deadline:
                done = True
                for member, client in clients.items():
                    try:
                        items = (await client.get(path, labelSelector="bench=scale"))["items"]
                    except Exception:  # the namespace is not there yet
                        items = []
                    good = [i for i in items if (i.get("data") or {}).get("v") == value]
                    done = done and len(good) == expected[member]
                if done:
                    return
                await asyncio.sleep(0.25)
        raise TimeoutError(f"{count} applications did not converge to v={value}")

    async def _direct(
        self, count: int, namespace: str, value: str, *, spread: bool = True
    ) -> float:
        """The same objects, server-side applied directly, 16 at a time per member."""
        start = time.perf_counter()

        async def member(index: int, name: str) -> None:
            async with self.client(name) as client:
                with contextlib.suppress(Exception):
                    body = {
                        "apiVersion": "v1",
                        "kind": "Namespace",
                        "metadata": {"name": namespace},
                    }
                    await client.create(resource_path("v1", "namespaces"), body)
                sem = asyncio.Semaphore(16)

                async def apply(manifest: dict[str, Any]) -> None:
                    path = resource_path("v1", "configmaps", namespace=namespace,
                                         name=manifest["metadata"]["name"])  # fmt: skip
                    async with sem:
                        await client.apply(path, manifest, field_manager="direct")

                manifests = [
                    doc for i in self._pairs_of(index, count, spread=spread)
                    for doc in _pair_objects(i, value)
                ]  # fmt: skip
                await asyncio.gather(*(apply(m) for m in manifests))

        await asyncio.gather(*(member(i, m) for i, m in enumerate(self.members)))
        return time.perf_counter() - start


def _application(
    name: str, url: str, *, path: str, cluster: str, namespace: str,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", "annotations": annotations or {}},
        "spec": {
            "project": "default",
            "source": {"repoURL": url, "targetRevision": "main", "path": path},
            "destination": {"name": cluster, "namespace": namespace},
            "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
        },
    }


def _object(name: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"bench": "follow"}},
        "data": {"v": value},
    }


def _manifest(name: str, value: str) -> str:
    return json.dumps(_object(name, value)) + "\n"


def _pair_objects(i: int, value: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"app-{i:03d}-{part}", "labels": {"bench": "scale"}},
            "data": {"v": value, "app": str(i)},
        }
        for part in ("a", "b")
    ]


def _pair(i: int, value: str) -> str:
    return "---\n".join(json.dumps(doc) + "\n" for doc in _pair_objects(i, value))


async def _watch_values(
    client: KubeClient, namespace: str, member: str, seen: dict[str, dict[str, float]]
) -> None:
    """Records when each ``name=value`` first shows on the member."""
    path = resource_path("v1", "configmaps", namespace=namespace)
    while True:
        try:
            version = (await client.get(path))["metadata"]["resourceVersion"]
            async for event in client.watch(path, resource_version=version, allow_bookmarks=False):
                item = event["object"]
                key = f"{item['metadata']['name']}={(item.get('data') or {}).get('v')}"
                seen.setdefault(key, {}).setdefault(member, time.perf_counter())
        except asyncio.CancelledError:
            raise
        except Exception:  # the namespace is not there yet, or the watch ended
            await asyncio.sleep(0.1)


async def _arrived(
    seen: dict[str, dict[str, float]], key: str, members: list[str], *, timeout: float = 60
) -> float:
    """When the last member showed ``key`` (``name=value``)."""
    deadline = time.perf_counter() + timeout
    while len(seen.get(key, {})) < len(members):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{key} did not reach all of {members}")
        await asyncio.sleep(0.002)
    return max(seen[key].values())


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=20)
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--elements", type=int, default=100, help="appset: list elements")
    parser.add_argument("--parts", default=",".join(PARTS), help=", ".join(PARTS))
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if parts - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(parts - set(PARTS)))}")
    lines = _Lines()
    with tempfile.TemporaryDirectory(prefix="flotilla-bench-") as tmp:
        root = Path(tmp) / "repos"
        bench = GitOpsBench(Path(tmp) / "fleet")
        bench.directory.mkdir()
        with GitHttpServer(root) as server:
            try:
                await bench.up(3)
                await bench.webhook_secret()
                await _parts(bench, server, root, parts=parts, args=args, lines=lines)
            finally:
                bench.stop_controller()
                await bench.fleet.down(purge=True)
    print("done")


async def _parts(
    bench: GitOpsBench,
    server: GitHttpServer,
    root: Path,
    *,
    parts: set[str],
    args: argparse.Namespace,
    lines: _Lines,
) -> None:
    if "webhook" in parts:
        repo = GitRepo.create(root, "follow")
        url = server.url("follow")
        flotilla, anchor, fetches = await bench.follow(
            repo, url, args.commits, webhook=True, fetches=lambda: server.connections("follow")
        )
        lines.append(_row("webhook, commit to 3 members", flotilla))
        lines.append(_row("  git fetch + direct SSA (the anchor)", anchor))
        ratio = _percentile(flotilla, 0.99) / _percentile(anchor, 0.99)
        lines.append(
            f"  p99 ratio {ratio:.2f}; Flotilla's git fetches: {fetches} for {args.commits} "
            f"commits followed by 3 applications"
        )
    if "poll" in parts:
        repo = GitRepo.create(root, "polled")
        polled, _, _ = await bench.follow(repo, server.url("polled"), 10, webhook=False)
        lines.append(_row("poll (every 5 s), commit to 3 members", polled))
    if "scale" in parts:
        repo = GitRepo.create(root, "scale")
        found = await bench.scale(repo, server, "scale", args.apps)
        lines.append(
            f"scale, {args.apps} applications on 3 members, from nothing: flotilla "
            f"{found['cold']:.2f} s, direct SSA {found['direct_cold']:.2f} s, ratio "
            f"{found['cold'] / found['direct_cold']:.2f}; git fetches {found['cold_fetches']:.0f} "
            f"(creating the applications on the hub took {found['created']:.2f} s of it)"
        )
        lines.append(
            f"  one commit touching all: flotilla {found['commit']:.2f} s, direct SSA "
            f"{found['direct_commit']:.2f} s, ratio "
            f"{found['commit'] / found['direct_commit']:.2f}; git fetches "
            f"{found['commit_fetches']:.0f}"
        )
        lines.append(f"controller memory per application: {found['per_app'] / 1024:.0f} KiB PSS")
    if "appset" in parts:
        repo = GitRepo.create(root, "appset")
        found = await bench.appset(repo, server, "appset", args.elements)
        lines.append(
            f"appset, {found['total']:.0f} applications ({args.elements} elements x 3 clusters): "
            f"generated in {found['generated']:.2f} s, converged in {found['converged']:.2f} s; "
            f"direct SSA {found['direct']:.2f} s, ratio {found['converged'] / found['direct']:.2f}"
        )
        lines.append(
            f"  controller memory per generated application: {found['per_app'] / 1024:.0f} KiB PSS"
        )


if __name__ == "__main__":
    asyncio.run(main())
