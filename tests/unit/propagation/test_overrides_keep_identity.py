import pytest

from flotilla.api.placement import JsonPatchOperation, OverrideRule
from flotilla.propagation import RenderError, render

TEMPLATE = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings", "namespace": "team"},
    "data": {"a": "b"},
}


@pytest.mark.parametrize("path", ["/metadata/namespace", "/metadata/name", "/kind"])
def test_an_override_cannot_retarget_the_object(path: str) -> None:
    rule = OverrideRule(json_patches=[JsonPatchOperation(op="replace", path=path, value="x")])
    with pytest.raises(RenderError, match="may not change"):
        render(
            TEMPLATE, placement=("team", "p"), cluster="c", replicas=None, rules=[rule],
            cluster_labels={},
        )  # fmt: skip
