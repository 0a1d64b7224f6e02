from pathlib import Path

from flotilla.clusters import storable_connection

from .kubeconfigs import SERVER, TOKEN, b64, write_kubeconfig

CERT, KEY, CA = b"-----CERT-----\n", b"-----KEY-----\n", b"-----CA-----\n"


def test_inline_client_certificate_data_is_stored_as_bytes(tmp_path: Path) -> None:
    user = {"client-certificate-data": b64(CERT), "client-key-data": b64(KEY)}
    path = write_kubeconfig(tmp_path, {"admin": user}, **{"certificate-authority-data": b64(CA)})

    connection = storable_connection(path, "admin")

    assert connection.server == SERVER
    assert (connection.client_cert_data, connection.client_key_data) == (CERT, KEY)
    assert connection.ca_data == CA
    assert connection.token is None


def test_an_inline_token_is_stored(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path, {"robot": {"token": TOKEN}})

    assert storable_connection(path, "robot").token == TOKEN


def test_a_token_file_is_read_now(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(f"{TOKEN}\n")
    path = write_kubeconfig(tmp_path, {"robot": {"tokenFile": "token"}})

    assert storable_connection(path, "robot").token == TOKEN


def test_certificate_files_relative_to_the_kubeconfig_are_read_now(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    for name, data in (("ca.crt", CA), ("admin.crt", CERT), ("admin.key", KEY)):
        (tmp_path / "pki" / name).write_bytes(data)
    user = {"client-certificate": "pki/admin.crt", "client-key": "pki/admin.key"}
    path = write_kubeconfig(tmp_path, {"admin": user}, **{"certificate-authority": "pki/ca.crt"})

    connection = storable_connection(path, "admin")

    assert (connection.ca_data, connection.client_cert_data, connection.client_key_data) == (
        CA,
        CERT,
        KEY,
    )


def test_an_absolute_certificate_authority_path_is_read_too(tmp_path: Path) -> None:
    ca = tmp_path / "elsewhere" / "ca.crt"
    ca.parent.mkdir()
    ca.write_bytes(CA)
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    path = write_kubeconfig(
        config_dir, {"robot": {"token": TOKEN}}, **{"certificate-authority": str(ca)}
    )

    assert storable_connection(path, "robot").ca_data == CA


def test_without_a_context_the_current_context_is_used(tmp_path: Path) -> None:
    users = {"first": {"token": "first-token"}, "second": {"token": TOKEN}}
    path = write_kubeconfig(tmp_path, users, current="second")

    assert storable_connection(path, None).token == TOKEN


def test_tls_settings_of_the_cluster_are_kept(tmp_path: Path) -> None:
    cluster = {"insecure-skip-tls-verify": True, "tls-server-name": "api.internal"}
    path = write_kubeconfig(tmp_path, {"robot": {"token": TOKEN}}, **cluster)

    connection = storable_connection(path, "robot")

    assert connection.insecure_skip_tls_verify
    assert connection.tls_server_name == "api.internal"
