"""fasttemplate mode, as Argo CD's ApplicationSets behave by default: string parameters
replace their tags, spaces inside the braces are trimmed, anything else stays as written,
and strings are templated, map keys included (numbers and booleans are left alone)."""

from __future__ import annotations

import pytest

from flotilla.gitops.templating import MAX_OUTPUT, TemplateError, fasttemplate, render

PARAMS = {"name": "us-east", "server": "https://10.0.0.1:6443", "metadata.labels.env": "prod"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{name}}-web", "us-east-web"),
        ("{{ name }}", "us-east"),
        ("{{  metadata.labels.env  }}", "prod"),
        ("{{unknown}}", "{{unknown}}"),
        ("{{ unknown }} {{name}}", "{{ unknown }} us-east"),
        ("{{}}", "{{}}"),
        ("no tags", "no tags"),
        ("{{name}}{{server}}", "us-easthttps://10.0.0.1:6443"),
        ("{{\nname}}", "{{\nname}}"),  # not templated: the braces are not on one line
    ],
)
def test_tags_are_replaced_as_argo_cd_does(text: str, expected: str) -> None:
    assert fasttemplate(text, PARAMS) == expected


def test_a_parameter_that_is_not_a_string_leaves_its_tag() -> None:
    assert fasttemplate("{{count}}", {"count": 3}) == "{{count}}"


def test_an_unclosed_tag_is_an_error() -> None:
    with pytest.raises(TemplateError, match="cannot find the end"):
        fasttemplate("{{name}} and {{ name", PARAMS)


async def test_every_string_is_rendered_keys_too_and_nothing_else() -> None:
    template = {
        "metadata": {"name": "{{name}}-app", "labels": {"{{name}}": "{{metadata.labels.env}}"}},
        "spec": {
            "destination": {"server": "{{server}}", "namespace": "web"},
            "syncPolicy": {"automated": {"prune": True}},
            "revisionHistoryLimit": 3,
            "source": {"helm": {"valueFiles": ["{{name}}.yaml", "common.yaml"]}},
        },
    }
    (app,) = await render(template, [PARAMS])
    assert app["metadata"] == {"name": "us-east-app", "labels": {"us-east": "prod"}}
    assert app["spec"]["destination"]["server"] == "https://10.0.0.1:6443"
    assert app["spec"]["syncPolicy"] == {"automated": {"prune": True}}
    assert app["spec"]["revisionHistoryLimit"] == 3
    assert app["spec"]["source"]["helm"]["valueFiles"] == ["us-east.yaml", "common.yaml"]
    assert template["metadata"]["name"] == "{{name}}-app", "the template itself is unchanged"


async def test_one_application_per_parameter_set_in_order() -> None:
    apps = await render({"metadata": {"name": "{{name}}"}}, [{"name": "a"}, {"name": "b"}])
    assert [a["metadata"]["name"] for a in apps] == ["a", "b"]


async def test_an_empty_parameter_set_leaves_the_template_as_it_is() -> None:
    (app,) = await render({"metadata": {"name": "{{name}}"}}, [{}])
    assert app == {"metadata": {"name": "{{name}}"}}


def test_many_opening_braces_are_looked_at_in_linear_time() -> None:
    text = "{" * 20000 + "x"
    assert fasttemplate(text, PARAMS) == text


async def test_fasttemplate_output_is_bounded() -> None:
    big = "x" * (MAX_OUTPUT // 4)
    with pytest.raises(TemplateError, match="more than 16 MiB"):
        await render({"v": "{{a}}"}, [{"a": big}] * 5)
