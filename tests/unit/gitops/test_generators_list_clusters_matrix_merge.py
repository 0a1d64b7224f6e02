"""ApplicationSet generators that need only the spec and the registered clusters, with
Argo CD's documented behaviour: list (elements, elementsYaml), clusters (parameters, the
selector, values that use the cluster's own parameters), matrix (the second generator sees
the first's parameters), merge (mergeKeys), and the generator-level selector; flat
parameters for fasttemplate, structured ones for Go templates."""

from __future__ import annotations

import pytest

from flotilla.gitops.generators import MAX_PARAM_SETS, ClusterInfo, GeneratorError, generate

CLUSTERS = [
    ClusterInfo("us-east", "https://127.0.2.1:6443", {"env": "production", "region": "us"}),
    ClusterInfo("eu-west", "https://127.0.3.1:6443", {"env": "production", "region": "eu"},
                {"owner": "team-eu"}),
    ClusterInfo("Staging_1", "https://127.0.4.1:6443", {"env": "staging", "region": "ap"}),
]  # fmt: skip


def test_list_elements_and_elements_yaml_are_parameter_sets_in_order() -> None:
    found = generate({"list": {
        "elements": [{"cluster": "a", "url": "https://a"}, {"cluster": "b", "values": {"x": 1}}],
        "elementsYaml": "- cluster: c\n  replicas: 3\n",
    }})  # fmt: skip
    assert found == [
        {"cluster": "a", "url": "https://a"},
        {"cluster": "b", "values.x": "1"},
        {"cluster": "c", "replicas": "3"},
    ]
    (nested,) = generate({"list": {"elements": [{"values": {"x": 1}}]}}, go_template=True)
    assert nested == {"values": {"x": 1}}


def test_the_clusters_generator_gives_argo_cds_parameters_for_the_selected_clusters() -> None:
    found = generate(
        {"clusters": {"selector": {"matchLabels": {"env": "production"}},
                      "values": {"revision": "{{metadata.labels.region}}-stable"}}},
        clusters=CLUSTERS,
    )  # fmt: skip
    assert [p["name"] for p in found] == ["eu-west", "us-east"]
    eu = found[0]
    assert eu["server"] == "https://127.0.3.1:6443"
    assert eu["nameNormalized"] == "eu-west"
    assert eu["metadata.labels.env"] == "production"
    assert eu["metadata.annotations.owner"] == "team-eu"
    assert eu["values.revision"] == "eu-stable"


def test_cluster_parameters_are_structured_for_go_templates() -> None:
    (staging,) = generate(
        {"clusters": {"selector": {"matchExpressions": [
            {"key": "env", "operator": "In", "values": ["staging"]}]}}},
        clusters=CLUSTERS, go_template=True,
    )  # fmt: skip
    assert staging["name"] == "Staging_1"
    assert staging["nameNormalized"] == "staging-1"
    assert staging["metadata"]["labels"] == {"env": "staging", "region": "ap"}


def test_a_selector_that_matches_nothing_yields_nothing_and_a_broken_one_is_an_error() -> None:
    assert generate({"clusters": {"selector": {"matchLabels": {"env": "prod"}}}},
                    clusters=CLUSTERS) == []  # fmt: skip
    with pytest.raises(GeneratorError, match="clusters: selector"):
        generate({"clusters": {"selector": {"matchExpressions": [{"key": "env",
                                                                  "operator": "Maybe"}]}}},
                 clusters=CLUSTERS)  # fmt: skip


def test_a_matrix_combines_and_its_second_generator_sees_the_first_ones_parameters() -> None:
    found = generate(
        {"matrix": {"generators": [
            {"clusters": {"selector": {"matchLabels": {"env": "production"}}}},
            {"list": {"elements": [{"app": "web", "path": "apps/{{name}}/web"},
                                   {"app": "api", "path": "apps/{{name}}/api"}]}},
        ]}},
        clusters=CLUSTERS,
    )  # fmt: skip
    assert [(p["name"], p["app"], p["path"]) for p in found] == [
        ("eu-west", "web", "apps/eu-west/web"),
        ("eu-west", "api", "apps/eu-west/api"),
        ("us-east", "web", "apps/us-east/web"),
        ("us-east", "api", "apps/us-east/api"),
    ]


def test_a_matrix_refuses_one_parameter_given_twice_differently_and_more_than_two() -> None:
    with pytest.raises(GeneratorError, match="'name'"):
        generate({"matrix": {"generators": [{"clusters": {}},
                                            {"list": {"elements": [{"name": "x"}]}}]}},
                 clusters=CLUSTERS)  # fmt: skip
    with pytest.raises(GeneratorError, match="exactly two"):
        generate({"matrix": {"generators": [{"clusters": {}}]}}, clusters=CLUSTERS)


def test_merge_overrides_the_base_by_merge_keys_and_ignores_the_unmatched() -> None:
    found = generate(
        {"merge": {"mergeKeys": ["name"], "generators": [
            {"clusters": {"values": {"replicas": "1"}}},
            {"list": {"elements": [{"name": "us-east", "values.replicas": "5"},
                                   {"name": "nowhere", "values.replicas": "9"}]}},
        ]}},
        clusters=CLUSTERS,
    )  # fmt: skip
    replicas = {p["name"]: p["values.replicas"] for p in found}
    assert replicas == {"Staging_1": "1", "eu-west": "1", "us-east": "5"}


def test_the_generator_level_selector_filters_parameter_sets() -> None:
    found = generate(
        {"list": {"elements": [{"env": "prod", "n": "1"}, {"env": "dev", "n": "2"}]},
         "selector": {"matchLabels": {"env": "prod"}}},
    )  # fmt: skip
    assert found == [{"env": "prod", "n": "1"}]


def test_a_generator_must_name_one_kind_and_may_not_yield_without_bound() -> None:
    with pytest.raises(GeneratorError, match="exactly one kind"):
        generate({"list": {"elements": []}, "clusters": {}})
    with pytest.raises(GeneratorError, match="not supported"):
        generate({"pullRequest": {}})
    many = [{"n": str(i)} for i in range(MAX_PARAM_SETS // 2 + 1)]
    with pytest.raises(GeneratorError, match="more than"):
        generate(
            {
                "matrix": {
                    "generators": [
                        {"list": {"elements": many}},
                        {"list": {"elements": [{"a": "1"}, {"a": "2"}]}},
                    ]
                }
            }
        )


def test_in_go_template_mode_the_first_matrix_generator_wins_a_shared_parameter() -> None:
    (found,) = generate(
        {"matrix": {"generators": [{"list": {"elements": [{"env": "first", "a": {"x": "1"}}]}},
                                   {"list": {"elements": [{"env": "second",
                                                           "a": {"y": "2"}}]}}]}},
        go_template=True,
    )  # fmt: skip
    assert found == {"env": "first", "a": {"x": "1", "y": "2"}}


def test_an_empty_generator_is_an_error_not_every_cluster() -> None:
    with pytest.raises(GeneratorError, match="clusters: the generator is empty"):
        generate({"clusters": None}, clusters=CLUSTERS)
