"""A server address is checked when the connection is made, so a malformed one is a
ConfigError that says what is wrong, never a raw ValueError from httpx on the first request;
and a URL's password is never repeated back."""

from typing import Any

import pytest

from flotilla.kube import ConfigError, ConnectionConfig, KubeClient, connection_from_kubeconfig

from .kubeconfig_docs import kubeconfig


def test_plain_http_is_refused_unless_allowed() -> None:
    with pytest.raises(ConfigError, match="plain http"):
        connection_from_kubeconfig(kubeconfig(server="http://api.test:8080"))

    config = connection_from_kubeconfig(kubeconfig(server="http://api.test:8080"), allow_http=True)

    assert config.server == "http://api.test:8080"
    assert config.ssl_context() is False


def test_a_connection_built_by_hand_refuses_http_too() -> None:
    with pytest.raises(ConfigError, match="plain http"):
        KubeClient(ConnectionConfig(server="http://api.test"))


@pytest.mark.parametrize(
    ("server", "why"),
    [
        ("https://[::1", "not a valid URL"),
        ("https://api.test:http", "not a valid URL"),
        ("https://api.test:99999", "not a valid URL"),
        ("api.test:6443", "https://"),
        ("ftp://api.test", "https://"),
        ("https://", "no host"),
        ("https://api.test/\nHost: evil", "control character"),
        ("https://api\u00e9.test", "non-ASCII"),
        (6443, "not a string"),
    ],
)
def test_a_malformed_server_is_a_config_error(server: Any, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        connection_from_kubeconfig(kubeconfig(server=server))


@pytest.mark.parametrize(
    "server",
    [
        "https://admin:hunter2-pw@api.test:6443",
        "admin:hunter2-pw@api.test",
        "https://admin:hunter2-pw@api.test@other",
    ],
)
def test_a_server_with_a_password_is_refused_without_repeating_it(server: str) -> None:
    with pytest.raises(ConfigError, match="user name or password") as caught:
        connection_from_kubeconfig(kubeconfig(server=server))

    assert "hunter2-pw" not in str(caught.value)
    assert "admin" not in str(caught.value)


def test_a_malformed_server_with_a_password_is_not_repeated() -> None:
    with pytest.raises(ConfigError) as caught:
        connection_from_kubeconfig(kubeconfig(server="https://admin:hunter2-pw@[::1"))

    assert "hunter2-pw" not in str(caught.value)


def test_an_ipv6_server_and_a_path_prefix_are_fine() -> None:
    assert connection_from_kubeconfig(kubeconfig(server="https://[::1]:6443/")).server == (
        "https://[::1]:6443"
    )
    proxied = connection_from_kubeconfig(kubeconfig(server="https://rancher.test/k8s/clusters/c"))
    assert proxied.server == "https://rancher.test/k8s/clusters/c"
