from typing import Any

import pytest

from flotilla.kube import RestMapper
from tests.unit.kube.fake_discovery import FakeDiscovery


def _manifest(api_version: str, kind: str, name: str, namespace: str | None) -> dict[str, Any]:
    metadata = {"name": name} if namespace is None else {"name": name, "namespace": namespace}
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


@pytest.mark.parametrize(
    ("manifest", "path"),
    [
        (
            _manifest("apps/v1", "Deployment", "web", "shop"),
            "/apis/apps/v1/namespaces/shop/deployments/web",
        ),
        (
            _manifest("v1", "ConfigMap", "settings", None),
            "/api/v1/namespaces/default/configmaps/settings",
        ),
        (_manifest("v1", "Namespace", "shop", "ignored"), "/api/v1/namespaces/shop"),
        (
            _manifest("flotilla.io/v1alpha1", "Cluster", "eu-1", "ignored"),
            "/apis/flotilla.io/v1alpha1/clusters/eu-1",
        ),
    ],
)
async def test_the_path_of_a_manifest_follows_its_kinds_scope(
    manifest: dict[str, Any], path: str
) -> None:
    api = FakeDiscovery()
    api.install_flotilla_crds()
    async with api.client() as client:
        assert await RestMapper(client).path_for(manifest) == path


async def test_collection_paths_span_all_namespaces_unless_one_is_given() -> None:
    api = FakeDiscovery()
    async with api.client() as client:
        mapper = RestMapper(client)
        assert await mapper.collection_path("apps/v1", "Deployment") == "/apis/apps/v1/deployments"
        assert (
            await mapper.collection_path("apps/v1", "Deployment", namespace="shop")
            == "/apis/apps/v1/namespaces/shop/deployments"
        )
        assert await mapper.collection_path("v1", "Node", namespace="shop") == "/api/v1/nodes"


@pytest.mark.parametrize(
    ("manifest", "missing"),
    [
        ({"kind": "ConfigMap", "metadata": {"name": "a"}}, "apiVersion"),
        ({"apiVersion": "v1", "metadata": {"name": "a"}}, "kind"),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}, "metadata.name"),
        ({"apiVersion": "v1", "kind": "ConfigMap"}, "metadata.name"),
    ],
)
async def test_a_manifest_without_its_identity_has_no_path(
    manifest: dict[str, Any], missing: str
) -> None:
    api = FakeDiscovery()
    async with api.client() as client:
        with pytest.raises(ValueError, match=f"has no {missing}"):
            await RestMapper(client).path_for(manifest)
    assert api.requests == []
