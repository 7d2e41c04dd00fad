"""What is read is what was signed (issue 11, items 3 and 4): a comment or PI inside a signed value, a
second HDon/DLHDon/MCCQT/DSCKS hidden anywhere, or a QR code that does not say what the signed data says
make verify and validate refuse the invoice, and parse refuses to read it."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from factories import SELLER_MST, goods, make_invoice
from tools import validity_around

from vn_einvoice.errors import ValidationError
from vn_einvoice.qr import crc16_ccitt_false, invoice_qr_payload
from vn_einvoice.sandbox.testca import make_seller_certificate, make_test_ca, p12_bytes
from vn_einvoice.signing import Pkcs12Signer, sign_invoice, verify_invoice
from vn_einvoice.xml import build_xml, parse_xml, validate_xml


@pytest.fixture(scope="module")
def signed() -> bytes:
    ca = make_test_ca(**validity_around())
    key, cert = make_seller_certificate(ca, SELLER_MST, "CÔNG TY MẪU", **validity_around())
    signer = Pkcs12Signer(p12_bytes(key, cert, [ca.certificate], "x"), "x")
    invoice = make_invoice([goods("Hàng A", 2, 1_500_000, "10%")], number=7)
    invoice = replace(invoice, qr_payload=invoice_qr_payload(invoice))
    out = sign_invoice(build_xml(invoice), signer)
    assert verify_invoice(out).valid and validate_xml(out) == []
    return out


def _problems(xml: bytes) -> list[str]:
    return [f"{p.path}: {p.message}" for p in validate_xml(xml)]


@pytest.mark.parametrize("inside", [b"<!---->", b"<!-- x -->", b"<?x y?>"])
def test_comment_or_pi_inside_a_signed_value_is_refused(signed, inside):
    total = re.search(rb"<TgTTTBSo>(\d+)</TgTTTBSo>", signed).group(1)
    forged = signed.replace(b"<TgTTTBSo>" + total, b"<TgTTTBSo>" + total[:3] + inside + total[3:], 1)
    with pytest.raises(ValidationError, match="TgTTTBSo: a .* inside the value is refused"):
        verify_invoice(forged)
    with pytest.raises(ValidationError, match="inside the value is refused"):
        parse_xml(forged)
    assert any("inside the value is refused" in p for p in _problems(forged))


def test_comment_between_elements_is_harmless(signed):
    kept = signed.replace(b"<DSCKS>", "<!-- lưu trữ --><DSCKS>".encode(), 1)
    assert verify_invoice(kept).valid


@pytest.mark.parametrize("where, extra", [
    ("a second DLHDon in CCKSKhac", lambda dl: b"<CCKSKhac>" + dl),
    ("a second HDon in CCKSKhac", lambda dl: b"<CCKSKhac><HDon>" + dl + b"</HDon>"),
])
def test_hidden_second_invoice_is_refused(signed, where, extra):
    dl = re.search(rb"<DLHDon .*?</DLHDon>", signed, re.S).group(0)
    forged = signed.replace(b"<CCKSKhac>", extra(dl), 1) if b"<CCKSKhac>" in signed else \
        signed.replace(b"<CCKSKhac/>", extra(dl) + b"</CCKSKhac>", 1)
    report = verify_invoice(forged)
    assert not report.valid, where
    assert any("appears 2 times" in p for p in report.problems), report.problems
    assert any("appears 2 times" in p for p in _problems(forged))


def _with_qr(xml: bytes, payload: str) -> bytes:
    return re.sub(rb"<DLQRCode>[^<]*</DLQRCode>", b"<DLQRCode>" + payload.encode() + b"</DLQRCode>", xml)


def test_qr_total_changed_with_a_recomputed_crc_is_refused(signed):
    invoice = parse_xml(signed)
    cheaper = replace(invoice, totals=replace(invoice.totals, total=invoice.totals.total - 1000))
    payload = invoice_qr_payload(cheaper)  # a well-formed QR with its own right CRC
    assert payload.endswith(crc16_ccitt_false(payload[:-4]))
    forged = _with_qr(signed, payload)
    report = verify_invoice(forged)
    assert not report.valid
    assert any("the QR code's total" in p for p in report.problems), report.problems
    assert any("the QR code's total" in p for p in _problems(forged))


def test_qr_with_a_wrong_crc_is_refused(signed):
    payload = re.search(rb"<DLQRCode>([^<]*)</DLQRCode>", signed).group(1).decode()
    forged = _with_qr(signed, payload[:-4] + ("0000" if payload[-4:] != "0000" else "FFFF"))
    report = verify_invoice(forged)
    assert not report.valid and any("bad CRC" in p for p in report.problems), report.problems
    assert any("bad CRC" in p for p in _problems(forged))
