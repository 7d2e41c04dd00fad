"""``vn-einvoice sign``, ``verify`` and ``bench sign``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree
from tools import validity_around

from vn_einvoice.cli import main
from vn_einvoice.sandbox.testca import cert_pem, make_seller_certificate, make_test_ca, write_p12
from vn_einvoice.signing import Pkcs12Signer, add_signature, verify_invoice
from vn_einvoice.signing.certs import fingerprint_sha256, load_certificate

DATA = Path(__file__).parent / "data"
PASSWORD = "P12-mật-khẩu-4711"
MST = "0312345678"
SIGNED_AT = datetime(2026, 11, 21, 2, 30, tzinfo=timezone.utc)  # --signing-time 2026-11-21T09:30:00 (GMT+7)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    ca = make_test_ca(**validity_around(SIGNED_AT))
    (d / "ca.pem").write_bytes(ca.pem)
    key, cert = make_seller_certificate(ca, MST, "CÔNG TY TNHH GIẢI PHÁP MẪU", **validity_around(SIGNED_AT))
    write_p12(d / "seller.p12", key, cert, [ca.certificate], PASSWORD)
    key, cert = make_seller_certificate(ca, "0109876543", "CÔNG TY KHÁC")
    write_p12(d / "other.p12", key, cert, [], PASSWORD)
    (d / "unsigned.xml").write_bytes((DATA / "signing_sample_unsigned.xml").read_bytes())
    return d


@pytest.fixture(autouse=True)
def password(monkeypatch):
    monkeypatch.setenv("P12_PASSWORD", PASSWORD)


def sign(files, out, *extra, p12="seller.p12"):
    return main(["sign", str(files / "unsigned.xml"), "-o", str(out), "--p12", str(files / p12),
                 "--password-env", "P12_PASSWORD", *extra])


def test_sign_then_verify(files, tmp_path, capsys):
    out = tmp_path / "signed.xml"
    assert sign(files, out, "--signing-time", "2026-11-21T09:30:00") == 0
    printed = capsys.readouterr().out
    assert f"signed {files / 'unsigned.xml'} -> {out}" in printed
    assert "signer: UID=MST:0312345678,CN=CÔNG TY TNHH GIẢI PHÁP MẪU,C=VN (MST 0312345678, serial " in printed
    assert b"<SigningTime>2026-11-21T09:30:00</SigningTime>" in out.read_bytes()

    assert main(["verify", str(out)]) == 3  # intact, but no trust store: the signer is not verified
    text = capsys.readouterr().out
    assert text.startswith(f"{out}: signature intact, signer not verified (no trust store: --trusted-ca)\n")
    assert "VALID" not in text
    assert "  trust: not checked (no --trusted-ca): the signers' names are not verified" in text
    assert "    chains to a trusted CA: not checked" in text
    assert "  seller signature HDon/DSCKS/NBan/Signature Id=seller: valid" in text
    assert "    signed by: UID=MST:0312345678,CN=CÔNG TY TNHH GIẢI PHÁP MẪU,C=VN" in text
    assert "    signed at: 2026-11-21T09:30:00 (GMT+7 unless stated); certificate valid then: yes" in text
    assert "    algorithm: rsa-sha256" in text
    assert "    reference #data -> HDon/DLHDon: ok" in text

    assert main(["verify", str(out), "--trusted-ca", str(files / "ca.pem")]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"{out}: VALID (signatures intact, signers verified against the trust store)\n")
    ca = load_certificate((files / "ca.pem").read_bytes())
    assert "  trust: verified against the trust store (1 CA):\n    anchor: " \
           f"{ca.subject.rfc4514_string()} (SHA-256 {fingerprint_sha256(ca)})" in text
    assert "    chains to a trusted CA: yes" in text

    assert main(["verify", str(out), "--json", "--trusted-ca", str(files / "ca.pem")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["valid"] is True and data["file"] == str(out)
    assert (data["trust"], data["verdict"], data["exit_code"]) == ("verified", "valid", 0)
    assert data["trust_anchors"] == [{"subject": ca.subject.rfc4514_string(), "sha256": fingerprint_sha256(ca)}]
    seller = data["signatures"][0]
    assert (seller["role"], seller["subject_tax_code"], seller["trusted"]) == ("seller", MST, True)
    assert seller["signing_time"] == "2026-11-21T09:30:00+07:00"


def test_verify_exit_codes(files, tmp_path, capsys):
    out = tmp_path / "signed.xml"
    assert sign(files, out, "--algorithm", "rsa-sha1") == 0
    assert verify_invoice(out.read_bytes()).seller.algorithm == "rsa-sha1"
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(out.read_bytes().replace(b"<SHDon>123</SHDon>", b"<SHDon>128</SHDon>"))
    capsys.readouterr()
    assert main(["verify", str(out), "--json"]) == 3
    data = json.loads(capsys.readouterr().out)
    assert (data["valid"], data["trust"], data["verdict"], data["exit_code"], data["trust_anchors"]) == (
        True, "not_checked", "intact_unverified", 3, [])
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(make_test_ca("Other CA", **validity_around(SIGNED_AT)).pem)
    assert main(["verify", str(out), "--trusted-ca", str(other_ca)]) == 1  # intact, but untrusted
    text = capsys.readouterr().out
    assert text.startswith(f"{out}: INVALID\n") and "  trust: NOT verified against the trust store (1 CA):" in text
    assert "    problem: the certificate does not chain to a trusted CA" in text
    assert main(["verify", str(tampered)]) == 1
    text = capsys.readouterr().out
    assert text.startswith(f"{tampered}: INVALID")
    assert "    problem: Reference '#data' (HDon/DLHDon): digest mismatch" in text
    assert main(["verify", str(files / "unsigned.xml")]) == 1
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<HDon>")
    assert main(["verify", str(broken)]) == 2
    assert "not a well-formed XML file" in capsys.readouterr().err


def test_refusals_write_nothing_and_never_echo_secrets(files, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out.xml"
    monkeypatch.setenv("P12_PASSWORD", "sai-mat-khau-8642")
    assert sign(files, out) == 2
    err = capsys.readouterr().err
    assert "error: wrong password for the PKCS#12 file" in err and "sai-mat-khau-8642" not in err
    monkeypatch.delenv("P12_PASSWORD")
    assert sign(files, out) == 2
    assert "the environment variable P12_PASSWORD (the password) is not set" in capsys.readouterr().err
    monkeypatch.setenv("P12_PASSWORD", PASSWORD)
    assert sign(files, out, p12="other.p12") == 2
    assert "certificate's MST (0109876543) is not the seller's MST" in capsys.readouterr().err
    assert not out.exists()
    assert sign(files, out, "--allow-mst-mismatch", p12="other.p12") == 0 and out.exists()
    assert main(["sign", str(files / "unsigned.xml"), "-o", str(out)]) == 2
    assert "give a key: --p12 FILE --password-env VAR" in capsys.readouterr().err


def test_expired_certificate_refused(files, tmp_path, capsys):
    now = datetime.now(timezone.utc)
    ca = make_test_ca()
    key, cert = make_seller_certificate(ca, MST, "X", not_before=now - timedelta(days=100),
                                        not_after=now - timedelta(days=1))
    write_p12(tmp_path / "old.p12", key, cert, [], PASSWORD)
    (tmp_path / "old.pem").write_bytes(cert_pem(cert))
    out = tmp_path / "out.xml"
    assert main(["sign", str(files / "unsigned.xml"), "-o", str(out), "--p12", str(tmp_path / "old.p12"),
                 "--password-env", "P12_PASSWORD"]) == 2
    assert "expired on" in capsys.readouterr().err and not out.exists()


def test_entry_point_runs_as_a_module(files, tmp_path):
    out = tmp_path / "signed.xml"
    env = {"P12_PASSWORD": PASSWORD, "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "vn_einvoice.cli", "sign", str(files / "unsigned.xml"), "-o",
                             str(out), "--p12", str(files / "seller.p12"), "--password-env", "P12_PASSWORD",
                             # the child may not share the test's clock (faketime): sign at a time of its own
                             "--signing-time", "2026-11-21T09:30:00"],
                            capture_output=True, text=True, env=env, timeout=60, cwd=Path(__file__).parent.parent)
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    result = subprocess.run([sys.executable, "-m", "vn_einvoice.cli", "verify", str(out)], capture_output=True,
                            text=True, env=env, timeout=60, cwd=Path(__file__).parent.parent)
    assert result.returncode == 3 and "signature intact, signer not verified" in result.stdout


def _forge_cqt(signed: bytes, signer) -> bytes:
    """An invented MCCQT and a "tax authority" signature over it, made by ``signer``."""
    tree = etree.fromstring(signed)
    mccqt = etree.Element("MCCQT", Id="Id-forged")
    mccqt.text = "00AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    tree.find("DLQRCode").addnext(mccqt)
    cqt = etree.Element("CQT")
    tree.find("DSCKS/NMua").addnext(cqt)
    add_signature(cqt, signer, [tree.find("DLHDon"), mccqt], enveloped=False, signature_id="Tct", object_id="T-cqt")
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize("anchored", [False, True])
def test_verify_refuses_a_forged_tax_authority_signature(files, tmp_path, capsys, anchored):
    out = tmp_path / "signed.xml"
    assert sign(files, out) == 0
    seller = Pkcs12Signer(files / "seller.p12", PASSWORD)
    other = Pkcs12Signer(files / "other.p12", PASSWORD)
    trust = ["--trusted-ca", str(files / "ca.pem")] if anchored else []
    for forger, problem in (
            (seller, "the tax authority (CQT) signature is made with the seller's key"),
            (other, "the tax authority (CQT) signature is not made with the tax authority's certificate: its "
                    "subject (UID=MST:0109876543,CN=CÔNG TY KHÁC,C=VN) does not name TỔNG CỤC THUẾ / CỤC THUẾ")):
        forged = tmp_path / "forged.xml"
        forged.write_bytes(_forge_cqt(out.read_bytes(), forger))
        capsys.readouterr()
        assert main(["verify", str(forged), *trust]) == 1
        text = capsys.readouterr().out
        assert text.startswith(f"{forged}: INVALID\n")
        assert "  problem: HDon/MCCQT (the tax authority's code) is not covered by a valid tax authority (CQT) " \
               "signature" in text
        assert "  authority signature HDon/DSCKS/CQT/Signature Id=Tct: INVALID" in text
        assert f"    problem: {problem}" in text
        assert main(["verify", str(forged), "--json", *trust]) == 1
        data = json.loads(capsys.readouterr().out)
        assert (data["valid"], data["verdict"], data["mccqt_covered"]) == (False, "invalid", False)
        assert data["trust"] == ("verified" if anchored else "not_checked")


def test_bench_sign_last_line(capsys):
    assert main(["bench", "sign", "--lines", "5", "--seconds", "0.2"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    m = re.fullmatch(r"signed/s=(\d+\.\d\d) raw_rsa/s=(\d+\.\d\d) ratio=(\d+\.\d\d)", last)
    assert m, last
    signed, raw, ratio = map(float, m.groups())
    assert 0 < signed < raw and abs(ratio - round(signed / raw, 2)) <= 0.01
