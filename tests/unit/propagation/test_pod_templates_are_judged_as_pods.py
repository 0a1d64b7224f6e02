"""The Pod the hub's admission is asked about for a workload's pod template (``pod_of``)."""

from typing import Any

from flotilla.propagation.admission import pod_of


def workload(kind: str, api_version: str, template_at: list[str], **extra: Any) -> dict[str, Any]:
    template = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {
            "containers": [{"name": "c", "image": "nginx", "securityContext": {"privileged": True}}]
        },
    }
    spec: dict[str, Any] = {}
    node = spec
    for key in template_at[1:-1]:
        node = node.setdefault(key, {})
    node[template_at[-1]] = template
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {**spec, **extra},
    }


def test_a_deployments_pod_template_becomes_a_pod_in_its_namespace() -> None:
    pod = pod_of(workload("Deployment", "apps/v1", ["spec", "template"]))
    assert pod is not None
    assert pod["kind"] == "Pod" and pod["metadata"]["namespace"] == "shop"
    assert pod["metadata"]["labels"] == {"app": "web"}
    assert pod["spec"]["containers"][0]["securityContext"] == {"privileged": True}


def test_a_cronjobs_pod_template_is_found_in_its_job_template() -> None:
    cron = workload("CronJob", "batch/v1", ["spec", "jobTemplate", "spec", "template"])
    pod = pod_of(cron)
    assert pod is not None and pod["spec"]["containers"][0]["name"] == "c"


def test_a_statefulsets_claim_templates_become_the_pods_volumes() -> None:
    claim = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
    sts = workload("StatefulSet", "apps/v1", ["spec", "template"], volumeClaimTemplates=[claim])
    sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "data", "mountPath": "/data"}
    ]
    pod = pod_of(sts)
    assert pod is not None
    assert pod["spec"]["volumes"] == [
        {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0"}}
    ]
    assert "volumes" not in sts["spec"]["template"]["spec"], "the template itself is untouched"


def test_kinds_without_a_pod_template_are_not_pods() -> None:
    assert pod_of({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}) is None
    assert pod_of({"apiVersion": "apps/v1", "kind": "Deployment", "spec": "odd"}) is None
