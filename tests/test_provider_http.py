"""The shared provider HTTP session: timeouts, refused vs unknown outcome, back-off, Retry-After, redaction."""

from __future__ import annotations

import logging
import socket

import pytest

from vn_einvoice.providers.base import ProviderAuthError, ProviderUnavailable, ProviderUnknownOutcome
from vn_einvoice.providers.http import HttpSession, RetryPolicy, parse_retry_after
from vn_einvoice.providers.redact import redact, redact_obj
from vn_einvoice.sandbox.http import App, Response, SandboxServer


class Echo(App):
    def handle(self, request, decision):
        return Response.json({"ok": True, "path": request.path})


@pytest.fixture
def echo():
    app = Echo()
    with SandboxServer(app) as server:
        yield server, app


def session(**kw) -> tuple[HttpSession, list]:
    sleeps: list = []
    kw.setdefault("retry", RetryPolicy(attempts=3, backoff=0.01))
    return HttpSession(provider="test", timeouts=kw.pop("timeouts", (0.5, 0.15)), sleep=sleeps.append, **kw), sleeps


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_is_not_sent():
    http, sleeps = session()
    url = f"http://127.0.0.1:{free_port()}/x"
    with pytest.raises(ProviderUnavailable) as e:
        http.send("POST", url, operation="createInvoice", idempotent=False)
    assert not e.value.may_have_gone_through and http.round_trips == 1 and sleeps == []
    with pytest.raises(ProviderUnavailable):
        http.send("GET", url, operation="lookup", idempotent=True)
    assert http.round_trips == 4 and len(sleeps) == 2  # reads are retried with back-off


@pytest.mark.parametrize("kind", ["delay", "drop", "error500", "commit_drop", "commit_delay"])
def test_failures_after_sending_are_unknown_outcomes(echo, kind):
    server, app = echo
    app.faults.add(kind=kind, times=1, seconds=0.4)
    http, sleeps = session()
    with pytest.raises(ProviderUnknownOutcome) as e:
        http.send("POST", server.url + "/createInvoice", operation="createInvoice", idempotent=False)
    assert e.value.may_have_gone_through and http.round_trips == 1 and sleeps == []
    # the same failure on an idempotent read is retried
    app.faults.add(kind=kind, times=1, seconds=0.4)
    response = http.send("GET", server.url + "/read", operation="read", idempotent=True)
    assert response.json()["ok"] and http.round_trips == 3 and len(sleeps) == 1


def test_retry_after_is_honoured(echo):
    server, app = echo
    app.faults.add(kind="rate_limit", times=1, retry_after=2)
    http, sleeps = session()
    assert http.send("GET", server.url + "/r", operation="read", idempotent=True).json()["ok"]
    assert sleeps == [2.0]
    app.faults.add(kind="rate_limit", times=1, retry_after=7)
    with pytest.raises(ProviderUnknownOutcome) as e:  # not retried blindly when it may change something
        http.send("POST", server.url + "/w", operation="write", idempotent=False)
    assert (e.value.http_status, e.value.retry_after) == (429, 7.0)
    capped, _ = session(retry=RetryPolicy(max_retry_after=3))
    assert capped.retry.delay(0, 3600) == 3


def test_reads_give_up_as_unavailable(echo):
    server, app = echo
    app.faults.add(kind="error500")
    http, sleeps = session()
    with pytest.raises(ProviderUnavailable) as e:
        http.send("GET", server.url + "/r", operation="read", idempotent=True)
    assert e.value.http_status == 500 and http.round_trips == 3 and len(sleeps) == 2


def test_backoff_is_exponential_with_jitter_and_capped():
    policy = RetryPolicy(backoff=1, max_backoff=10)
    for attempt, base in ((0, 1), (1, 2), (2, 4), (3, 8), (4, 10), (9, 10)):
        delays = {policy.delay(attempt) for _ in range(50)}
        assert all(base / 2 <= d <= base for d in delays) and len(delays) > 1
    assert RetryPolicy(backoff=1, jitter=False).delay(2) == 4


def test_parse_retry_after():
    assert parse_retry_after("3") == 3 and parse_retry_after("0.25") == 0.25
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past


def test_check_hook_raises_at_once(echo):
    server, _ = echo
    http, _ = session()
    with pytest.raises(ProviderAuthError):
        http.send("GET", server.url + "/r", operation="read", idempotent=True,
                  check=lambda r: ProviderAuthError("no"))
    assert http.round_trips == 1


def test_redaction():
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJl"
    text = (f'Authorization: Basic ZGVtbzpzM2NyZXQ= cookie: access_token={token}; password=s3cret&x=1 '
            f'{{"password": "s3cret", "access_token": "{token}"}} Bearer {token}')
    out = redact(text, ["s3cret"])
    assert "s3cret" not in out and token not in out and "ZGVtbzpzM2NyZXQ=" not in out and "x=1" in out
    assert redact_obj({"password": "p", "nested": [{"token": "t"}], "note": "pw s3cret"}, ["s3cret"]) == {
        "password": "***", "nested": [{"token": "***"}], "note": "pw ***"}


def test_logs_carry_no_secret(echo, caplog):
    server, app = echo
    app.faults.add(kind="error500", times=1)
    http, _ = session(secrets=["Top-Secret-42"])
    caplog.set_level(logging.DEBUG)
    http.send("POST", server.url + "/r", operation="read", idempotent=True, json={"password": "Top-Secret-42"},
              headers={"Authorization": "Bearer Top-Secret-42", "Cookie": "access_token=Top-Secret-42"})
    assert "/r" in caplog.text and "Top-Secret-42" not in caplog.text
