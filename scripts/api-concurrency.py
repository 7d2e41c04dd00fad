"""Concurrent retries against a live Odoo (run by scripts/api-schemathesis): 8 threads send the same
``invoice/create`` with the same ``Idempotency-Key`` at once; all must get the same invoice and number,
and the server must hold exactly one. Then 8 threads x ROUNDS creates, each with its own key, on one series:
every answer 200 (or the documented 503 "busy", sent again with the same key until 200), one invoice per
key, the series' numbers 1..N exactly once each. Series K<yy>TAW of the demo company (signed here, without
the tax authority's code: scripts/api-schemathesis-setup.py makes it).

    python scripts/api-concurrency.py PORT APIKEY SESSIONKEY"""

import sys
import threading
import time
from dataclasses import replace
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
    "SerialNo": f"K{date.today():%y}TAW", "InvoiceDate": day, "PaymentDate": day, "Tax": 10, "TotalTax": 100_000,
    "TotalBeforTax": 1_000_000, "TotalAfterTax": 1_100_000, "AmountWords": "Một triệu một trăm nghìn đồng",
    "CurrencyCode": "VND", "ExchangeRates": 1, "CustomerName": "Kế toán", "CustomerTaxCode": "0101234565",
    "CustomerCompanyName": "Công ty Cổ phần Khách hàng Mẫu", "CustomerAddress": "Hà Nội",
    "CustomerEmail": "ap@buyer.example.vn", "CustomerPaymentMethodID": "TM/CK",
    "InvoiceProducts": [{"Name": "Dịch vụ", "Unit": "lần", "Quantity": 1, "Cost": 1_000_000, "Amount": 1_000_000}],
}


ROUNDS = 3
busy = []  # 503 answers (each sent again with the same key)


def create(key):
    while True:
        r = requests.post(f"{URL}/invoice/create", json=BODY, timeout=120, headers={**HEADERS, "Idempotency-Key": key})
        if r.status_code != 503:
            return r.status_code, r.json()
        answer = r.json()
        if answer.get("responsecode") != 5 or not r.headers.get("Retry-After"):
            return r.status_code, answer
        busy.append(key)
        time.sleep(int(r.headers["Retry-After"]))


def burst(keys, rounds=1):
    answers = [None] * (len(keys) * rounds)

    def one(i):
        for n in range(rounds):
            answers[i * rounds + n] = create(keys[i] if rounds == 1 else f"{keys[i]}-{n}")

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

started = time.monotonic()
many = burst([f"many-{i}" for i in range(8)], ROUNDS)
elapsed = time.monotonic() - started
statuses = sorted({(s, a["responsecode"]) for s, a in many})
ids = [a.get("InvoiceId") for _s, a in many]
numbers = sorted(int(a.get("InvoiceNo") or 0) for _s, a in many)
print(f"8 threads x {ROUNDS} keys: answers {statuses}, {len(set(ids))} invoices, {len(busy)} busy (503) answers "
      f"sent again, {elapsed:.1f} s")
if statuses != [(200, 0)] or len(set(ids)) != len(many):
    print(f"!! concurrent creates with their own keys failed: {[a for a in many if a[0] != 200][:3]}")
    sys.exit(1)
bills = requests.post(f"{URL}/invoice/getBillsByDate", json={"FromDate": day, "ToDate": day}, headers=HEADERS,
                      timeout=60).json()["bills"]
series = sorted(int(b["EinvoiceNumber"]) for b in bills if b["SignsInvoice"] == BODY["SerialNo"])
if series != list(range(1, len(series) + 1)) or not set(numbers) <= set(series):
    print(f"!! the numbers of series {BODY['SerialNo']} are not 1..N once each: {series}")
    sys.exit(1)
print(f"series {BODY['SerialNo']}: numbers 1..{len(series)} once each, {len(numbers)} of them by this burst")
print("-- concurrency: concurrent creates with their own keys, no error, no number twice or skipped")

invoice = replace(sample_invoice(lines=1, note=False, number=None), symbol=BODY["SerialNo"])
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
