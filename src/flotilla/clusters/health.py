"""Probing a member and turning probe results into Cluster status.

A probe is a real request that needs etcd (reading the ``kube-system`` namespace) with a
client-side timeout: ``/readyz`` stays green when etcd is frozen, and a SIGSTOPped server
accepts connections and never answers. Every few probes it also lists nodes for capacity.

A probe never raises: whatever the member answers (HTML from a proxy, nulls where lists
belong, absurd quantities) and whatever goes wrong in the client, the result is a failed
probe with a reason, so a prober never dies and leaves its cluster Ready.

``next_status`` is pure: given the last status, a probe result and the settings, it says
what the status is now. Its rules:

- a failed probe makes ``Reachable`` False at once, and counts;
- ``failure_threshold`` failures in a row make ``Ready`` False (reason ``Unreachable``)
  and add the ``flotilla.io/unreachable:NoExecute`` taint to ``status.taints``;
- one successful probe makes the cluster Reachable and Ready again and lifts the taint
  (failover keeps its own hysteresis on how long a cluster was NotReady);
- a reachable cluster without a Ready node is Ready=False (``NoReadyNodes``).

``unusable_status`` is the status of a cluster that cannot be probed at all (its stored
credentials cannot make a client): Ready=False at once, with the unreachable taint, so
Placements fail over from it exactly as from a lost cluster.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from typing import Any

from flotilla.api import UNREACHABLE_TAINT, ClusterStatus, Taint, set_condition
from flotilla.api.cluster import ProbeSettings
from flotilla.api.quantity import sum_resources
from flotilla.kube import (
    ApiError,
    KubeClient,
    KubeError,
    RequestTimeout,
    TlsError,
    TransportError,
    resource_path,
)

PROBE_PATH = resource_path("v1", "namespaces", name="kube-system")


@dataclass(frozen=True)
class Inventory:
    version: str
    nodes: int
    ready_nodes: int
    capacity: dict[str, str]
    allocatable: dict[str, str]


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    latency_ms: float | None = None
    reason: str = ""
    message: str = ""
    inventory: Inventory | None = None


class _NotKubernetes(Exception):
    """An answer that is not the JSON object a Kubernetes API server sends."""


async def probe(client: KubeClient, *, timeout: float, inventory: bool) -> ProbeResult:
    """One health probe; with ``inventory``, also the version and the nodes. Never raises."""
    start = time.perf_counter()
    try:
        await _read(client, PROBE_PATH, timeout=timeout)
        latency = (time.perf_counter() - start) * 1000
        found = await _inventory(client, timeout=timeout) if inventory else None
    except _NotKubernetes as exc:
        return ProbeResult(False, reason="NotKubernetes", message=str(exc))
    except RequestTimeout:
        return ProbeResult(False, reason="Timeout", message=f"no answer within {timeout:g}s")
    except TlsError:
        return ProbeResult(False, reason="TLSError", message="TLS handshake failed")
    except TransportError as exc:
        return ProbeResult(False, reason="ConnectionFailed", message=_short(exc))
    except ApiError as exc:
        return ProbeResult(False, reason=f"Http{exc.status}", message=exc.message[:200])
    except KubeError as exc:
        return ProbeResult(False, reason="Error", message=_short(exc))
    except Exception as exc:  # a bug or an odd config: report it, never end the prober
        # Only the type: the text of an arbitrary error may quote a credential.
        message = f"the probe failed with {type(exc).__name__}; check the stored kubeconfig"
        return ProbeResult(False, reason="ProbeError", message=message)
    return ProbeResult(True, latency_ms=round(latency, 1), inventory=found)


async def _read(client: KubeClient, path: str, *, timeout: float) -> dict[str, Any]:
    answer = await client.get(path, timeout=timeout)
    if not isinstance(answer, dict):
        raise _NotKubernetes(
            f"GET {path} answered {type(answer).__name__}, not a JSON object: "
            "check that the kubeconfig's server is the member's API server"
        )
    return answer


async def _inventory(client: KubeClient, *, timeout: float) -> Inventory:
    version = await _read(client, "/version", timeout=timeout)
    path = resource_path("v1", "nodes")
    items = (await _read(client, path, timeout=timeout)).get("items") or []
    if not isinstance(items, list):
        raise _NotKubernetes(f"GET {path} answered items that are not a list")
    nodes = [_mapping(node.get("status")) for node in items if isinstance(node, dict)]
    return Inventory(
        version=str(version.get("gitVersion") or ""),
        nodes=len(nodes),
        ready_nodes=sum(1 for status in nodes if _node_ready(status)),
        capacity=sum_resources(_mapping(status.get("capacity")) for status in nodes),
        allocatable=sum_resources(_mapping(status.get("allocatable")) for status in nodes),
    )


def _mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping; members may send null (or worse) where one belongs."""
    return value if isinstance(value, dict) else {}


def _node_ready(status: dict[str, Any]) -> bool:
    conditions = status.get("conditions") or []
    if not isinstance(conditions, list):
        return False
    return any(
        _mapping(c).get("type") == "Ready" and _mapping(c).get("status") == "True"
        for c in conditions
    )


def next_status(
    current: ClusterStatus,
    result: ProbeResult,
    settings: ProbeSettings,
    *,
    now: datetime.datetime,
) -> ClusterStatus:
    status = current.model_copy(deep=True)
    status.last_probe_time = now
    conditions = status.conditions
    if result.ok:
        status.consecutive_failures = 0
        status.api_latency_ms = result.latency_ms
        if result.inventory is not None:
            inv = result.inventory
            status.kubernetes_version = inv.version
            status.nodes, status.ready_nodes = inv.nodes, inv.ready_nodes
            status.capacity, status.allocatable = inv.capacity, inv.allocatable
        set_condition(
            conditions,
            type="Reachable",
            status="True",
            reason="ProbeSucceeded",
            message="the API server answers",
            now=now,
        )
        if status.nodes and not status.ready_nodes:
            set_condition(
                conditions,
                type="Ready",
                status="False",
                reason="NoReadyNodes",
                message=f"none of {status.nodes} nodes is Ready",
                now=now,
            )
        else:
            set_condition(
                conditions,
                type="Ready",
                status="True",
                reason="ClusterReady",
                message=f"{status.ready_nodes}/{status.nodes} nodes Ready",
                now=now,
            )
        status.taints = [t for t in status.taints if t.key != UNREACHABLE_TAINT]
        return status
    status.consecutive_failures += 1
    message = f"{result.reason}: {result.message}"
    set_condition(
        conditions,
        type="Reachable",
        status="False",
        reason=result.reason,
        message=message,
        now=now,
    )
    if status.consecutive_failures >= settings.failure_threshold:
        set_condition(
            conditions,
            type="Ready",
            status="False",
            reason="Unreachable",
            # No count in the message: a lost cluster's status must not change every probe.
            message=f"{settings.failure_threshold} or more probes failed in a row; last: {message}",
            now=now,
        )
        if not any(t.key == UNREACHABLE_TAINT for t in status.taints):
            status.taints.append(Taint(key=UNREACHABLE_TAINT, effect="NoExecute", time_added=now))
    return status


def unusable_status(
    current: ClusterStatus, *, reason: str, message: str, now: datetime.datetime
) -> ClusterStatus:
    """The status of a cluster that cannot be probed: NotReady and tainted, like a lost one.

    Ready keeps its transition time if it was False already (failover counts from then);
    Reachable becomes Unknown: nobody asked the member.
    """
    status = current.model_copy(deep=True)
    set_condition(
        status.conditions, type="Ready", status="False", reason=reason, message=message, now=now
    )
    set_condition(
        status.conditions,
        type="Reachable",
        status="Unknown",
        reason=reason,
        message="not probed: the cluster's credentials are unusable (see Ready)",
        now=now,
    )
    if not any(t.key == UNREACHABLE_TAINT for t in status.taints):
        status.taints.append(Taint(key=UNREACHABLE_TAINT, effect="NoExecute", time_added=now))
    return status


def worth_writing(old: ClusterStatus, new: ClusterStatus, *, heartbeat: float = 30.0) -> bool:
    """Whether ``new`` differs from ``old`` in more than probe time and latency jitter."""

    def essence(status: ClusterStatus) -> dict[str, Any]:
        data = status.model_dump(exclude={"last_probe_time", "api_latency_ms"})
        if status.consecutive_failures == 0 or old.consecutive_failures == 0:
            return data
        data.pop("consecutive_failures")  # 3 -> 4 -> 5 ... of a lost cluster is not news
        return data

    if essence(old) != essence(new):
        return True
    if old.last_probe_time is None or new.last_probe_time is None:
        return True
    if (new.last_probe_time - old.last_probe_time).total_seconds() >= heartbeat:
        return True
    before, after = old.api_latency_ms, new.api_latency_ms
    if (before is None) != (after is None):
        return True
    if before is not None and after is not None:
        return abs(after - before) > max(20.0, 0.5 * before)
    return False


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."
