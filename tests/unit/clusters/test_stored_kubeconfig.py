from pathlib import Path
from typing import Any

import pytest

from flotilla.clusters import storable_connection, stored_kubeconfig
from flotilla.kube import ConnectionConfig, connection_from_kubeconfig

from .kubeconfigs import SERVER, TOKEN, b64, write_kubeconfig

CERT, KEY, CA = b"-----CERT-----\n", b"-----KEY-----\n", b"-----CA-----\n"


def test_the_stored_kubeconfig_has_one_context_named_as_the_cluster() -> None:
    document = stored_kubeconfig(ConnectionConfig(server=SERVER, token=TOKEN), name="eu-1")

    assert document["current-context"] == "eu-1"
    assert document["contexts"] == [
        {"name": "eu-1", "context": {"cluster": "eu-1", "user": "eu-1"}}
    ]
    assert [c["name"] for c in document["clusters"]] == ["eu-1"]
    assert [u["name"] for u in document["users"]] == ["eu-1"]


def test_every_credential_is_inline_data() -> None:
    connection = ConnectionConfig(
        server=SERVER, ca_data=CA, client_cert_data=CERT, client_key_data=KEY, token=TOKEN
    )

    document = stored_kubeconfig(connection, name="eu-1")

    assert document["clusters"][0]["cluster"] == {
        "server": SERVER,
        "certificate-authority-data": b64(CA),
    }
    assert document["users"][0]["user"] == {
        "token": TOKEN,
        "client-certificate-data": b64(CERT),
        "client-key-data": b64(KEY),
    }


def test_a_certificate_without_its_key_is_left_out() -> None:
    document = stored_kubeconfig(ConnectionConfig(server=SERVER, client_cert_data=CERT), name="x")

    assert document["users"][0]["user"] == {}


@pytest.mark.parametrize(
    "tls", [{"ca_data": CA}, {"insecure_skip_tls_verify": True}], ids=["ca", "insecure"]
)
def test_the_stored_kubeconfig_reads_back_as_the_same_connection(tls: dict[str, Any]) -> None:
    connection = ConnectionConfig(
        server=SERVER,
        tls_server_name="api.internal",
        client_cert_data=CERT,
        client_key_data=KEY,
        token=TOKEN,
        **tls,
    )

    assert connection_from_kubeconfig(stored_kubeconfig(connection, name="eu-1")) == connection


def test_credentials_from_files_end_up_inline(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(CA)
    (tmp_path / "token").write_text(TOKEN)
    path = write_kubeconfig(
        tmp_path, {"robot": {"tokenFile": "token"}}, **{"certificate-authority": "ca.crt"}
    )

    document = stored_kubeconfig(storable_connection(path, "robot"), name="eu-1")

    assert document["clusters"][0]["cluster"]["certificate-authority-data"] == b64(CA)
    assert document["users"][0]["user"] == {"token": TOKEN}
    assert "certificate-authority" not in document["clusters"][0]["cluster"]
