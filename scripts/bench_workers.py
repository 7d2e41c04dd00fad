"""Many workers at once (run by scripts/bench-workers): Odoo started with ``--workers=4 --max-cron-threads=2``;
four clients issue the invoices of one series at once through the web (JSON-RPC, ``/web/dataset/call_kw``, as
the web client's button does) while the "issue prepared e-invoices" scheduled action runs too.

Checked at the end: every invoice issued once, numbers exactly 1..N (no gap, no double), one signed XML per
invoice, and no error left to a client (PostgreSQL serialization failures are retried by Odoo itself; a client
that still gets an error counts it; "none of the selected invoices is waiting to be issued", when the scheduled action
or another client was first, is counted apart: it is the right answer). Last line:
``n=… clients=4 wall_s=… per_invoice_ms=… client_errors=… numbers=1..N ok|WRONG``.
BENCH_N (default 1000), BENCH_CLIENT_CHUNK (invoices per call, default 10).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import ADDONS, DB, ODOO, PY, query, setup_database, trigger_cron  # noqa: E402

N = int(os.environ.get('BENCH_N', '1000'))
CHUNK = int(os.environ.get('BENCH_CLIENT_CHUNK', '10'))
CLIENTS = 4


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Client:
    """A logged-in web session (the administrator, who has the e-invoice rights)."""

    def __init__(self, base):
        self.base, self.cookie = base, None
        self.call('/web/session/authenticate', {'db': DB, 'login': 'admin', 'password': 'admin'})

    def call(self, path, params):
        body = json.dumps({'jsonrpc': '2.0', 'method': 'call', 'params': params, 'id': 1}).encode()
        request = urllib.request.Request(self.base + path, body, {'Content-Type': 'application/json',
                                                                  **({'Cookie': self.cookie} if self.cookie else {})})
        with urllib.request.urlopen(request, timeout=300) as response:
            cookie = response.headers.get('Set-Cookie')
            if cookie:
                self.cookie = cookie.split(';', 1)[0]
            answer = json.loads(response.read())
        if 'error' in answer:
            raise RuntimeError(answer['error'].get('data', {}).get('message') or answer['error'])
        return answer['result']

    def issue(self, ids, company_id):
        return self.call('/web/dataset/call_kw', {
            'model': 'account.move', 'method': 'action_l10n_vn_einvoice_issue', 'args': [ids],
            'kwargs': {'context': {'allowed_company_ids': [company_id]}}})


def main():
    setup_database(N, auto_issue=True)
    company_id = query("SELECT id FROM res_company WHERE name = 'Công ty TNHH Quy Mô'")[0][0]
    ids = [r[0] for r in query("SELECT id FROM account_move WHERE company_id = %s AND state = 'posted' "
                               "ORDER BY invoice_date, id", company_id)]
    port = free_port()
    log = f'/tmp/{DB}-workers.log'
    server = subprocess.Popen([PY, str(ODOO / 'odoo-bin'), '-d', DB, f'--addons-path={ADDONS}',
                               f'--http-port={port}', '--http-interface=127.0.0.1', '--workers=4',
                               '--max-cron-threads=2', '--limit-time-real=600', '--limit-time-cpu=600',
                               '--log-level=warn', f'--logfile={log}'],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f'http://127.0.0.1:{port}'
    for _i in range(120):
        try:
            urllib.request.urlopen(base + '/web/login', timeout=5)
            break
        except OSError:
            time.sleep(0.5)
    errors, raced, lock = [], [], threading.Lock()

    def work(share):
        client = Client(base)
        for start in range(0, len(share), CHUNK):
            try:
                client.issue(share[start:start + CHUNK], company_id)
            except Exception as e:  # noqa: BLE001 - counted: an error a user would see
                with lock:
                    # the scheduled action or another client issued them first: what a user who clicks Issue on
                    # already issued invoices is told, not a failure
                    (raced if 'waiting to be issued' in str(e) else errors).append(str(e)[:200])

    # each client takes every 4th chunk: the four hit the same series at once, in date order
    chunks = [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]
    shares = [[i for chunk in chunks[k::CLIENTS] for i in chunk] for k in range(CLIENTS)]
    started = time.perf_counter()
    trigger_cron()
    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deadline = time.time() + 600
    while time.time() < deadline and query(
            "SELECT count(*) FROM account_move WHERE l10n_vn_einvoice_state = 'CREATED' AND state = 'posted' "
            "AND l10n_vn_einvoice_error IS NULL")[0][0]:
        trigger_cron()  # what the clients left (an invoice dated before the series' last one stays, with its reason)
        time.sleep(1)
    elapsed = time.perf_counter() - started
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=60)
    numbers = [r[0] for r in query("SELECT l10n_vn_einvoice_number FROM account_move WHERE l10n_vn_einvoice_state "
                                   "= 'USING' ORDER BY l10n_vn_einvoice_number")]
    xml = query("SELECT count(*), count(DISTINCT res_id) FROM ir_attachment WHERE res_model = 'account.move' "
                "AND res_field = 'l10n_vn_einvoice_xml'")[0]
    failed = query("SELECT count(*) FROM account_move WHERE l10n_vn_einvoice_state = 'CREATED' AND state = 'posted'")[0][0]
    ok = numbers == list(range(1, len(numbers) + 1)) and xml == (len(numbers), len(numbers)) and not failed
    for error in sorted(set(errors))[:10]:
        print('  client error:', error)
    print(f'n={N} clients={CLIENTS} wall_s={elapsed:.1f} per_invoice_ms={elapsed * 1000 / N:.1f} issued={len(numbers)} '
          f'not_issued={failed} client_errors={len(errors)} already_issued_by_another={len(raced)} xml={xml[0]} numbers=1..N {"ok" if ok else "WRONG"}')
    return 0 if ok and not errors else 1


if __name__ == '__main__':
    try:
        sys.exit(main())
    finally:
        subprocess.run(['dropdb', '--if-exists', DB], check=False)
