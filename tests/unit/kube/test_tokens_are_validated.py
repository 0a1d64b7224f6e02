"""A token goes into an HTTP header: whatever cannot be sent there is refused up front,
with a ConfigError that never quotes it, instead of a raw exception from httpx later."""

from pathlib import Path
from typing import Any

import pytest

from flotilla.kube import (
    ConfigError,
    ConnectionConfig,
    KubeClient,
    connection_from_kubeconfig,
    load_kubeconfig,
)

from .kubeconfig_docs import SERVER, TOKEN, kubeconfig


def test_surrounding_whitespace_is_stripped() -> None:
    config = connection_from_kubeconfig(kubeconfig({"token": f"  {TOKEN}\n"}))

    assert config.token == TOKEN


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (f"{TOKEN}\nX-Injected: 1", "control character"),
        (f"{TOKEN}\x00", "control character"),
        (f"{TOKEN}\x7f", "control character"),
        (f"{TOKEN}\u00e9", "non-ASCII"),
        (f"{TOKEN}\u200b", "non-ASCII"),
    ],
)
def test_a_token_that_cannot_be_a_header_is_refused_without_quoting_it(
    token: str, why: str
) -> None:
    with pytest.raises(ConfigError, match=why) as caught:
        connection_from_kubeconfig(kubeconfig({"token": token}))

    assert TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None


@pytest.mark.parametrize("token", [12345, ["a"], {"a": "b"}])
def test_a_token_that_is_no_string_is_refused(token: Any) -> None:
    with pytest.raises(ConfigError, match="token is not a string"):
        connection_from_kubeconfig(kubeconfig({"token": token}))


def test_a_token_file_is_held_to_the_same_rules(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(f"{TOKEN}\u00e9\n")
    (tmp_path / "config").write_text(
        "clusters: [{name: c, cluster: {server: 'https://api.test'}}]\n"
        "users: [{name: u, user: {tokenFile: token}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n"
    )

    with pytest.raises(ConfigError, match="non-ASCII") as caught:
        load_kubeconfig(tmp_path / "config")

    assert TOKEN not in str(caught.value)


def test_a_connection_built_by_hand_is_checked_too() -> None:
    # Before: KubeClient raised a raw UnicodeEncodeError that quoted part of the token.
    with pytest.raises(ConfigError, match="non-ASCII"):
        KubeClient(ConnectionConfig(server=SERVER, token=f"{TOKEN}\u00f6"))
