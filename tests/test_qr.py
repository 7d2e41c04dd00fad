"""QR payload of Decision 1271/QĐ-CT (DLQRCode), VietQR payment block and rendering."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree
from PIL import Image

import vn_einvoice.qr as qr_module
from vn_einvoice.document import Invoice, Line, Party, Totals
from vn_einvoice.errors import ValidationError
from vn_einvoice.qr import (
    InvoiceQR,
    VietQRPayment,
    ascii_text,
    crc16_ccitt_false,
    format_amount,
    invoice_qr_payload,
    parse_invoice_qr,
    parse_tlv,
    parse_tlv_tree,
    qr_png,
    qr_svg,
    tlv,
    vietqr_payload,
)

# Spec §5.3 test vectors.
OFFICIAL = (
    "00020101021202142657895426548904141568265489515426280010A0000007750110010700172952045499"
    "530370454061200005802VN5905DNXYZ6005HANOI62400115S757CK5HTIE918E0307SHOPXYZ0706XYZ0019974"
    "0010A00000077501130107001729001020110306C21TYY04026805082021112106061200006304383C"
)
VNPAY = (
    "00020101021202142657895426548904141568265489515426280010A00000077501100107001729520454995303"
    "704540105802VN5905VNPAY6005HANOI622801032260307CTYVNIS0706XYZ00199700010A0000007750113010218"
    "2292998020110306K23TLL0403226050820231019060106304F223"
)
VIETQR_GO = (
    "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA5303704540410005802VN"
    "62150811Chuyen tien6304BBB8"
)
VIETQR_NAPAS_PY = (
    "00020101021153037045802VN38540010A00000072701240006970436011010319334300208QRIBFTTA62220818"
    "Thanh toan hoa don6304FCE9"
)
SAMPLE = (
    "000201010212"
    "38570010A00000072701270006970436011300110012345670208QRIBFTTA"
    "5303704540838100000"
    "5802VN"
    "62200816TT HD C25TAA 123"
    "99740010A00000077501100312345678020110306C25TAA0403123050820250715060838100000"
    "6304107B"
)
SAMPLE_PAYMENT = VietQRPayment(bank_bin="970436", account="0011001234567", purpose="TT HD C25TAA 123")


def make_invoice(**changes) -> Invoice:
    invoice = Invoice(
        template="1",
        symbol="C25TAA",
        number=123,
        issue_date=date(2025, 7, 15),
        seller=Party(name="Công ty TNHH Mẫu", tax_code="0312345678"),
        buyer=Party(name="Khách lẻ"),
        lines=(Line(name="Hàng mẫu", amount=Decimal("35000000")),),
        totals=Totals(
            total_before_tax=Decimal("35000000"),
            total_tax=Decimal("3100000"),
            total=Decimal("38100000"),
            total_in_words="Ba mươi tám triệu một trăm nghìn đồng",
        ),
    )
    return invoice.replace(**changes) if changes else invoice


def with_total(total) -> Invoice:
    invoice = make_invoice()
    totals = Totals(invoice.totals.total_before_tax, invoice.totals.total_tax, Decimal(total), "x")
    return invoice.replace(totals=totals)


def messages(exc_info) -> str:
    return " | ".join(p.message for p in exc_info.value.problems)


# ------------------------------------------------------------------------------------------- CRC


@pytest.mark.parametrize(
    "payload, crc",
    [(OFFICIAL, "383C"), (VNPAY, "F223"), (VIETQR_GO, "BBB8"), (VIETQR_NAPAS_PY, "FCE9"), (SAMPLE, "107B")],
)
def test_crc_vectors(payload, crc):
    assert payload.endswith("6304" + crc)
    assert crc16_ccitt_false(payload[:-4]) == crc
    assert crc16_ccitt_false(payload[:-4].encode()) == crc


def test_crc_check_value():
    # Catalogue check value of CRC-16/CCITT-FALSE.
    assert crc16_ccitt_false("123456789") == "29B1"
    assert crc16_ccitt_false(b"") == "FFFF"


# ------------------------------------------------------------------------------------------- TLV


def test_tlv_basics():
    assert tlv("00", "01") == "000201"
    assert tlv("59", "") == ""
    assert tlv("62", "x" * 99).startswith("6299")
    with pytest.raises(ValidationError, match="exceeds 99"):
        tlv("62", "x" * 100)
    with pytest.raises(ValidationError, match="invalid ID"):
        tlv("7", "x")


def test_tlv_counts_characters_not_bytes():
    assert tlv("59", "Hà Nội") == "5906Hà Nội"
    assert parse_tlv("5906Hà Nội6003abc") == [("59", "Hà Nội"), ("60", "abc")]


def test_parse_tlv_errors():
    with pytest.raises(ValidationError, match="bad length"):
        parse_tlv("000501")
    with pytest.raises(ValidationError, match="malformed"):
        parse_tlv("0002010")
    with pytest.raises(ValidationError, match="bad length"):
        parse_tlv("0000")


def test_parse_tlv_tree_official():
    tree = parse_tlv_tree(OFFICIAL)
    assert tree["00"] == "01" and tree["01"] == "12"
    assert tree["02"] == "26578954265489"  # primitive card-scheme id, not a template
    assert tree["26"] == {"00": "A000000775", "01": "0107001729"}
    assert tree["62"] == {"01": "S757CK5HTIE918E", "03": "SHOPXYZ", "07": "XYZ001"}
    assert tree["99"]["01"] == "0107001729001"
    assert tree["63"] == "383C"


# ---------------------------------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    "value, text",
    [
        (Decimal("38100000"), "38100000"),
        (Decimal("38100000.00"), "38100000"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1234.50"), "1234.5"),
        (Decimal("0.125"), "0.125"),
        (Decimal("-500000"), "-500000"),
        (Decimal("-0.00"), "0"),
        (0, "0"),
        ("12.30", "12.3"),
    ],
)
def test_format_amount(value, text):
    assert format_amount(value) == text


def test_ascii_text():
    assert ascii_text("Thanh toán hóa đơn  Đà Nẵng") == "Thanh toan hoa don Da Nang"


# ------------------------------------------------------------------------------------- invoice QR


def test_sample_invoice_with_payment():
    assert invoice_qr_payload(make_invoice(), payment=SAMPLE_PAYMENT) == SAMPLE


def test_minimal_lookup_payload():
    payload = invoice_qr_payload(make_invoice())
    body = "00020101021299740010A00000077501100312345678020110306C25TAA0403123050820250715060838100000"
    assert payload == body + "6304" + crc16_ccitt_false(body + "6304")
    assert "38" not in parse_tlv_tree(payload)


def test_branch_tax_code_without_dash():
    payload = invoice_qr_payload(make_invoice(seller=Party(tax_code="0107001729-001")))
    assert "01130107001729001" in payload
    qr = parse_invoice_qr(payload)
    assert qr.seller_tax_code == "0107001729001"
    assert qr.seller_tax_code_display == "0107001729-001"


def test_number_unpadded_and_negative_total():
    qr = parse_invoice_qr(invoice_qr_payload(with_total("-1500000").replace(number=7)))
    assert qr.number == 7
    assert qr.fields["99"]["04"] == "7"
    assert qr.total == Decimal("-1500000")
    assert qr.fields["99"]["06"] == "-1500000"


def test_foreign_currency_total():
    invoice = with_total("1234.50").replace(currency="USD")
    payload = invoice_qr_payload(invoice)
    assert parse_tlv_tree(payload)["99"]["06"] == "1234.5"
    with pytest.raises(ValidationError, match="needs VND"):
        invoice_qr_payload(invoice, payment=SAMPLE_PAYMENT)


def test_omitted_empty_fields():
    payment = VietQRPayment(bank_bin="970436", account="0011001234567")
    tree = parse_tlv_tree(invoice_qr_payload(make_invoice(), payment=payment))
    assert not {"52", "59", "60", "62"} & tree.keys()
    tree = parse_tlv_tree(
        invoice_qr_payload(
            make_invoice(),
            payment=VietQRPayment("970436", "0011001234567", merchant_name="Cty Mẫu", merchant_city="Hà Nội"),
        )
    )
    assert tree["59"] == "Cty Mau" and tree["60"] == "Ha Noi"


def test_round_trip_with_payment():
    payment = VietQRPayment(
        "970436",
        "0011001234567",
        purpose="Thanh toán HĐ 123",
        merchant_name="Đông Á",
        merchant_city="Đà Nẵng",
    )
    qr = parse_invoice_qr(invoice_qr_payload(make_invoice(), payment=payment))
    assert isinstance(qr, InvoiceQR)
    assert (qr.seller_tax_code, qr.template, qr.symbol, qr.number) == ("0312345678", "1", "C25TAA", 123)
    assert qr.issue_date == date(2025, 7, 15)
    assert qr.total == qr.amount == Decimal("38100000")
    assert qr.currency == "704" and qr.point_of_initiation == "12"
    assert qr.payment == VietQRPayment(
        "970436",
        "0011001234567",
        purpose="Thanh toan HD 123",
        merchant_name="Dong A",
        merchant_city="Da Nang",
    )


def test_invoice_errors():
    with pytest.raises(ValidationError) as exc:
        invoice_qr_payload(make_invoice(number=None))
    assert exc.value.problems[0].path == "DLQRCode"
    assert "no number" in messages(exc)
    with pytest.raises(ValidationError, match="no tax code"):
        invoice_qr_payload(make_invoice(seller=Party()))
    with pytest.raises(ValidationError, match="no totals"):
        invoice_qr_payload(make_invoice(totals=None))
    with pytest.raises(ValidationError, match="exceeds 99"):
        invoice_qr_payload(make_invoice(symbol="C" * 100))
    with pytest.raises(ValidationError, match="must be 11 or 12"):
        invoice_qr_payload(make_invoice(), point_of_initiation="13")


def test_length_limit(monkeypatch):
    # Real fields cannot reach 512 characters; lower the limit to exercise the check.
    monkeypatch.setattr(qr_module, "MAX_PAYLOAD", len(SAMPLE) - 1)
    with pytest.raises(ValidationError, match="exceeds"):
        invoice_qr_payload(make_invoice(), payment=SAMPLE_PAYMENT)
    monkeypatch.setattr(qr_module, "MAX_PAYLOAD", len(SAMPLE))
    assert invoice_qr_payload(make_invoice(), payment=SAMPLE_PAYMENT) == SAMPLE


def test_parse_rejects_payload_over_512():
    extra = "".join(tlv(f"{i}", "x" * 95) for i in range(80, 85))  # unreserved templates 80-84
    body = "000201010212" + extra + SAMPLE[SAMPLE.index("9974") : -8]
    payload = body + "6304" + crc16_ccitt_false(body + "6304")
    assert len(payload) > 512
    with pytest.raises(ValidationError) as exc:
        parse_invoice_qr(payload)
    assert messages(exc) == f"payload of {len(payload)} characters exceeds 512"
    with pytest.raises(ValidationError) as exc:  # problems found before a TLV error are kept
        parse_invoice_qr(payload + "99")
    assert "exceeds 512" in messages(exc) and "malformed TLV" in messages(exc)


# ---------------------------------------------------------------------------------------- VietQR


def test_vietqr_payment_only():
    payment = VietQRPayment(bank_bin="970416", account="257678859", purpose="Chuyển tiền")
    assert vietqr_payload(payment, Decimal("1000")) == VIETQR_GO


def test_vietqr_static_without_amount():
    payment = VietQRPayment("970436", "1031933430", purpose="Thanh toan hoa don")
    payload = vietqr_payload(payment)
    mine, theirs = parse_tlv_tree(payload), parse_tlv_tree(VIETQR_NAPAS_PY)
    assert mine["01"] == "11" and "54" not in mine
    assert {k: v for k, v in mine.items() if k != "63"} == {k: v for k, v in theirs.items() if k != "63"}
    assert mine["63"] == crc16_ccitt_false(payload[:-4])


def test_vietqr_payment_validation():
    with pytest.raises(ValidationError, match="6 digits"):
        VietQRPayment("97043", "123")
    with pytest.raises(ValidationError, match="service"):
        VietQRPayment("970436", "123", service="QRXX")
    with pytest.raises(ValidationError, match="purpose exceeds 25"):
        VietQRPayment("970436", "123", purpose="x" * 26)
    with pytest.raises(ValidationError, match="negative"):
        vietqr_payload(VietQRPayment("970436", "123"), Decimal("-1"))
    VietQRPayment("970436", "123", service="QRIBFTTC", purpose="y" * 25)


# ---------------------------------------------------------------------------------------- parsing


def test_parse_official_example():
    qr = parse_invoice_qr(OFFICIAL)
    assert qr.seller_tax_code == "0107001729001"
    assert (qr.template, qr.symbol, qr.number) == ("1", "C21TYY", 68)
    assert qr.issue_date == date(2021, 11, 21)
    assert qr.total == qr.amount == Decimal("120000")
    assert qr.payment is None  # VNPAY merchant account (ID 26), not VietQR
    assert qr.fields["26"]["00"] == "A000000775"
    assert qr.crc == "383C"


def test_parse_vnpay_2023():
    qr = parse_invoice_qr(VNPAY)
    assert qr.seller_tax_code_display == "0102182292-998"
    assert (qr.symbol, qr.number, qr.issue_date, qr.total) == ("K23TLL", 226, date(2023, 10, 19), Decimal(0))
    assert qr.fields["59"] == "VNPAY"


def test_parse_bad_crc():
    bad = SAMPLE[:-4] + "107C"
    with pytest.raises(ValidationError) as exc:
        parse_invoice_qr(bad)
    assert "bad CRC: expected 107B, found 107C" in messages(exc)
    # A changed digit in the data also breaks the CRC.
    with pytest.raises(ValidationError, match="expected"):
        parse_invoice_qr(SAMPLE.replace("20250715", "20250716"))


def test_parse_missing_99_and_wrong_guid():
    with pytest.raises(ValidationError, match=r"no invoice data \(ID 99\)"):
        parse_invoice_qr(VIETQR_GO)
    body = SAMPLE[:-8].replace("0010A000000775", "0010A000000999")
    with pytest.raises(ValidationError) as exc:
        parse_invoice_qr(body + "6304" + crc16_ccitt_false(body + "6304"))
    assert messages(exc) == "ID 99.00 GUID must be A000000775, found 'A000000999'"


def test_parse_lists_every_problem():
    block = tlv("00", "A000000775") + tlv("01", "12345") + tlv("05", "20251399")
    body = "000201" + tlv("99", block)
    with pytest.raises(ValidationError) as exc:
        parse_invoice_qr(body + "6304" + "0000")
    text = messages(exc)
    for part in (
        "bad CRC",
        "99.01 (seller MST) invalid",
        "99.02 (KHMSHDon) missing",
        "99.05 (NLap) is not a date",
    ):
        assert part in text


def test_parse_requires_crc_last():
    with pytest.raises(ValidationError, match="must end with the CRC"):
        parse_invoice_qr(SAMPLE[:-8])


# -------------------------------------------------------------------------------------- rendering


def test_png():
    data = qr_png(SAMPLE)
    assert data.startswith(b"\x89PNG")
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.mode == "1"
    assert image.size[0] == image.size[1] > 0
    bigger = Image.open(io.BytesIO(qr_png(SAMPLE, box_size=8, border=2)))
    modules = image.size[0] // 6 - 8
    assert bigger.size[0] == (modules + 4) * 8


def test_svg():
    svg = qr_svg(SAMPLE)
    assert not svg.startswith("<?xml")
    root = etree.fromstring(svg)
    assert etree.QName(root).localname == "svg"
    assert root.find(".//{http://www.w3.org/2000/svg}path") is not None


@pytest.mark.skipif(
    not shutil.which("zbarimg"), reason="zbarimg not on PATH (Debian zbar-tools; installed in CI)"
)
@pytest.mark.parametrize("payload", [SAMPLE, OFFICIAL])
def test_png_decodes_back(tmp_path, payload):
    path = tmp_path / "qr.png"
    path.write_bytes(qr_png(payload))
    out = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
        capture_output=True,
        check=True,
    ).stdout
    assert out.decode("utf-8").rstrip("\n") == payload
