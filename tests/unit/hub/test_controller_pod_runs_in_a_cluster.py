"""The shipped Deployment can run: restricted Pod Security, reachable probes, real flags."""

import re
from pathlib import Path
from typing import Any

from flotilla.cli.controller import controller
from flotilla.hub import controller_manifests, hub_manifests
from flotilla.hub.manifests import RUN_AS_USER

ROOT = Path(__file__).resolve().parents[3]


def _one(kind: str) -> dict[str, Any]:
    (manifest,) = [m for m in controller_manifests() if m["kind"] == kind]
    return manifest


def _pod() -> dict[str, Any]:
    spec: dict[str, Any] = _one("Deployment")["spec"]["template"]["spec"]
    return spec


def _container() -> dict[str, Any]:
    (container,) = _pod()["containers"]
    return dict(container)


def test_the_namespace_enforces_the_restricted_pod_security_level() -> None:
    (namespace,) = [
        m
        for m in hub_manifests()
        if m["kind"] == "Namespace" and m["metadata"]["name"] == "flotilla-system"
    ]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_pod_meets_the_restricted_level() -> None:
    pod, container = _pod()["securityContext"], _container()["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] == RUN_AS_USER != 0
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}


def test_the_root_is_read_only_and_tmp_is_writable() -> None:
    assert _container()["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m["name"] for m in _container()["volumeMounts"]}
    volumes = {v["name"]: v for v in _pod()["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_the_image_runs_as_the_user_the_pod_names() -> None:
    containerfile = (ROOT / "Containerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", containerfile, flags=re.MULTILINE)
    assert users[-1] == f"{RUN_AS_USER}:{RUN_AS_USER}"


def test_every_argument_is_a_flag_the_controller_accepts() -> None:
    args = _container()["args"]
    assert args[:2] == ["controller", "run"]
    context = controller.commands["run"].make_context("run", list(args[2:]))
    assert context.params["in_cluster"] is True
    assert context.params["leader_elect"] is True


def test_probes_and_metrics_listen_where_the_kubelet_reaches_them() -> None:
    container = _container()
    context = controller.commands["run"].make_context("run", list(container["args"][2:]))
    host, _, port = context.params["metrics_bind_address"].rpartition(":")
    assert host == "0.0.0.0"
    (declared,) = container["ports"]
    assert declared["containerPort"] == int(port)
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] == declared["name"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_two_replicas_elect_a_leader_and_a_disruption_keeps_one() -> None:
    deployment, budget = _one("Deployment"), _one("PodDisruptionBudget")
    assert deployment["spec"]["replicas"] == 2
    assert "--leader-elect" in _container()["args"]
    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"] == deployment["spec"]["selector"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_requests_and_a_memory_limit_are_set() -> None:
    resources = _container()["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert "memory" in resources["limits"]


def test_the_image_carries_the_tools_gitops_runs() -> None:
    containerfile = (ROOT / "Containerfile").read_text()
    runtime = containerfile.rsplit("\nFROM ", 1)[1]
    assert re.search(r"apt-get install[^\n]* git\b", runtime)
    copied = re.search(r"^COPY --from=tools (.+) /usr/local/bin/$", runtime, flags=re.MULTILINE)
    assert copied is not None
    assert sorted(Path(p).name for p in copied.group(1).split()) == [
        "flotilla-gotemplate",
        "helm",
        "kubectl",
    ]
