import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID

from flotilla.devfleet.pki import ensure_pki
from flotilla.devfleet.topology import fleet_topology

_, MEMBER, OTHER = fleet_topology(2)


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_serving_certificate_names_the_cluster_address(tmp_path: Path) -> None:
    pki = ensure_pki(MEMBER, tmp_path)
    ca = _cert(pki.ca_cert)
    serving = _cert(pki.serving_cert)
    serving.verify_directly_issued_by(ca)
    sans = serving.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    ips = [str(ip) for ip in sans.value.get_values_for_type(x509.IPAddress)]
    assert MEMBER.address in ips
    assert MEMBER.kubernetes_service_ip in ips


def test_admin_is_in_system_masters_and_components_have_their_users(tmp_path: Path) -> None:
    pki = ensure_pki(MEMBER, tmp_path)
    admin = _cert(pki.client_cert("admin")).subject
    assert admin.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    kcm = _cert(pki.client_cert("kube-controller-manager")).subject
    assert kcm.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "system:kube-controller-manager"
    )


def test_keys_are_private_and_kept_across_calls(tmp_path: Path) -> None:
    pki = ensure_pki(MEMBER, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    ensure_pki(MEMBER, tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    for key in (pki.ca_key, pki.serving_key, pki.sa_key, pki.client_key("admin")):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_each_cluster_has_its_own_ca(tmp_path: Path) -> None:
    one = ensure_pki(MEMBER, tmp_path / "one")
    two = ensure_pki(OTHER, tmp_path / "two")
    assert _cert(one.ca_cert).public_key() != _cert(two.ca_cert).public_key()
    assert isinstance(_cert(one.ca_cert).public_key(), ec.EllipticCurvePublicKey)
