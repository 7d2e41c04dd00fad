"""The Viettel SInvoice client against the sandbox over real HTTP: every operation, both auth styles."""

from __future__ import annotations

import io
import json
import re
import subprocess
import zipfile
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from lxml import etree
from sinvoice_helpers import (
    BUYER,
    SUPPLIER,
    client,
    invoice,
    line,
    new_uuid,
    rich_invoice,
    running_sandbox,
    seed_body,
    series,
    today,
)
from tools import require_tool

import vn_einvoice.sandbox.viettel as sandbox_module
from vn_einvoice.cli import main
from vn_einvoice.document import ExtraField, IdKind, Line, LineKind, Party, RelatedInvoice, RelationKind
from vn_einvoice.errors import ValidationError
from vn_einvoice.providers import PROVIDERS, get_provider
from vn_einvoice.providers.base import (
    BatchEntry,
    FileKind,
    InvoiceRef,
    ProviderAuthError,
    ProviderRefused,
    ProviderUnavailable,
    ProviderUnknownOutcome,
)
from vn_einvoice.providers.viettel import ERROR_EXPLANATIONS, ViettelSInvoice, explain


@pytest.fixture
def sandbox():
    with running_sandbox() as (server, app):
        yield server, app


@pytest.fixture(params=["basic", "token"])
def sinvoice(request, sandbox):
    server, app = sandbox
    with client(server, request.param) as c:
        yield c, app


def record(app, uuid):
    (rec,) = [r for r in app.invoices() if r["transactionUuid"] == uuid]
    return rec


# --- issue, idempotency key, look-up --------------------------------------------------------------


def test_issue_returns_number_code_and_is_idempotent(sinvoice):
    c, app = sinvoice
    uuid = new_uuid()
    r = c.issue(invoice(), transaction_uuid=uuid)
    assert (r.invoice_no, r.symbol, r.number, r.template) == (f"{series()}1", series(), 1, "1/001")
    assert re.fullmatch(r"[A-Z0-9]{10}", r.reservation_code) and r.transaction_id.isdigit()
    assert r.transaction_uuid == uuid and r.issued_at.date() == today() and not r.found_by_lookup
    assert r.authority_code == ""  # K series: no tax-authority code
    again = c.issue(invoice(), transaction_uuid=uuid)  # same key: the same invoice, never a second number
    assert (again.invoice_no, again.reservation_code) == (r.invoice_no, r.reservation_code)
    assert len(app.invoices()) == 1 and app.replays == 1
    found = c.lookup(uuid)
    assert (found.invoice_no, found.reservation_code, found.paid, found.found_by_lookup) == (
        r.invoice_no, r.reservation_code, False, True)
    assert c.lookup(new_uuid()) is None
    second = c.issue(invoice(), transaction_uuid=new_uuid())
    assert second.number == 2


def test_coded_series_returns_the_tax_authority_code(sinvoice):
    c, _ = sinvoice
    r = c.issue(invoice(letter="C"), transaction_uuid=new_uuid())
    assert r.symbol == series("C") and re.fullmatch(r"[0-9A-F]{34}", r.authority_code)
    found = c.lookup(r.transaction_uuid)
    assert found.authority_code == r.authority_code and found.exchange_status == "INVOICE_HAS_CODE_APPROVED"


def test_mapping_reaches_the_wire_exactly(sinvoice):
    """0 % stays 0 (not -2 as in Odoo), KCT -2, KKKNT -1, note lines are sent (selection 2), discounts (3)."""
    c, app = sinvoice
    uuid = new_uuid()
    c.issue(rich_invoice(), transaction_uuid=uuid, user_name="Kế toán A")
    body = record(app, uuid)["body"]
    items = body["itemInfo"]
    assert [it.get("taxPercentage") for it in items] == [10, 8, 0, -2, -1, 10, None]
    assert [it.get("selection") for it in items] == [None, None, None, None, None, 3, 2]
    assert items[5]["isIncreaseItem"] is False and items[6]["itemName"].startswith("Giao theo hợp đồng")
    assert body["generalInvoiceInfo"]["userName"] == "Kế toán A"
    assert sorted(b["taxPercentage"] for b in body["taxBreakdowns"]) == [-2, -1, 0, 8, 10]


def test_foreign_currency_and_buyer_identity(sinvoice):
    c, app = sinvoice
    uuid = new_uuid()
    buyer = Party(name="John Smith", address="1 Main Street, Singapore", id_kind=IdKind.PASSPORT,
                  id_number="K1234567", country_code="SG")
    inv = invoice([line("Consulting", 1, 100, "0%")], buyer=buyer, currency="USD", exchange_rate=Decimal("25400"))
    c.issue(inv, transaction_uuid=uuid)
    g = record(app, uuid)["body"]["generalInvoiceInfo"]
    assert g["currencyCode"] == "USD" and Decimal(str(g["exchangeRate"])) == 25400
    assert (g["buyerIdType"], g["buyerIdNo"]) == ("2", "K1234567")


def test_every_seed_example_is_accepted_as_written(sandbox):
    server, app = sandbox
    for name, supplier in (("original", "0100109106-501"), ("adjustment_money", "6200000230-999"),
                           ("adjustment_information", "6200000230-999"), ("custom_fields", "0100109106-501")):
        with client(server, "basic", supplier=supplier) as c:
            r = c.issue(seed_body(name), transaction_uuid=None if name != "custom_fields" else new_uuid())
            assert r.invoice_no.startswith("AA/17E") and len(r.reservation_code) == 10
    with client(server, "token", supplier="0100109106-501") as c:
        body = seed_body("batch")["commonInvoiceInputs"][0]
        result = c.issue_batch([BatchEntry(body, new_uuid())])
        assert result.items[0].ok and result.issued[0].invoice_no.startswith("AA/17E")
        draft = c.save_draft(seed_body("draft_original"), transaction_uuid=new_uuid())
        assert draft.raw["result"]["invoiceNo"] is None


# --- adjustment, replacement, cancellation --------------------------------------------------------


def related(kind: RelationKind, original, note: str) -> RelatedInvoice:
    return RelatedInvoice(kind, template="1", symbol=original.symbol, number=str(original.number),
                          issue_date=original.issued_at.date(), note=note)


def test_money_and_information_adjustments_and_replacement(sinvoice):
    c, app = sinvoice
    original = c.issue(invoice(), transaction_uuid=new_uuid())
    agreement = {"agreement_name": "Biên bản điều chỉnh 01", "agreement_date": today()}
    decrease = invoice([Line("Bút bi Thiên Long", unit="cái", quantity=Decimal(2), unit_price=Decimal(-5000),
                             amount=Decimal(-10000), tax_rate=line().tax_rate)],
                       related=related(RelationKind.ADJUSTMENT, original, "Điều chỉnh giảm số lượng"))
    money = c.adjust(decrease, transaction_uuid=new_uuid(), kind="money", **agreement)
    g = record(app, money.transaction_uuid)["body"]["generalInvoiceInfo"]
    assert (g["adjustmentType"], g["adjustmentInvoiceType"], g["originalInvoiceId"], g["originalTemplateCode"]) == (
        "5", "1", original.invoice_no, "1/001")
    assert record(app, money.transaction_uuid)["body"]["itemInfo"][0]["isIncreaseItem"] is False
    info = invoice([Line("Điều chỉnh tên người mua thành Công ty CP Sao Mai Xanh", kind=LineKind.NOTE)],
                   related=related(RelationKind.ADJUSTMENT, original, "Điều chỉnh thông tin người mua"))
    adjusted = c.adjust(info, transaction_uuid=new_uuid(), kind="information", **agreement)
    assert record(app, adjusted.transaction_uuid)["body"]["generalInvoiceInfo"]["adjustmentInvoiceType"] == "2"
    replacement = invoice(related=related(RelationKind.REPLACEMENT, original, "Thay thế hóa đơn sai tên hàng"))
    replaced = c.replace(replacement, transaction_uuid=new_uuid(), **agreement)
    assert record(app, replaced.transaction_uuid)["body"]["generalInvoiceInfo"]["adjustmentType"] == "3"
    assert record(app, original.transaction_uuid)["replacedBy"] == replaced.invoice_no
    with pytest.raises(ProviderRefused) as e:  # a replaced invoice cannot be corrected again
        c.replace(replacement, transaction_uuid=new_uuid(), **agreement)
    assert e.value.code == "INVOICE_STATUS_INVALID" and "Decree 70/2025" in e.value.explanation
    with pytest.raises(ValidationError):
        c.adjust(invoice(), transaction_uuid=new_uuid(), kind="money", **agreement)  # no related invoice


def test_cancel_where_allowed(sinvoice):
    c, app = sinvoice
    r = c.issue(invoice(), transaction_uuid=new_uuid())
    with pytest.raises(ProviderRefused) as e:  # another issue time: SInvoice does not find it
        c.cancel(replace(r.ref, issued_at=r.issued_at - timedelta(days=1)), agreement_name="BB huỷ 01",
                 agreement_date=today())
    assert e.value.code == "NOT_FOUND_DATA" and e.value.http_status == 400
    c.cancel(r.ref, agreement_name="Biên bản hủy 01", agreement_date=today(), reason="Sai thông tin")
    assert record(app, r.transaction_uuid)["status"] == "cancelled"
    assert c.lookup(r.transaction_uuid).cancelled
    with pytest.raises(ProviderRefused) as e:
        c.cancel(r.ref, agreement_name="Biên bản hủy 01", agreement_date=today())
    assert e.value.code == "INVOICE_STATUS_INVALID"


def test_cancel_refused_after_decree_70():
    with running_sandbox(cancel="legacy") as (server, _), client(server) as c:
        r = c.issue(invoice(), transaction_uuid=new_uuid())
        with pytest.raises(ProviderRefused) as e:
            c.cancel(r.ref, agreement_name="BB", agreement_date=today())
        assert e.value.code == "INVOICE_STATUS_INVALID" and "70/2025" in e.value.explanation_vi


# --- payment status -------------------------------------------------------------------------------


def test_payment_status_update_and_cancel(sinvoice):
    c, app = sinvoice
    r = c.issue(invoice(), transaction_uuid=new_uuid())
    paid = c.set_payment_status(r.ref, True, payment_type="CK")
    assert paid.changed and paid.paid and paid.paid_at is not None and paid.method == "CK"
    assert record(app, r.transaction_uuid)["paid"] is True and c.lookup(r.transaction_uuid).paid is True
    assert not c.set_payment_status(r.ref, True).changed  # looked up first: SInvoice would refuse
    assert c.set_payment_status(r.ref, False).changed
    assert record(app, r.transaction_uuid)["paid"] is False
    no_key = replace(r.ref, transaction_uuid="")
    with pytest.raises(ProviderRefused) as e:  # without the key, no look-up: SInvoice's own answer
        c.set_payment_status(no_key, False)
    assert e.value.code == "NOT_FOUND_DATA"
    with pytest.raises(ProviderRefused) as e:
        c.set_payment_status(no_key, True, buyer_email="not-an-email")
    assert e.value.code == "EMAIL_INVALID" and "e-mail" in e.value.explanation


# --- drafts, preview, batch -----------------------------------------------------------------------


def test_draft_create_update_then_issue(sinvoice):
    c, app = sinvoice
    uuid = new_uuid()
    c.save_draft(invoice(), transaction_uuid=uuid)
    c.save_draft(invoice(buyer=replace(BUYER, name="Công ty Cổ phần Sao Mai Xanh")), transaction_uuid=uuid)
    assert len(app.drafts) == 1 and not app.invoices()
    (draft,) = app.drafts.values()
    assert draft["body"]["buyerInfo"]["buyerName"] == "Công ty Cổ phần Sao Mai Xanh"
    assert c.lookup(uuid) is None  # a draft is not an invoice
    r = c.issue(invoice(), transaction_uuid=uuid)
    assert r.number == 1 and not app.drafts
    with pytest.raises(ProviderRefused) as e:  # the error envelope: {code: 400, message, data}
        c.save_draft(invoice(), transaction_uuid=uuid)
    assert e.value.code == "TRANSACTION_UUID_INVALID" and e.value.http_status == 400


def test_preview_is_a_pdf_and_stores_nothing(sinvoice):
    c, app = sinvoice
    f = c.preview(invoice(), transaction_uuid=new_uuid())
    assert f.content.startswith(b"%PDF-") and f.kind is FileKind.PDF and not app.invoices()


def test_batch_issue_in_chunks_with_a_refused_item(sandbox):
    server, app = sandbox
    with client(server, batch_size=3) as c:
        entries = [BatchEntry(invoice(), new_uuid()) for _ in range(7)]
        bad = seed_body("original")
        bad["generalInvoiceInfo"].update(templateCode="01GTKT0/999", transactionUuid=new_uuid())
        entries.insert(3, BatchEntry(bad, bad["generalInvoiceInfo"]["transactionUuid"]))
        result = c.issue_batch(entries)
        assert app.stats["createBatchInvoice"] == 3  # 8 invoices, 3 per request
        assert [i.result.number for i in result.items if i.ok] == [1, 2, 3, 4, 5, 6, 7]
        (failed,) = result.failed
        assert failed.transaction_uuid == entries[3].transaction_uuid and failed.error.code == "TEMPLATE_NOT_FOUND"
        assert "not registered" in failed.error.explanation


def test_batch_refuses_locally_invalid_items_and_duplicate_keys(sandbox):
    server, _ = sandbox
    with client(server) as c:
        uuid = new_uuid()
        result = c.issue_batch([(invoice(), uuid), (invoice(), uuid), (invoice(), "x" * 37)])
        assert result.items[0].ok
        assert all(isinstance(i.error, ValidationError) for i in result.items[1:])


# --- files ----------------------------------------------------------------------------------------


def test_pdf_zip_xml_portal_and_exchange_files(sinvoice, tmp_path):
    c, _ = sinvoice
    r = c.issue(invoice(), transaction_uuid=new_uuid())
    pdf = c.download(r.ref, "pdf")
    assert pdf.content.startswith(b"%PDF-") and pdf.mimetype == "application/pdf" and pdf.paid is False
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf.content)
    subprocess.run([require_tool("pdftoppm", "poppler-utils"), "-png", "-r", "30", str(path),
                    str(tmp_path / "page")], check=True, capture_output=True)
    assert list(tmp_path.glob("page*.png"))
    archive = c.download(r.ref, FileKind.ZIP)
    with zipfile.ZipFile(io.BytesIO(archive.content)) as outer:  # a zip holding a zip, as SInvoice sends it
        (inner_name,) = outer.namelist()
        with zipfile.ZipFile(io.BytesIO(outer.read(inner_name))) as inner:
            assert sorted(n.rsplit(".", 1)[1] for n in inner.namelist()) == ["pdf", "xml", "xsl"]
    xml = c.download(r.ref, "xml")
    root = etree.fromstring(xml.content)
    assert root.tag == "HDon" and root.findtext("DLHDon/TTChung/SHDon") == "1"
    assert root.findtext("DLHDon/TTChung/KHHDon") == series()
    portal = c.portal_file(r.invoice_no, r.reservation_code, r.issued_at, file_type="zip")
    assert portal.file_name == f"{r.reservation_code}-{r.invoice_no}.zip"
    assert zipfile.ZipFile(io.BytesIO(portal.content)).namelist()
    portal_xml = c.portal_file(r.invoice_no, r.reservation_code, r.issued_at, file_type="xml", method="GET")
    assert etree.fromstring(portal_xml.content).tag == "HDon"
    with pytest.raises(ProviderRefused) as e:
        c.portal_file(r.invoice_no, "WRONGCODE1", r.issued_at)
    assert e.value.code == "NOT_FOUND_DATA"
    exchanged = c.download(r.ref, FileKind.EXCHANGE_PDF, exchange_user="Nguyễn Văn An")
    assert exchanged.content.startswith(b"%PDF-") and b"CHUYEN DOI" in exchanged.content


def test_files_not_ready_yet_are_fetched_again():
    with running_sandbox(file_delay=0.2) as (server, _):
        with client(server, file_retries=1) as c:
            r = c.issue(invoice(), transaction_uuid=new_uuid())
            with pytest.raises(ProviderUnavailable):
                c.download(r.ref, "pdf")
        with client(server, file_retries=3, sleep=lambda s: __import__("time").sleep(0.15)) as c:
            assert c.download(r.ref, "pdf").content.startswith(b"%PDF-")


# --- reports and set-up ---------------------------------------------------------------------------


def test_listing_reconciliation_usage_templates(sinvoice):
    c, _ = sinvoice
    issued = [c.issue(invoice(), transaction_uuid=new_uuid()) for _ in range(3)]
    c.issue(invoice(letter="C"), transaction_uuid=new_uuid())
    page = c.list_invoices(today(), today(), per_page=2, invoiceSeri=series())
    assert page.total == 3 and [r.invoice_no for r in page.rows] == [i.invoice_no for i in issued[:2]]
    page2 = c.list_invoices(today(), today(), page=2, per_page=2, invoiceSeri=series())
    assert [r.number for r in page2.rows] == [3] and page2.rows[0].paid is False
    assert page2.rows[0].buyer_tax_code == BUYER.tax_code and page2.rows[0].total == 55000
    rows = c.invoices_between(today() - timedelta(days=1), today())
    assert {r.transaction_uuid for r in rows} >= {i.transaction_uuid for i in issued}
    usage = c.usage("1/001", series())
    assert (usage.used, usage.total, usage.remaining) == (3, 99_999_999, 99_999_996)
    templates = c.templates()
    assert ("1/001", series("C")) in {(t.template, t.symbol) for t in templates}
    assert len(c.usage_all()) == len(templates)
    assert c.check_connection() == templates


def test_custom_fields_and_metadata(sinvoice, sandbox):
    c, app = sinvoice
    server, _ = sandbox
    fields = c.custom_fields("01GTKT0/085")
    assert [(f.id, f.key, f.value_type, f.seller_side) for f in fields] == [
        (189, "buyerDateOfBirth", "date", False), (190, "buyerCode", "number", False),
        (191, "buyerDepartments", "text", True), (192, "invoiceReason", "text", True)]
    with client(server, "basic", supplier="0100109106-501") as legacy:
        r = legacy.issue(seed_body("custom_fields"), transaction_uuid=new_uuid())
        assert len(record(app, r.transaction_uuid)["body"]["metadata"]) == 4
        extras = (ExtraField("buyerCode", "12323", "numeric"), ExtraField("invoiceReason", "Khám bệnh"),
                  ExtraField("buyerDateOfBirth", "1990-05-01", "date"))
        doc = invoice(template="01GTKT0/085", symbol="AA/17E", extra=extras)
        r = legacy.issue(doc, transaction_uuid=new_uuid(), template_code=None)
        metadata = record(app, r.transaction_uuid)["body"]["metadata"]
        assert [(m["invoiceCustomFieldId"], m["keyLabel"], m["valueType"]) for m in metadata] == [
            (190, "Mã bệnh nhân", "number"), (192, "Lý do thu", "text"), (189, "Năm sinh", "date")]
        assert metadata[0]["numberValue"] == 12323 and metadata[2]["dateValue"].isdigit()
        bad = seed_body("custom_fields")
        bad["metadata"][1]["invoiceCustomFieldId"] = 999
        with pytest.raises(ProviderRefused) as e:
            legacy.issue(bad, transaction_uuid=new_uuid())
        assert e.value.code == "BAD_REQUEST_METADATA_INVALID" and "custom field" in e.value.explanation


def test_send_email_and_tax_declaration(sinvoice):
    c, app = sinvoice
    r = c.issue(invoice(), transaction_uuid=new_uuid())
    c.send_email([r.transaction_uuid])
    assert app.mails[-1]["to"] == BUYER.email and app.mails[-1]["invoiceNo"] == r.invoice_no
    with pytest.raises(ProviderRefused) as e:
        c.send_email(["too-short-key"])
    assert e.value.code == "BAD_REQUEST_TRANSACTION_UUID_LENGTH_INVALID"
    c.update_tax_declaration(today())  # its success text comes in errorCode (sic): not an error
    with pytest.raises(ProviderRefused) as e:
        c.cancel(r.ref, agreement_name="BB", agreement_date=today())
    assert e.value.code == "INVOICE_STATUS_INVALID"


# --- errors: both envelopes, plain words ----------------------------------------------------------


def test_business_envelope_refusal_is_not_a_success(sinvoice):
    """Odoo 18 reads only {code, message, data}: TEMPLATE_NOT_FOUND would pass there as a success."""
    c, _ = sinvoice
    with pytest.raises(ProviderRefused) as e:
        c.issue(invoice(), transaction_uuid=new_uuid(), template_code="1/999")
    err = e.value
    assert (err.code, err.http_status, err.raw["result"]) == ("TEMPLATE_NOT_FOUND", 200, None)
    assert err.explanation == ERROR_EXPLANATIONS["TEMPLATE_NOT_FOUND"][0] and err.explanation_vi
    assert not err.may_have_gone_through


def test_error_envelope_refusal(sinvoice):
    c, _ = sinvoice
    body = c.build_body(invoice(), transaction_uuid=new_uuid())
    body["buyerInfo"]["buyerPhoneNumber"] = "0988 ABC"
    with pytest.raises(ProviderRefused) as e:
        c.issue(body)
    assert (e.value.code, e.value.http_status, e.value.raw["code"]) == ("BUYER_PHONE_NUMBER_INVALID", 400, 400)
    assert "digits only" in e.value.explanation
    body = c.build_body(invoice(), transaction_uuid=new_uuid())
    del body["buyerInfo"]["buyerName"]
    with pytest.raises(ProviderRefused) as e:
        c.issue(body)
    assert e.value.code == "BAD_REQUEST_BUYER_NAME_REQUIRED" and "“buyer name” of the invoice is missing" in \
        e.value.explanation


def test_every_code_the_sandbox_sends_is_explained():
    source = Path(sandbox_module.__file__).read_text("utf-8")
    codes = set(re.findall(r"(?:Refusal|_bad)\(\s*\"([A-Z_]+)\"", source)) | {"REQUEST_FAIL", "UNAUTHORIZED"}
    assert len(codes) > 15
    generic = explain("SOMETHING_NEW")[0]
    for code in codes:
        assert explain(code)[0] != generic, code
    assert explain("BAD_REQUEST_SELLER_EMAIL_INVALID")[0] == "The field “seller email” of the invoice is not valid."


# --- authentication -------------------------------------------------------------------------------


def test_basic_auth_failure_is_request_fail(sandbox):
    server, _ = sandbox
    with client(server, "basic", password="Xq7-bad-pass") as c, pytest.raises(ProviderAuthError) as e:
        c.issue(invoice(), transaction_uuid=new_uuid())
    assert e.value.code == "REQUEST_FAIL" and "IP address" in e.value.explanation
    assert "Xq7-bad-pass" not in str(e.value) + repr(e.value.raw)


def test_token_login_failure(sandbox):
    server, _ = sandbox
    with client(server, password="wrong") as c, pytest.raises(ProviderAuthError) as e:
        c.check_connection()
    assert e.value.code == "UNAUTHORIZED" and e.value.http_status == 401 and "Bad credentials" in str(e.value)


def test_token_cached_refreshed_on_401_and_bearer(sandbox):
    server, app = sandbox
    cache: dict = {}
    with client(server, token_cache=cache) as c:
        c.issue(invoice(), transaction_uuid=new_uuid())
        c.templates()
        assert app.stats["login"] == 1
        app.tokens.clear()  # the provider forgets the session: 401, one new login, same request again
        c.issue(invoice(), transaction_uuid=new_uuid())
        assert app.stats["login"] == 2 and len(app.invoices()) == 2
    with client(server, token_cache=cache) as other:  # a second client of the same account reuses the token
        other.templates()
        assert app.stats["login"] == 2
    with client(server, token_transport="bearer") as c:
        assert c.issue(invoice(), transaction_uuid=new_uuid()).number == 3


def test_token_refreshed_before_expiry():
    with running_sandbox(token_ttl=20) as (server, app):  # expiring within 30 s: refreshed each time
        with client(server) as c:
            c.templates()
            c.templates()
        assert app.stats["login"] == 2


def test_unknown_supplier_tax_code(sandbox):
    server, _ = sandbox
    with client(server, supplier="0100109107") as c, pytest.raises(ProviderRefused) as e:
        c.issue(invoice(), transaction_uuid=new_uuid())
    assert e.value.code == "DONOT_HAVE_PERMISSION"


def test_registry_and_factory(sandbox):
    server, _ = sandbox
    assert PROVIDERS["viettel"] is ViettelSInvoice
    with get_provider("viettel", base_url=server.url, username="demo", password="demo",
                      supplier_tax_code=SUPPLIER, auth="basic", template_code="1/001") as c:
        assert c.issue(invoice(), transaction_uuid=new_uuid()).number == 1
        assert "demo" in repr(c) and "password" not in repr(c)
    with pytest.raises(KeyError):
        get_provider("nope")


def test_ref_without_issue_time_is_looked_up(sinvoice):
    c, _ = sinvoice
    r = c.issue(invoice(), transaction_uuid=new_uuid())
    ref = InvoiceRef(r.invoice_no, r.template, None, r.transaction_uuid)
    assert c.set_payment_status(ref, True).changed
    with pytest.raises(ValidationError):
        c.cancel(InvoiceRef(r.invoice_no, r.template), agreement_name="BB", agreement_date=today())


def test_bench_provider_prints_figures(capsys):
    assert main(["bench", "provider", "--count", "12", "--batch-size", "5"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    figures = dict(part.split("=") for part in last.split())
    assert figures["one_by_one_round_trips"] == "13" and figures["batch_round_trips"] == "4"
    assert figures["odoo_round_trips"] == "37" and float(figures["ratio"]) > 0


def answer_of(status: int, content, operation: str = "op"):
    response = requests.Response()
    response.status_code = status
    response._content = content if isinstance(content, bytes) else json.dumps(content).encode()
    c = ViettelSInvoice("http://127.0.0.1:9/", "demo", "demo", SUPPLIER, auth="basic")
    return c._answer(response, operation)


@pytest.mark.parametrize("status, content, error, code", [
    (200, {"errorCode": "TEMPLATE_NOT_FOUND", "description": "Phải chọn loại template hóa đơn", "result": None},
     ProviderRefused, "TEMPLATE_NOT_FOUND"),
    (400, {"code": 400, "message": "EMAIL_INVALID", "data": "Email không hợp lệ"}, ProviderRefused, "EMAIL_INVALID"),
    (200, {"code": 400, "message": "TRANSACTION_UUID_INVALID", "data": "Transaction Uuid đã được lập hóa đơn"},
     ProviderRefused, "TRANSACTION_UUID_INVALID"),
    (200, {"code": 500, "message": "GENERAL", "error": "Internal Server Error"}, ProviderRefused, "GENERAL"),
    (401, {"type": "https://www.jhipster.tech/problem/problem-with-message", "title": "Unauthorized",
           "status": 401, "detail": "x", "path": "/auth/login", "message": "error.http.401"},
     ProviderAuthError, "UNAUTHORIZED"),
    (404, b"<html>Not Found</html>", ProviderRefused, "HTTP_404"),
    (403, {"timestamp": 1, "status": 403, "error": "Forbidden"}, ProviderRefused, "Forbidden"),
])
def test_both_envelopes_are_read(status, content, error, code):
    with pytest.raises(error) as e:
        answer_of(status, content)
    assert e.value.code == code and e.value.http_status == status and e.value.explanation


def test_answers_that_are_successes():
    assert answer_of(200, {"errorCode": "Cập nhật kê khai thuế thành công", "description": None})["errorCode"]
    assert answer_of(200, [{"id": 1}]) == [{"id": 1}]
    assert answer_of(200, {"errorCode": None, "description": None, "result": True})["result"] is True
    assert answer_of(200, {"errorCode": "", "description": "", "result": {}})["result"] == {}
    with pytest.raises(ProviderUnknownOutcome):
        answer_of(200, b"<html>proxy page</html>", "createInvoice")
