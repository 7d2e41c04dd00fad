"""``vn-einvoice build / validate / qr / words``: exit codes and messages naming the field."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from vn_einvoice.cli import main
from vn_einvoice.jsonio import invoice_from_json
from vn_einvoice.qr import invoice_qr_payload, parse_invoice_qr
from vn_einvoice.xml import parse_xml, validate_xml

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "invoice.json"
SAMPLE = Path(__file__).parent / "data" / "unsigned.xml"
TT = "HDon/DLHDon/TTChung"
TOAN = "HDon/DLHDon/NDHDon/TToan"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def example():
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def write_json(tmp_path, data, name="doc.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


# --- build ---------------------------------------------------------------------------------------


def test_build_the_example(tmp_path, capsys):
    out_xml = tmp_path / "invoice.xml"
    code, out, err = run(capsys, "build", EXAMPLE, "--number", 42, "-o", out_xml)
    assert (code, err) == (0, "")
    assert out == f"wrote {out_xml}: template 1, symbol C26TAA, number 42, total 116575000 VND\n"
    data = out_xml.read_bytes()
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<HDon><DLHDon Id=\"data\">")
    assert validate_xml(data) == []
    inv = parse_xml(data)
    expected = invoice_from_json(EXAMPLE.read_bytes()).with_number(42)
    assert inv == expected.replace(qr_payload=invoice_qr_payload(expected))
    info = parse_invoice_qr(inv.qr_payload)
    assert (info.template, info.symbol, info.number) == ("1", "C26TAA", 42)
    root = etree.fromstring(data)
    assert [lt.findtext("TSuat") for lt in root.findall("DLHDon/NDHDon/TToan/THTTLTSuat/LTSuat")] == [
        "10%", "8%", "KCT"]
    assert root.find("DLHDon/NDHDon/TToan/THTTLTSuat/LTSuat[3]/TThue") is None
    assert [h.findtext("TChat") for h in root.findall("DLHDon/NDHDon/DSHHDVu/HHDVu")] == ["1", "1", "1", "3", "4"]
    assert root.findtext("DLHDon/NDHDon/TToan/TgTTTBChu") == (
        "Một trăm mười sáu triệu năm trăm bảy mươi lăm nghìn đồng chẵn")


def test_build_to_stdout_version_2_0_1_and_no_qr(capsysbinary):
    code = main(["build", str(EXAMPLE), "--number", "1", "--version", "2.0.1", "--no-qr", "-o", "-"])
    out, err = capsysbinary.readouterr()
    assert (code, err) == (0, b"")
    root = etree.fromstring(out)
    assert root.findtext("DLHDon/TTChung/PBan") == "2.0.1"
    assert root.find("DLHDon/TTChung/HDCTTChinh") is None
    assert root.find("DLQRCode") is None
    assert validate_xml(out) == []


def test_build_without_number_is_refused_unless_draft(tmp_path, capsys):
    out_xml = tmp_path / "x.xml"
    code, out, err = run(capsys, "build", EXAMPLE, "-o", out_xml)
    assert (code, out) == (2, "")
    assert err == f"error: the input is not valid:\n  - {TT}/SHDon: invoice number is missing\n"
    assert not out_xml.exists()
    code, out, err = run(capsys, "build", EXAMPLE, "--draft", "-o", out_xml)
    assert code == 0 and etree.fromstring(out_xml.read_bytes()).find("DLHDon/TTChung/SHDon") is None


def test_build_wrong_mst_names_the_field(tmp_path, capsys, example):
    example["seller"]["tax_code"] = "0312345678"
    code, out, err = run(capsys, "build", write_json(tmp_path, example), "--number", 1, "-o", tmp_path / "x.xml")
    assert code == 2
    assert err == ("error: the input is not valid:\n"
                   "  - HDon/DLHDon/NDHDon/NBan/MST: tax code (MST) '0312345678' is not valid: "
                   "its check digit is wrong\n")


def test_build_symbol_year_different_from_issue_year(tmp_path, capsys, example):
    example["symbol"] = "C25TAA"
    code, out, err = run(capsys, "build", write_json(tmp_path, example), "--number", 1, "-o", tmp_path / "x.xml")
    assert code == 2
    assert err == ("error: the input is not valid:\n"
                   f"  - {TT}/KHHDon: symbol 'C25TAA' is for the year 2025 but the invoice is issued on "
                   "20/11/2026: use the series of 2026\n")


def test_build_totals_that_do_not_add_up(tmp_path, capsys, example):
    example["totals"] = {"total_before_tax": "107150000", "total_tax": "9425000", "total": "116675000",
                         "total_in_words": "Một trăm mười sáu triệu sáu trăm bảy mươi lăm nghìn đồng chẵn"}
    code, out, err = run(capsys, "build", write_json(tmp_path, example), "--number", 1, "-o", tmp_path / "x.xml")
    assert code == 2
    assert err == ("error: the input is not valid:\n"
                   f"  - {TOAN}/TgTTTBSo: 107 150 000 + 9 425 000 VAT = 116 575 000, the total says 116 675 000\n")


def test_build_wrong_breakdown_and_line(tmp_path, capsys, example):
    example["lines"][0]["amount"] = "92000000"
    example["tax_breakdown"] = [{"rate": "10%", "taxable_amount": "90650000", "tax_amount": "9065000"},
                                {"rate": "8%", "taxable_amount": "4500000", "tax_amount": "360000"},
                                {"rate": "KCT", "taxable_amount": "12000000"}]
    code, out, err = run(capsys, "build", write_json(tmp_path, example), "--number", 1, "-o", tmp_path / "x.xml")
    assert code == 2
    lines = err.splitlines()
    assert lines[1] == ("  - HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[1]/ThTien: line 1: 5 × 18 500 000 = 92 500 000, "
                        "but the amount is 92 000 000")
    assert lines[2] == (f"  - {TOAN}/THTTLTSuat/LTSuat[TSuat=10%]/ThTien: lines at 10% add up to 90 150 000, "
                        "the breakdown says 90 650 000")


def test_build_bad_json_fields(tmp_path, capsys, example):
    example["issue_date"] = "20/11/2026"
    example["lines"][1]["kind"] = "gift"
    code, out, err = run(capsys, "build", write_json(tmp_path, example), "-o", tmp_path / "x.xml")
    assert code == 2
    assert err == ("error: the input is not valid:\n"
                   "  - lines[1].kind: 'gift' is not one of: goods, promotion, discount, note\n"
                   "  - issue_date: '20/11/2026' is not a date YYYY-MM-DD\n")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    code, out, err = run(capsys, "build", bad, "-o", tmp_path / "x.xml")
    assert code == 2 and err.startswith("error: the input is not valid:\n  - not valid JSON: ")


def test_build_missing_file(tmp_path, capsys):
    code, out, err = run(capsys, "build", tmp_path / "nope.json", "-o", tmp_path / "x.xml")
    assert code == 2
    assert err == f"error: No such file or directory: {tmp_path / 'nope.json'}\n"


@pytest.mark.skipif(importlib.util.find_spec("vn_einvoice.providers.sinvoice_mapping") is None,
                    reason="vn_einvoice/providers/sinvoice_mapping.py is not there yet")
def test_build_from_sinvoice(tmp_path, capsys):
    body = {
        "generalInvoiceInfo": {"invoiceType": "1", "templateCode": "1/001", "invoiceSeries": "C26TAA",
                               "invoiceIssuedDate": "2026-03-15", "currencyCode": "VND", "paymentType": "TM/CK"},
        "buyerInfo": {"buyerLegalName": "CÔNG TY CỔ PHẦN KHÁCH HÀNG MẪU", "buyerTaxCode": "0101234565",
                      "buyerAddressLine": "Hà Nội"},
        "sellerInfo": {"sellerLegalName": "CÔNG TY TNHH GIẢI PHÁP MẪU", "sellerTaxCode": "0312345673",
                       "sellerAddressLine": "TP. Hồ Chí Minh"},
        "payments": [{"paymentMethodName": "TM/CK"}],
        "itemInfo": [{"lineNumber": 1, "itemCode": "SP01", "itemName": "Máy tính", "unitName": "Chiếc",
                      "unitPrice": 3500000, "quantity": 10, "itemTotalAmountWithoutTax": 35000000,
                      "taxPercentage": 10, "taxAmount": 3500000}],
        "summarizeInfo": {"sumOfTotalLineAmountWithoutTax": 35000000, "totalAmountWithoutTax": 35000000,
                          "totalTaxAmount": 3500000, "totalAmountWithTax": 38500000,
                          "totalAmountWithTaxInWords": "Ba mươi tám triệu năm trăm nghìn đồng chẵn"},
        "taxBreakdowns": [{"taxPercentage": 10, "taxableAmount": 35000000, "taxAmount": 3500000}],
    }
    out_xml = tmp_path / "s.xml"
    # 2.0.1: the body does not say who the solution provider is (MSTTCGP, mandatory in 2.1.0)
    code, out, err = run(capsys, "build", write_json(tmp_path, body), "--from", "sinvoice", "--number", 7,
                         "--version", "2.0.1", "-o", out_xml)
    assert (code, err) == (0, "")
    assert validate_xml(out_xml.read_bytes()) == []
    inv = parse_xml(out_xml.read_bytes())
    assert (inv.template, inv.symbol, inv.number, inv.seller.tax_code) == ("1", "C26TAA", 7, "0312345673")
    assert (inv.totals.total, inv.totals.total_in_words) == (38500000, "Ba mươi tám triệu năm trăm nghìn đồng chẵn")
    body["sellerInfo"]["sellerTaxCode"] = "0312345678"
    code, out, err = run(capsys, "build", write_json(tmp_path, body), "--from", "sinvoice", "--number", 7,
                         "--version", "2.0.1", "-o", out_xml)
    assert code == 2 and "MST" in err and "0312345678" in err


# --- validate ------------------------------------------------------------------------------------

REGIME_210 = "Decree 123/2020 and Circular 78/2021 (now 32/2025): XML of Decisions 1450/1510/1271, PBan 2.1.0"


def test_validate_valid_file(tmp_path, capsys):
    out_xml = tmp_path / "ok.xml"
    assert run(capsys, "build", EXAMPLE, "--number", 1, "-o", out_xml)[0] == 0
    assert run(capsys, "validate", out_xml) == (0, f"{out_xml}: valid\n  regime: {REGIME_210}\n", "")


def test_validate_lists_the_problems_with_their_paths(capsys):
    code, out, err = run(capsys, "validate", SAMPLE)
    assert code == 1
    assert out == (
        f"{SAMPLE}: INVALID, 3 error(s), 0 warning(s)\n"
        f"  regime: {REGIME_210}\n"
        "  - error: HDon/DLHDon/NDHDon/NBan/MST: tax code (MST) '0312345678' is not valid: its check digit is wrong\n"
        "  - error: HDon/DLHDon/NDHDon/NMua/MST: tax code (MST) '0109876543' is not valid: its check digit is wrong\n"
        f"  - error: {TT}/MSTTCGP: tax code (MST) '0312345678' is not valid: its check digit is wrong\n"
    )


def test_validate_lenient_order_and_draft(tmp_path, capsys):
    good = tmp_path / "ok.xml"
    run(capsys, "build", EXAMPLE, "--draft", "-o", good)
    data = good.read_bytes().replace(b"<DVTTe>VND</DVTTe><HTTToan>TM/CK</HTTToan>",
                                     b"<HTTToan>TM/CK</HTTToan><DVTTe>VND</DVTTe>")
    bad = tmp_path / "bad.xml"
    bad.write_bytes(data)
    code, out, _ = run(capsys, "validate", bad)
    assert code == 1
    # the order is a warning (real producers use other orders, the tax authority accepts them)
    assert out.splitlines()[2:] == [f"  - error: {TT}/SHDon: invoice number is missing",
                                    f"  - warning: {TT}/DVTTe: is out of order: DVTTe must come before HTTToan"]
    assert run(capsys, "validate", bad, "--draft")[:2] == (0, f"{bad}: valid (0 error(s), 1 warning(s))\n"
                                                              f"  regime: {REGIME_210}\n  - warning: {TT}/DVTTe: is out "
                                                              "of order: DVTTe must come before HTTToan\n")
    assert run(capsys, "validate", bad, "--lenient-order", "--draft")[:2] == (
        0, f"{bad}: valid\n  regime: {REGIME_210}\n")


def test_validate_refuses_doctype(tmp_path, capsys):
    bad = tmp_path / "dtd.xml"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE HDon [<!ENTITY x "y">]><HDon/>', encoding="utf-8")
    code, out, _ = run(capsys, "validate", bad)
    assert code == 1
    assert out == (f"{bad}: INVALID, 1 error(s)\n"
                   "  - error: XML files with a DOCTYPE are refused (entity expansion is not allowed)\n")


# --- qr ------------------------------------------------------------------------------------------


def test_qr_prints_the_payload_on_its_last_line(tmp_path, capsys):
    out_xml = tmp_path / "ok.xml"
    run(capsys, "build", EXAMPLE, "--number", 42, "-o", out_xml)
    png = tmp_path / "qr.png"
    code, out, err = run(capsys, "qr", out_xml, "--png", png)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    payload = parse_xml(out_xml.read_bytes()).qr_payload
    assert lines[-1] == payload
    assert lines[0] == ("seller 0312345673, template 1, symbol C26TAA, number 42, date 20/11/2026, "
                        "total 116575000")
    assert lines[1] == f"wrote {png}"
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    info = parse_invoice_qr(lines[-1])
    assert (info.number, info.total) == (42, 116575000)


def test_qr_of_the_research_sample_uses_its_dlqrcode(capsys):
    code, out, _ = run(capsys, "qr", SAMPLE)
    assert code == 0
    assert out.splitlines()[-1] == parse_xml(SAMPLE.read_bytes()).qr_payload
    assert out.splitlines()[-1].endswith("6304107B")


def test_qr_computes_the_payload_when_the_file_has_none(tmp_path, capsys):
    out_xml = tmp_path / "noqr.xml"
    run(capsys, "build", EXAMPLE, "--number", 5, "--no-qr", "-o", out_xml)
    code, out, _ = run(capsys, "qr", out_xml)
    assert code == 0
    assert out.splitlines()[-1] == invoice_qr_payload(parse_xml(out_xml.read_bytes()))


def test_qr_of_a_draft_is_refused(tmp_path, capsys):
    out_xml = tmp_path / "draft.xml"
    run(capsys, "build", EXAMPLE, "--draft", "-o", out_xml)
    code, out, err = run(capsys, "qr", out_xml)
    assert code == 2
    assert "invoice has no number SHDon yet (ID 99.04)" in err


# --- words ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, printed", [
    (["38500000"], "Ba mươi tám triệu năm trăm nghìn đồng chẵn"),
    (["38,500,000"], "Ba mươi tám triệu năm trăm nghìn đồng chẵn"),
    (["-1100000"], "Âm một triệu một trăm nghìn đồng chẵn"),
    (["1234.50", "--currency", "USD"], "Một nghìn hai trăm ba mươi bốn đô la Mỹ và năm mươi xu"),
    (["1015000", "--south"], "Một triệu không trăm mười lăm ngàn đồng chẵn"),
])
def test_words(capsys, argv, printed):
    assert run(capsys, "words", *argv) == (0, printed + "\n", "")


def test_words_refuses_what_is_not_a_number(capsys):
    assert run(capsys, "words", "abc") == (2, "", "error: the input is not valid:\n  - AMOUNT: 'abc' is not a number\n")


def test_console_script_exit_codes(tmp_path):
    cmd = [sys.executable, "-m", "vn_einvoice.cli"]
    done = subprocess.run([*cmd, "words", "38500000"], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (0, "Ba mươi tám triệu năm trăm nghìn đồng chẵn\n")
    done = subprocess.run([*cmd, "validate", str(SAMPLE)], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    done = subprocess.run([*cmd, "build", str(EXAMPLE), "-o", str(tmp_path / "x.xml")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "SHDon: invoice number is missing" in done.stderr


# --- bench build (a smoke test; the figures are not asserted) -----------------------------------


def test_bench_build_runs_and_reports_its_figures():
    bench = pytest.importorskip("vn_einvoice.cli.bench")
    if "build" not in getattr(bench, "BENCHES", {}):
        pytest.skip("vn-einvoice bench build is not registered")
    for lines in (1, 2, 3, 20):
        assert len(bench.make_sample_invoice(lines).lines) == lines
    r = bench.bench_build(lines=5, seconds=0.02)
    assert r["lines"] == 5 and r["bytes"] > 1000
    assert r["built_per_s"] > 0 and r["serialize_only_per_s"] > r["built_per_s"]
    assert r["ratio"] == pytest.approx(r["built_per_s"] / r["serialize_only_per_s"])
