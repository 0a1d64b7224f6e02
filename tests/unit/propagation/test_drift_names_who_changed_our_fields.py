from typing import Any

from flotilla.propagation.drift import managers_of_our_fields as _managers_of_our_fields

MANIFEST: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings", "labels": {"flotilla.io/placement": "ns.settings"}},
    "data": {"color": "blue"},
}


def _live(*entries: tuple[str, dict[str, Any]], subresource: str = "") -> dict[str, Any]:
    fields = [
        {"manager": manager, "operation": "Update", "fieldsV1": owned}
        | ({"subresource": subresource} if subresource else {})
        for manager, owned in entries
    ]
    return {"metadata": {"managedFields": fields}}


def test_a_manager_that_owns_a_field_we_set_is_named() -> None:
    live = _live(
        ("flotilla", {"f:metadata": {"f:labels": {"f:flotilla.io/placement": {}}}}),
        ("kubectl-edit", {"f:data": {"f:color": {}}}),
    )
    assert _managers_of_our_fields(live, MANIFEST) == ["kubectl-edit"]


def test_fields_we_do_not_set_are_not_drift() -> None:
    live = _live(("hpa", {"f:spec": {"f:replicas": {}}}), ("ctl", {"f:data": {"f:other": {}}}))
    assert _managers_of_our_fields(live, MANIFEST) == []


def test_status_writers_are_not_drift() -> None:
    live = _live(("kcm", {"f:data": {"f:color": {}}}), subresource="status")
    assert _managers_of_our_fields(live, MANIFEST) == []


def test_kubectl_scale_through_the_scale_subresource_is_drift_of_our_replicas() -> None:
    manifest = {"spec": {"replicas": 3}}
    live = _live(("kubectl", {"f:spec": {"f:replicas": {}}}), subresource="scale")
    assert _managers_of_our_fields(live, manifest) == ["kubectl"]


def test_owning_an_item_of_a_list_we_set_counts() -> None:
    manifest = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}}
    live = _live(
        (
            "kubectl",
            {
                "f:spec": {
                    "f:template": {"f:spec": {"f:containers": {'k:{"name":"c"}': {"f:image": {}}}}}
                }
            },
        )
    )
    assert _managers_of_our_fields(live, manifest) == ["kubectl"]
