"""The VNPT client (zeep, VNPT's WSDLs) against its SOAP sandbox over real HTTP: operations, ERR:n, exactly once."""

from __future__ import annotations

import base64
import logging
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from lxml import etree
from sinvoice_helpers import BUYER, invoice, line, new_uuid, series, today

from vn_einvoice.cli import main
from vn_einvoice.document import RelatedInvoice, RelationKind
from vn_einvoice.errors import ValidationError
from vn_einvoice.providers import PROVIDERS, get_provider
from vn_einvoice.providers.base import (
    FileKind,
    InvoiceRef,
    ProviderAuthError,
    ProviderRefused,
    ProviderUnavailable,
    ProviderUnknownOutcome,
)
from vn_einvoice.providers.http import RetryPolicy
from vn_einvoice.providers.vnpt import VnptInvoice, explain, fkey_of, parse_issued, parse_serials, to_vnpt_xml
from vn_einvoice.sandbox.http import SandboxServer
from vn_einvoice.sandbox.vnpt import VnptSandbox

KINDS = ["delay", "drop", "error500", "rate_limit", "commit_drop", "commit_delay"]
TIGHT = {"timeouts": (0.5, 0.15), "retry": RetryPolicy(attempts=10, backoff=0.005, max_backoff=0.04)}


@contextmanager
def running(**config):
    app = VnptSandbox(config)
    with SandboxServer(app) as server:
        yield server, app


def client(server, **kw) -> VnptInvoice:
    settings = {"base_url": server.url, "username": "demoservice", "password": "demo", "account": "demoadmin",
                "acpassword": "demo", "supplier_tax_code": "0100109106", **TIGHT}
    settings.update(kw)
    return get_provider("vnpt", **settings)


def related(kind, original, note="Sai đơn giá"):
    return RelatedInvoice(kind, template="1", symbol=original.symbol, number=str(original.number),
                          issue_date=original.issued_at.date(), note=note)


def test_registered_and_the_xml_of_the_manual():
    assert PROVIDERS["vnpt"] is VnptInvoice
    assert fkey_of("8c5e4c1e-2f0a-4c1b-9d3e-0a1b2c3d4e5f") == "8c5e4c1e2f0a4c1b9d3e0a1b2c3d4e5f"
    with pytest.raises(ValidationError):
        fkey_of("---")
    root = etree.fromstring(to_vnpt_xml(invoice([line(), line("Sách", 2, 30000, "KCT")]), "K1"))
    inv = root.find("Inv/Invoice")
    assert root.findtext("Inv/key") == "K1" and inv.findtext("CusTaxCode") == BUYER.tax_code
    assert [p.findtext("VATRate") for p in inv.iter("Product")] == ["10", "-1"]
    assert (inv.findtext("Total"), inv.findtext("VATAmount"), inv.findtext("Amount")) == ("110000", "5000", "115000")
    assert inv.findtext("ArisingDate") == today().strftime("%d/%m/%Y")
    assert parse_issued("OK:01GTKT3/001;AA/12E-key1_1,key2_2") == ("01GTKT3/001", "AA/12E", {"key1": "1", "key2": "2"})
    assert parse_issued("OK:01GTKT3/001;AA/12E;key_0000002") == ("01GTKT3/001", "AA/12E", {"key": "0000002"})
    assert "5000" in explain("ImportAndPublishInv", "10")[0] and "fkey" in explain("ImportAndPublishInv", "13")[0]
    assert "already cancelled" in explain("cancelInv", "8")[0]
    assert "does not explain" in explain("cancelInv", "77")[0]


def test_the_sandbox_serves_vnpts_wsdls_at_its_own_address():
    with running() as (server, app):
        for name in ("PublishService", "BusinessService", "PortalService"):
            wsdl = requests.get(f"{server.url}/{name}.asmx?WSDL", timeout=5)
            assert wsdl.status_code == 200 and "vnpt-invoice.com.vn" not in wsdl.text
            assert f'location="{server.url}/{name}.asmx"' in wsdl.text
        bad = requests.post(f"{server.url}/PublishService.asmx", data="<not-xml", timeout=5,
                            headers={"Content-Type": "text/xml; charset=utf-8"})
        assert bad.status_code == 400 and "soap:Fault" in bad.text
        assert requests.post(f"{server.url}/PublishService.asmx", data="{}", timeout=5,
                             headers={"Content-Type": "application/json"}).status_code == 415


@pytest.mark.parametrize("wsdl", ["package", "remote"])
def test_issue_lookup_and_files_over_soap(wsdl):
    with running() as (server, app), client(server, wsdl=wsdl) as c:
        uuid = new_uuid()
        result = c.issue(invoice(), transaction_uuid=uuid)
        assert (result.invoice_no, result.template, result.number) == (f"{series()}1", "1/001", 1)
        assert result.transaction_id == fkey_of(uuid) and not result.found_by_lookup
        record = app.invoices()[0]
        assert record["fkey"] == fkey_of(uuid) and record["data"]["CusName"] == BUYER.name
        assert record["data"]["Amount"] == "55000" and record["data"]["EmailDeliver"] == BUYER.email
        found = c.lookup(uuid)
        assert found.found_by_lookup and (found.invoice_no, found.paid) == (result.invoice_no, False)
        assert c.lookup(new_uuid()) is None
        pdf = c.download(result.ref, FileKind.PDF)
        assert pdf.content.startswith(b"%PDF") and pdf.file_name == f"{series()}1.pdf"
        xml = etree.fromstring(c.download(result.ref, "xml").content)
        assert xml.findtext("InvoiceNo") == "1" and xml.findtext("key") == fkey_of(uuid)
        with pytest.raises(ProviderRefused) as e:
            c.download(InvoiceRef("X1", "1/001", transaction_uuid=new_uuid()))
        assert e.value.code == "ERR:6" and "no invoice" in e.value.explanation


def test_err_codes_are_explained_and_nothing_is_issued():
    with running() as (server, app), client(server) as c:
        with pytest.raises(ProviderRefused) as e:
            c.issue(invoice(symbol="K26ZZZ"), transaction_uuid=new_uuid())
        assert e.value.code == "ERR:20" and "not registered" in e.value.explanation
        c.issue(invoice(), transaction_uuid=new_uuid())
        with pytest.raises(ProviderRefused) as e:
            c.issue(invoice(issue_date=today() - timedelta(days=1)), transaction_uuid=new_uuid())
        assert e.value.code == "ERR:30" and "earlier" in e.value.explanation
        uuid = new_uuid()
        first = c.issue(invoice(), transaction_uuid=uuid)
        xml = to_vnpt_xml(invoice(), fkey_of(uuid))
        with pytest.raises(ProviderRefused) as e:  # the same fkey sent raw: VNPT refuses it
            c._call("ImportAndPublishInv", idempotent=False, xmlInvData=xml, pattern="1/001", serial=series(),
                    convert=0, **c._auth())
        assert e.value.code == "ERR:13"
        again = c.issue(invoice(), transaction_uuid=uuid)  # through issue(): ERR:13, then found
        assert again.found_by_lookup and again.number == first.number == 2
        assert len(app.invoices()) == 2


def test_wrong_account_is_an_auth_error_without_secrets(caplog):
    caplog.set_level(logging.DEBUG)
    with running() as (server, app), client(server, acpassword="Adm1n-S3cret!", password="Svc-S3cret?") as c:
        with pytest.raises(ProviderAuthError) as e:
            c.issue(invoice(), transaction_uuid=new_uuid())
        assert e.value.code == "ERR:1" and "refused the account" in e.value.explanation
        with pytest.raises(ProviderAuthError):
            c.check_connection()
        text = f"{e.value} {e.value!r} {e.value.raw!r} {caplog.text}"
        assert "Adm1n-S3cret!" not in text and "Svc-S3cret?" not in text
    with running() as (server, app), client(server) as c:
        assert [t.symbol for t in c.check_connection()] == [series("C"), series("K")]  # getSerialByPattern


def test_adjust_replace_and_cancel():
    with running() as (server, app), client(server) as c:
        o1, o2, o3 = (new_uuid() for _ in range(3))
        first = c.issue(invoice(), transaction_uuid=o1)
        second = c.issue(invoice(), transaction_uuid=o2)
        third = c.issue(invoice(), transaction_uuid=o3)
        decrease = invoice([line("Bút bi Thiên Long", 10, -1000)], related=related(RelationKind.ADJUSTMENT, first))
        adj = c.adjust(decrease, transaction_uuid=(a := new_uuid()), kind="money", agreement_name="BB01",
                       agreement_date=today(), original_uuid=o1)
        assert adj.number == 4 and app.records[f"0100109106|{fkey_of(a)}"]["kind"] == "adjustment"
        assert app.records[f"0100109106|{fkey_of(a)}"]["data"]["Amount"] == "11000"
        info = invoice([line("Bút bi Thiên Long", 0, 0)], related=related(RelationKind.ADJUSTMENT, first))
        c.adjust(info, transaction_uuid=new_uuid(), kind="information", agreement_name="BB02",
                 agreement_date=today(), original_uuid=o1)
        assert c.lookup(o1).exchange_status == "adjusted"
        replacement = invoice(related=related(RelationKind.REPLACEMENT, second))
        rep = c.replace(replacement, transaction_uuid=(r := new_uuid()), agreement_name="BB03",
                        agreement_date=today(), original_uuid=o2)
        assert rep.invoice_no == f"{series()}6" and c.lookup(o2).exchange_status == "replaced"
        with pytest.raises(ProviderRefused) as e:
            c.replace(replacement, transaction_uuid=new_uuid(), agreement_name="BB04", agreement_date=today(),
                      original_uuid=o2)
        assert e.value.code == "ERR:8"
        assert c.replace(replacement, transaction_uuid=r, agreement_name="BB03", agreement_date=today(),
                         original_uuid=o2).found_by_lookup  # the same key again: found (ERR:13), not issued
        c.cancel(third.ref)
        assert app.records[f"0100109106|{fkey_of(o3)}"]["status"] == "5" and c.lookup(o3) is None
        with pytest.raises(ProviderRefused) as e:
            c.cancel(third.ref)
        assert e.value.code == "ERR:8" and "already cancelled" in e.value.explanation
        with pytest.raises(ValidationError, match="original_uuid"):
            c.replace(replacement, transaction_uuid=new_uuid(), agreement_name="x", agreement_date=today())
        assert app.issued == 6
    with running(cancel=False) as (server, app), client(server) as c:
        issued = c.issue(invoice(), transaction_uuid=new_uuid())
        with pytest.raises(ProviderRefused) as e:
            c.cancel(issued.ref)
        assert e.value.code == "ERR:9" and "Decree 70/2025" in e.value.explanation


def assert_exactly_once(app, results):
    records = app.invoices()
    assert sorted(r["number"] for r in records) == list(range(1, len(records) + 1))
    assert Counter(r["fkey"] for r in records) == Counter(fkey_of(u) for u in results)
    by_fkey = {r["fkey"]: r["number"] for r in records}
    assert all(by_fkey[fkey_of(u)] == res.number for u, res in results.items())


def test_300_invoices_through_random_faults_are_each_issued_exactly_once():
    with running(seed=2026) as (server, app):
        app.faults.add(op="*", probability=0.2, kinds=KINDS, seconds=0.3, retry_after=0)
        results = {}
        with client(server) as c:
            for _ in range(300):
                uuid = new_uuid()
                results[uuid] = c.issue(invoice(), transaction_uuid=uuid)
        app.faults.clear()
        fired = {k: app.stats[f"fault:{k}"] for k in KINDS}
        assert all(fired.values()), fired
        assert len(app.invoices()) == 300 and app.issued == 300
        assert_exactly_once(app, results)
        assert any(r.found_by_lookup for r in results.values())


@pytest.mark.parametrize("kind", ["commit_drop", "commit_delay"])
def test_issued_but_unanswered_is_found_not_issued_again(kind):
    with running() as (server, app), client(server) as c:
        app.faults.add(op="ImportAndPublishInv", kind=kind, times=1, seconds=0.3)
        result = c.issue(invoice(), transaction_uuid=(uuid := new_uuid()))
        assert result.found_by_lookup and app.issued == 1 and app.stats["listInvByCusFkey"] == 1
        app.faults.add(op="ReplaceInvoiceAction", kind=kind, times=1, seconds=0.3)
        rep = c.replace(invoice(related=related(RelationKind.REPLACEMENT, result)), transaction_uuid=new_uuid(),
                        agreement_name="BB", agreement_date=today(), original_uuid=uuid)
        assert rep.found_by_lookup and rep.number == 2 and app.issued == 2


@pytest.mark.parametrize("kind", ["drop", "error500", "rate_limit"])
def test_not_processed_is_looked_up_then_sent_again(kind):
    with running() as (server, app), client(server) as c:
        app.faults.add(op="ImportAndPublishInv", kind=kind, times=1, retry_after=0)
        result = c.issue(invoice(), transaction_uuid=new_uuid())
        assert result.number == 1 and not result.found_by_lookup
        assert app.stats["ImportAndPublishInv"] == 2 and app.stats["listInvByCusFkey"] == 1


def test_no_resend_while_the_lookup_cannot_answer():
    with running() as (server, app), client(server) as c:
        app.faults.add(op="ImportAndPublishInv", kind="commit_drop", times=1)
        app.faults.add(op="listInvByCusFkey", kind="error500")
        uuid = new_uuid()
        with pytest.raises(ProviderUnknownOutcome) as e:
            c.issue(invoice(), transaction_uuid=uuid)
        assert e.value.transaction_uuid == uuid and app.stats["ImportAndPublishInv"] == 1
        app.faults.clear()
        again = c.issue(invoice(), transaction_uuid=uuid, maybe_sent=True)
        assert again.found_by_lookup and app.stats["ImportAndPublishInv"] == 1 and app.issued == 1


def test_cancel_after_an_unknown_outcome_is_done_once():
    with running() as (server, app), client(server) as c:
        issued = c.issue(invoice(), transaction_uuid=new_uuid())
        app.faults.add(op="cancelInv", kind="commit_drop", times=1)
        c.cancel(issued.ref)  # the second cancelInv answers ERR:8: already cancelled, i.e. done
        assert app.stats["cancelInv"] == 2 and app.invoices()[0]["status"] == "5"


def test_provider_down_is_unavailable():
    with running() as (server, app):
        url = server.url
    with (VnptInvoice(url, "demoservice", "demo", account="demoadmin", acpassword="demo", **TIGHT) as c,
          pytest.raises(ProviderUnavailable) as e):
        c.issue(invoice(), transaction_uuid=new_uuid())
    assert not e.value.may_have_gone_through


def test_pdf_answer_is_base64_as_vnpt_sends_it():
    with running() as (server, app), client(server) as c:
        issued = c.issue(invoice([line("Giấy A4", 5, 60000, "8%")]), transaction_uuid=new_uuid())
        raw = c._call("downloadInvPDFFkeyNoPay", idempotent=True, fkey=issued.transaction_id, **c._portal_auth())
        assert base64.b64decode(raw).startswith(b"%PDF")
        assert Decimal(app.invoices()[0]["data"]["VATAmount"]) == 24000


def test_cli_serves_vnpt_until_interrupted():
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "vn_einvoice.cli", "sandbox", "vnpt", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
        lines = [proc.stdout.readline() for _ in range(4)]
        assert any("'demoadmin'/'demo'" in x for x in lines)
        wsdl = requests.get(f"{url}/PublishService.asmx?WSDL", timeout=5).text
        assert f'location="{url}/PublishService.asmx"' in wsdl
        with VnptInvoice(url, "demoservice", "demo", account="demoadmin", acpassword="demo", wsdl="remote") as c:
            assert c.issue(invoice(), transaction_uuid=new_uuid()).number == 1
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err


def test_bench_provider_compares_round_trips_per_provider(capsys):
    assert main(["bench", "provider", "--count", "6", "--batch-size", "3"]) == 0
    out = capsys.readouterr().out
    assert "viettel_trips_per_invoice=1.00" in out and "vnpt_trips_per_invoice=1.00" in out
    assert "portal_trips_per_invoice=1.00" in out  # the watermark is read once per series and day
    assert main(["bench", "provider", "--count", "2", "--fault-rate", "1.5"]) == 2


def test_payment_status_by_fkey():
    with running() as (server, app), client(server) as c:
        issued = c.issue(invoice(), transaction_uuid=new_uuid())
        assert c.set_payment_status(issued.ref, True).changed
        assert c.lookup(issued.transaction_uuid).paid is True
        assert not c.set_payment_status(issued.ref, True).changed  # ERR:13: already paid
        assert c.set_payment_status(issued.ref, False).changed and c.lookup(issued.transaction_uuid).paid is False
        c.cancel(issued.ref)
        with pytest.raises(ProviderRefused) as e:
            c.set_payment_status(issued.ref, True)
        assert e.value.code == "ERR:7" and "could not change the payment status" in e.value.explanation


def test_templates_series_and_usage_from_get_serial_by_pattern():
    yy = today().strftime("%y")
    with running() as (server, app), client(server) as c:
        assert [(t.template, t.symbol) for t in c.templates()] == [("1/001", f"C{yy}TAA"), ("1/001", f"K{yy}TAA")]
        for _ in range(3):
            c.issue(invoice(), transaction_uuid=new_uuid(), serial=f"K{yy}TAA", pattern="1/001")
        usage = c.usage("1/001", f"K{yy}TAA")
        assert (usage.used, usage.total, usage.remaining) == (3, 99_999_999, 99_999_996)
        info = {t.symbol: t.raw for t in c.templates()}
        assert (info[f"K{yy}TAA"].current, info[f"C{yy}TAA"].current) == (3, 0)
        assert info[f"K{yy}TAA"].begin == today() and info[f"C{yy}TAA"].status == "1"
    with running() as (server, app), client(server, patterns=["5/001"]) as c:
        assert c.patterns == ("1/001", "2/001", "5/001")
        assert c.serials("5/001") == [] and len(c.templates()) == 2  # not the company's patterns (ERR:4)
    with pytest.raises(ValueError):
        parse_serials("1/001", "1-K26TAA-10-1")


def test_invoices_between_lists_by_number_range_downwards_until_the_period_starts():
    day = today()
    with running() as (server, app), client(server) as c:
        keys = [new_uuid() for _ in range(130)]
        for i, key in enumerate(keys):
            c.issue(invoice(issue_date=day - timedelta(days=3 if i < 20 else 0)), transaction_uuid=key,
                    pattern="1/001", serial=series())
        cancelled = c.issue(invoice(issue_date=day), transaction_uuid=new_uuid(), pattern="1/001", serial=series())
        c.cancel(cancelled.ref, agreement_name="BB-1", agreement_date=day)
        before = c.round_trips
        listed = c.invoices_between(day, day)
        # 1 getSerialByPattern per series, 2 ranges of 100 for the 131 numbers (the older 20 end the scan)
        assert c.round_trips - before == 2 + 2
        assert [x.number for x in listed] == list(range(21, 132))
        assert {x.transaction_uuid for x in listed[:-1]} == {fkey_of(k) for k in keys[20:]}
        assert listed[-1].exchange_status == "cancelled" and listed[0].exchange_status == "issued"
        assert listed[0].total == Decimal(app.invoices()[20]["data"]["Amount"])
        assert listed[0].total_before_tax == Decimal(app.invoices()[20]["data"]["Total"])
        older = c.invoices_between(day - timedelta(days=3), day - timedelta(days=1))
        assert [x.number for x in older] == list(range(1, 21))
        assert c.list_numbers("1/001", series(), 1, 250)[-1].number == 131  # chunks of 100
