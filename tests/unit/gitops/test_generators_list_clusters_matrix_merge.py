"""ApplicationSet generators that need only the spec and the registered clusters, with
Argo CD's documented behaviour: list (elements, elementsYaml), clusters (parameters, the
selector, values that use the cluster's own parameters), matrix (the second generator sees
the first's parameters), merge (mergeKeys), and the generator-level selector; flat
parameters for fasttemplate, structured ones for Go templates."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.devfleet.binaries import find_tool
from flotilla.gitops.generators import (
    MAX_PARAM_SETS,
    ClusterInfo,
    Context,
    GeneratorError,
    Params,
    generate,
)
from flotilla.gitops.templating import interpolator

HELPER = find_tool("flotilla-gotemplate")
needs_helper = pytest.mark.skipif(not HELPER.exists(), reason="no _output/bin/flotilla-gotemplate")


async def run(
    generator: dict[str, Any],
    *,
    clusters: list[ClusterInfo] | None = None,
    go_template: bool = False,
) -> list[Params]:
    engine = interpolator(go_template=go_template, helper=HELPER)
    return await generate(
        generator, Context(clusters or [], go_template=go_template, interpolate=engine)
    )


CLUSTERS = [
    ClusterInfo("us-east", "https://127.0.2.1:6443", {"env": "production", "region": "us"}),
    ClusterInfo("eu-west", "https://127.0.3.1:6443", {"env": "production", "region": "eu"},
                {"owner": "team-eu"}),
    ClusterInfo("Staging_1", "https://127.0.4.1:6443", {"env": "staging", "region": "ap"}),
]  # fmt: skip


async def test_list_elements_and_elements_yaml_are_parameter_sets_in_order() -> None:
    found = await run({"list": {
        "elements": [{"cluster": "a", "url": "https://a"}, {"cluster": "b", "values": {"x": "1"}}],
        "elementsYaml": "- cluster: c\n  since: 2024-01-01\n",
    }})  # fmt: skip
    assert found == [
        {"cluster": "a", "url": "https://a"},
        {"cluster": "b", "values.x": "1"},
        {"cluster": "c", "since": "2024-01-01"},  # a date stays the string it was written as
    ]
    (nested,) = await run({"list": {"elements": [{"values": {"x": 1}}]}}, go_template=True)
    assert nested == {"values": {"x": 1}}


async def test_fasttemplate_list_elements_take_strings_only_as_in_argo_cd() -> None:
    with pytest.raises(GeneratorError, match="element 1: replicas is a int, not a string"):
        await run({"list": {"elements": [{"replicas": 3}]}})
    with pytest.raises(GeneratorError, match=r"element 2: values\.x is not a string"):
        await run({"list": {"elements": [{"a": "1"}, {"values": {"x": True}}]}})
    with pytest.raises(GeneratorError, match="elementsYaml must be one YAML list"):
        await run({"list": {"elementsYaml": "a: 1\n"}})


async def test_the_clusters_generator_gives_argo_cds_parameters_for_the_selected_clusters() -> None:
    found = await run(
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


async def test_cluster_parameters_are_structured_for_go_templates() -> None:
    (staging,) = await run(
        {"clusters": {"selector": {"matchExpressions": [
            {"key": "env", "operator": "In", "values": ["staging"]}]}}},
        clusters=CLUSTERS, go_template=True,
    )  # fmt: skip
    assert staging["name"] == "Staging_1"
    assert staging["nameNormalized"] == "staging-1"
    assert staging["metadata"]["labels"] == {"env": "staging", "region": "ap"}


async def test_a_selector_that_matches_nothing_yields_nothing_and_a_broken_one_is_an_error() -> (
    None
):
    assert await run({"clusters": {"selector": {"matchLabels": {"env": "prod"}}}},
                    clusters=CLUSTERS) == []  # fmt: skip
    with pytest.raises(GeneratorError, match="clusters: selector"):
        await run({"clusters": {"selector": {"matchExpressions": [{"key": "env",
                                                                  "operator": "Maybe"}]}}},
                 clusters=CLUSTERS)  # fmt: skip


async def test_a_matrix_combines_and_its_second_generator_sees_the_first_ones_parameters() -> None:
    found = await run(
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


async def test_a_matrix_refuses_one_parameter_given_twice_differently_and_more_than_two() -> None:
    with pytest.raises(GeneratorError, match="'name'"):
        await run({"matrix": {"generators": [{"clusters": {}},
                                            {"list": {"elements": [{"name": "x"}]}}]}},
                 clusters=CLUSTERS)  # fmt: skip
    with pytest.raises(GeneratorError, match="exactly two"):
        await run({"matrix": {"generators": [{"clusters": {}}]}}, clusters=CLUSTERS)


async def test_merge_overrides_the_base_by_merge_keys_and_ignores_the_unmatched() -> None:
    found = await run(
        {"merge": {"mergeKeys": ["name"], "generators": [
            {"clusters": {"values": {"replicas": "1"}}},
            {"list": {"elements": [{"name": "us-east", "values.replicas": "5"},
                                   {"name": "nowhere", "values.replicas": "9"}]}},
        ]}},
        clusters=CLUSTERS,
    )  # fmt: skip
    replicas = {p["name"]: p["values.replicas"] for p in found}
    assert replicas == {"Staging_1": "1", "eu-west": "1", "us-east": "5"}


async def test_the_generator_level_selector_filters_parameter_sets() -> None:
    found = await run(
        {"list": {"elements": [{"env": "prod", "n": "1"}, {"env": "dev", "n": "2"}]},
         "selector": {"matchLabels": {"env": "prod"}}},
    )  # fmt: skip
    assert found == [{"env": "prod", "n": "1"}]


async def test_a_generator_must_name_one_kind_and_may_not_yield_without_bound() -> None:
    with pytest.raises(GeneratorError, match="exactly one kind"):
        await run({"list": {"elements": []}, "clusters": {}})
    with pytest.raises(GeneratorError, match="not supported"):
        await run({"pullRequest": {}})
    many = [{"n": str(i)} for i in range(MAX_PARAM_SETS // 2 + 1)]
    with pytest.raises(GeneratorError, match="more than"):
        await run(
            {
                "matrix": {
                    "generators": [
                        {"list": {"elements": many}},
                        {"list": {"elements": [{"a": "1"}, {"a": "2"}]}},
                    ]
                }
            }
        )


@needs_helper
async def test_in_go_template_mode_the_first_matrix_generator_wins_a_shared_parameter() -> None:
    (found,) = await run(
        {"matrix": {"generators": [{"list": {"elements": [{"env": "first", "a": {"x": "1"}}]}},
                                   {"list": {"elements": [{"env": "second",
                                                           "a": {"y": "2"}}]}}]}},
        go_template=True,
    )  # fmt: skip
    assert found == {"env": "first", "a": {"x": "1", "y": "2"}}


async def test_an_empty_generator_is_an_error_not_every_cluster() -> None:
    with pytest.raises(GeneratorError, match="clusters: the generator is empty"):
        await run({"clusters": None}, clusters=CLUSTERS)


@needs_helper
async def test_go_template_mode_renders_values_and_the_second_matrix_generator_with_go() -> None:
    (found,) = await run(
        {"matrix": {"generators": [
            {"clusters": {"selector": {"matchLabels": {"region": "eu"}},
                          "values": {"tier": "{{ .metadata.labels.env | upper }}"}}},
            {"list": {"elements": [{"path": "apps/{{ .name }}/{{ .values.tier | lower }}"}]}},
        ]}},
        clusters=CLUSTERS, go_template=True,
    )  # fmt: skip
    assert found["values"] == {"tier": "PRODUCTION"}
    assert found["path"] == "apps/eu-west/production"


async def test_merge_refuses_two_parameter_sets_with_the_same_keys() -> None:
    with pytest.raises(GeneratorError, match="generator 2 gives two parameter sets with name='a'"):
        await run({"merge": {"mergeKeys": ["name"], "generators": [
            {"list": {"elements": [{"name": "a"}]}},
            {"list": {"elements": [{"name": "a", "x": "1"}, {"name": "a", "x": "2"}]}},
        ]}})  # fmt: skip


async def test_a_matrix_or_merge_nests_one_level_only() -> None:
    inner = {"matrix": {"generators": [{"list": {"elements": [{"a": "1"}]}},
                                       {"list": {"elements": [{"b": "2"}]}}]}}  # fmt: skip
    outer = {
        "merge": {
            "mergeKeys": ["a"],
            "generators": [inner, {"list": {"elements": [{"a": "1", "c": "3"}]}}],
        }
    }
    assert await run(outer) == [{"a": "1", "b": "2", "c": "3"}]
    too_deep = {"matrix": {"generators": [outer, {"list": {"elements": [{"d": "4"}]}}]}}
    with pytest.raises(GeneratorError, match="not a third level"):
        await run(too_deep)


async def test_the_selector_matches_parameter_values_longer_than_a_label_value() -> None:
    long = "x" * 200
    found = await run({"list": {"elements": [{"url": long, "n": "1"}, {"url": "short", "n": "2"}]},
                       "selector": {"matchExpressions": [{"key": "url", "operator": "NotIn",
                                                          "values": ["short"]}]}})  # fmt: skip
    assert found == [{"url": long, "n": "1"}]


async def test_a_cluster_whose_server_is_unknown_fails_only_a_generator_that_selects_it() -> None:
    broken = ClusterInfo("lost", "", {"env": "dev"}, problem="Secret flotilla-system/x not found")
    clusters = [*CLUSTERS, broken]
    found = await run({"clusters": {"selector": {"matchLabels": {"env": "staging"}}}},
                      clusters=clusters)  # fmt: skip
    assert [p["name"] for p in found] == ["Staging_1"]
    with pytest.raises(GeneratorError, match="cluster lost: Secret flotilla-system/x not found"):
        await run({"clusters": {}}, clusters=clusters)
