"""Pods: phases, readiness of long-running pods, and containers stuck on an error."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.gitops.health import DEGRADED, HEALTHY, PROGRESSING, UNKNOWN, Health, health_of


def pod(
    phase: str,
    *,
    restart: str = "Always",
    ready: str | None = None,
    containers: list[dict[str, Any]] | None = None,
    message: str = "",
    init: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": phase,
        "hostIP": "10.0.0.4",
        "podIP": "10.1.0.7",
        "containerStatuses": containers or [],
    }
    if ready is not None:
        status["conditions"] = [
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": ready},
            {"type": "ContainersReady", "status": ready},
            {"type": "PodScheduled", "status": "True"},
        ]
    if message:
        status["message"] = message
    if init is not None:
        status["initContainerStatuses"] = init
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-5d8f-x2k", "namespace": "shop"},
        "spec": {"restartPolicy": restart, "containers": [{"name": "web", "image": "nginx"}]},
        "status": status,
    }


def container(
    *,
    ready: bool = True,
    waiting: tuple[str, str] | None = None,
    terminated: dict[str, Any] | None = None,
    last_terminated: bool = False,
) -> dict[str, Any]:
    state: dict[str, Any] = {"running": {"startedAt": "2024-05-01T10:00:00Z"}}
    if waiting:
        state = {"waiting": {"reason": waiting[0], "message": waiting[1]}}
    if terminated:
        state = {"terminated": terminated}
    last = {"terminated": {"exitCode": 1, "reason": "Error"}} if last_terminated else {}
    return {
        "name": "web",
        "image": "nginx",
        "imageID": "",
        "ready": ready,
        "restartCount": 0,
        "started": ready,
        "state": state,
        "lastState": last,
    }


CRASH = ("CrashLoopBackOff", "back-off 40s restarting failed container=web pod=web-5d8f-x2k")
PULL = ("ImagePullBackOff", 'Back-off pulling image "nginx:nope"')
ERR_PULL = ("ErrImagePull", 'failed to pull and unpack image "nginx:nope"')


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (pod("Running", ready="True", containers=[container()]), Health(HEALTHY)),
        (pod("Running", ready="False", containers=[container(ready=False)]), Health(PROGRESSING)),
        (
            pod(
                "Running", ready="False", containers=[container(ready=False, last_terminated=True)]
            ),
            Health(DEGRADED, "a container restarted and the pod is not ready"),
        ),
        (
            pod(
                "Running",
                ready="False",
                containers=[container(ready=False, waiting=CRASH, last_terminated=True)],
            ),
            Health(DEGRADED, f"container 'web': CrashLoopBackOff: {CRASH[1]}"),
        ),
        (
            pod("Pending", ready="False", containers=[container(ready=False, waiting=PULL)]),
            Health(DEGRADED, f"container 'web': ImagePullBackOff: {PULL[1]}"),
        ),
        (
            pod("Pending", ready="False", containers=[container(ready=False, waiting=ERR_PULL)]),
            Health(DEGRADED, f"container 'web': ErrImagePull: {ERR_PULL[1]}"),
        ),
        (
            pod(
                "Pending",
                ready="False",
                containers=[container(ready=False, waiting=("ContainerCreating", ""))],
            ),
            Health(PROGRESSING),
        ),
        (
            pod("Pending", message="0/3 nodes are available: 3 Insufficient cpu."),
            Health(PROGRESSING, "0/3 nodes are available: 3 Insufficient cpu."),
        ),
        # a run-to-completion pod is not judged by a waiting container: the pull may recover
        (
            pod("Pending", restart="Never", containers=[container(ready=False, waiting=PULL)]),
            Health(PROGRESSING),
        ),
        (
            pod("Running", restart="Never", ready="True", containers=[container()]),
            Health(PROGRESSING),
        ),
        (pod("Succeeded", restart="OnFailure"), Health(HEALTHY)),
        (
            pod(
                "Failed",
                restart="Never",
                message="Pod was active on the node longer than the deadline",
            ),
            Health(DEGRADED, "Pod was active on the node longer than the deadline"),
        ),
        (
            pod(
                "Failed",
                restart="Never",
                containers=[container(ready=False, terminated={"exitCode": 2, "reason": "Error"})],
            ),
            Health(DEGRADED, "container 'web' failed with exit code 2"),
        ),
        (
            pod(
                "Failed",
                restart="Never",
                containers=[
                    container(ready=False, terminated={"exitCode": 137, "reason": "OOMKilled"})
                ],
            ),
            Health(DEGRADED, "OOMKilled"),
        ),
        (
            pod(
                "Failed",
                restart="Never",
                init=[
                    container(
                        ready=False, terminated={"exitCode": 1, "message": "migration failed"}
                    )
                ],
            ),
            Health(DEGRADED, "migration failed"),
        ),
        (pod("Unknown"), Health(UNKNOWN)),
    ],
)
def test_pod_health(live: dict[str, Any], expected: Health) -> None:
    assert health_of(live) == expected
