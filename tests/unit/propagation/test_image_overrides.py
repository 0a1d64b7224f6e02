"""Image overrides rewrite one part of every container's image, wherever pods are described."""

from __future__ import annotations

from typing import Any, Literal

import pytest

from flotilla.api.placement import ImageOverride, OverrideRule
from flotilla.propagation import RenderError, apply_rule, render

DIGEST = "sha256:" + "0123456789abcdef" * 4

Component = Literal["Registry", "Repository", "Tag"]
Operator = Literal["replace", "addIfAbsent", "remove"]


def deployment(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
    }


def overridden(image: str, component: Component, operator: Operator, value: str = "") -> str:
    rule = OverrideRule(
        image_overrides=[ImageOverride(component=component, operator=operator, value=value)]
    )
    result = apply_rule(deployment(image), rule)
    image_out: str = result["spec"]["template"]["spec"]["containers"][0]["image"]
    return image_out


@pytest.mark.parametrize(
    ("image", "operator", "expected"),
    [
        ("nginx:1.27", "replace", "mirror.local/nginx:1.27"),
        ("docker.io/library/nginx:1.27", "replace", "mirror.local/library/nginx:1.27"),
        ("localhost:5000/app:v1", "replace", "mirror.local/app:v1"),
        ("nginx", "addIfAbsent", "mirror.local/nginx"),
        ("gcr.io/x/y", "addIfAbsent", "gcr.io/x/y"),
        ("gcr.io/x/y", "remove", "x/y"),
        (f"registry.example.com:443/team/app@{DIGEST}", "remove", f"team/app@{DIGEST}"),
    ],
)
def test_registry(image: str, operator: Operator, expected: str) -> None:
    assert overridden(image, "Registry", operator, "mirror.local") == expected


@pytest.mark.parametrize(
    ("image", "operator", "expected"),
    [
        ("gcr.io/x/y:1", "replace", "gcr.io/mirror/y:1"),
        (
            f"registry.example.com:443/team/app@{DIGEST}",
            "replace",
            f"registry.example.com:443/mirror/y@{DIGEST}",
        ),
        ("nginx", "addIfAbsent", "nginx"),
    ],
)
def test_repository(image: str, operator: Operator, expected: str) -> None:
    assert overridden(image, "Repository", operator, "mirror/y") == expected


@pytest.mark.parametrize(
    ("image", "operator", "expected"),
    [
        ("nginx", "replace", "nginx:1.28"),
        ("docker.io/library/nginx:1.27", "replace", "docker.io/library/nginx:1.28"),
        (
            f"registry.example.com:443/team/app@{DIGEST}",
            "replace",
            f"registry.example.com:443/team/app:1.28@{DIGEST}",
        ),
        ("nginx", "addIfAbsent", "nginx:1.28"),
        ("nginx:1.27", "addIfAbsent", "nginx:1.27"),
        ("localhost:5000/app:v1", "remove", "localhost:5000/app"),
        (f"app:v1@{DIGEST}", "remove", f"app@{DIGEST}"),
    ],
)
def test_tag(image: str, operator: Operator, expected: str) -> None:
    assert overridden(image, "Tag", operator, "1.28") == expected


def test_removing_the_repository_is_a_render_error_naming_the_rule() -> None:
    rule = OverrideRule(image_overrides=[ImageOverride(component="Repository", operator="remove")])

    with pytest.raises(RenderError) as caught:
        render(
            deployment("nginx:1.27"),
            placement=("shop", "web"),
            cluster="east",
            replicas=None,
            rules=[OverrideRule(), rule],
            cluster_labels={},
        )

    assert str(caught.value) == (
        "override rule 2, image override 1 (Repository remove) on Deployment shop/web: "
        "an image would be left without a repository"
    )
    assert caught.value.rule == 2


def test_init_containers_cronjobs_and_pods_are_rewritten_too() -> None:
    pod_spec = {
        "initContainers": [{"name": "init", "image": "busybox"}],
        "containers": [{"name": "app", "image": "gcr.io/x/app:v1"}],
    }
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": pod_spec}}}},
    }
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": pod_spec}
    rule = OverrideRule(
        image_overrides=[
            ImageOverride(component="Registry", operator="replace", value="mirror.local")
        ]
    )

    cron_spec = apply_rule(cronjob, rule)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    pod_out = apply_rule(pod, rule)["spec"]

    for spec in (cron_spec, pod_out):
        assert [c["image"] for c in spec["initContainers"]] == ["mirror.local/busybox"]
        assert [c["image"] for c in spec["containers"]] == ["mirror.local/x/app:v1"]
    assert pod_spec["containers"][0]["image"] == "gcr.io/x/app:v1"


def test_objects_without_pods_are_untouched() -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}
    rule = OverrideRule(image_overrides=[ImageOverride(component="Tag", value="v9")])

    assert apply_rule(config_map, rule) == config_map
