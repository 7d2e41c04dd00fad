"""A session's own secrets never reach an error's message, explanation or ``raw``: of any length, and however
the server echoes them (URL-encoded, base64, JSON-escaped); a password Basic auth cannot send is a clear error."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
from urllib.parse import quote, quote_plus

import pytest
from sinvoice_helpers import client, invoice, new_uuid, running_sandbox

from vn_einvoice.providers.base import ProviderAuthError, ProviderError, ProviderRefused, ProviderUnavailable
from vn_einvoice.providers.http import HttpSession, RetryPolicy
from vn_einvoice.providers.redact import MASK, redact, redact_obj, redact_secrets
from vn_einvoice.sandbox.http import App, Response, SandboxServer


def encodings(secret: str, username: str = "") -> set[str]:
    """How a server may echo ``secret`` back."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret, safe="").lower(),
             json.dumps(secret)[1:-1], re.sub(r"\\u[0-9a-f]{4}", lambda m: m[0].upper(), json.dumps(secret)[1:-1]),
             json.dumps(secret, ensure_ascii=False)[1:-1], base64.b64encode(secret.encode()).decode(),
             base64.urlsafe_b64encode(secret.encode()).decode().rstrip("=")}
    for encoding in ("utf-8", "latin-1") if username else ():
        with contextlib.suppress(UnicodeEncodeError):
            forms.add(base64.b64encode(f"{username}:{secret}".encode(encoding)).decode())
    return forms


def assert_absent(texts, secret: str, username: str = "") -> None:
    text = "\n".join(texts)
    for form in encodings(secret, username):
        assert form not in text, f"{form!r} of the secret in {text!r}"


@pytest.mark.parametrize("secret", ["k", "p9", "abc", "Pa55/w0rd+?&=", "mật-khẩu", "café-ß", "x y/z"])
def test_every_length_and_encoding_is_masked(secret):
    for form in encodings(secret):
        for text in (form, f"before {form} after", f"x{form}y", f'{{"seen": "{form}"}}'):
            assert_absent([redact_secrets(text, [secret]), redact(text, [secret])], secret)
    for prefix in ("", "a", "ab", "user:", "{\"password\": \""):  # base64 of a longer text holding the secret
        blob = base64.b64encode(f"{prefix}{secret}-and-more".encode()).decode()
        if len(secret.encode()) >= 4:
            assert MASK in redact_secrets(blob, [secret])
    assert redact_obj({"seen": [quote(secret, safe="")], quote_plus(secret): 1}, [secret]) == {
        "seen": [MASK], MASK: 1}
    assert redact_secrets("nothing here", []) == "nothing here" and redact("", [secret]) == ""


class Echo(App):
    """An indiscreet server: answers 400 (or ``status``) with everything it got, in several encodings."""

    status = 400

    def handle(self, request, decision):
        self.count("echo")
        seen = {"auth": request.headers.get("authorization", ""), "cookie": request.headers.get("cookie", ""),
                "body": request.body.decode("utf-8", "replace"), "query": request.query,
                "body_b64": base64.b64encode(request.body).decode()}
        try:
            parsed = json.loads(request.body or b"null")
        except ValueError:
            parsed = None
        text = json.dumps(seen) + " " + json.dumps(parsed, ensure_ascii=False) + " " + quote(json.dumps(parsed))
        if request.path.endswith("/auth/login"):
            return Response.json({"status": 401, "title": "Unauthorized", "detail": text, "echo": seen}, 401)
        return Response.json({"code": self.status, "message": "BAD_REQUEST", "data": text, "echo": seen},
                             self.status)


@pytest.fixture
def echo():
    app = Echo()
    with SandboxServer(app) as server:
        yield server, app


def texts_of(error: ProviderError, caplog, secret: str) -> list[str]:
    """The error's texts, and our log lines when they could tell (a secret of 1–3 characters is in any log
    line by chance: the errors, redacted as a whole, must still not have it)."""
    logs = [r.getMessage() for r in caplog.records if r.name.startswith("vn_einvoice")]
    return [str(error), repr(error), repr(error.raw), error.explanation, error.explanation_vi, error.code,
            *(logs if len(secret) > 3 else ())]


@pytest.mark.parametrize("password", ["p", "Pa55/w0rd+?&=", "café-ß"])
def test_basic_auth_echoes_are_redacted(echo, caplog, password):
    server, _ = echo
    caplog.set_level(logging.DEBUG)
    with client(server, "basic", username="ketoan", password=password) as c, pytest.raises(ProviderRefused) as e:
        c.issue(invoice(), transaction_uuid=new_uuid())
    assert e.value.http_status == 400 and MASK in str(e.value)
    assert_absent(texts_of(e.value, caplog, password), password, "ketoan")


@pytest.mark.parametrize("password", ["q", "mật-khẩu/ß+1", 'quote"and\\slash'])
def test_token_login_echoes_are_redacted(echo, caplog, password):
    server, _ = echo
    caplog.set_level(logging.DEBUG)
    with client(server, "token", username="ketoan", password=password) as c, pytest.raises(ProviderAuthError) as e:
        c.templates()
    assert e.value.http_status == 401
    assert_absent(texts_of(e.value, caplog, password), password, "ketoan")


def test_short_tokens_in_5xx_answers_are_redacted(echo):
    server, app = echo
    app.status = 503
    http = HttpSession(provider="test", timeouts=(1, 2), retry=RetryPolicy(attempts=2, backoff=0.001),
                       secrets=["k9"], sleep=lambda _: None)
    http.add_secret("t")
    with pytest.raises(ProviderUnavailable) as e:
        http.send("POST", server.url + "/r", operation="read", idempotent=True, data={"x": "k9 t"},
                  headers={"Authorization": "Bearer k9"})
    assert "k9" not in str(e.value) and "k9" not in repr(e.value.raw)
    assert not {"t", "k9"} & set(str(e.value).split(MASK)[1:2])


def test_a_password_basic_auth_cannot_send_is_a_clear_error(caplog):
    password = "mật khẩu bí mật"  # not Latin-1: HTTP Basic cannot carry it
    caplog.set_level(logging.DEBUG)
    with running_sandbox() as (server, app), client(server, "basic", username="demo", password=password) as c:
        with pytest.raises(ProviderAuthError) as e:
            c.issue(invoice(), transaction_uuid=new_uuid())
        assert c.round_trips == 0 and not app.stats  # nothing was sent
    assert e.value.code == "BASIC_AUTH_CHARSET" and "Latin-1" in str(e.value) and e.value.explanation_vi
    assert e.value.__cause__ is None and e.value.__suppress_context__
    assert_absent(texts_of(e.value, caplog, password), password, "demo")
    users = [{"username": "demo", "password": password}]
    with running_sandbox(users=users) as (server, _), client(server, "token", password=password) as c:
        assert c.templates()  # the token login can send it
