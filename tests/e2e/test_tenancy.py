"""The tenant boundary on the real fleet: members receive only what the hub admits in the
Placement's namespace, and only into namespaces Flotilla created (or the admin allows)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flotilla.kube import Invalid, KubeError, NotFound, resource_path
from tests.e2e.controllers import Controllers
from tests.e2e.localfleet import LocalFleet
from tests.e2e.placements import (
    HUB,
    config_map,
    create,
    deployment,
    get_or_none,
    placement,
    placement_status,
    wait_condition,
)
from tests.e2e.waiting import eventually

ADMISSION = "admissionregistration.k8s.io/v1"


def _no_privileged_policy(name: str, namespace: str) -> list[dict[str, Any]]:
    rule = {
        "apiGroups": ["apps"],
        "apiVersions": ["v1"],
        "operations": ["CREATE", "UPDATE"],
        "resources": ["deployments"],
    }
    expression = (
        "object.spec.template.spec.containers.all(c, !has(c.securityContext) || "
        "!has(c.securityContext.privileged) || c.securityContext.privileged == false)"
    )
    return [
        {
            "apiVersion": ADMISSION,
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": [rule]},
                "validations": [{"expression": expression, "message": "no privileged containers"}],
            },
        },
        {
            "apiVersion": ADMISSION,
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"],
                "matchResources": {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
                },
            },
        },
    ]


ESCALATE = {
    "op": "add",
    "path": "/spec/template/spec/containers/0/securityContext",
    "value": {"privileged": True},
}


async def _escalating_placement(fleet: LocalFleet, namespace: str, member: str) -> None:
    """Deployments web and api for ``member``; an Override makes web's container privileged."""
    async with fleet.client(HUB) as hub:
        await create(hub, namespace, deployment("web", replicas=1))
        await create(hub, namespace, deployment("api", replicas=1))
        spec = {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
            "clusterAffinity": {"clusterNames": [member]},
            "overrides": [
                {
                    "resourceSelectors": [
                        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
                    ],
                    "jsonPatches": [ESCALATE],
                }
            ],
        }
        await create(hub, namespace, placement("escalating", spec))


async def _only_api_lands(fleet: LocalFleet, namespace: str, member: str) -> None:
    async with fleet.client(member) as client:

        async def api_there() -> bool:
            path = resource_path("apps/v1", "deployments", namespace=namespace, name="api")
            return await get_or_none(client, path) is not None

        await eventually(api_there, timeout=30, what="the admitted Deployment applied")
        web = resource_path("apps/v1", "deployments", namespace=namespace, name="web")
        assert await get_or_none(client, web) is None, "the refused Deployment got through"


@pytest.fixture
async def no_privileged(fleet: LocalFleet, hub_ns: str) -> AsyncIterator[str]:
    """A hub policy refusing privileged Deployments in ``hub_ns``, in force when yielded."""
    name = f"no-privileged-{hub_ns}"
    policy, binding = _no_privileged_policy(name, hub_ns)
    async with fleet.client(HUB) as hub:
        await hub.create(resource_path(ADMISSION, "validatingadmissionpolicies"), policy)
        await hub.create(resource_path(ADMISSION, "validatingadmissionpolicybindings"), binding)
        privileged = deployment("probe", replicas=1)
        privileged["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {
            "privileged": True
        }
        collection = resource_path("apps/v1", "deployments", namespace=hub_ns)

        async def enforced() -> bool:  # a policy takes a moment to be in force
            try:
                await hub.request("POST", collection, params={"dryRun": "All"}, body=privileged)
            except Invalid:
                return True
            except KubeError as exc:
                return "denied" in str(exc)
            return False

        await eventually(enforced, timeout=30, what="the hub policy is enforced")
    yield name
    async with fleet.client(HUB) as hub:
        for plural in ("validatingadmissionpolicybindings", "validatingadmissionpolicies"):
            with contextlib.suppress(NotFound):
                await hub.delete(resource_path(ADMISSION, plural, name=name))


async def test_what_overrides_add_passes_the_hubs_admission_for_the_namespace(
    fleet: LocalFleet, hub_ns: str, no_privileged: str, controllers: Controllers
) -> None:
    member = fleet.members[0].name
    await _escalating_placement(fleet, hub_ns, member)
    controller = controllers.start()
    try:
        status = await wait_condition(fleet, hub_ns, "escalating", "Applied", "False")
        errors = {r["name"]: r.get("error", "") for r in status.get("resources") or []}
        assert no_privileged in errors["web"], errors
        assert "no privileged containers" in errors["web"]
        await _only_api_lands(fleet, hub_ns, member)
    finally:
        controller.stop()


async def test_a_member_namespace_flotilla_did_not_create_is_written_only_when_allowed(
    fleet: LocalFleet, hub_ns: str, controllers: Controllers
) -> None:
    theirs, fresh = fleet.members[0].name, fleet.members[1].name
    async with fleet.client(theirs) as client:  # the namespace is someone else's there
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": hub_ns}}
        await client.create(resource_path("v1", "namespaces"), body)
    async with fleet.client(HUB) as hub:
        await create(hub, hub_ns, config_map("settings", {"a": "1"}))
        spec = {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}],
            "clusterAffinity": {"clusterNames": [theirs, fresh]},
        }
        await create(hub, hub_ns, placement("tenant", spec))
    path = resource_path("v1", "configmaps", namespace=hub_ns, name="settings")

    controller = controllers.start()
    try:
        status = await wait_condition(fleet, hub_ns, "tenant", "Applied", "False")
        errors = [r.get("error", "") for r in status.get("resources") or []]
        assert any("Flotilla did not create it" in e for e in errors), errors
        async with fleet.client(fresh) as client:

            async def applied_on_fresh() -> bool:
                return await get_or_none(client, path) is not None

            await eventually(applied_on_fresh, timeout=30, what="applied where Flotilla made it")
            made = await client.get(resource_path("v1", "namespaces", name=hub_ns))
            assert made["metadata"]["labels"]["flotilla.io/managed-by"] == "flotilla"
        async with fleet.client(theirs) as client:
            assert await get_or_none(client, path) is None
    finally:
        controller.stop()

    allowed = controllers.start("--adopt-namespace", hub_ns)
    try:
        await wait_condition(fleet, hub_ns, "tenant", "Applied", "True")
        async with fleet.client(theirs) as client:
            assert await get_or_none(client, path) is not None
            namespace = await client.get(resource_path("v1", "namespaces", name=hub_ns))
            labels = namespace["metadata"].get("labels") or {}
            assert "flotilla.io/hub" not in labels, "an adopted namespace was relabelled"
    finally:
        allowed.stop()


async def test_a_placement_in_a_reserved_namespace_places_nothing(
    fleet: LocalFleet, controllers: Controllers
) -> None:
    name = "reserved-probe"
    member = fleet.members[0].name
    collection = "/apis/flotilla.io/v1alpha1/namespaces/kube-public/placements"
    spec = {
        "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "cluster-info"}],
        "clusterAffinity": {"clusterNames": [member]},
    }
    controller = controllers.start()
    try:
        async with fleet.client(HUB) as hub:
            await hub.create(collection, placement(name, spec))

        async def refused() -> dict[str, Any] | None:
            status = await placement_status(fleet, "kube-public", name)
            scheduled = next(
                (c for c in status.get("conditions") or [] if c["type"] == "Scheduled"), {}
            )
            return status if scheduled.get("reason") == "ReservedNamespace" else None

        await eventually(refused, timeout=30, what="the reserved namespace is refused")
        async with fleet.client(member) as client:
            info = resource_path("v1", "configmaps", namespace="kube-public", name="cluster-info")
            found = await get_or_none(client, info)
            labels = ((found or {}).get("metadata") or {}).get("labels") or {}
            assert "flotilla.io/placement" not in labels
    finally:
        async with fleet.client(HUB) as hub:
            with contextlib.suppress(NotFound):
                await hub.delete(f"{collection}/{name}")
        controller.stop()


async def test_pod_security_of_the_hub_namespace_holds_for_pod_templates(
    fleet: LocalFleet, hub_ns: str, controllers: Controllers
) -> None:
    """Pod Security admission only warns about a Deployment; Flotilla asks it about the pod
    template as a Pod, so the namespace's level holds for what members receive."""
    member = fleet.members[0].name
    async with fleet.client(HUB) as hub:
        labels = {"pod-security.kubernetes.io/enforce": "baseline"}
        await hub.merge_patch(
            resource_path("v1", "namespaces", name=hub_ns), {"metadata": {"labels": labels}}
        )
    await _escalating_placement(fleet, hub_ns, member)
    controller = controllers.start()
    try:

        async def judged() -> dict[str, str] | None:  # not "not yet": the hub's verdict
            status = await placement_status(fleet, hub_ns, "escalating")
            errors = {r["name"]: r.get("error", "") for r in status.get("resources") or []}
            web = errors.get("web", "")
            return errors if "its pod template" in web and "not yet" not in web else None

        errors = await eventually(judged, timeout=60, what="the hub judged the pod template")
        assert "PodSecurity" in errors["web"] or "baseline" in errors["web"], errors
        await _only_api_lands(fleet, hub_ns, member)
    finally:
        controller.stop()
