"""Exactly once through injected faults: timeouts, dropped connections, 5xx, 429, timeout after commit, crashes."""

from __future__ import annotations

import base64
import logging
import time
from collections import Counter

import pytest
from sinvoice_helpers import client, invoice, new_uuid, running_sandbox, series

from vn_einvoice.providers.base import (
    BatchEntry,
    ProviderAuthError,
    ProviderUnavailable,
    ProviderUnknownOutcome,
)
from vn_einvoice.providers.http import RetryPolicy

KINDS = ["delay", "drop", "error500", "rate_limit", "commit_drop", "commit_delay"]
TIGHT = {"timeouts": (0.5, 0.15), "retry": RetryPolicy(attempts=10, backoff=0.005, max_backoff=0.04)}


def assert_exactly_once(app, uuids, results=None):
    """The sandbox's numbering has no duplicate and no gap, and each key has exactly one number."""
    records = app.invoices()
    per_series = Counter(r["invoiceSeries"] for r in records)
    for symbol, count in per_series.items():
        assert sorted(r["number"] for r in records if r["invoiceSeries"] == symbol) == list(range(1, count + 1))
    keys = Counter(r["transactionUuid"] for r in records)
    assert set(keys) == set(uuids) and set(keys.values()) == {1}
    if results is not None:
        by_uuid = {r["transactionUuid"]: r for r in records}
        for uuid, result in results.items():
            assert (result.invoice_no, result.reservation_code) == (by_uuid[uuid]["invoiceNo"],
                                                                    by_uuid[uuid]["reservationCode"])


def test_300_invoices_through_random_faults_are_each_issued_exactly_once():
    with running_sandbox(seed=2026) as (server, app):
        app.faults.add(op="*", probability=0.2, kinds=KINDS, seconds=0.3, retry_after=0)
        results = {}
        with client(server, "token", **TIGHT) as c:
            for _ in range(300):
                uuid = new_uuid()
                results[uuid] = c.issue(invoice(), transaction_uuid=uuid)
        app.faults.clear()
        fired = {k: app.stats[f"fault:{k}"] for k in KINDS}
        assert all(fired.values()), fired  # every kind of fault happened
        assert_exactly_once(app, results, results)
        assert len(app.invoices()) == 300 and app.series[f"0100109106|1/001|{series()}"]["next"] == 301
        assert any(r.found_by_lookup for r in results.values())  # committed but unanswered, then found


@pytest.mark.parametrize("kind", ["commit_drop", "commit_delay", "delay"])
def test_committed_but_unanswered_is_found_not_issued_again(kind):
    with running_sandbox() as (server, app), client(server, "basic", **TIGHT) as c:
        app.faults.add(op="createInvoice", kind=kind, times=1, seconds=0.3)
        uuid = new_uuid()
        result = c.issue(invoice(), transaction_uuid=uuid)
        time.sleep(0.35 if kind == "delay" else 0)  # let a delayed request reach the sandbox
        assert result.number == 1 and len(app.invoices()) == 1
        assert result.found_by_lookup or kind == "delay"
        assert_exactly_once(app, [uuid], {uuid: result})


@pytest.mark.parametrize("kind", ["drop", "error500", "rate_limit"])
def test_not_processed_is_looked_up_then_sent_again(kind):
    with running_sandbox() as (server, app), client(server, "token", **TIGHT) as c:
        app.faults.add(op="createInvoice", kind=kind, times=1, retry_after=0)
        result = c.issue(invoice(), transaction_uuid=(uuid := new_uuid()))
        assert result.number == 1 and not result.found_by_lookup
        assert app.stats["searchInvoiceByTransactionUuid"] == 1 and app.stats["createInvoice"] == 2
        assert_exactly_once(app, [uuid])


def test_retry_after_is_waited_before_sending_again():
    with running_sandbox() as (server, app):
        sleeps: list = []
        with client(server, "token", sleep=sleeps.append, retry=RetryPolicy(attempts=3, backoff=0.01)) as c:
            app.faults.add(op="createInvoice", kind="rate_limit", times=1, retry_after=2)
            c.issue(invoice(), transaction_uuid=new_uuid())
        assert sleeps == [2.0]


def test_no_resend_while_the_lookup_cannot_answer():
    with running_sandbox() as (server, app), client(server, "basic", **TIGHT) as c:
        app.faults.add(op="createInvoice", kind="commit_drop", times=1)
        app.faults.add(op="searchInvoiceByTransactionUuid", kind="error500")
        uuid = new_uuid()
        with pytest.raises(ProviderUnknownOutcome) as e:
            c.issue(invoice(), transaction_uuid=uuid)
        assert e.value.transaction_uuid == uuid and e.value.may_have_gone_through
        assert app.stats["createInvoice"] == 1  # never sent twice without a look-up saying "not issued"
        app.faults.clear()
        again = c.issue(invoice(), transaction_uuid=uuid, maybe_sent=True)  # later: look up first
        assert again.found_by_lookup and app.stats["createInvoice"] == 1
        assert_exactly_once(app, [uuid])


def test_provider_down_is_unavailable_and_nothing_is_issued():
    with running_sandbox() as (server, app):
        url = server.url
    with client(type("S", (), {"url": url}), "basic", **TIGHT) as c, pytest.raises(ProviderUnavailable) as e:
        c.issue(invoice(), transaction_uuid=(uuid := new_uuid()))
    assert not e.value.may_have_gone_through and e.value.transaction_uuid == uuid
    assert not app.invoices()


def test_always_failing_ends_with_unknown_outcome():
    with running_sandbox() as (server, app), client(server, "basic", **TIGHT) as c:
        app.faults.add(op="createInvoice", kind="error500")
        with pytest.raises(ProviderUnknownOutcome) as e:
            c.issue(invoice(), transaction_uuid=new_uuid())
        assert e.value.http_status == 500 and "look it up" in str(e.value)
        assert not app.invoices()


# --- batches --------------------------------------------------------------------------------------


@pytest.mark.parametrize("duplicate_uuid", ["return", "reject"])
def test_batch_resent_after_a_crash_issues_nothing_twice(duplicate_uuid):
    with running_sandbox(duplicate_uuid=duplicate_uuid) as (server, app):
        entries = [BatchEntry(invoice(), new_uuid()) for _ in range(20)]
        uuids = [e.transaction_uuid for e in entries]
        app.faults.add(op="createBatchInvoice", kind="commit_drop", commit_items=7, times=1)
        with client(server, "token", **TIGHT) as crashed:  # sends the batch, then the process dies
            bodies = [crashed.build_body(e.invoice, transaction_uuid=e.transaction_uuid) for e in entries]
            with pytest.raises(ProviderUnknownOutcome):
                crashed.create_batch(bodies)
        assert len(app.invoices()) == 7
        sent_before = len(app.received)
        with client(server, "token", **TIGHT) as restarted:  # after the restart: resume the batch
            result = restarted.issue_batch(entries, resume=True)
        assert all(item.ok for item in result.items)
        assert sorted(u for _, u in app.received[sent_before:]) == sorted(uuids[7:])  # only the missing
        assert [r.found_by_lookup for r in result.issued] == [True] * 7 + [False] * 13
        assert_exactly_once(app, uuids, {i.transaction_uuid: i.result for i in result.items})


@pytest.mark.parametrize("duplicate_uuid", ["return", "reject"])
def test_batch_resent_blindly_still_issues_nothing_twice(duplicate_uuid):
    with running_sandbox(duplicate_uuid=duplicate_uuid) as (server, app):
        entries = [BatchEntry(invoice(), new_uuid()) for _ in range(12)]
        app.faults.add(op="createBatchInvoice", kind="commit_drop", commit_items=5, times=1)
        with client(server, "basic", **TIGHT) as c:
            bodies = [c.build_body(e.invoice, transaction_uuid=e.transaction_uuid) for e in entries]
            with pytest.raises(ProviderUnknownOutcome):
                c.create_batch(bodies)
            result = c.issue_batch(entries)  # no resume flag: the keys protect it
        assert all(item.ok for item in result.items) and app.replays == 5
        assert_exactly_once(app, [e.transaction_uuid for e in entries],
                            {i.transaction_uuid: i.result for i in result.items})


def test_batch_unknown_outcome_midway_looks_each_up_and_sends_the_missing():
    with running_sandbox() as (server, app), client(server, "token", batch_size=50, **TIGHT) as c:
        entries = [BatchEntry(invoice(), new_uuid()) for _ in range(20)]
        app.faults.add(op="createBatchInvoice", kind="commit_drop", commit_items=3, times=1)
        result = c.issue_batch(entries)
        assert all(item.ok for item in result.items)
        assert app.stats["createBatchInvoice"] == 2 and app.stats["searchInvoiceByTransactionUuid"] == 20
        assert [op for op, _ in app.received].count("createBatchInvoice") == 3 + 17
        assert_exactly_once(app, [e.transaction_uuid for e in entries])


def test_batch_through_random_faults():
    with running_sandbox(seed=7) as (server, app), client(server, "token", batch_size=10, **TIGHT) as c:
        app.faults.add(op="*", probability=0.3, kinds=KINDS, seconds=0.3, retry_after=0)
        entries = [BatchEntry(invoice(), new_uuid()) for _ in range(60)]
        result = c.issue_batch(entries)
        app.faults.clear()
        assert all(item.ok for item in result.items)
        assert_exactly_once(app, [e.transaction_uuid for e in entries],
                            {i.transaction_uuid: i.result for i in result.items})


# --- secrets --------------------------------------------------------------------------------------


def test_secrets_never_in_logs_or_errors(caplog):
    password, wrong = "Pa55-w0rd-Secr3t!", "Wr0ng-Secr3t-99"
    users = [{"username": "ketoan", "password": password, "tax_codes": ["0100109106"]}]
    caplog.set_level(logging.DEBUG)
    errors = []
    with running_sandbox(users=users, seed=1) as (server, app):
        app.faults.add(op="*", probability=0.3, kinds=["drop", "error500", "commit_drop"])
        for auth in ("token", "basic"):
            with client(server, auth, username="ketoan", password=password, **TIGHT) as c:
                for _ in range(5):
                    c.issue(invoice(), transaction_uuid=new_uuid())
                app.tokens.clear()
                c.templates()
            with client(server, auth, username="ketoan", password=wrong, **TIGHT) as bad:
                with pytest.raises(ProviderAuthError) as e:
                    bad.issue(invoice(), transaction_uuid=new_uuid())
                errors.append(e.value)
        app.faults.clear()
        with client(server, "token", username="ketoan", password=password, **TIGHT) as c:
            app.faults.add(op="createInvoice", kind="error500")
            with pytest.raises(ProviderUnknownOutcome) as e:
                c.issue(invoice(), transaction_uuid=new_uuid())
            errors.append(e.value)
            tokens = [t for t in app.tokens]
    secrets = [password, wrong, base64.b64encode(f"ketoan:{password}".encode()).decode(),
               base64.b64encode(f"ketoan:{wrong}".encode()).decode(), *tokens]
    texts = [caplog.text] + [f"{e} {e!r} {e.raw!r} {e.explanation}" for e in errors]
    assert tokens and len(caplog.records) > 20
    for text in texts:
        for secret in secrets:
            assert secret not in text
