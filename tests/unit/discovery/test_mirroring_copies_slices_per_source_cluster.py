"""Imported EndpointSlices: one per source slice, labelled with the import and its source
cluster, Flotilla's managed-by, never kubernetes.io/service-name; what names the source
cluster's objects left out; a cluster with shared=false only in its own copies."""

from __future__ import annotations

from typing import Any

from flotilla.discovery.mirroring import Source, imported_slices, is_ready, slice_name

SLICE: dict[str, Any] = {
    "metadata": {"name": "web-abcde", "labels": {"kubernetes.io/service-name": "web"}},
    "addressType": "IPv4",
    "endpoints": [
        {"addresses": ["10.1.0.5"], "conditions": {"ready": True}, "hostname": "web-0",
         "nodeName": "node-1", "targetRef": {"kind": "Pod", "name": "web-0"}, "zone": "a"},
        {"addresses": ["10.1.0.6"], "conditions": {"ready": False}},
    ],
    "ports": [{"name": "http", "protocol": "TCP", "port": 8080}],
}  # fmt: skip


def test_a_copy_per_source_slice_with_the_mcs_labels() -> None:
    copies = imported_slices(
        namespace="shop",
        name="web",
        member="west",
        sources=[Source("east", [SLICE]), Source("west", [SLICE])],
        hub="hub-1",
    )
    assert [
        c["metadata"]["labels"]["multicluster.kubernetes.io/source-cluster"] for c in copies
    ] == [
        "east",
        "west",
    ]
    first = copies[0]
    labels = first["metadata"]["labels"]
    assert labels["multicluster.kubernetes.io/service-name"] == "web"
    assert labels["endpointslice.kubernetes.io/managed-by"] == "flotilla.io"
    assert "kubernetes.io/service-name" not in labels
    assert first["metadata"]["namespace"] == "shop"
    assert first["endpoints"][0] == {
        "addresses": ["10.1.0.5"],
        "conditions": {"ready": True},
        "hostname": "web-0",
        "zone": "a",
    }
    assert first["endpoints"][1]["conditions"] == {"ready": False}
    assert first["ports"] == SLICE["ports"]
    assert copies[0]["metadata"]["name"] != copies[1]["metadata"]["name"]


def test_a_cluster_that_does_not_share_is_only_in_its_own_copies() -> None:
    sources = [Source("east", [SLICE], shared=False), Source("west", [SLICE])]
    west = imported_slices(namespace="shop", name="web", member="west", sources=sources, hub="h")
    east = imported_slices(namespace="shop", name="web", member="east", sources=sources, hub="h")
    assert len(west) == 1 and len(east) == 2


def test_slice_names_fit_and_differ() -> None:
    long = slice_name("s" * 60, "cluster-with-a-long-name", "web-1")
    assert len(long) <= 63
    assert slice_name("web", "east", "a") != slice_name("web", "east", "b")
    assert slice_name("web", "east", "a") != slice_name("web", "west", "a")


def test_readiness_as_endpointslices_mean_it() -> None:
    assert is_ready({"conditions": {}}) and is_ready({})
    assert not is_ready({"conditions": {"ready": False}})
    assert not is_ready({"conditions": {"terminating": True}})
