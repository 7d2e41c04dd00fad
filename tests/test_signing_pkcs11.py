"""PKCS#11 for real: a SoftHSM2 token created per test session, keys and certificates imported with
python-pkcs11, invoices signed on the token and verified (by us and by xmlsec1)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from tools import missing, require_tool, softhsm_module

from vn_einvoice.cli import main
from vn_einvoice.sandbox.testca import cert_pem, make_seller_certificate, make_test_ca
from vn_einvoice.signing import (
    KeyMismatchError,
    KeyNotFoundError,
    Pkcs11Signer,
    SigningError,
    WrongSecretError,
    sign_invoice,
    verify_invoice,
)

try:
    import pkcs11
except ImportError:  # skipped (or failed under CI) by the fixture
    pkcs11 = None

pytestmark = pytest.mark.softhsm

DATA = Path(__file__).parent / "data"
TOKEN = "vn-einvoice-test"
PIN = "246810"
SO_PIN = "13579135"
MST = "0312345678"
NAME = "CÔNG TY TNHH GIẢI PHÁP MẪU"


@pytest.fixture(scope="session")
def hsm(tmp_path_factory):
    """A fresh SoftHSM2 token with: RSA key+cert (id 01), EC P-256 key+cert (id 02), RSA key without
    certificate (id 03), RSA key stored with somebody else's certificate (id 04)."""
    if pkcs11 is None:
        missing("the Python package python-pkcs11", "pip install -e '.[test]'")
    module = softhsm_module()
    util = require_tool("softhsm2-util", "softhsm2")
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run([util, "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", SO_PIN],
                   check=True, capture_output=True, timeout=60)
    lib = pkcs11.lib(module)
    lib.reinitialize()  # SoftHSM reads its configuration and tokens when initialised

    ca = make_test_ca()
    material = {"module": module, "ca": ca, "ca_pem": root / "ca.pem", "root": root}
    (root / "ca.pem").write_bytes(ca.pem)
    A = pkcs11.Attribute
    with lib.get_token(token_label=TOKEN).open(rw=True, user_pin=PIN) as session:
        def store(key_id: bytes, label: str, key, cert=None):
            if cert is not None:
                material[label] = cert
            der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
            attrs = (pkcs11.util.rsa.decode_rsa_private_key(der) if label.endswith(("rsa", "nocert", "mismatch"))
                     else pkcs11.util.ec.decode_ec_private_key(der))
            attrs.update({A.TOKEN: True, A.PRIVATE: True, A.SENSITIVE: True, A.EXTRACTABLE: False,
                          A.SIGN: True, A.LABEL: label, A.ID: key_id})
            session.create_object(attrs)
            if cert is not None:
                cert_attrs = pkcs11.util.x509.decode_x509_certificate(cert.public_bytes(serialization.Encoding.DER))
                cert_attrs.update({A.TOKEN: True, A.LABEL: label, A.ID: key_id})
                session.create_object(cert_attrs)

        key, cert = make_seller_certificate(ca, MST, NAME, "rsa")
        store(b"\x01", "seller-rsa", key, cert)
        key, cert = make_seller_certificate(ca, MST, NAME, "ec")
        store(b"\x02", "seller-ec", key, cert)
        key, cert = make_seller_certificate(ca, MST, NAME, "rsa")
        store(b"\x03", "seller-nocert", key)
        (root / "nocert.pem").write_bytes(cert_pem(cert))
        material["nocert"] = cert
        key, _cert = make_seller_certificate(ca, MST, NAME, "rsa")
        _other_key, other_cert = make_seller_certificate(ca, MST, NAME, "rsa")
        store(b"\x04", "seller-mismatch", key, other_cert)
    yield material
    if old is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = old


@pytest.fixture()
def unsigned() -> bytes:
    return (DATA / "signing_sample_unsigned.xml").read_bytes()


def _verify_with_xmlsec1(path: Path, ca_pem: Path) -> None:
    xmlsec1 = require_tool("xmlsec1")
    result = subprocess.run([xmlsec1, "--verify", "--id-attr:Id", "DLHDon", "--id-attr:Id", "Object",
                             "--trusted-pem", str(ca_pem), str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("label, algorithm", [("seller-rsa", "rsa-sha256"), ("seller-rsa", "rsa-sha1"),
                                              ("seller-ec", "ecdsa-sha256")])
def test_sign_on_the_token_and_verify(hsm, unsigned, tmp_path, label, algorithm):
    with Pkcs11Signer(hsm["module"], TOKEN, PIN, key_label=label) as signer:
        assert signer.certificate == hsm[label]  # read from the token (CKO_CERTIFICATE, same CKA_ID)
        assert signer.key_type == ("ec" if label.endswith("ec") else "rsa")
        signed = sign_invoice(unsigned, signer, algorithm=algorithm)
    report = verify_invoice(signed, trusted_certificates=[hsm["ca"].certificate])
    assert report.valid, report.all_problems()
    assert report.seller.algorithm == algorithm and report.seller.trusted is True
    path = tmp_path / "signed.xml"
    path.write_bytes(signed)
    _verify_with_xmlsec1(path, hsm["ca_pem"])


def test_key_by_id_and_one_session_for_many_signatures(hsm, unsigned):
    signer = Pkcs11Signer(hsm["module"], TOKEN, PIN, key_id="02")
    with signer:
        session = signer._session
        outputs = [sign_invoice(unsigned, signer) for _ in range(10)]
        assert signer._session is session  # opened once, not per signature
    assert signer._session is None
    assert all(verify_invoice(o).valid for o in outputs)
    assert len({o for o in outputs}) == 10  # ECDSA: a fresh signature each time
    with pytest.raises(SigningError, match="closed"):
        signer.sign(b"x", "ecdsa-sha256")


def test_certificate_given_as_pem(hsm, unsigned):
    with pytest.raises(KeyNotFoundError, match="no certificate on the token 'vn-einvoice-test' for the key with "
                                               "label 'seller-nocert'; give the certificate as a PEM file"):
        Pkcs11Signer(hsm["module"], TOKEN, PIN, key_label="seller-nocert")
    der = hsm["nocert"].public_bytes(serialization.Encoding.DER)
    for cert in (hsm["root"] / "nocert.pem", str(hsm["root"] / "nocert.pem"), cert_pem(hsm["nocert"]),
                 cert_pem(hsm["nocert"]).decode(), der):
        with Pkcs11Signer(hsm["module"], TOKEN, PIN, key_id=b"\x03", cert_pem=cert) as signer:
            assert signer.certificate == hsm["nocert"]
            assert verify_invoice(sign_invoice(unsigned, signer)).valid


def test_wrong_pin_is_refused_and_not_echoed(hsm):
    with pytest.raises(WrongSecretError) as info:
        Pkcs11Signer(hsm["module"], TOKEN, "975319", key_label="seller-rsa")
    assert str(info.value) == "wrong PIN for the PKCS#11 token 'vn-einvoice-test'"
    assert "975319" not in repr(info.value) and info.value.__cause__ is None


def test_key_certificate_mismatch(hsm):
    with pytest.raises(KeyMismatchError, match="does not belong to the certificate"):
        Pkcs11Signer(hsm["module"], TOKEN, PIN, key_label="seller-mismatch")
    with pytest.raises(KeyMismatchError):
        Pkcs11Signer(hsm["module"], TOKEN, PIN, key_label="seller-rsa", cert_pem=cert_pem(hsm["nocert"]))


def test_unknown_token_or_key(hsm):
    with pytest.raises(KeyNotFoundError, match="no PKCS#11 token labelled 'nope'"):
        Pkcs11Signer(hsm["module"], "nope", PIN, key_label="seller-rsa")
    with pytest.raises(KeyNotFoundError, match="no private key with label 'nope' and id 09"):
        Pkcs11Signer(hsm["module"], TOKEN, PIN, key_label="nope", key_id="09")
    with pytest.raises(SigningError, match="give the key's label or its id"):
        Pkcs11Signer(hsm["module"], TOKEN, PIN)
    with pytest.raises(SigningError, match="cannot load the PKCS#11 module"):
        Pkcs11Signer(hsm["root"] / "missing.so", TOKEN, PIN, key_label="seller-rsa")


def test_cli_sign_with_the_token(hsm, unsigned, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TOKEN_PIN", PIN)
    src, out = tmp_path / "in.xml", tmp_path / "out.xml"
    src.write_bytes(unsigned)
    code = main(["sign", str(src), "-o", str(out), "--pkcs11-module", hsm["module"], "--token-label", TOKEN,
                 "--key-id", "01", "--pin-env", "TOKEN_PIN"])
    assert code == 0 and verify_invoice(out.read_bytes()).valid
    monkeypatch.setenv("TOKEN_PIN", "111111")
    bad = tmp_path / "bad.xml"
    code = main(["sign", str(src), "-o", str(bad), "--pkcs11-module", hsm["module"], "--token-label", TOKEN,
                 "--key-label", "seller-rsa", "--pin-env", "TOKEN_PIN"])
    err = capsys.readouterr().err
    assert code == 2 and not bad.exists()
    assert "wrong PIN for the PKCS#11 token" in err and "111111" not in err
