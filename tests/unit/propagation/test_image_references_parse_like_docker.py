"""Image references split into registry, repository, tag and digest as Docker splits them."""

from __future__ import annotations

import pytest

from flotilla.propagation import ImageReference

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("docker.io/library/nginx:1.27", ImageReference("docker.io", "library/nginx", "1.27")),
        ("nginx", ImageReference("", "nginx")),
        ("nginx:1.27", ImageReference("", "nginx", "1.27")),
        ("team/app:v2", ImageReference("", "team/app", "v2")),
        ("localhost:5000/app:v1", ImageReference("localhost:5000", "app", "v1")),
        ("localhost/app", ImageReference("localhost", "app")),
        (
            f"registry.example.com:443/team/app@{DIGEST}",
            ImageReference("registry.example.com:443", "team/app", "", DIGEST),
        ),
        (f"app:v1@{DIGEST}", ImageReference("", "app", "v1", DIGEST)),
        ("gcr.io/x/y", ImageReference("gcr.io", "x/y")),
    ],
)
def test_parse_splits_and_formats_back(image: str, expected: ImageReference) -> None:
    reference = ImageReference.parse(image)

    assert reference == expected
    assert str(reference) == image
