"""The SInvoice wire helpers shared by the client, the mapping and the sandbox."""

from __future__ import annotations

from datetime import date, datetime

from vn_einvoice.providers import files_in_zip, xml_in_zip
from vn_einvoice.providers.sinvoice_wire import (
    BAD_REQUEST_RE,
    GMT7,
    PATHS,
    answer_flag,
    answer_time,
    business,
    business_error,
    envelope_error,
    error_envelope,
    field_code,
    file_in_zip,
    from_ms,
    join_invoice_no,
    json_flag,
    ms,
    parse_instant,
    problem,
    split_invoice_no,
    text_date,
)
from vn_einvoice.sandbox.files import make_zip


def test_paths():
    assert PATHS["createInvoice"] == "InvoiceAPI/InvoiceWS/createInvoice/{tax}"
    assert PATHS["getInvoiceRepresentationFile"] == "InvoiceAPI/InvoiceUtilsWS/getInvoiceRepresentationFile"


def test_instants_are_taken_in_gmt7():
    midnight = datetime(2024, 1, 1, tzinfo=GMT7)
    assert ms(date(2024, 1, 1)) == ms(datetime(2024, 1, 1)) == ms(midnight) == 1704042000000
    assert from_ms(1704042000000) == midnight and text_date(date(2024, 1, 1)) == "20240101000000"
    assert answer_time("1704042000000") == answer_time("2024-01-01T00:00:00+07:00") == midnight
    assert answer_time("01/01/2024") == midnight and answer_time("soon") is None and answer_time(True) is None
    assert parse_instant("20240101") == 1704042000000
    assert parse_instant("2024-01-01", end_of_day=True) == 1704042000000 + 86_400_000 - 1


def test_flags():
    assert json_flag("TRUE") is True and json_flag(" false ") is False and json_flag(" true", strip=False) is None
    assert json_flag(1) is None and answer_flag(1) is True and answer_flag("Y") is True and answer_flag("") is None


def test_envelopes_as_the_sandbox_writes_and_the_client_reads_them():
    assert envelope_error(error_envelope("BAD_REQUEST_X_REQUIRED", "thiếu", 400), 400) == (
        "BAD_REQUEST_X_REQUIRED", "thiếu")
    assert envelope_error(problem("/auth/login", "Bad credentials"), 401) == ("HTTP_401", "Bad credentials")
    assert envelope_error(business(), 200) is None and business_error(business()) is None
    assert business_error(business("Cập nhật kê khai thuế thành công")) is None
    assert business_error(business("TEMPLATE_NOT_FOUND", "Không có mẫu", result=None)) == (
        "TEMPLATE_NOT_FOUND", "Không có mẫu")
    assert field_code("invoiceSeries") == "BAD_REQUEST_INVOICE_SERIES"
    assert BAD_REQUEST_RE.match(field_code("buyerEmail") + "_INVALID").groups() == ("BUYER_EMAIL", "INVALID")


def test_invoice_numbers():
    assert join_invoice_no("AA/17E", 3470) == "AA/17E0003470" and join_invoice_no("K24TUT", "1") == "K24TUT1"
    assert split_invoice_no("AA/17E0003470") == ("AA/17E", "0003470") and split_invoice_no("x") == ("", "x")


def test_files_in_provider_zips():
    inner = make_zip({"K24TAA1.xml": b"<HDon/>", "K24TAA1.pdf": b"%PDF"})
    outer = make_zip({"K24TAA1.zip": inner})  # SInvoice's ZIP holds another ZIP
    assert xml_in_zip(outer) == ("K24TAA1.xml", b"<HDon/>")
    assert file_in_zip(outer, ".PDF") == ("K24TAA1.pdf", b"%PDF")
    assert files_in_zip(outer) == {"K24TAA1.zip": inner, "K24TAA1.zip/K24TAA1.xml": b"<HDon/>",
                                   "K24TAA1.zip/K24TAA1.pdf": b"%PDF"}
    assert xml_in_zip(make_zip({"a/b.xml": b"1", "c.zip": make_zip({"d.xml": b"2"})})) == ("b.xml", b"1")
    assert xml_in_zip(b"not a zip") is None and files_in_zip(b"") == {}
    assert xml_in_zip(make_zip({"only.pdf": b"%PDF"})) is None
