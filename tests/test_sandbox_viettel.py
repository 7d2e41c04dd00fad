"""The SInvoice sandbox over raw HTTP: seed 001's examples and answers, validation, auth, numbering, faults."""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from lxml import etree
from sinvoice_helpers import GMT7, SUPPLIER, client, invoice, new_uuid, running_sandbox, seed_body, series
from tools import require_tool

from vn_einvoice.sandbox.http import Faults, SandboxServer
from vn_einvoice.sandbox.viettel import V2_PREFIX, SandboxConfig, ViettelSandbox, parse_instant

BASIC = {"Authorization": "Basic " + base64.b64encode(b"demo:demo").decode()}
CREATE_KEYS = {"supplierTaxCode", "invoiceNo", "transactionID", "reservationCode"}


@pytest.fixture
def sandbox():
    with running_sandbox() as (server, app):
        yield server, app


def post(server, path, body=None, *, form=None, headers=None, method="POST", params=None):
    return requests.request(method, f"{server.url}/InvoiceAPI/{path}", json=body, data=form, params=params,
                            headers={**BASIC, **(headers or {})}, timeout=5)


def create(server, body, supplier=None):
    supplier = supplier or body["sellerInfo"]["sellerTaxCode"]
    return post(server, f"InvoiceWS/createInvoice/{supplier}", body)


def today_body(**general) -> dict:
    body = seed_body("original")
    body["generalInvoiceInfo"].update({
        "templateCode": "1/001", "invoiceType": "1", "invoiceSeries": series(),
        "invoiceIssuedDate": int(datetime.now(GMT7).timestamp() * 1000), "transactionUuid": new_uuid(), **general})
    body["sellerInfo"]["sellerTaxCode"] = SUPPLIER
    return body


# --- seed 001's examples, answered as the document shows ------------------------------------------


@pytest.mark.parametrize("name, supplier", [
    ("original", "0100109106-501"), ("adjustment_money", "6200000230-999"),
    ("adjustment_information", "6200000230-999"), ("custom_fields", "0100109106-501"),
])
def test_seed_create_examples_answer_the_documented_shape(sandbox, name, supplier):
    server, _ = sandbox
    response = create(server, seed_body(name), supplier)
    assert response.status_code == 200
    answer = response.json()
    assert answer.keys() == {"errorCode", "description", "result"} and (answer["errorCode"], answer["description"]) == ("", "")
    result = answer["result"]
    assert result.keys() == CREATE_KEYS and result["supplierTaxCode"] == supplier
    assert re.fullmatch(r"AA/17E\d{7}", result["invoiceNo"]) and re.fullmatch(r"[A-Z0-9]{10}", result["reservationCode"])
    assert result["transactionID"].isdigit()


def test_seed_draft_and_batch_examples(sandbox):
    server, app = sandbox
    draft = post(server, "InvoiceWS/createOrUpdateInvoiceDraft/0100109106-501", seed_body("draft_original")).json()
    assert draft["errorCode"] == "" and draft["result"].keys() == CREATE_KEYS and draft["result"]["invoiceNo"] is None
    batch = post(server, "InvoiceWS/createBatchInvoice/0100109106-501", seed_body("batch")).json()
    assert batch.keys() == {"createInvoiceOutputs", "lstMapError", "totalSuccess", "totalFail"}
    assert (batch["totalSuccess"], batch["totalFail"], batch["lstMapError"]) == (1, 0, [])
    (out,) = batch["createInvoiceOutputs"]
    assert out["errorCode"] is None and out["result"]["invoiceNo"] == "AA/17E0000001"
    assert len(app.drafts) == 1 and len(app.invoices()) == 1


SEED_XML = """<?xml version="1.0" encoding="UTF-8" ?>
<commonInvoiceInput>
<generalInvoiceInfo><invoiceType>01GTKT</invoiceType><templateCode>01GTKT0/062</templateCode>
<invoiceIssuedDate>2017-12-26+08:43</invoiceIssuedDate><currencyCode>VND</currencyCode>
<adjustmentType>1</adjustmentType><paymentStatus>true</paymentStatus><paymentType>TM</paymentType>
<paymentTypeName>TM</paymentTypeName><cusGetInvoiceRight>true</cusGetInvoiceRight><buyerIdNo>123456789</buyerIdNo>
<buyerIdType>1</buyerIdType></generalInvoiceInfo>
<buyerInfo><buyerName>Lương Thị Huyền</buyerName><buyerLegalName></buyerLegalName><buyerTaxCode></buyerTaxCode>
<buyerAddressLine>HN VN</buyerAddressLine><buyerPhoneNumber>09880830406</buyerPhoneNumber><buyerEmail></buyerEmail>
<buyerIdNo>123456789</buyerIdNo><buyerIdType>1</buyerIdType></buyerInfo>
<sellerInfo><sellerLegalName>Supplier perfom test 1</sellerLegalName><sellerTaxCode>0100109106-501</sellerTaxCode>
<sellerAddressLine>test</sellerAddressLine><sellerPhoneNumber>0123456789</sellerPhoneNumber>
<sellerEmail>PerformanceTest1@viettel.com.vn</sellerEmail><sellerBankName>vtbank</sellerBankName>
<sellerBankAccount>23423424</sellerBankAccount></sellerInfo>
<payments><paymentMethodName>TM</paymentMethodName></payments><deliveryInfo />
<itemInfo><lineNumber>1</lineNumber><itemCode>ENGLISH_COURSE</itemCode><itemName>Khóa học tiếng anh</itemName>
<unitName>khóa học</unitName><unitPrice>3500000</unitPrice><quantity>10</quantity>
<itemTotalAmountWithoutTax>35000000</itemTotalAmountWithoutTax><taxPercentage>10</taxPercentage>
<taxAmount>0</taxAmount><discount>0</discount><itemDiscount>0</itemDiscount></itemInfo>
<summarizeInfo><sumOfTotalLineAmountWithoutTax>35000000</sumOfTotalLineAmountWithoutTax>
<totalAmountWithoutTax>35000000</totalAmountWithoutTax><totalTaxAmount>3500000</totalTaxAmount>
<totalAmountWithTax>38500000</totalAmountWithTax>
<totalAmountWithTaxInWords>Ba mươi tám triệu năm trăm nghìn đồng chẵn</totalAmountWithTaxInWords>
<discountAmount>0</discountAmount><taxPercentage>10</taxPercentage></summarizeInfo>
<taxBreakdowns><taxPercentage>10</taxPercentage><taxableAmount>35000000</taxableAmount><taxAmount>3500000</taxAmount>
</taxBreakdowns>
</commonInvoiceInput>"""


def test_seed_xml_example_and_xml_answers(sandbox):
    server, _ = sandbox
    headers = {"Content-Type": "application/xml", "Accept": "application/xml"}
    response = requests.post(f"{server.url}/InvoiceAPI/InvoiceWS/createInvoice/0100109106-501",
                             data=SEED_XML.encode(), headers={**BASIC, **headers}, timeout=5)
    root = etree.fromstring(response.content)
    assert root.tag == "createInvoiceOutput" and root.findtext("result/invoiceNo") == "AA/17E0000001"
    assert re.fullmatch(r"[A-Z0-9]{10}", root.findtext("result/reservationCode"))
    wrong = SEED_XML.replace("01GTKT0/062", "01GTKT0/999").encode()
    root = etree.fromstring(requests.post(f"{server.url}/InvoiceAPI/InvoiceWS/createInvoice/0100109106-501",
                                          data=wrong, headers={**BASIC, **headers}, timeout=5).content)
    # seed 001: <createInvoiceOutput><description>Phải chọn loại template hóa đơn</description>
    #           <errorCode>TEMPLATE_NOT_FOUND</errorCode></createInvoiceOutput>
    assert root.tag == "createInvoiceOutput" and root.findtext("errorCode") == "TEMPLATE_NOT_FOUND"
    assert root.findtext("description") == "Phải chọn loại template hóa đơn"


def test_seed_file_portal_exchange_and_cancel_examples(sandbox):
    server, _ = sandbox
    body = seed_body("original")
    body["generalInvoiceInfo"].update(templateCode="01GTKT0/151", transactionUuid="testuuid9999999")
    body["sellerInfo"]["sellerTaxCode"] = SUPPLIER
    result = create(server, body).json()["result"]
    number = result["invoiceNo"]
    answer = post(server, "InvoiceUtilsWS/getInvoiceRepresentationFile", {
        "supplierTaxCode": SUPPLIER, "invoiceNo": number, "pattern": "01GTKT0/151",
        "transactionUuid": "testuuid9999999", "fileType": "ZIP"}).json()
    assert answer.keys() == {"errorCode", "description", "fileName", "fileToBytes", "paymentStatus"}
    assert base64.b64decode(answer["fileToBytes"])[:2] == b"PK" and answer["paymentStatus"] is True
    when = datetime.fromtimestamp(body["generalInvoiceInfo"]["invoiceIssuedDate"] / 1000, GMT7)
    form = {"supplierTaxCode": SUPPLIER, "invoiceNo": number, "strIssueDate": f"{when:%Y%m%d%H%M%S}",
            "fileType": "zip", "reservationCode": result["reservationCode"]}
    portal = post(server, "InvoiceUtilsWS/getInvoiceFilePortal", form=form).json()
    assert portal["fileName"] == f"{result['reservationCode']}-{number.replace('/', '_')}"  # LE3IMP8O5Y-NO_17E0000017
    by_get = post(server, "InvoiceUtilsWS/getInvoiceFilePortal", method="GET", params=form).json()
    assert by_get["fileToBytes"] and by_get["paymentStatus"] is True
    exchange = {"supplierTaxCode": SUPPLIER, "invoiceNo": number, "strIssueDate": f"{when:%Y%m%d}",
                "exchangeUser": "Đặng T.T Tâm"}
    pdf = post(server, "InvoiceWS/createExchangeInvoiceFile", form=exchange).json()
    assert base64.b64decode(pdf["fileToBytes"]).startswith(b"%PDF-")
    assert post(server, "InvoiceWS/createExchangeInvoiceFile", method="GET", params=exchange).json()["fileToBytes"]
    cancel = {"supplierTaxCode": SUPPLIER, "invoiceNo": number, "strIssueDate": f"{when:%Y%m%d%H%M%S}",
              "additionalReferenceDesc": "hello", "additionalReferenceDate": f"{when + timedelta(days=3):%Y%m%d%H%M%S}"}
    assert post(server, "InvoiceWS/cancelTransactionInvoice", form=cancel).json() == {
        "errorCode": None, "description": "CANCEL TRANSACTION INVOICE SUCCESS"}
    # the seed's own form example names an invoice this sandbox never issued
    example = "supplierTaxCode=0100109106-997&invoiceNo=AB%2F17E0000325&strIssueDate=20171219081259" \
              "&additionalReferenceDesc=hello&additionalReferenceDate=20171222081259"
    missing = post(server, "InvoiceWS/cancelTransactionInvoice", form=example,
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert missing.status_code == 400 and missing.json()["message"] == "NOT_FOUND_DATA"


def test_seed_query_and_report_examples(sandbox):
    server, _ = sandbox
    for _ in range(2):
        create(server, today_body(), SUPPLIER)
    listed = post(server, f"InvoiceUtilsWS/getInvoices/{SUPPLIER}", {
        "startDate": datetime.now(GMT7).strftime("%Y-%m-%dT00:00:00.000+07:00"),
        "endDate": datetime.now(GMT7).strftime("%Y-%m-%dT23:59:59.000+07:00"),
        "invoiceType": "1", "rowPerPage": 20, "pageNum": 1, "templateCode": None}).json()
    assert (listed["errorCode"], listed["description"], listed["totalRow"]) == (None, None, 2)
    assert list(listed["invoices"][0]) == [  # the fields of seed 001 §1.1.6, in its order
        "invoiceId", "invoiceType", "adjustmentType", "templateCode", "invoiceSeri", "invoiceNumber", "invoiceNo",
        "currency", "total", "issueDate", "issueDateStr", "state", "requestDate", "description", "buyerIdNo",
        "stateCode", "subscriberNumber", "paymentStatus", "viewStatus", "downloadStatus", "exchangeStatus",
        "numOfExchange", "createTime", "contractId", "contractNo", "supplierTaxCode", "buyerTaxCode",
        "totalBeforeTax", "taxAmount", "taxRate", "paymentMethod", "paymentTime", "customerId", "buyerName", "no",
        "paymentStatusName"]
    assert listed["invoices"][1]["invoiceNumber"] == "2" and listed["invoices"][0]["total"] == 38500000
    fields = requests.get(f"{server.url}/InvoiceAPI/InvoiceWS/getCustomFields?taxCode=0100109106"
                          f"&templateCode=01GTKT0%2f085", headers=BASIC, timeout=5).json()
    assert fields == [  # seed 001 §1.1.7, as written
        {"id": 189, "invoiceTemplatePrototypeId": 1032, "keyLabel": "Năm sinh", "keyTag": "buyerDateOfBirth",
         "valueType": "date", "isRequired": False, "isSeller": False},
        {"id": 190, "invoiceTemplatePrototypeId": 1032, "keyLabel": "Mã bệnh nhân", "keyTag": "buyerCode",
         "valueType": "number", "isRequired": False, "isSeller": False},
        {"id": 191, "invoiceTemplatePrototypeId": 1032, "keyLabel": "Khoa phòng", "keyTag": "buyerDepartments",
         "valueType": "text", "isRequired": False, "isSeller": True},
        {"id": 192, "invoiceTemplatePrototypeId": 1032, "keyLabel": "Lý do thu", "keyTag": "invoiceReason",
         "valueType": "text", "isRequired": False, "isSeller": True}]
    usage = post(server, "InvoiceUtilsWS/getProvidesStatusUsingInvoice",
                 {"supplierTaxCode": "0100109106", "pattern": "01GTKT0/003", "serial": "AA/18E"}).json()
    assert usage == {"errorCode": None, "description": None, "status": 200, "numOfpublishInv": 0,
                     "totalInv": 9999999}
    today = datetime.now(GMT7).strftime("%d/%m/%Y")
    control = post(server, "InvoiceUtilsWS/getListInvoiceDataControl",
                   {"supplierTaxCode": "0100109106", "fromDate": "10/03/2018", "toDate": today}).json()
    assert (control["errorCode"], len(control["lstInvoiceBO"])) == (None, 2)
    declared = post(server, "InvoiceUtilsWS/updateTaxDeclaration",
                    {"supplierTaxCode": "0100109106", "strIssueDate": "14/03/2018"}).json()
    assert declared == {"errorCode": "Cập nhật kê khai thuế thành công", "description": None}  # sic (seed 001)
    mail = post(server, "InvoiceUtilsWS/sendHtmlMailProcess", {
        "supplierTaxCode": "0100109106", "lstTransactionUuid": "idtest9999999999,testuuid8888888,transactionUuid123"})
    assert mail.status_code == 400 and mail.json()["message"] == "BAD_REQUEST_TRANSACTION_UUID_LENGTH_INVALID"


# --- validation (error envelope) and business refusals (business envelope) ------------------------


def mutate(path: str, value):
    def apply(body):
        target = body
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
        return body
    return apply


@pytest.mark.parametrize("change, code", [
    (mutate("buyerInfo.buyerName", KeyError), "BAD_REQUEST_BUYER_NAME_REQUIRED"),
    (mutate("buyerInfo.buyerPhoneNumber", "09-88"), "BUYER_PHONE_NUMBER_INVALID"),
    (mutate("itemInfo.0.itemName", KeyError), "ITEM_NAME_NULL"),
    (mutate("itemInfo.0.itemName", "x" * 301), "ITEM_NAME_INVALID"),
    (mutate("itemInfo.0.unitPrice", -1), "BAD_REQUEST_ITEM_VALUES_NEGATIVE"),
    (mutate("itemInfo.0.lineNumber", 0), "BAD_REQUEST_LINE_NUMBER_INVALID"),
    (mutate("generalInvoiceInfo.currencyCode", "vnd"), "BAD_REQUEST_CURRENCY_CODE_INVALID"),
    (mutate("generalInvoiceInfo.adjustmentType", "2"), "BAD_REQUEST_ADJUSTMENT_TYPE_INVALID"),
    (mutate("generalInvoiceInfo.invoiceSeries", "AA/17"), "BAD_REQUEST_INVOICE_SERIAL_MIN_LENGTH"),
    (mutate("generalInvoiceInfo.transactionUuid", "x" * 37), "BAD_REQUEST_TRANSACTION_UUID_LENGTH_INVALID"),
    (mutate("generalInvoiceInfo.invoiceIssuedDate", "soon"), "BAD_REQUEST_INVOICE_ISSUED_DATE_INVALID"),
    (mutate("generalInvoiceInfo.paymentType", KeyError), "BAD_REQUEST_PAYMENT_TYPE_REQUIRED"),
    (mutate("generalInvoiceInfo.cusGetInvoiceRight", "maybe"), "BAD_REQUEST_CUS_GET_INVOICE_RIGHT_INVALID"),
    (mutate("sellerInfo.sellerEmail", "x@"), "BAD_REQUEST_SELLER_EMAIL_INVALID"),
    (mutate("payments", []), "BAD_REQUEST_PAYMENT_INFO_REQUIRED"),
    (mutate("summarizeInfo.totalTaxAmount", KeyError), "BAD_REQUEST_TOTAL_TAX_AMOUNT_REQUIRED"),
    (mutate("taxBreakdowns.0.taxPercentage", -3), "BAD_REQUEST_TAX_PERCENTAGE_INVALID"),
    (mutate("generalInvoiceInfo.adjustmentType", "5"), "BAD_REQUEST_INVOICE_NOTE_REQUIRED"),
])
def test_validation_answers_the_error_envelope(sandbox, change, code):
    server, app = sandbox
    response = create(server, change(seed_body("original")))
    assert response.status_code == 400 and response.json()["code"] == 400
    assert response.json()["message"] == code and response.json()["data"]
    assert not app.invoices()


def test_unparsable_body(sandbox):
    server, _ = sandbox
    response = requests.post(f"{server.url}/InvoiceAPI/InvoiceWS/createInvoice/{SUPPLIER}", data=b"{not json",
                             headers={**BASIC, "Content-Type": "application/json"}, timeout=5)
    assert response.status_code == 400 and response.json()["message"] == "JSON_PARSE_ERROR"


def business(response):
    assert response.status_code == 200
    answer = response.json()
    assert answer["result"] is None
    return answer["errorCode"]


def test_business_refusals(sandbox):
    server, _ = sandbox
    assert business(create(server, today_body(templateCode="1/999"), SUPPLIER)) == "TEMPLATE_NOT_FOUND"
    assert business(create(server, today_body(invoiceSeries="K26TZZ"), SUPPLIER)) == "OUT_OF_INVOICE_NO"
    future = int((datetime.now(GMT7) + timedelta(days=1)).timestamp() * 1000)
    assert business(create(server, today_body(invoiceIssuedDate=future), SUPPLIER)) == \
        "INVOICE_ISSUED_DATE_OVER_CURRENT_TIME"
    assert create(server, today_body(), SUPPLIER).json()["result"]["invoiceNo"] == f"{series()}1"
    earlier = int((datetime.now(GMT7) - timedelta(days=2)).timestamp() * 1000)
    assert business(create(server, today_body(invoiceIssuedDate=earlier), SUPPLIER)) == "INVOICE_ISSUED_DATE_INVALID"
    assert business(create(server, today_body(), "0100109107")) == "DONOT_HAVE_PERMISSION"  # MST check digit
    several = seed_body("original")
    several["generalInvoiceInfo"].update(templateCode="01GTKT0/003")
    del several["generalInvoiceInfo"]["invoiceSeries"]
    response = create(server, several)
    assert response.status_code == 400 and response.json()["message"] == "BAD_REQUEST_INVOICE_SERIAL_REQUIRED"


def test_series_runs_out():
    templates = {"1/001": {"invoiceType": "1", "series": {series(): 2}}}
    with running_sandbox(templates=templates) as (server, _):
        for expected in ("1", "2"):
            assert create(server, today_body(), SUPPLIER).json()["result"]["invoiceNo"] == series() + expected
        assert business(create(server, today_body(), SUPPLIER)) == "OUT_OF_INVOICE_NO"


def test_user_limited_to_its_tax_codes():
    users = [{"username": "kt", "password": "pw-123", "tax_codes": ["0100109106"]}]
    with running_sandbox(users=users) as (server, _):
        auth = {"Authorization": "Basic " + base64.b64encode(b"kt:pw-123").decode()}
        assert create(server, today_body(), SUPPLIER).status_code == 500  # demo is not a user here
        ok = post(server, f"InvoiceWS/createInvoice/{SUPPLIER}", today_body(), headers=auth).json()
        assert ok["errorCode"] == ""
        other = post(server, "InvoiceWS/createInvoice/0312770607", today_body(), headers=auth)
        assert business(other) == "DONOT_HAVE_PERMISSION"


# --- protocol: content types, methods, auth -------------------------------------------------------


def test_content_types_and_methods(sandbox):
    server, _ = sandbox
    assert post(server, "InvoiceWS/cancelTransactionInvoice", {"supplierTaxCode": SUPPLIER}).status_code == 415
    as_form = post(server, f"InvoiceWS/createInvoice/{SUPPLIER}", form={"generalInvoiceInfo": "x"})
    assert as_form.status_code == 415
    assert post(server, f"InvoiceWS/createInvoice/{SUPPLIER}", method="GET").status_code == 405
    assert post(server, "InvoiceWS/nothingHere").status_code == 404
    # Odoo's way: form fields as query parameters with an empty body
    odoo = requests.post(f"{server.url}/InvoiceAPI/InvoiceWS/searchInvoiceByTransactionUuid",
                         params={"supplierTaxCode": SUPPLIER, "transactionUuid": new_uuid()},
                         headers={**BASIC, "Content-Type": "application/x-www-form-urlencoded;"}, timeout=5)
    assert odoo.status_code == 400 and odoo.json()["message"] == "NOT_FOUND_DATA" and "result" not in odoo.json()


def test_authentication(sandbox):
    server, app = sandbox
    url = f"{server.url}/InvoiceAPI/InvoiceWS/createInvoice/{SUPPLIER}"
    for headers in ({}, {"Authorization": "Basic " + base64.b64encode(b"demo:nope").decode()}):
        response = requests.post(url, json=today_body(), headers=headers, timeout=5)
        assert (response.status_code, response.text) == (500, "Request Fail")  # seed 001
    v2 = f"{server.url}{V2_PREFIX}/InvoiceAPI/InvoiceWS/createInvoice/{SUPPLIER}"
    assert requests.post(v2, json=today_body(), timeout=5).status_code == 401
    bad = requests.post(f"{server.url}/auth/login", json={"username": "demo", "password": "x"}, timeout=5)
    assert bad.status_code == 401 and bad.json() == {
        "type": "https://www.jhipster.tech/problem/problem-with-message", "title": "Unauthorized", "status": 401,
        "detail": '{"error": "invalid_grant", "error_description": "Bad credentials"}', "path": "/auth/login",
        "message": "error.http.401"}
    login = requests.post(f"{server.url}/auth/login", json={"username": "demo", "password": "demo"}, timeout=5).json()
    assert {"access_token", "token_type", "refresh_token", "expires_in", "scope", "iat", "invoice_cluster", "type",
            "jti"} == set(login) and login["expires_in"] == 298 and login["token_type"] == "bearer"
    token = login["access_token"]
    assert token.count(".") == 2
    by_cookie = requests.post(v2, json=today_body(), cookies={"access_token": token}, timeout=5).json()
    by_bearer = requests.post(url, json=today_body(), headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
    assert by_cookie["errorCode"] == by_bearer["errorCode"] == ""
    app.clock = lambda: 10 ** 10  # long after: the token has expired
    expired = requests.post(v2, json=today_body(), cookies={"access_token": token}, timeout=5)
    assert expired.status_code == 401 and expired.json()["title"] == "Unauthorized"


# --- numbering, keys, state -----------------------------------------------------------------------


def test_numbering_is_thread_safe_and_keys_give_one_number(sandbox):
    server, app = sandbox
    errors: list = []
    shared = today_body()

    def work(n):
        try:
            session = requests.Session()
            for _ in range(n):
                assert session.post(f"{server.url}/InvoiceAPI/InvoiceWS/createInvoice/{SUPPLIER}", json=today_body(),
                                    headers=BASIC, timeout=10).json()["errorCode"] == ""
            for _ in range(3):  # the same key from every thread at once
                session.post(f"{server.url}/InvoiceAPI/InvoiceWS/createInvoice/{SUPPLIER}", json=shared,
                             headers=BASIC, timeout=10)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(20,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    numbers = sorted(r["number"] for r in app.invoices())
    assert numbers == list(range(1, 162)) and app.replays == 23
    legacy = create(server, seed_body("original")).json()["result"]["invoiceNo"]
    assert legacy == "AA/17E0000001"  # another template and series: its own numbering


def test_key_valid_three_days_and_reject_mode():
    now = [datetime.now(GMT7).timestamp()]
    with running_sandbox() as (server, app):
        app.clock = lambda: now[0]
        body = today_body()
        first = create(server, body, SUPPLIER).json()["result"]
        assert create(server, body, SUPPLIER).json()["result"] == first
        now[0] += 3 * 86400 + 60  # seed 001: a transactionUuid is valid for 3 days
        body["generalInvoiceInfo"]["invoiceIssuedDate"] = int(now[0] * 1000)
        assert create(server, body, SUPPLIER).json()["result"]["invoiceNo"] == f"{series()}2"
    with running_sandbox(duplicate_uuid="reject") as (server, app):
        body = today_body()
        create(server, body, SUPPLIER)
        again = create(server, body, SUPPLIER)
        assert again.status_code == 400 and again.json() == {
            "code": 400, "message": "TRANSACTION_UUID_INVALID", "data": "Transaction Uuid đã được lập hóa đơn"}


def test_state_file_survives_a_restart(tmp_path):
    state = tmp_path / "state.json"
    with running_sandbox(state_file=str(state)) as (server, _), client(server) as c:
        first = c.issue(invoice(), transaction_uuid=(uuid := new_uuid()))
    with running_sandbox(state_file=str(state)) as (server, _), client(server) as c:
        assert c.lookup(uuid).invoice_no == first.invoice_no
        assert c.issue(invoice(), transaction_uuid=new_uuid()).number == 2


def test_config_file_and_admin_endpoints(tmp_path):
    path = tmp_path / "sandbox.json"
    path.write_text(json.dumps({"token_ttl": 600, "faults": [{"op": "createInvoice", "kind": "error500",
                                                               "times": 1}], "seed": 3}))
    app = ViettelSandbox(SandboxConfig.load(path))
    with pytest.raises(ValueError):
        SandboxConfig.from_dict({"nonsense": 1})
    with SandboxServer(app) as server:
        assert create(server, today_body(), SUPPLIER).status_code == 500 and not app.invoices()  # not processed
        assert create(server, today_body(), SUPPLIER).json()["errorCode"] == ""
        admin = server.admin_headers  # the control endpoints want the server's token
        assert requests.get(f"{server.url}/_sandbox/stats", timeout=5).status_code == 401
        rules = requests.post(f"{server.url}/_sandbox/faults", json={"faults": [
            {"op": "createInvoice", "kind": "rate_limit", "retry_after": 5, "every": 2}]}, headers=admin,
            timeout=5).json()
        assert len(rules) == 1 and rules[0]["kind"] == "rate_limit"
        assert create(server, today_body(), SUPPLIER).status_code == 200
        limited = create(server, today_body(), SUPPLIER)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "5"
        requests.post(f"{server.url}/_sandbox/faults", json={"kind": "drop", "op": "createInvoice", "times": 1},
                      headers=admin, timeout=5)
        assert len(requests.get(f"{server.url}/_sandbox/faults", headers=admin, timeout=5).json()) == 2
        requests.delete(f"{server.url}/_sandbox/faults", headers=admin, timeout=5)
        stats = requests.get(f"{server.url}/_sandbox/stats", headers=admin, timeout=5).json()
        assert stats["createInvoice"] == 4 and stats["fault:error500"] == 1 and stats["fault:rate_limit"] == 1
        state = requests.get(f"{server.url}/_sandbox/state", headers=admin, timeout=5).json()
        assert len(state["invoices"]) == 2
        requests.post(f"{server.url}/_sandbox/reset", headers=admin, timeout=5)
        assert not app.invoices()
        assert not requests.get(f"{server.url}/_sandbox/stats", headers=admin, timeout=5).json()


def test_fault_selection_by_count_and_probability():
    faults = Faults(seed=1)
    faults.add(op="a", kind="drop", after=2, times=2)
    assert [bool(faults.pick("a")) for _ in range(6)] == [False, False, True, True, False, False]
    assert faults.pick("b") is None
    faults.clear()
    faults.add(op="*", kind="error500", probability=0.5)
    hits = sum(bool(faults.pick("x")) for _ in range(1000))
    assert 400 < hits < 600
    with pytest.raises(ValueError):
        faults.add(kind="explode")


def test_dates_the_sandbox_reads():
    ms = parse_instant("20171219081259")
    assert datetime.fromtimestamp(ms / 1000, GMT7) == datetime(2017, 12, 19, 8, 12, 59, tzinfo=GMT7)
    assert parse_instant("2017-12-26+08:43") == parse_instant("2017-12-26T00:00:00+08:43")
    assert parse_instant("2017-12-12T10:14:32.611+07:00") == 1513048472611
    assert parse_instant("1517301625626") == 1517301625626
    assert parse_instant("Tue, 30 Jan 2018 08:40:25 GMT") == 1517301625000
    assert parse_instant("14/03/2018") == parse_instant("2018-03-14") and parse_instant("nope") is None


# --- the command line -----------------------------------------------------------------------------


def test_cli_serves_until_interrupted(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "vn_einvoice.cli", "sandbox", "viettel", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline()
        url = re.search(r"http://\S+", first).group(0)
        lines = [proc.stdout.readline() for _ in range(4)]
        assert any("user 'demo', password 'demo'" in line for line in lines)
        login = requests.post(f"{url}/auth/login", json={"username": "demo", "password": "demo"}, timeout=5)
        assert login.status_code == 200 and login.json()["access_token"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err


def test_pdf_is_a_real_pdf(sandbox, tmp_path):
    server, _ = sandbox
    result = create(server, copy.deepcopy(seed_body("original"))).json()["result"]
    answer = post(server, "InvoiceUtilsWS/getInvoiceRepresentationFile", {
        "supplierTaxCode": "0100109106-501", "invoiceNo": result["invoiceNo"], "pattern": "01GTKT0/170",
        "fileType": "PDF"}).json()
    path = tmp_path / answer["fileName"]
    path.write_bytes(base64.b64decode(answer["fileToBytes"]))
    text = subprocess.run([require_tool("pdftotext", "poppler-utils"), str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "HOA DON GIA TRI GIA TANG" in text and result["reservationCode"] in text


def odoo_body(uuid: str) -> dict:
    """The body Odoo 18's l10n_vn_edi_viettel sends (its test snapshot, today's series): no lineNumber, no
    summarizeInfo, its own extra keys."""
    now = int(datetime.now(GMT7).timestamp()) * 1000
    return {
        "generalInvoiceInfo": {"transactionUuid": uuid, "invoiceType": "1", "templateCode": "1/001",
                               "invoiceSeries": series(), "invoiceIssuedDate": now, "currencyCode": "VND",
                               "adjustmentType": "1", "paymentStatus": False, "cusGetInvoiceRight": True,
                               "validation": 1},
        "buyerInfo": {"buyerName": "partner_a", "buyerLegalName": "partner_a", "buyerTaxCode": "0100109106-505",
                      "buyerAddressLine": "121 Hang Bac Street", "buyerPhoneNumber": "38257670",
                      "buyerEmail": "partner_a@gmail.com", "buyerDistrictName": "Hà Nội",
                      "buyerCityName": "Hoan Kiem District", "buyerCountryCode": "VN", "buyerNotGetInvoice": 0},
        "sellerInfo": {"sellerLegalName": "company_1_data", "sellerTaxCode": "0100109106-506",
                       "sellerAddressLine": "test", "sellerPhoneNumber": "62661275", "sellerEmail": "test@test.com",
                       "sellerDistrictName": "Hà Nội", "sellerCountryCode": "VN",
                       "sellerWebsite": "http://test_company.com"},
        "payments": [{"paymentMethodName": "TM/CK"}],
        "itemInfo": [{"itemCode": "BN/1035", "itemName": "product_a", "unitName": "Units", "unitPrice": 1000.0,
                      "quantity": 1.0, "itemTotalAmountWithoutTax": 1000.0, "taxPercentage": 10.0,
                      "taxAmount": 100.0, "discount": 0.0, "itemTotalAmountAfterDiscount": 1000.0,
                      "itemTotalAmountWithTax": 1100.0, "selection": 1}],
        "taxBreakdowns": [{"taxPercentage": 10.0, "taxableAmount": 1000.0, "taxAmount": 100.0,
                           "taxableAmountPos": True, "taxAmountPos": True}],
    }


def test_odoo_18_request_flow_works_against_the_sandbox(sandbox):
    """Odoo's calls as its module makes them (cookie token, form fields as query parameters)."""
    server, app = sandbox
    base, supplier = f"{server.url}{V2_PREFIX}/InvoiceAPI/", "0100109106-506"
    token = requests.post(f"{server.url}/auth/login", json={"username": "demo", "password": "demo"},
                          timeout=5).json()["access_token"]
    cookies, form = {"access_token": token}, {"Content-Type": "application/x-www-form-urlencoded;"}
    uuid = new_uuid()
    body = odoo_body(uuid)
    created = requests.post(f"{base}InvoiceWS/createInvoice/{supplier}", json=body, cookies=cookies, timeout=5).json()
    number = created["result"]["invoiceNo"]
    assert created["errorCode"] == "" and number == f"{series()}1"
    found = requests.post(f"{base}InvoiceWS/searchInvoiceByTransactionUuid", cookies=cookies, headers=form,
                          params={"supplierTaxCode": supplier, "transactionUuid": uuid}, timeout=5).json()
    assert found["result"][0]["invoiceNo"] == number and found["result"][0]["status"] == "Chưa thanh toán"
    issued = body["generalInvoiceInfo"]["invoiceIssuedDate"]
    for file_type in ("ZIP", "PDF"):
        file = requests.post(f"{base}InvoiceUtilsWS/getInvoiceRepresentationFile", cookies=cookies, timeout=5, json={
            "supplierTaxCode": supplier, "templateCode": "1/001", "invoiceNo": number, "strIssueDate": issued,
            "transactionUuid": uuid, "fileType": file_type}).json()
        assert file["fileToBytes"] and file["fileName"]
    paid = requests.post(f"{base}InvoiceWS/updatePaymentStatus", cookies=cookies, headers=form, timeout=5, params={
        "supplierTaxCode": supplier, "invoiceNo": number, "strIssueDate": issued, "templateCode": "1/001"}).json()
    assert paid["result"] is True
    again = requests.post(f"{base}InvoiceWS/updatePaymentStatus", cookies=cookies, headers=form, timeout=5, params={
        "supplierTaxCode": supplier, "invoiceNo": number, "strIssueDate": issued, "templateCode": "1/001"})
    assert again.json()["message"] == "NOT_FOUND_DATA"  # why Odoo looks the status up first
    cancelled = requests.post(f"{base}InvoiceWS/cancelTransactionInvoice", cookies=cookies, headers=form, timeout=5,
                              params={"supplierTaxCode": supplier, "templateCode": "1/001", "invoiceNo": number,
                                      "strIssueDate": issued, "additionalReferenceDesc": "NA",
                                      "additionalReferenceDate": issued, "reasonDelete": "test"}).json()
    assert cancelled["description"] == "CANCEL TRANSACTION INVOICE SUCCESS"
    # what Odoo 18 misreads: a refusal in the business envelope has no `code`/`error` key
    refused = odoo_body(new_uuid())
    refused["generalInvoiceInfo"]["templateCode"] = "1/999"
    answer = requests.post(f"{base}InvoiceWS/createInvoice/{supplier}", json=refused, cookies=cookies,
                           timeout=5).json()
    assert answer["errorCode"] == "TEMPLATE_NOT_FOUND" and not (answer.get("code") or answer.get("error"))
    assert answer["result"] is None  # Odoo then fails on result['reservationCode']
    # the seed-001 paths still want lineNumber (its field table: required)
    strict = requests.post(f"{server.url}/InvoiceAPI/InvoiceWS/createInvoice/{supplier}", json=odoo_body(new_uuid()),
                           headers=BASIC, timeout=5)
    assert strict.json()["message"] == "BAD_REQUEST_LINE_NUMBER_REQUIRED"
