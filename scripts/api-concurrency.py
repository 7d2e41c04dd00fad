"""Concurrent retries against a live Odoo (run by scripts/api-schemathesis): 8 threads send the same
``invoice/create`` with the same ``Idempotency-Key`` at once; all must get the same invoice and number,
and the server must hold exactly one. Then 8 creates with 8 keys: 8 invoices, 8 consecutive numbers.

    python scripts/api-concurrency.py PORT APIKEY SESSIONKEY"""

import sys
import threading
from datetime import date
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's library
from vn_einvoice.providers import get_provider  # noqa: E402
from vn_einvoice.samples import sample_invoice  # noqa: E402

PORT, APIKEY, SESSION = sys.argv[1], sys.argv[2], sys.argv[3]
URL = f"http://127.0.0.1:{PORT}/einvoice/api/v1"
HEADERS = {"apikey": APIKEY, "sessionkey": SESSION}
day = date.today().strftime("%Y%m%d")
BODY = {
    "CompanyName": "VN Company", "CompanyAddress": "-", "CompanyTaxCode": "0312345673", "InvoiceForm": "1",
    "SerialNo": f"C{date.today():%y}TAA", "InvoiceDate": day, "PaymentDate": day, "Tax": 10, "TotalTax": 100_000,
    "TotalBeforTax": 1_000_000, "TotalAfterTax": 1_100_000, "AmountWords": "Một triệu một trăm nghìn đồng",
    "CurrencyCode": "VND", "ExchangeRates": 1, "CustomerName": "Kế toán", "CustomerTaxCode": "0101234565",
    "CustomerCompanyName": "Công ty Cổ phần Khách hàng Mẫu", "CustomerAddress": "Hà Nội",
    "CustomerEmail": "ap@buyer.example.vn", "CustomerPaymentMethodID": "TM/CK",
    "InvoiceProducts": [{"Name": "Dịch vụ", "Unit": "lần", "Quantity": 1, "Cost": 1_000_000, "Amount": 1_000_000}],
}


def burst(keys):
    answers = [None] * len(keys)

    def one(i):
        r = requests.post(f"{URL}/invoice/create", json=BODY, timeout=120,
                          headers={**HEADERS, "Idempotency-Key": keys[i]})
        answers[i] = (r.status_code, r.json())

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(keys))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


same = burst(["retry-1"] * 8)
codes = {(s, a["responsecode"]) for s, a in same}
ids = {a.get("InvoiceId") for _s, a in same}
print(f"same key x8: answers {sorted(codes)}, invoices {sorted(map(str, ids))}")
if codes != {(200, 0)} or len(ids) != 1:
    print(f"!! concurrent retries with one key did not all get the same invoice: {same}")
    sys.exit(1)
bills = requests.post(f"{URL}/invoice/getBillsByDate", json={"FromDate": day, "ToDate": day}, headers=HEADERS,
                      timeout=60).json()["bills"]
mine = [b for b in bills if b["EinvoiceNumber"] == same[0][1]["InvoiceNo"]]
print(f"invoices numbered {same[0][1]['InvoiceNo']}: {len(mine)}")
if len(mine) != 1:
    print("!! the number was given twice")
    sys.exit(1)
print("-- concurrency: 8 concurrent retries of one key, one invoice")

invoice = sample_invoice(lines=1, note=False, number=None)
results = []
for _attempt in range(2):  # two clients, as after a restart: the server's Idempotency-Key answers the second
    with get_provider("portal", base_url=URL + "/", username=APIKEY, password=SESSION,
                      supplier_tax_code="0312345673") as client:
        results.append(client.issue(invoice, transaction_uuid="seed-002-client-1"))
print(f"seed-002 client: {[(r.invoice_no, r.exchange_status) for r in results]}")
if results[0].invoice_no != results[1].invoice_no or results[0].exchange_status != "USING/SIGNED":
    print("!! our seed-002 client did not get one issued invoice")
    sys.exit(1)
print("-- seed-002 client: issued through the server, once")
