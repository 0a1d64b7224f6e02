import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from flotilla.kube import ConfigError, connection_from_kubeconfig, load_kubeconfig


def _doc(user: dict[str, Any], cluster: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "clusters": [{"name": "c", "cluster": cluster or {"server": "https://10.0.0.1:6443/"}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }


def test_token_and_ca_data_are_read() -> None:
    ca = base64.b64encode(b"CA PEM").decode()
    config = connection_from_kubeconfig(
        _doc({"token": "s3cret"}, {"server": "https://a:6443/", "certificate-authority-data": ca})
    )
    assert config.server == "https://a:6443"
    assert config.ca_data == b"CA PEM"
    assert config.token == "s3cret"


def test_credentials_never_show_in_repr() -> None:
    config = connection_from_kubeconfig(
        _doc({"token": "s3cret", "client-key-data": base64.b64encode(b"KEYDATA").decode()})
    )
    assert "s3cret" not in repr(config)
    assert "KEYDATA" not in repr(config)


def test_files_are_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(b"CA")
    document = _doc({}, {"server": "https://a", "certificate-authority": "ca.crt"})
    (tmp_path / "config").write_text(yaml.safe_dump(document))
    assert load_kubeconfig(tmp_path / "config").ca_data == b"CA"


def test_exec_plugins_are_refused_with_the_reason() -> None:
    with pytest.raises(ConfigError, match="gets credentials from a plugin"):
        connection_from_kubeconfig(_doc({"exec": {"command": "aws"}}))


def test_unknown_context_is_named() -> None:
    with pytest.raises(ConfigError, match="no entry 'prod' in contexts"):
        connection_from_kubeconfig(_doc({}), context="prod")


def test_a_file_that_is_not_a_kubeconfig_says_so(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="not a kubeconfig"):
        load_kubeconfig(tmp_path / "config")
    with pytest.raises(ConfigError, match="cannot read kubeconfig"):
        load_kubeconfig(tmp_path / "missing")


def test_certificate_authority_data_that_is_no_certificate_is_a_config_error() -> None:
    # A Secret holding garbage must not crash a prober with a raw ssl.SSLError.
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n").decode()
    config = connection_from_kubeconfig(
        _doc({"token": "s3cret"}, {"server": "https://a:6443/", "certificate-authority-data": ca})
    )
    with pytest.raises(ConfigError, match="certificate-authority-data") as caught:
        config.ssl_context()
    assert "bm90IGEgY2VydA" not in str(caught.value)
    assert caught.value.__cause__ is None
