"""The sandbox is a safe loopback server: token-guarded control endpoints, capped and timed request bodies,
400 JSON answers to malformed JSON, 401 to non-ASCII Basic credentials; never a traceback."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from vn_einvoice.sandbox.http import ADMIN_HEADER, MAX_BODY
from vn_einvoice.sandbox.viettel import V2_PREFIX, start

CREATE = "/InvoiceAPI/InvoiceWS/createInvoice/0100109106"
BASIC = {"Authorization": "Basic " + base64.b64encode(b"demo:demo").decode()}


@pytest.fixture
def quiet(caplog, capfd):
    """Every sandbox log line, at DEBUG; on exit: no traceback logged or written to stderr."""
    caplog.set_level(logging.DEBUG, logger="vn_einvoice.sandbox")
    yield
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    assert "Traceback" not in caplog.text
    assert "Traceback" not in capfd.readouterr().err


@pytest.fixture
def server(quiet):
    with start(body_timeout=0.5) as server:
        yield server


def raw_request(server, head: str, body: bytes = b"", *, wait: float = 5.0) -> tuple[bytes, float]:
    """Send ``head`` (request line and headers) and ``body`` on a raw socket; the whole answer until the server
    closes the connection, and the seconds it took."""
    started = time.monotonic()
    with socket.create_connection((server.host, server.port), timeout=wait) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks), time.monotonic() - started


def status_and_json(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


# --- control endpoints ----------------------------------------------------------------------------


def test_control_endpoints_want_the_servers_token(server):
    url = f"{server.url}/_sandbox/stats"
    assert server.admin_token and len(server.admin_token) >= 24
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={ADMIN_HEADER: "guess"}, timeout=5).status_code == 401
    assert requests.get(url, headers={ADMIN_HEADER: "mật khẩu".encode()}, timeout=5).status_code == 401
    refused = requests.post(f"{server.url}/_sandbox/reset", timeout=5)
    assert refused.status_code == 401 and "error" in refused.json()
    assert requests.post(f"{server.url}/_sandbox/faults", json={"kind": "drop"}, timeout=5).status_code == 401
    assert not server.app.faults.rules  # nothing changed
    assert requests.get(url, headers=server.admin_headers, timeout=5).json() == {}
    with start() as other:
        assert other.admin_token != server.admin_token  # one per server, generated at start
        assert requests.get(f"{other.url}/_sandbox/stats", headers=server.admin_headers, timeout=5).status_code == 401


def test_control_endpoints_can_be_off_and_the_python_api_stays(quiet):
    with start(admin=False) as server:
        assert server.admin_token is None
        assert requests.get(f"{server.url}/_sandbox/stats", headers={ADMIN_HEADER: ""}, timeout=5).status_code == 404
        server.app.faults.add(kind="error500", op="login", times=1)  # in-process tests need no token
        login = f"{server.url}/auth/login"
        assert requests.post(login, json={"username": "demo", "password": "demo"}, timeout=5).status_code == 500
        assert requests.post(login, json={"username": "demo", "password": "demo"}, timeout=5).status_code == 200
        assert server.app.stats["login"] == 2 and not server.app.invoices() and server.app.series == {}
    with start(admin_token="fixed-token-for-a-script") as server:
        answer = requests.get(f"{server.url}/_sandbox/faults", headers={ADMIN_HEADER: "fixed-token-for-a-script"},
                              timeout=5)
        assert answer.status_code == 200 and answer.json() == []


@pytest.mark.parametrize("body", [
    b"{bad json", b"\xff\xfe", b"[" * 100_000, b'{"a":' * 50_000, b"[" * 70 + b"]" * 70, b'{"kind": "explode"}', b'{"times": "many"}', b"[1, 2]", b'{"faults": 3}',
    b'{"kinds": "drop"}', b'{"nonsense": 1}',
])
def test_bad_fault_rules_get_a_400_json_answer(server, body):
    answer = requests.post(f"{server.url}/_sandbox/faults", data=body,
                           headers={**server.admin_headers, "Content-Type": "application/json"}, timeout=5)
    assert answer.status_code == 400 and answer.json()["error"]
    assert not server.app.faults.rules


# --- request bodies -------------------------------------------------------------------------------


def test_a_body_over_the_cap_gets_413_unread(server):
    answer, took = raw_request(server, f"POST {V2_PREFIX}/InvoiceAPI/InvoiceWS/createInvoice/0100109106 HTTP/1.1\n"
                                       f"Host: x\nContent-Type: application/json\nContent-Length: {MAX_BODY + 1}\n")
    status, data = status_and_json(answer)
    assert status == 413 and data["message"] == "PAYLOAD_TOO_LARGE" and took < 2
    assert server.app.stats == {}  # not even counted: never reached the simulator
    big = {"username": "demo", "password": "x", "padding": "a" * (MAX_BODY - 100)}  # under the cap: read
    assert requests.post(f"{server.url}/auth/login", json=big, timeout=10).status_code == 401


def test_a_content_length_larger_than_the_body_cannot_hang_a_thread(server):
    before = threading.active_count()
    head = "POST /auth/login HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: 1000\n"
    answer, took = raw_request(server, head, b'{"username": "demo"')
    status, data = status_and_json(answer)
    assert status == 408 and data["message"] == "REQUEST_TIMEOUT" and 0.4 < took < 3
    deadline = time.monotonic() + 3
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert threading.active_count() <= before  # the handler thread ended
    # a body that ends early (the client closed its side) is refused at once
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n{}")
        sock.shutdown(socket.SHUT_WR)
        status, _ = status_and_json(sock.recv(65536))
    assert status == 400
    login = requests.post(f"{server.url}/auth/login", json={"username": "demo", "password": "demo"}, timeout=5)
    assert login.status_code == 200  # the server goes on


@pytest.mark.parametrize("header, status", [
    ("Content-Length: abc", 400), ("Content-Length: -5", 400), ("Transfer-Encoding: chunked", 411)])
def test_unreadable_lengths_are_refused(server, header, status):
    answer, _ = raw_request(server, f"POST /auth/login HTTP/1.1\nHost: x\n{header}\n", b"0\r\n\r\n")
    assert status_and_json(answer)[0] == status


# --- malformed input to the simulator -------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{bad", b"\xff\xfe{}", b"[" * 100_000, b'{"a":' * 50_000,
                                  b'{"a":' * 70 + b"1" + b"}" * 70])
def test_malformed_or_deep_json_gets_400_json(server, body):
    json_headers = {"Content-Type": "application/json"}
    login = requests.post(f"{server.url}/auth/login", data=body, headers=json_headers, timeout=5)
    assert login.status_code == 400 and login.json()["message"] == "JSON_PARSE_ERROR"
    for path, headers in ((CREATE, BASIC), (V2_PREFIX + CREATE, {"Authorization": f"Bearer {token(server)}"})):
        answer = requests.post(server.url + path, data=body, headers={**json_headers, **headers}, timeout=5)
        assert answer.status_code == 400 and answer.json()["message"] == "JSON_PARSE_ERROR"
    form = requests.post(f"{server.url}/InvoiceAPI/InvoiceWS/searchInvoiceByTransactionUuid", data=b"a=\xff&b=%ff",
                         headers={**BASIC, "Content-Type": "application/x-www-form-urlencoded"}, timeout=5)
    assert form.status_code in (200, 400) and form.json()


def token(server) -> str:
    return requests.post(f"{server.url}/auth/login", json={"username": "demo", "password": "demo"},
                         timeout=5).json()["access_token"]


@pytest.mark.parametrize("credentials", ["demo:mật khẩu".encode(), "demo:café".encode("latin-1"),
                                         "ngườidùng:demo".encode(), b"demo:\xff\xfe"])
def test_non_ascii_basic_credentials_get_401(server, credentials):
    headers = {"Authorization": "Basic " + base64.b64encode(credentials).decode(), "Content-Type": "application/json"}
    answer = requests.post(server.url + CREATE, data=b"{}", headers=headers, timeout=5)
    assert answer.status_code == 401 and answer.json()["status"] == 401


def test_non_ascii_passwords_log_in_with_a_token(quiet):
    users = [{"username": "ketoan", "password": "mật-khẩu-ß", "tax_codes": "*"}]
    with start({"users": users}) as server:
        login = f"{server.url}/auth/login"
        assert requests.post(login, json={"username": "ketoan", "password": "mật-khẩu-ß"}, timeout=5).status_code == 200
        for wrong in ("mật-khẩu", "\ud800", "x"):
            assert requests.post(login, json={"username": "ketoan", "password": wrong}, timeout=5).status_code == 401


# --- the command line -----------------------------------------------------------------------------


def test_cli_prints_the_token_once_and_wants_it():
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "vn_einvoice.cli", "sandbox", "viettel", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = [proc.stdout.readline()]
        while not lines[-1].startswith("Ctrl-C"):
            lines.append(proc.stdout.readline())
        url = re.search(r"http://\S+", lines[0]).group(0)
        tokens = [m.group(1) for line in lines if (m := re.search(rf"{ADMIN_HEADER}: (\S+)", line))]
        assert len(tokens) == 1
        assert requests.get(f"{url}/_sandbox/stats", timeout=5).status_code == 401
        assert requests.get(f"{url}/_sandbox/stats", headers={ADMIN_HEADER: tokens[0]}, timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and tokens[0] not in out + err and "Traceback" not in err
