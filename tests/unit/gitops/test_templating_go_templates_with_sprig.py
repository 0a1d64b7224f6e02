"""Go templates (``goTemplate: true``) run in the real flotilla-gotemplate helper: Go's
text/template, Sprig without env/expandenv/getHostByName, Argo CD's extras, and
``goTemplateOptions``."""

from __future__ import annotations

from typing import Any

import pytest

from flotilla.devfleet.binaries import find_tool
from flotilla.gitops.templating import TemplateError, render

HELPER = find_tool("flotilla-gotemplate")
pytestmark = pytest.mark.skipif(not HELPER.exists(), reason="no _output/bin/flotilla-gotemplate")

CLUSTER = {
    "name": "us-east",
    "nameNormalized": "us-east",
    "server": "https://10.0.0.1:6443",
    "metadata": {"labels": {"env": "prod", "region": "us"}},
    "values": {"replicas": 3},
}


async def one(text: str, params: dict[str, Any] | None = None, **kwargs: Any) -> str:
    (app,) = await render({"v": text}, [params or CLUSTER], go_template=True, helper=HELPER,
                          **kwargs)  # fmt: skip
    return str(app["v"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ .name }}-{{ .metadata.labels.env }}", "us-east-prod"),
        ("{{ .name | upper }}", "US-EAST"),
        ('{{ normalize "Team_A/Web App" }}', "team-a-web-app"),
        ('{{ slugify "Hello, World! Again" }}', "hello-world-again"),
        ('{{ slugify "Café Déjà" }}', "caf-d-j"),  # normalized first, as in Argo CD
        ('{{ slugify 11 "Hello World Again" }}', "hello-world"),
        ('{{ slugify 13 false "Hello World Again" }}', "hello-world-a"),
        ("{{ .metadata.labels | toYaml }}", "env: prod\nregion: us"),
        ('{{ (fromYaml "a: 1").a }}', "1"),
        ('{{ index (fromYamlArray "[x, z]") 1 }}', "z"),
        ("{{ if eq .values.replicas 3.0 }}three{{ end }}", "three"),
        ('{{ tpl "{{ .name }}!" . }}', "us-east!"),
        ('{{ tpl "{{ .missing }}" . }}', ""),
        ('{{ default "none" .missing }}', "none"),
    ],
)
async def test_functions_behave_as_in_argo_cd(text: str, expected: str) -> None:
    assert await one(text) == expected


async def test_a_missing_key_is_no_value_by_default_and_an_error_with_missingkey_error() -> None:
    assert await one("{{ .nothing }}") == "<no value>"
    with pytest.raises(TemplateError, match=r"parameter set 1: .*nothing"):
        await one("{{ .nothing }}", options=["missingkey=error"])


@pytest.mark.parametrize("function", ["env", "expandenv", "getHostByName"])
async def test_functions_that_would_tell_about_the_controller_are_not_there(function: str) -> None:
    with pytest.raises(TemplateError, match=f'function "{function}" not defined'):
        await one(f'{{{{ {function} "HOME" }}}}')


async def test_an_unknown_option_is_refused_before_anything_runs() -> None:
    with pytest.raises(TemplateError, match="goTemplateOptions"):
        await one("{{ .name }}", options=["missingkey=maybe"])


async def test_output_beyond_the_limit_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("flotilla.gitops.templating.MAX_OUTPUT", 100)
    with pytest.raises(TemplateError, match="exceed 100 bytes"):
        await one('{{ repeat 1000 "x" }}')


async def test_many_parameter_sets_in_one_run_keep_their_order_and_structure() -> None:
    template = {
        "metadata": {"name": "{{ .name }}", "labels": {"env": "{{ .metadata.labels.env }}"}},
        "spec": {"destination": {"server": "{{ .server }}"}, "revisionHistoryLimit": 5},
    }
    sets = [{**CLUSTER, "name": f"c{i}"} for i in range(50)]
    apps = await render(template, sets, go_template=True, helper=HELPER)
    assert [a["metadata"]["name"] for a in apps] == [f"c{i}" for i in range(50)]
    assert apps[7]["metadata"]["labels"] == {"env": "prod"}
    assert apps[7]["spec"] == {"destination": {"server": CLUSTER["server"]},
                               "revisionHistoryLimit": 5}  # fmt: skip


async def test_a_template_that_does_not_parse_names_itself() -> None:
    with pytest.raises(TemplateError, match="failed to parse template"):
        await one("{{ .name ")


async def test_a_template_that_builds_a_huge_value_hits_the_memory_limit() -> None:
    with pytest.raises(TemplateError, match=r"MiB|exceed"):
        await one('{{ repeat 300000000 "xxxxxxxxxx" }}')


async def test_the_first_error_is_the_answer_for_many_parameter_sets() -> None:
    sets = [{"n": "ok"}, {"other": "x"}, {"n": "late"}]
    with pytest.raises(TemplateError, match="parameter set 2"):
        await render({"v": "{{ .n }}"}, sets, go_template=True, helper=HELPER,
                     options=["missingkey=error"])  # fmt: skip
