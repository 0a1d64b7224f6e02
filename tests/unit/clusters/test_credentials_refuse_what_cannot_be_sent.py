"""``flotilla cluster add`` stores only credentials a member can be reached with: a token
that is no header value, a contradictory TLS setting or a plain-http server is refused
before it reaches a Secret, and the refusal never quotes the token."""

from pathlib import Path
from typing import Any

import pytest

from flotilla.clusters import CredentialError, storable_connection

from .kubeconfigs import TOKEN, b64, exec_user, write_kubeconfig, write_plugin


@pytest.mark.parametrize("token", [f"{TOKEN}\nX-Other: 1", f"{TOKEN}\u00e9"])
def test_a_token_that_cannot_be_sent_is_refused_without_quoting_it(
    tmp_path: Path, token: str
) -> None:
    path = write_kubeconfig(tmp_path, {"robot": {"token": token}})

    with pytest.raises(CredentialError, match="token contains") as caught:
        storable_connection(path, "robot")

    assert TOKEN not in str(caught.value)


def test_a_plugin_token_that_cannot_be_sent_is_refused(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path, status={"token": f"{TOKEN}\u0000"})
    path = write_kubeconfig(tmp_path, {"sso": exec_user(plugin)})

    with pytest.raises(CredentialError, match="control character") as caught:
        storable_connection(path, "sso")

    assert TOKEN not in str(caught.value)


def test_a_token_with_a_trailing_newline_is_stored_without_it(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path, {"robot": {"token": f"{TOKEN}\n"}})

    assert storable_connection(path, "robot").token == TOKEN


@pytest.mark.parametrize(
    ("cluster", "why"),
    [
        ({"insecure-skip-tls-verify": "false"}, "must be true or false"),
        (
            {"insecure-skip-tls-verify": True, "certificate-authority-data": b64(b"CA")},
            "insecure flag is not allowed",
        ),
        ({"server": "http://member.test:8080"}, "plain http"),
        ({"server": f"https://robot:{TOKEN}@member.test"}, "user name or password"),
    ],
)
def test_unsafe_cluster_settings_are_refused(
    tmp_path: Path, cluster: dict[str, Any], why: str
) -> None:
    path = write_kubeconfig(tmp_path, {"robot": {"token": "t"}}, **cluster)

    with pytest.raises(CredentialError, match=why) as caught:
        storable_connection(path, "robot")

    assert TOKEN not in str(caught.value)
