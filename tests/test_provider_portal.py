"""The seed 002 portal client against its sandbox over real HTTP: fields, states, errors, exactly once."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time as clock
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
import requests
from sinvoice_helpers import BUYER, SELLER, invoice, line, new_uuid, series, today

from vn_einvoice.cli import main
from vn_einvoice.errors import ValidationError
from vn_einvoice.lifecycle import SignStatus, State
from vn_einvoice.providers import PROVIDERS, InvoiceRef, get_provider
from vn_einvoice.providers.base import (
    ProviderAuthError,
    ProviderNotSupported,
    ProviderRefused,
    ProviderUnavailable,
    ProviderUnknownOutcome,
)
from vn_einvoice.providers.http import RetryPolicy
from vn_einvoice.providers.portal import PortalProvider, explain, to_portal
from vn_einvoice.sandbox.http import SandboxServer
from vn_einvoice.sandbox.portal import DEMO_APIKEY, DEMO_SESSIONKEY, DEMO_TAX_CODE, PortalSandbox

KINDS = ["delay", "drop", "error500", "rate_limit", "commit_drop", "commit_delay"]
TIGHT = {"timeouts": (0.5, 0.15), "retry": RetryPolicy(attempts=10, backoff=0.005, max_backoff=0.04)}


@contextmanager
def running(**config):
    app = PortalSandbox(config)
    with SandboxServer(app) as server:
        yield server, app


def client(server, **kw) -> PortalProvider:
    settings = {"base_url": server.url, "username": DEMO_APIKEY, "password": DEMO_SESSIONKEY,
                "supplier_tax_code": DEMO_TAX_CODE, "settle": 0.35, **TIGHT}
    settings.update(kw)
    return get_provider("portal", **settings)


def one_rate(**kw):
    return invoice([line("Bút bi Thiên Long", 10, 5000), line("Giấy A4", 5, 60000)], **kw)


def assert_exactly_once(app, results):
    records = [r for r in app.invoices() if r["status"] != "DELETE"]
    per_series = Counter(r["serial"] for r in records)
    for serial, count in per_series.items():
        assert sorted(r["number"] for r in records if r["serial"] == serial) == list(range(1, count + 1))
    assert len(records) == len(results)
    numbers = Counter((r.symbol, r.number) for r in results.values())
    assert set(numbers.values()) == {1}  # each key has its own invoice
    assert set(numbers) == {(r["serial"], r["number"]) for r in records}


def test_registered_and_every_field_of_seed_002_is_sent():
    assert PROVIDERS["portal"] is PortalProvider
    body = to_portal(one_rate())
    assert list(body) == ["CompanyName", "CompanyAddress", "CompanyTaxCode", "InvoiceForm", "SerialNo", "InvoiceDate",
                          "PaymentDate", "Tax", "TotalTax", "TotalBeforTax", "TotalAfterTax", "AmountWords",
                          "CurrencyCode", "ExchangeRates", "CustomerName", "CustomerTaxCode", "CustomerCompanyName",
                          "CustomerAddress", "CustomerPhone", "CustomerMobile", "CustomerFax", "CustomerEmail",
                          "CustomerWebsite", "CustomerBankAccountNo", "CustomerBankName", "CustomerPaymentMethodID",
                          "Remark", "InvoiceProducts"]
    assert body["Tax"] == 10 and body["TotalBeforTax"] == 350000 and body["TotalTax"] == 35000
    assert body["TotalAfterTax"] == 385000 and body["InvoiceDate"] == today().strftime("%Y%m%d")
    assert body["InvoiceProducts"][1] == {"Id": "", "Name": "Giấy A4", "Unit": "cái", "Quantity": 5, "Cost": 60000,
                                          "Amount": 300000}
    assert body["CustomerTaxCode"] == BUYER.tax_code and body["CompanyTaxCode"] == SELLER.tax_code
    assert to_portal(invoice([line(rate="KCT")]))["Tax"] == -1


def test_an_invoice_of_several_rates_is_refused_in_words_before_sending():
    with running() as (server, app), client(server) as c:
        with pytest.raises(ValidationError, match="one VAT rate per invoice"):
            c.issue(invoice([line(rate="10%"), line(rate="8%")]), transaction_uuid=new_uuid())
        assert c.round_trips == 0 and not app.invoices()


def test_issue_status_templates_and_bills_over_http():
    with running() as (server, app), client(server) as c:
        forms = c.templates()
        assert {(t.template, t.symbol) for t in forms} >= {("1", series("C")), ("1", series("K"))}
        assert c.issuer() == {"tax_code": DEMO_TAX_CODE, "name": "CÔNG TY TNHH ÁNH DƯƠNG (SANDBOX)"}
        first = c.issue(one_rate(), transaction_uuid=new_uuid())
        second = c.issue(one_rate(letter="C"), transaction_uuid=new_uuid())
        assert (first.invoice_no, first.number, first.template) == (f"{series()}1", 1, "1")
        assert second.invoice_no == f"{series('C')}1" and first.exchange_status == "USING/SIGNED"
        assert first.issued_at.date() == today() and not first.found_by_lookup
        status = c.status(first.ref)
        assert (status.state, status.sign) == (State.USING, SignStatus.SIGNED)
        app.sign("1", series(), 1, customer=True)
        assert c.status(first.ref).sign is SignStatus.CUSSIGNED
        listed = c.invoices_between(today() - timedelta(days=1), today())
        assert sorted(r.invoice_no for r in listed) == sorted([first.invoice_no, second.invoice_no])
        row = next(r for r in listed if r.invoice_no == first.invoice_no)
        assert (row.total, row.tax_amount, row.buyer_tax_code) == (385000, 35000, BUYER.tax_code)
        assert row.exchange_status == "USING/CUSSIGNED"
        assert [r.invoice_no for r in c.invoices_between(today(), today(), State.DELETE)] == []
        assert app.invoices()[0]["body"]["CustomerEmail"] == BUYER.email
        with pytest.raises(ProviderNotSupported):
            c.download(first.ref)


def test_refusals_are_explained_in_words():
    with running() as (server, app), client(server) as c:
        with pytest.raises(ProviderRefused) as e:
            c.issue(one_rate(symbol="K26ZZZ"), transaction_uuid=new_uuid())
        assert e.value.code == "2" and "not registered" in e.value.explanation
        assert "chưa được đăng ký" in e.value.explanation_vi
        c.issue(one_rate(), transaction_uuid=new_uuid())
        with pytest.raises(ProviderRefused) as e:
            c.issue(one_rate(issue_date=today() - timedelta(days=1)), transaction_uuid=new_uuid())
        assert e.value.code == "6" and "date order" in e.value.explanation
        body = c.build_body(one_rate())
        body["TotalAfterTax"] = 1
        with pytest.raises(ProviderRefused) as e:
            c.issue(body, transaction_uuid=new_uuid())
        assert e.value.code == "1" and "TotalAfterTax" in e.value.explanation
        with pytest.raises(ProviderRefused) as e:
            c.status(InvoiceRef(f"{series()}99", "1", datetime.combine(today(), time())))
        assert e.value.code == "3"
        assert len(app.invoices()) == 1
    assert explain("77", "lỗi lạ")[0] == "The portal refused it: lỗi lạ"


def test_wrong_keys_are_an_auth_error_without_the_secrets(caplog):
    caplog.set_level(logging.DEBUG)
    with running() as (server, app), client(server, password="S3cret-session-KEY") as c:
        with pytest.raises(ProviderAuthError) as e:
            c.issue(one_rate(), transaction_uuid=new_uuid())
        assert e.value.code == "401" and "sessionkey" in e.value.explanation
        text = f"{e.value} {e.value!r} {e.value.raw!r} {caplog.text}"
        assert "S3cret-session-KEY" not in text and DEMO_APIKEY not in text
        assert not app.invoices()
    with running() as (server, app), client(server, password="khóa-bí-mật-ẽ") as c:
        with pytest.raises(ProviderAuthError) as e:
            c.templates()
        assert "khóa-bí-mật-ẽ" not in str(e.value) and c.round_trips == 0


def test_update_and_delete_of_unsigned_invoices():
    with running(sign_on_create=False) as (server, app), client(server) as c:
        first = c.issue(one_rate(), transaction_uuid=new_uuid())
        second = c.issue(one_rate(), transaction_uuid=new_uuid())
        assert first.exchange_status == "CREATED/NOSIGN"
        changed = invoice([line("Bút bi Thiên Long", 20, 5000)])
        c.update(first.ref, changed)
        assert app.invoices()[0]["body"]["TotalBeforTax"] == 100000
        with pytest.raises(ProviderRefused) as e:
            c.delete_last_unsigned(first.ref)
        assert e.value.code == "5" and "last" in e.value.explanation
        c.delete_last_unsigned(second.ref)
        assert c.status(second.ref).state is State.DELETE
        app.sign("1", series(), 1)
        with pytest.raises(ProviderRefused) as e:
            c.update(first.ref, changed)
        assert e.value.code == "4"
        third = c.issue(one_rate(), transaction_uuid=new_uuid())
        assert third.number == 3  # a deleted number is never given again


def test_300_invoices_through_random_faults_are_each_created_exactly_once():
    with running(seed=2026) as (server, app):
        app.faults.add(op="*", probability=0.2, kinds=KINDS, seconds=0.3, retry_after=0)
        results = {}
        with client(server) as c:
            for _ in range(300):
                uuid = new_uuid()
                results[uuid] = c.issue(one_rate(), transaction_uuid=uuid)
        app.faults.clear()
        fired = {k: app.stats[f"fault:{k}"] for k in KINDS}
        assert all(fired.values()), fired
        assert_exactly_once(app, results)
        assert len(app.invoices()) == 300 and app.creates == 300
        assert any(r.found_by_lookup for r in results.values())


@pytest.mark.parametrize("kind", ["commit_drop", "commit_delay"])
def test_created_but_unanswered_is_found_not_created_again(kind):
    with running() as (server, app), client(server) as c:
        c.issue(one_rate(), transaction_uuid=new_uuid())
        app.faults.add(op="create", kind=kind, times=1, seconds=0.3)
        result = c.issue(one_rate(), transaction_uuid=new_uuid())
        assert result.found_by_lookup and result.number == 2 and app.creates == 2


@pytest.mark.parametrize("kind", ["drop", "error500", "rate_limit"])
def test_not_processed_is_looked_up_then_sent_again(kind):
    with running() as (server, app), client(server) as c:
        app.faults.add(op="create", kind=kind, times=1, retry_after=0)
        result = c.issue(one_rate(), transaction_uuid=new_uuid())
        assert result.number == 1 and not result.found_by_lookup
        assert app.stats["create"] == 2 and app.stats["getBillsByDate"] == 2  # watermark, then the look-up


def test_no_resend_while_the_lookup_cannot_answer_then_found_after_a_restart():
    with running() as (server, app):
        uuid = new_uuid()
        with client(server) as c:
            app.faults.add(op="create", kind="commit_drop", times=1)
            app.faults.add(op="getBillsByDate", kind="error500", after=1)
            with pytest.raises(ProviderUnknownOutcome) as e:
                c.issue(one_rate(), transaction_uuid=uuid)
            assert e.value.transaction_uuid == uuid and app.creates == 1
            kept = c.pending(uuid)
            assert kept.after_number == 0
            assert c.lookup(uuid) is None
        app.faults.clear()
        with client(server) as restarted:
            with pytest.raises(ProviderNotSupported):
                restarted.lookup(uuid)
            again = restarted.issue(one_rate(), transaction_uuid=uuid, maybe_sent=True, after_number=kept.after_number)
            assert again.found_by_lookup and again.number == 1 and app.creates == 1
            assert restarted.issue(one_rate(), transaction_uuid=uuid) == again  # known key: nothing sent
        with client(server) as watermark_lost:  # the whole day is searched: one match, it is that one
            found = watermark_lost.issue(one_rate(), transaction_uuid=uuid, maybe_sent=True)
            assert (found.number, found.found_by_lookup, app.creates) == (1, True, 1)


def test_identical_invoices_above_the_watermark_are_never_guessed():
    with running() as (server, app), client(server) as c:
        c.issue(one_rate(), transaction_uuid=new_uuid())
        c.issue(one_rate(), transaction_uuid=new_uuid())
        with pytest.raises(ProviderUnknownOutcome, match="identical invoices"):
            c.issue(one_rate(), transaction_uuid=new_uuid(), maybe_sent=True, after_number=0)
        assert app.creates == 2


def test_provider_down_is_unavailable():
    with running() as (server, app):
        url = server.url
    with (PortalProvider(url, DEMO_APIKEY, DEMO_SESSIONKEY, DEMO_TAX_CODE, **TIGHT) as c,
          pytest.raises(ProviderUnavailable) as e):
        c.issue(one_rate(), transaction_uuid=new_uuid())
    assert not e.value.may_have_gone_through


def test_cli_serves_the_portal_until_interrupted():
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "vn_einvoice.cli", "sandbox", "portal", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
        lines = [proc.stdout.readline() for _ in range(5)]
        token = next(re.search(r"X-Sandbox-Token: (\S+)", x).group(1) for x in lines if "X-Sandbox-Token" in x)
        answer = requests.get(f"{url}/invoice/getIssuerFormInvoice", timeout=5,
                              headers={"apikey": DEMO_APIKEY, "sessionkey": DEMO_SESSIONKEY})
        assert answer.json()["responsecode"] == 0 and answer.json()["IssuerTaxCode"] == DEMO_TAX_CODE
        assert requests.get(f"{url}/_sandbox/stats", timeout=5).status_code == 401
        stats = requests.get(f"{url}/_sandbox/stats", headers={"X-Sandbox-Token": token}, timeout=5)
        assert stats.json() == {"getIssuerFormInvoice": 1}
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err


@pytest.mark.parametrize("provider", ["viettel", "portal", "vnpt"])
@pytest.mark.parametrize("config", ['{"bogus": 1}', '{bad json', '{"faults": [{"kind": "meteor"}]}', '{"faults": 3}'])
def test_cli_sandbox_with_a_bad_config_names_it(tmp_path, capsys, provider, config):
    path = tmp_path / "sandbox.json"
    path.write_text(config, "utf-8")
    assert main(["sandbox", provider, "--config", str(path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert f"--config: {path}" in err and "Traceback" not in err


@pytest.mark.parametrize(("provider", "config", "named"), [
    ("portal", '{"accounts": 5}', "accounts: a non-empty list"),
    ("portal", '{"accounts": [{"apikey": "k", "sessionkey": "s", "tax_code": "0100109106", "name": "n", '
               '"forms": {"1": "C26TAA"}}]}', "accounts[0].forms"),
    ("vnpt", '{"companies": [{"account": "a"}]}', "companies[0].acpass: a non-empty text"),
])
def test_cli_sandbox_names_the_bad_setting(tmp_path, capsys, provider, config, named):
    path = tmp_path / "sandbox.json"
    path.write_text(config, "utf-8")
    assert main(["sandbox", provider, "--config", str(path), "--port", "0"]) == 2
    assert named in capsys.readouterr().err


def test_lookup_with_the_invoice_after_a_restart_never_sends():
    with running() as (server, app):
        with client(server) as c:
            earlier = c.issue(one_rate(), transaction_uuid=new_uuid())  # identical, issued before: below the mark
            uuid = new_uuid()
            app.faults.add(op="create", kind="commit_drop", times=1)
            app.faults.add(op="getBillsByDate", kind="error500")  # the mark is known: no read before
            with pytest.raises(ProviderUnknownOutcome):
                c.issue(one_rate(), transaction_uuid=uuid)
        app.faults.clear()
        creates = app.creates
        with client(server) as restarted:
            with pytest.raises(ProviderUnknownOutcome, match="identical invoices"):  # the whole day: two alike
                restarted.lookup(uuid, one_rate())
            found = restarted.lookup(uuid, one_rate(), after_number=earlier.number)
            assert (found.number, found.found_by_lookup) == (earlier.number + 1, True)
            assert restarted.lookup(new_uuid(), one_rate(), after_number=found.number) is None  # not there
        assert app.creates == creates == 2


def test_300_identical_invoices_through_faults_and_restarts_are_each_created_exactly_once():
    """The hardest case for a portal without key: 300 invoices alike in every field, random faults, and after every
    unknown outcome a new client (a restart) resuming with what an ERP keeps: the series' highest number it
    recorded before the first send, and when the last create left."""
    with running(seed=78) as (server, app):
        app.faults.add(op="*", probability=0.2, kinds=KINDS, seconds=0.3, retry_after=0)
        results, restarts, numbers = {}, 0, [0]
        for _ in range(300):
            uuid, mark, sent_at, maybe_sent = new_uuid(), max(numbers), 0.0, False
            for _attempt in range(30):
                with client(server, retry=RetryPolicy(attempts=2, backoff=0.005, max_backoff=0.02)) as c:
                    try:
                        results[uuid] = c.issue(one_rate(), transaction_uuid=uuid, maybe_sent=maybe_sent,
                                                **({"after_number": mark, "sent_at": sent_at} if maybe_sent else {}))
                        break
                    except ProviderUnknownOutcome:
                        restarts += 1
                        maybe_sent, sent_at = True, clock.time()  # no create of this client leaves after it
                    except ProviderUnavailable:
                        pass  # nothing was sent: the next attempt sends it
            numbers.append(results[uuid].number)
        app.faults.clear()
        fired = {k: app.stats[f"fault:{k}"] for k in KINDS}
        assert all(fired.values()), fired
        assert restarts > 0
        assert_exactly_once(app, results)
        assert len(app.invoices()) == 300 and app.creates == 300


def test_a_resumed_lookup_waits_settle_seconds_after_the_last_send():
    waits = []
    with running() as (server, app), client(server, sleep=waits.append) as c:
        assert c.lookup(new_uuid(), one_rate(), after_number=0, sent_at=clock.time()) is None
        assert len(waits) == 1 and 0.25 < waits[0] <= 0.35  # settle is 0.35 s: a held-up create lands first
        assert c.lookup(new_uuid(), one_rate(), after_number=0, sent_at=clock.time() - 10) is None
        assert len(waits) == 1  # long ago: no wait
