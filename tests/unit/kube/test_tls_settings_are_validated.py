"""TLS settings are what they say: a boolean is a boolean, and a contradiction is refused."""

import base64
from typing import Any

import pytest

from flotilla.kube import ConfigError, ConnectionConfig, connection_from_kubeconfig

from .kubeconfig_docs import SERVER, kubeconfig

CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()


@pytest.mark.parametrize("value", ["false", "true", "no", 0, 1, "yes"])
def test_insecure_skip_tls_verify_must_be_a_real_boolean(value: Any) -> None:
    # Before: the string "false" turned verification off.
    with pytest.raises(ConfigError, match="insecure-skip-tls-verify must be true or false"):
        connection_from_kubeconfig(kubeconfig(**{"insecure-skip-tls-verify": value}))


def test_insecure_skip_tls_verify_false_verifies() -> None:
    config = connection_from_kubeconfig(kubeconfig(**{"insecure-skip-tls-verify": False}))

    assert config.insecure_skip_tls_verify is False


@pytest.mark.parametrize("key", ["certificate-authority-data", "certificate-authority"])
def test_insecure_together_with_a_certificate_authority_is_refused(key: str) -> None:
    cluster = {"insecure-skip-tls-verify": True, key: CA if key.endswith("data") else "ca.crt"}

    with pytest.raises(ConfigError, match=r"root certificates .* with the insecure flag"):
        connection_from_kubeconfig(kubeconfig(**cluster))


def test_a_connection_built_by_hand_cannot_be_insecure_and_pinned() -> None:
    with pytest.raises(ConfigError, match="insecure flag"):
        ConnectionConfig(server=SERVER, ca_data=b"CA", insecure_skip_tls_verify=True)


@pytest.mark.parametrize("name", [123, ["a"], "api internal", "api\n", "\u00e9.test"])
def test_a_tls_server_name_that_is_no_host_name_is_refused(name: Any) -> None:
    with pytest.raises(ConfigError, match="tls-server-name"):
        connection_from_kubeconfig(kubeconfig(**{"tls-server-name": name}))


def test_a_tls_server_name_is_kept() -> None:
    config = connection_from_kubeconfig(kubeconfig(**{"tls-server-name": "api.internal"}))

    assert config.tls_server_name == "api.internal"
