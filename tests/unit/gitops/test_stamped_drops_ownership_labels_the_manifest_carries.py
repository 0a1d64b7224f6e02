"""A manifest from git that carries Flotilla's ownership labels does not keep them.

With ``flotilla.io/placement`` (read first by ``owner_of``) the object would look like a
Placement's, so the apply could take over that Placement's object, and later prune it.
"""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.api.labels import (
    APPLICATION_LABEL,
    HUB_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    PLACEMENT_LABEL,
    owner_of,
)
from flotilla.gitops.desired import stamped


def manifest(labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "labels": {"app": "web", **labels}},
    }


@pytest.mark.parametrize(
    "labels",
    [
        {PLACEMENT_LABEL: "x.y"},
        {APPLICATION_LABEL: "other.app"},
        {PLACEMENT_LABEL: "x.y", APPLICATION_LABEL: "other.app", HUB_LABEL: "another-hub"},
        {MANAGED_BY_LABEL: "someone-else"},
    ],
    ids=["placement", "other-application", "all-owners-and-hub", "managed-by"],
)
def test_only_the_application_owns_it(labels: dict[str, str]) -> None:
    (item,) = stamped(
        [manifest(labels)], owner="shop.web", namespace="apps", namespaced=lambda _: True
    )
    assert item["metadata"]["labels"] == {
        "app": "web",
        MANAGED_BY_LABEL: MANAGED_BY,
        APPLICATION_LABEL: "shop.web",
    }
    assert owner_of(item) == "application shop.web"


def test_the_digest_does_not_depend_on_the_dropped_labels() -> None:
    def stamp(labels: dict[str, str]) -> dict[str, Any]:
        (item,) = stamped(
            [manifest(labels)], owner="shop.web", namespace="apps", namespaced=lambda _: True
        )
        return item

    assert stamp({PLACEMENT_LABEL: "x.y"}) == stamp({})
