"""How healthy a live object is, judged the way Argo CD judges it.

Users of Argo CD know what "Progressing" or "Degraded" means for their Deployments; using the
same rules (those gitops-engine documents for the built-in kinds) keeps that knowledge valid
here. The rules are pure functions of the live object as the API server returns it, so they
can be tested with plain dicts and called from handlers that must not do I/O.

What is not obvious:

- A kind without a rule has no health (``None``), not "Healthy"; :func:`aggregate` skips it.
- Any object with a deletion timestamp is Progressing ("Pending deletion"), whatever its kind.
- A Pod whose restart policy is not Always is never Degraded by a waiting container: such
  Pods are run-to-completion work, and an image pull that recovers later still runs them.
- Counts absent from a status are zero (the API server omits zeros); an absent
  ``spec.replicas`` skips the checks that need it, as Argo does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEGRADED",
    "HEALTHY",
    "MISSING",
    "PROGRESSING",
    "SUSPENDED",
    "UNKNOWN",
    "Health",
    "aggregate",
    "health_of",
]

HEALTHY = "Healthy"
PROGRESSING = "Progressing"
DEGRADED = "Degraded"
SUSPENDED = "Suspended"
MISSING = "Missing"
UNKNOWN = "Unknown"

# Argo's order, best first: the worst status of a set is the set's status.
_ORDER = (HEALTHY, SUSPENDED, PROGRESSING, MISSING, DEGRADED, UNKNOWN)


@dataclass(frozen=True)
class Health:
    """A health status (one of the constants above) and, when it helps, why."""

    status: str
    message: str = ""


def health_of(live: Mapping[str, Any] | None) -> Health | None:
    """The health of ``live``: Missing when there is none, None for a kind without rules."""
    if live is None:
        return Health(MISSING)
    metadata = _map(live, "metadata")
    if metadata.get("deletionTimestamp"):
        return Health(PROGRESSING, "Pending deletion")
    api_version = live.get("apiVersion")
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    rule = _RULES.get((group, live.get("kind")))
    return None if rule is None else rule(live)


def aggregate(healths: Iterable[Health | None]) -> Health:
    """The worst of ``healths`` (objects without health do not count); Healthy when empty."""
    worst = Health(HEALTHY)
    for health in healths:
        if health is not None and _rank(health.status) > _rank(worst.status):
            worst = health
    return worst


def _rank(status: str) -> int:
    return _ORDER.index(status) if status in _ORDER else _ORDER.index(UNKNOWN)


# --- reading live objects -----------------------------------------------------------------


def _map(obj: Mapping[str, Any], *path: str) -> Mapping[str, Any]:
    for key in path:
        value = obj.get(key)
        if not isinstance(value, Mapping):
            return {}
        obj = value
    return obj


def _int(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _optional_int(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _conditions(status: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    conditions = status.get("conditions")
    if not isinstance(conditions, list):
        return []
    return [condition for condition in conditions if isinstance(condition, Mapping)]


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    return next((c for c in _conditions(status) if c.get("type") == kind), None)


def _is_true(condition: Mapping[str, Any] | None) -> bool:
    return condition is not None and condition.get("status") == "True"


def _text(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _generations(obj: Mapping[str, Any]) -> tuple[int, int]:
    """(metadata.generation, status.observedGeneration)."""
    return _int(_map(obj, "metadata"), "generation"), _int(
        _map(obj, "status"), "observedGeneration"
    )


# --- workloads ----------------------------------------------------------------------------


def _deployment(live: Mapping[str, Any]) -> Health:
    spec, status = _map(live, "spec"), _map(live, "status")
    if spec.get("paused") is True:
        return Health(SUSPENDED, "Deployment is paused")
    generation, observed = _generations(live)
    if generation > observed:
        return Health(
            PROGRESSING,
            "Waiting for rollout to finish: observed deployment generation less than desired",
        )
    progressing = _condition(status, "Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        name = _text(_map(live, "metadata"), "name")
        return Health(DEGRADED, f"Deployment {name!r} exceeded its progress deadline")
    wanted = _optional_int(spec, "replicas")
    updated = _int(status, "updatedReplicas")
    replicas = _int(status, "replicas")
    available = _int(status, "availableReplicas")
    if wanted is not None and updated < wanted:
        return Health(
            PROGRESSING,
            f"Waiting for rollout to finish: {updated} out of {wanted} new replicas"
            " have been updated...",
        )
    if replicas > updated:
        return Health(
            PROGRESSING,
            f"Waiting for rollout to finish: {replicas - updated} old replicas"
            " are pending termination...",
        )
    if available < updated:
        return Health(
            PROGRESSING,
            f"Waiting for rollout to finish: {available} of {updated} updated replicas"
            " are available...",
        )
    return Health(HEALTHY)


def _stateful_set(live: Mapping[str, Any]) -> Health:
    spec, status = _map(live, "spec"), _map(live, "status")
    generation, observed = _generations(live)
    if observed == 0 or generation > observed:
        return Health(PROGRESSING, "Waiting for statefulset spec update to be observed...")
    wanted = _optional_int(spec, "replicas")
    ready = _int(status, "readyReplicas")
    if wanted is not None and ready < wanted:
        return Health(PROGRESSING, f"Waiting for {wanted - ready} pods to be ready...")
    strategy = _map(spec, "updateStrategy")
    updated = _int(status, "updatedReplicas")
    if strategy.get("type", "RollingUpdate") == "RollingUpdate" and "rollingUpdate" in strategy:
        partition = _optional_int(_map(strategy, "rollingUpdate"), "partition")
        if wanted is not None and partition is not None and updated < wanted - partition:
            return Health(
                PROGRESSING,
                f"Waiting for partitioned roll out to finish: {updated} out of"
                f" {wanted - partition} new pods have been updated...",
            )
        return Health(
            HEALTHY, f"partitioned roll out complete: {updated} new pods have been updated..."
        )
    if strategy.get("type") == "OnDelete":
        return Health(HEALTHY, "OnDelete update strategy: pods are updated when deleted")
    update_revision = _text(status, "updateRevision")
    current_revision = _text(status, "currentRevision")
    if update_revision != current_revision:
        return Health(
            PROGRESSING,
            f"waiting for statefulset rolling update to complete {updated} pods"
            f" at revision {update_revision}...",
        )
    return Health(
        HEALTHY,
        f"statefulset rolling update complete {_int(status, 'currentReplicas')} pods"
        f" at revision {current_revision}...",
    )


def _daemon_set(live: Mapping[str, Any]) -> Health:
    spec, status = _map(live, "spec"), _map(live, "status")
    generation, observed = _generations(live)
    if observed == 0 or generation > observed:
        return Health(
            PROGRESSING,
            "Waiting for rollout to finish: observed daemon set generation less than desired",
        )
    desired = _int(status, "desiredNumberScheduled")
    updated = _int(status, "updatedNumberScheduled")
    if _map(spec, "updateStrategy").get("type") == "OnDelete":
        return Health(
            HEALTHY,
            f"OnDelete update strategy: {updated} out of {desired} new pods have been updated",
        )
    if updated < desired:
        return Health(
            PROGRESSING,
            f"Waiting for daemon set rollout to finish: {updated} out of {desired} new pods"
            " have been updated...",
        )
    available = _int(status, "numberAvailable")
    if available < desired:
        return Health(
            PROGRESSING,
            f"Waiting for daemon set rollout to finish: {available} of {desired} updated pods"
            " are available...",
        )
    return Health(HEALTHY)


def _replica_set(live: Mapping[str, Any]) -> Health:
    spec, status = _map(live, "spec"), _map(live, "status")
    generation, observed = _generations(live)
    if generation > observed:
        return Health(
            PROGRESSING,
            "Waiting for rollout to finish: observed replica set generation less than desired",
        )
    failure = _condition(status, "ReplicaFailure")
    if _is_true(failure):
        assert failure is not None
        return Health(DEGRADED, _text(failure, "message"))
    wanted = _optional_int(spec, "replicas")
    available = _int(status, "availableReplicas")
    if wanted is not None and available < wanted:
        return Health(
            PROGRESSING,
            f"Waiting for rollout to finish: {available} out of {wanted} new replicas"
            " are available...",
        )
    return Health(HEALTHY)


def _pod(live: Mapping[str, Any]) -> Health:
    spec, status = _map(live, "spec"), _map(live, "status")
    restart_policy = spec.get("restartPolicy", "Always")
    containers = [c for c in status.get("containerStatuses") or [] if isinstance(c, Mapping)]
    message = _text(status, "message")
    if restart_policy == "Always":
        stuck = [_waiting_problem(container) for container in containers]
        problems = [problem for problem in stuck if problem]
        if problems:
            return Health(DEGRADED, "; ".join(problems))
    phase = status.get("phase")
    if phase == "Pending":
        return Health(PROGRESSING, message)
    if phase == "Succeeded":
        return Health(HEALTHY, message)
    if phase == "Failed":
        if message:
            return Health(DEGRADED, message)
        init = [c for c in status.get("initContainerStatuses") or [] if isinstance(c, Mapping)]
        failures = (_failure(container) for container in [*init, *containers])
        return Health(DEGRADED, next((failure for failure in failures if failure), ""))
    if phase == "Running":
        if restart_policy != "Always":
            # run-to-completion work (hooks, one-off pods): done only when it succeeds
            return Health(PROGRESSING, message)
        if _pod_ready(status, containers):
            return Health(HEALTHY, message)
        if any(_map(container, "lastState").get("terminated") for container in containers):
            return Health(DEGRADED, message or "a container restarted and the pod is not ready")
        return Health(PROGRESSING, message)
    return Health(UNKNOWN, message)


def _waiting_problem(container: Mapping[str, Any]) -> str:
    """What a container waits on, when it is an error (ErrImagePull, CrashLoopBackOff...)."""
    waiting = _map(container, "state", "waiting")
    reason = _text(waiting, "reason")
    if not (reason.startswith("Err") or reason.endswith(("Error", "BackOff"))):
        return ""
    detail = _text(waiting, "message")
    name = _text(container, "name")
    return f"container {name!r}: {reason}" + (f": {detail}" if detail else "")


def _failure(container: Mapping[str, Any]) -> str:
    terminated = _map(container, "state", "terminated")
    if not terminated:
        return ""
    if message := _text(terminated, "message"):
        return message
    if terminated.get("reason") == "OOMKilled":
        return "OOMKilled"
    if code := _int(terminated, "exitCode"):
        return f"container {_text(container, 'name')!r} failed with exit code {code}"
    return ""


def _pod_ready(status: Mapping[str, Any], containers: list[Mapping[str, Any]]) -> bool:
    ready = _condition(status, "Ready")
    if ready is not None:
        return _is_true(ready)
    return bool(containers) and all(container.get("ready") is True for container in containers)


def _job(live: Mapping[str, Any]) -> Health:
    status = _map(live, "status")
    by_type = {
        _text(condition, "type"): condition
        for condition in _conditions(status)
        if condition.get("status") == "True"
    }
    if failed := by_type.get("Failed"):
        return Health(DEGRADED, _text(failed, "message") or _text(failed, "reason"))
    if complete := by_type.get("Complete"):
        return Health(HEALTHY, _text(complete, "message"))
    if suspended := by_type.get("Suspended"):
        return Health(SUSPENDED, _text(suspended, "message") or "Job suspended")
    if _map(live, "spec").get("suspend") is True:
        return Health(SUSPENDED, "Job suspended")
    return Health(PROGRESSING, f"{_int(status, 'active')} active pods")


# --- networking and storage ---------------------------------------------------------------


def _service(live: Mapping[str, Any]) -> Health:
    if _map(live, "spec").get("type") != "LoadBalancer":
        return Health(HEALTHY)
    return _load_balanced(live, "Waiting for the load balancer to get an address")


def _ingress(live: Mapping[str, Any]) -> Health:
    return _load_balanced(live, "Waiting for the ingress controller to publish an address")


def _load_balanced(live: Mapping[str, Any], waiting: str) -> Health:
    ingress = _map(live, "status", "loadBalancer").get("ingress")
    if isinstance(ingress, list) and ingress:
        return Health(HEALTHY)
    return Health(PROGRESSING, waiting)


def _persistent_volume_claim(live: Mapping[str, Any]) -> Health:
    phase = _map(live, "status").get("phase")
    if phase == "Bound":
        return Health(HEALTHY)
    if phase == "Pending":
        return Health(PROGRESSING, "Waiting for the claim to be bound")
    if phase == "Lost":
        return Health(DEGRADED, "The claim lost its volume")
    return Health(UNKNOWN, f"Unknown phase {phase!r}" if phase else "")


# --- the API's own machinery --------------------------------------------------------------

# Conditions that say the autoscaler cannot do its job (not that it chose not to: a
# ScalingActive False "ScalingDisabled" on a target scaled to zero is intended).
_HPA_FAILURES = {
    ("AbleToScale", "FailedGetScale"),
    ("AbleToScale", "FailedUpdateScale"),
    ("ScalingActive", "FailedGetResourceMetric"),
    ("ScalingActive", "FailedGetPodsMetric"),
    ("ScalingActive", "FailedGetObjectMetric"),
    ("ScalingActive", "FailedGetExternalMetric"),
    ("ScalingActive", "FailedGetContainerResourceMetric"),
    ("ScalingActive", "InvalidMetricSourceType"),
    ("ScalingActive", "InvalidSelector"),
}
_HPA_CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"


def _horizontal_pod_autoscaler(live: Mapping[str, Any]) -> Health:
    conditions = _conditions(_map(live, "status")) or _hpa_v1_conditions(live)
    for condition in conditions:
        if (_text(condition, "type"), _text(condition, "reason")) in _HPA_FAILURES:
            return Health(DEGRADED, _text(condition, "message"))
    for condition in conditions:
        if condition.get("type") in ("AbleToScale", "ScalingLimited") and _is_true(condition):
            return Health(HEALTHY, _text(condition, "message"))
    return Health(PROGRESSING, "Waiting to Autoscale")


def _hpa_v1_conditions(live: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """autoscaling/v1 keeps its conditions as JSON in an annotation."""
    raw = _map(live, "metadata", "annotations").get(_HPA_CONDITIONS_ANNOTATION)
    if not isinstance(raw, str):
        return []
    try:
        parsed = json.loads(raw)
    except ValueError:
        return []
    return _conditions({"conditions": parsed})


def _api_service(live: Mapping[str, Any]) -> Health:
    available = _condition(_map(live, "status"), "Available")
    if available is None:
        return Health(PROGRESSING, "Waiting to be processed")
    detail = ": ".join(
        part for part in (_text(available, "reason"), _text(available, "message")) if part
    )
    if _is_true(available):
        return Health(HEALTHY, detail)
    return Health(PROGRESSING, detail)


_RULES: dict[tuple[str, Any], Callable[[Mapping[str, Any]], Health]] = {
    ("apps", "Deployment"): _deployment,
    ("extensions", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _stateful_set,
    ("apps", "DaemonSet"): _daemon_set,
    ("extensions", "DaemonSet"): _daemon_set,
    ("apps", "ReplicaSet"): _replica_set,
    ("extensions", "ReplicaSet"): _replica_set,
    ("", "Pod"): _pod,
    ("", "Service"): _service,
    ("", "PersistentVolumeClaim"): _persistent_volume_claim,
    ("networking.k8s.io", "Ingress"): _ingress,
    ("extensions", "Ingress"): _ingress,
    ("batch", "Job"): _job,
    ("autoscaling", "HorizontalPodAutoscaler"): _horizontal_pod_autoscaler,
    ("apiregistration.k8s.io", "APIService"): _api_service,
}
