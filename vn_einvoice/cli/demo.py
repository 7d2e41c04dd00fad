"""``vn-einvoice demo``: the main job on an embedded default, end to end."""

from __future__ import annotations

import secrets
from pathlib import Path


def cmd_demo(args) -> int:
    from ..qr import invoice_qr_payload, qr_png  # noqa: PLC0415 - CLI start-up: qrcode and Pillow, only for demo
    from ..samples import sample_invoice  # noqa: PLC0415 - CLI start-up: the invoice model (~15 ms), only for demo
    from ..sandbox import testca  # noqa: PLC0415 - CLI start-up: cryptography, only for demo
    from ..signing import Pkcs12Signer, sign_invoice, verify_invoice  # noqa: PLC0415 - CLI start-up: lxml and cryptography, only for demo
    from ..xml import build_xml, validate_xml  # noqa: PLC0415 - CLI start-up: lxml, only for demo

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    invoice = sample_invoice(lines=args.lines)
    invoice = invoice.replace(qr_payload=invoice_qr_payload(invoice))
    print(f"1. sample invoice: template {invoice.template}, symbol {invoice.symbol}, number {invoice.number}, "
          f"{len(invoice.lines)} lines, total {invoice.totals.total} VND")
    print(f"   in words: {invoice.totals.total_in_words}")

    ca = testca.make_test_ca()
    key, cert = testca.make_seller_certificate(ca, invoice.seller.tax_code, invoice.seller.name)
    password = secrets.token_urlsafe(12)  # throw-away; never printed
    p12 = testca.write_p12(out / "seller-TEST.p12", key, cert, [ca.certificate], password)
    (out / "test-ca.pem").write_bytes(ca.pem)
    print(f"2. throw-away test CA and seller certificate (MST {invoice.seller.tax_code}): {p12}")

    unsigned = build_xml(invoice)
    (out / "invoice-unsigned.xml").write_bytes(unsigned)
    with Pkcs12Signer(p12, password) as signer:
        signed = sign_invoice(unsigned, signer)
    xml_path = out / "invoice-signed.xml"
    xml_path.write_bytes(signed)
    print(f"3. built, validated and signed (RSA-SHA256): {xml_path}")

    problems = validate_xml(signed)
    ca_path = out / "test-ca.pem"
    report = verify_invoice(signed, trusted_certificates=[ca.certificate])
    without_store = verify_invoice(signed)
    seller = report.seller
    verdicts = {"valid": "VALID", "intact_unverified": "signature intact, signer NOT verified", "invalid": "INVALID"}
    print(f"4. verified against the trust store {ca_path} (the demo's throw-away test CA): "
          f"{verdicts[report.verdict] if not problems else 'INVALID'} - signed by {seller.subject} "
          f"at {seller.signing_time_text}")
    print(f"   without a trust store the verdict is: {verdicts[without_store.verdict]} "
          "(the signature proves the content, a trusted CA proves who signed)")
    for p in [*problems, *report.all_problems()]:
        print(f"   problem: {p}")

    png = out / "invoice-qr.png"
    png.write_bytes(qr_png(invoice.qr_payload))
    print(f"5. QR code: {png}")
    print(f"   payload: {invoice.qr_payload}")
    print(f"\nCheck it yourself: vn-einvoice verify --trusted-ca {ca_path} {xml_path}   "
          f"(or xmlsec1 --verify --id-attr:Id DLHDon --id-attr:Id Object --trusted-pem {ca_path} "
          f"{xml_path})")
    return 0 if report.verdict == "valid" and not problems else 1


def register(sub) -> None:
    p = sub.add_parser("demo", help="make a test certificate, build, sign, verify an invoice and its QR code",
                       description="Runs the main job on an embedded sample: a throw-away test CA and seller "
                       "certificate, a sample invoice built, signed, verified, written with its QR code.")
    p.add_argument("--out", default="demo-out", help="output directory (default: demo-out)")
    p.add_argument("--lines", type=int, default=3, help="number of goods lines (default 3)")
    p.set_defaults(func=cmd_demo)
