"""Fleet's raw-YAML overlays by file name: a file replaces or adds the same path, a
``_patch.`` file patches its target (JSON patch for lists, strategic for known kinds, merge
patch otherwise), overlays in order, replacements before patches, ``overlays/`` never
deployed; what cannot be laid is a clear error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from flotilla.gitops.overlays import Limits, OverlayError, merge_patch, overlaid, plugin_options


def parse(text: str, path: str) -> list[Any]:
    return list(yaml.safe_load_all(text))


def unknown_kind(where: str, original: Mapping[str, Any], patch: Mapping[str, Any]) -> Any:
    return NotImplemented


def content(laid: Any) -> Any:
    """A laid file's one object: patched files are kept as parsed documents."""
    return laid[0] if isinstance(laid, list) else yaml.safe_load(laid)


BASE = {
    "deployment.yaml": "kind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n",
    "svc.yaml": "kind: Service\nmetadata: {name: web}\n",
    "sub/cm.yaml": "kind: ConfigMap\nmetadata: {name: a}\ndata: {k: base, gone: x}\n",
}


def lay(
    files: Mapping[str, str],
    overlays: list[str],
    strategic: Any = unknown_kind,
    *,
    keep: Any = lambda path: True,
    max_bytes: int = 1 << 20,
) -> Any:
    limits = Limits(max_bytes=max_bytes, remaining=lambda: 60.0)
    return overlaid(
        {**BASE, **files}, overlays, parse=parse, strategic=strategic, keep=keep, limits=limits
    )


def test_files_replace_or_add_by_path_and_overlays_are_never_deployed() -> None:
    laid = lay(
        {
            "overlays/eu/svc.yaml": "kind: Service\nmetadata: {name: eu}\n",
            "overlays/eu/extra.yaml": "kind: ConfigMap\nmetadata: {name: extra}\n",
            "overlays/eu/sub/cm.yaml": "kind: ConfigMap\nmetadata: {name: b}\n",
            "overlays/us/svc.yaml": "kind: Service\nmetadata: {name: us}\n",
        },
        ["eu"],
    )
    assert sorted(laid) == ["deployment.yaml", "extra.yaml", "sub/cm.yaml", "svc.yaml"]
    assert "name: eu" in laid["svc.yaml"]
    assert "name: b" in laid["sub/cm.yaml"]
    assert laid["deployment.yaml"] == BASE["deployment.yaml"]


def test_no_overlay_chosen_still_leaves_the_overlays_directory_out() -> None:
    laid = lay({"overlays/eu/svc.yaml": "kind: Service\n"}, [])
    assert sorted(laid) == sorted(BASE)


def test_a_merge_patch_merges_maps_and_null_removes_for_unknown_kinds() -> None:
    patch = "data: {k: eu, gone: null}\nmetadata: {labels: {zone: eu}}\n"
    laid = lay({"overlays/eu/sub/cm_patch.yaml": patch}, ["eu"])
    assert content(laid["sub/cm.yaml"]) == {
        "kind": "ConfigMap",
        "metadata": {"name": "a", "labels": {"zone": "eu"}},
        "data": {"k": "eu"},
    }


def test_a_list_is_a_json_patch() -> None:
    patch = (
        "- {op: replace, path: /spec/replicas, value: 3}\n- {op: add, path: /spec/x, value: 1}\n"
    )
    laid = lay({"overlays/eu/deployment_patch.yaml": patch}, ["eu"])
    assert content(laid["deployment.yaml"])["spec"] == {"replicas": 3, "x": 1}


def test_known_kinds_take_the_strategic_merge_the_renderer_gives() -> None:
    seen: list[tuple[str, Any, Any]] = []

    def strategic(where: str, original: Mapping[str, Any], patch: Mapping[str, Any]) -> Any:
        seen.append((where, dict(original), dict(patch)))
        return {"kind": "Deployment", "metadata": {"name": "web"}, "merged": True}

    laid = lay({"overlays/eu/deployment_patch.yaml": "spec: {replicas: 2}\n"}, ["eu"], strategic)
    assert seen == [
        (
            "overlays/eu/deployment_patch.yaml",
            {"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 1}},
            {"spec": {"replicas": 2}},
        )
    ]
    assert content(laid["deployment.yaml"])["merged"] is True


def test_overlays_apply_in_order_and_replacements_go_before_patches() -> None:
    laid = lay(
        {
            # one overlay brings a file and patches it: the patch sees the new file
            "overlays/a/svc_patch.yaml": "spec: {from: a-patch}\n",
            "overlays/a/svc.yaml": "kind: Service\nmetadata: {name: a}\nspec: {from: a}\n",
            # the next overlay patches what the first left
            "overlays/b/svc_patch.yaml": "spec: {also: b}\n",
        },
        ["a", "b"],
    )
    assert content(laid["svc.yaml"]) == {
        "kind": "Service",
        "metadata": {"name": "a"},
        "spec": {"from": "a-patch", "also": "b"},
    }
    reversed_order = lay(
        {
            "overlays/a/svc.yaml": "kind: Service\nmetadata: {name: a}\n",
            "overlays/b/svc_patch.yaml": "spec: {also: b}\n",
        },
        ["b", "a"],
    )
    assert "also" not in content(reversed_order["svc.yaml"])  # a's file replaced b's patch


@pytest.mark.parametrize(
    ("files", "overlays", "message"),
    [
        ({}, ["nowhere"], r"overlay 'nowhere': the bundle has no overlays/nowhere/"),
        (
            {"overlays/eu/db_patch.yaml": "a: 1\n"},
            ["eu"],
            "db_patch.yaml: there is no db.yaml to patch",
        ),
        (
            {"two.yaml": "a: 1\n---\nb: 2\n", "overlays/eu/two_patch.yaml": "a: 2\n"},
            ["eu"],
            "one document each, not 2",
        ),
        ({"overlays/eu/svc_patch.yaml": "just text\n"}, ["eu"], "a patch is a map"),
        (
            {"overlays/eu/svc_patch.yaml": "- {op: remove, path: /nope}\n"},
            ["eu"],
            "the JSON patch does not apply",
        ),
        (
            {"overlays/eu/svc_patch.yaml": "- {op: twist, path: /kind}\n"},
            ["eu"],
            "the JSON patch does not apply",
        ),
        (
            {"list.yaml": "- 1\n", "overlays/eu/list_patch.yaml": "a: 1\n"},
            ["eu"],
            "does not hold an object",
        ),
    ],
)
def test_what_cannot_be_laid_is_a_clear_error(
    files: dict[str, str], overlays: list[str], message: str
) -> None:
    with pytest.raises(OverlayError, match=message):
        lay(files, overlays)


def test_a_secrets_values_stay_out_of_a_failed_json_patchs_message() -> None:
    secret = "kind: Secret\nmetadata: {name: s}\nstringData: {password: hunter2}\n"
    patch = "- {op: test, path: /stringData/password, value: guess}\n"
    with pytest.raises(OverlayError, match="does not apply: the object is a Secret") as err:
        lay({"s.yaml": secret, "overlays/eu/s_patch.yaml": patch}, ["eu"])
    assert "hunter2" not in str(err.value)
    config = secret.replace("Secret", "ConfigMap")
    with pytest.raises(OverlayError, match="hunter2"):  # what jsonpatch says, elsewhere
        lay({"s.yaml": config, "overlays/eu/s_patch.yaml": patch}, ["eu"])


def test_where_files_end_up_is_filtered_as_the_source_says() -> None:
    laid = lay(
        {
            "overlays/eu/fleet.yaml": "name: x\n",
            "overlays/eu/overlays/x/z.yaml": "kind: ConfigMap\n",
            "overlays/eu/db/j.yaml": "kind: ConfigMap\n",
            "overlays/eu/ok.yaml": "kind: ConfigMap\n",
        },
        ["eu"],
        keep=lambda path: path != "fleet.yaml" and not path.startswith("db/"),
    )
    assert "ok.yaml" in laid
    assert not {"fleet.yaml", "overlays/x/z.yaml", "db/j.yaml"} & set(laid)


def test_a_json_patch_that_grows_without_bound_is_stopped() -> None:
    copies = "".join(f"- {{op: copy, from: /data, path: /data/c{n}}}\n" for n in range(30))
    with pytest.raises(OverlayError, match="larger than allowed"):
        lay({"overlays/eu/sub/cm_patch.yaml": copies}, ["eu"], max_bytes=64 << 10)


def test_what_the_files_weigh_together_is_bounded() -> None:
    big = "data: {k: " + "x" * 5000 + "}\n"
    with pytest.raises(OverlayError, match="larger than 4000 bytes"):
        lay({"overlays/eu/sub/cm_patch.yaml": big}, ["eu"], max_bytes=4000)


def test_a_list_is_not_patched() -> None:
    listed = "apiVersion: v1\nkind: List\nitems: [{kind: Secret, metadata: {name: s}}]\n"
    with pytest.raises(OverlayError, match="not to a list of them"):
        lay(
            {"l.yaml": listed, "overlays/eu/l_patch.yaml": "- {op: remove, path: /items}\n"}, ["eu"]
        )


def test_a_deadline_passed_stops_the_overlays() -> None:
    limits = Limits(max_bytes=1 << 20, remaining=lambda: 0.0)
    files = {**BASE, "overlays/eu/svc_patch.yaml": "spec: {a: 1}\n"}
    with pytest.raises(OverlayError, match="took longer than the render may"):
        overlaid(
            files, ["eu"], parse=parse, strategic=unknown_kind, keep=lambda p: True, limits=limits
        )


def test_merge_patch_shares_nothing_with_the_patch() -> None:
    patch: dict[str, Any] = {"a": {"list": [1, 2]}}
    merged = merge_patch({}, patch)
    merged["a"]["list"].append(3)
    assert patch == {"a": {"list": [1, 2]}}


def test_plugin_options() -> None:
    options = plugin_options(
        "fleet-overlays",
        [{"name": "overlays", "array": ["eu", "big"]}, {"name": "exclude", "string": "x/*"}],
    )
    assert (options.overlays, options.exclude) == (("eu", "big"), "x/*")
    assert plugin_options("fleet-overlays", []).overlays == ()


@pytest.mark.parametrize(
    ("name", "parameters", "message"),
    [
        ("argocd-vault-plugin", [], "is not available; Flotilla has one built in: fleet-overlays"),
        ("fleet-overlays", [{"name": "overlays", "string": "eu"}], "takes an array of names"),
        ("fleet-overlays", [{"name": "exclude", "array": ["x"]}], "exclude takes a string"),
        ("fleet-overlays", [{"name": "colour", "string": "x"}], "unknown parameter 'colour'"),
        (
            "fleet-overlays",
            [{"name": "overlays", "array": ["a/b"]}],
            "'a/b' is not a directory name",
        ),
        ("fleet-overlays", [{"name": "overlays", "array": [".."]}], "is not a directory name"),
    ],
)
def test_plugin_options_refused(name: str, parameters: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(OverlayError, match=message):
        plugin_options(name, parameters)
