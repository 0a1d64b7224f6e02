import pytest

from flotilla.clusters import RegistryError, validate_name
from flotilla.clusters.registry import cluster_path, secret_name


@pytest.mark.parametrize("name", ["a", "7", "prod", "eu-west-1", "a" * 63, "1-2-3"])
def test_lower_case_dns_labels_are_valid_cluster_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "-a", "a-", "Prod", "eu_west", "eu.west", "a b", "a" * 64, "ü"]
)
def test_other_names_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(RegistryError) as caught:
        validate_name(name)

    message = str(caught.value)
    assert f"invalid cluster name {name!r}" in message
    assert "lower-case letters, digits and '-'" in message
    assert "at most 63 characters" in message


def test_a_name_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(RegistryError):
        validate_name("prod\n")


def test_the_secret_of_a_cluster_is_named_after_it() -> None:
    assert secret_name("eu-1") == "cluster-eu-1-kubeconfig"


def test_cluster_paths_are_cluster_scoped_under_the_flotilla_group() -> None:
    assert cluster_path() == "/apis/flotilla.io/v1alpha1/clusters"
    assert cluster_path("eu-1") == "/apis/flotilla.io/v1alpha1/clusters/eu-1"
