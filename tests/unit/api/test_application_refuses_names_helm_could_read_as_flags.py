"""An Application's release name follows Helm's rule, and neither its chart nor its repository
URL starts with ``-``: in the models, and in the CRD's schema the API server checks.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from flotilla.api import ALL_KINDS, crd
from flotilla.api.application import ApplicationSource, ApplicationSourceHelm

TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


def source(**fields: Any) -> ApplicationSource:
    return ApplicationSource.model_validate({"repoURL": "https://charts.example", **fields})


@pytest.mark.parametrize("name", ["", "web", "web-1", "0web", "my.release", "a" * 53])
def test_release_names_helm_takes(name: str) -> None:
    assert ApplicationSourceHelm(release_name=name).release_name == name


@pytest.mark.parametrize(
    "name",
    [
        "--post-renderer=sh",
        f"--set-file=x={TOKEN}",
        "-web",
        "Web",
        "web_1",
        "web-",
        "a..b",
        "web\n",
        "a" * 54,
    ],
)
def test_release_names_helm_refuses(name: str) -> None:
    with pytest.raises(ValidationError):
        ApplicationSourceHelm(release_name=name)


@pytest.mark.parametrize("chart", ["", "nginx", "bitnamicharts/nginx", "my_chart"])
def test_charts_taken(chart: str) -> None:
    assert source(chart=chart).chart == chart


@pytest.mark.parametrize("chart", ["-x", f"--set-file=x={TOKEN}"])
def test_charts_that_start_with_a_dash(chart: str) -> None:
    with pytest.raises(ValidationError):
        source(chart=chart)


def test_a_repository_url_that_starts_with_a_dash() -> None:
    with pytest.raises(ValidationError):
        source(repoURL="--upload-pack=touch /tmp/x")


def test_the_crd_carries_the_patterns() -> None:
    (application,) = [kind for kind in ALL_KINDS if kind.kind == "Application"]
    schema = crd(application)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    spec_source = schema["properties"]["spec"]["properties"]["source"]["properties"]
    release = spec_source["helm"]["properties"]["releaseName"]["pattern"]
    for name, taken in (("web", True), ("", True), ("--post-renderer=sh", False), ("Web", False)):
        assert bool(re.fullmatch(release, name)) is taken, name
    for field in ("chart", "repoURL"):
        pattern = spec_source[field]["pattern"]
        assert re.fullmatch(pattern, "nginx") and not re.fullmatch(pattern, "-x"), field
