"""The controller's RBAC on the hub: what it may write, and no Secret outside its namespace."""

from typing import Any

from flotilla.clusters import member_access
from flotilla.hub import controller_manifests
from flotilla.hub.manifests import TEMPLATE_RESOURCES
from flotilla.manager import LEASE_NAME

WRITES = {"create", "update", "patch", "delete", "deletecollection", "*"}


def _by_kind(kind: str) -> list[dict[str, Any]]:
    return [m for m in controller_manifests() if m["kind"] == kind]


def _cluster_rules() -> list[dict[str, Any]]:
    return [rule for role in _by_kind("ClusterRole") for rule in role["rules"]]


def test_no_cluster_wide_rule_reaches_secrets_or_everything() -> None:
    for rule in _cluster_rules():
        assert "*" not in rule["apiGroups"] and "*" not in rule["resources"], rule
        assert "*" not in rule["verbs"], rule
        assert not ("" in rule["apiGroups"] and "secrets" in rule["resources"]), rule


def test_secrets_are_read_only_in_flotilla_system() -> None:
    (role,) = _by_kind("Role")
    assert role["metadata"]["namespace"] == "flotilla-system"
    secrets = [rule for rule in role["rules"] if "secrets" in rule["resources"]]
    assert [rule["verbs"] for rule in secrets] == [["get", "list", "watch"]]


def test_the_controller_writes_only_its_own_kinds_and_events_cluster_wide() -> None:
    for rule in _cluster_rules():
        if not WRITES & set(rule["verbs"]):
            continue
        assert "deletecollection" not in rule["verbs"], rule
        if "delete" in rule["verbs"]:
            # Only the Applications ApplicationSets generate (and delete as they go).
            assert (rule["apiGroups"], rule["resources"]) == (["argoproj.io"], ["applications"])
        # argoproj.io and fleet.cattle.io: the Argo CD and Fleet kinds Flotilla serves.
        served = (["flotilla.io"], ["argoproj.io"], ["fleet.cattle.io"], ["", "events.k8s.io"])
        if rule["apiGroups"] not in served:
            # Templates: create only, which the controller sends with dryRun=All so the
            # hub's admission judges what members receive.
            assert WRITES & set(rule["verbs"]) == {"create"}, rule


def test_only_the_controllers_own_lease_can_be_taken_over() -> None:
    (role,) = _by_kind("Role")
    updates = [r for r in role["rules"] if "leases" in r["resources"] and "update" in r["verbs"]]
    assert [rule.get("resourceNames") for rule in updates] == [[LEASE_NAME]]


def test_every_cluster_role_is_bound_to_the_controller_only() -> None:
    bound = {b["roleRef"]["name"]: b["subjects"] for b in _by_kind("ClusterRoleBinding")}
    roles = {role["metadata"]["name"] for role in _by_kind("ClusterRole")}
    assert set(bound) == roles
    for subjects in bound.values():
        assert subjects == [
            {
                "kind": "ServiceAccount",
                "name": "flotilla-controller",
                "namespace": "flotilla-system",
            }
        ]


def test_members_accept_exactly_the_kinds_the_hub_reads_as_templates() -> None:
    assert member_access.TEMPLATE_RESOURCES == TEMPLATE_RESOURCES
