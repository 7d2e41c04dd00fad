"""Many workers at once (run by scripts/bench-workers): Odoo started with ``--workers=4 --max-cron-threads=2``;
four clients issue the invoices of one series at once through the web (JSON-RPC, ``/web/dataset/call_kw``, as
the web client's button does) while the scheduled action runs too.

Two variants:
  * local (default): a series signed here; the "issue prepared e-invoices" scheduled action runs with the clients;
  * ``--provider`` (or BENCH_PROVIDER=1): a series issued by Viettel SInvoice, the project's sandbox
    (``vn-einvoice sandbox viettel``) started by this script on loopback with faults switched on (BENCH_FAULT_RATE,
    default 0.03, per request: connections dropped before or after the invoice is committed, HTTP 500, answers
    later than the account's read timeout, batches committed half-way then dropped, failed look-ups); the
    batch scheduled action (``createBatchInvoice``) runs with the clients. Once the clients are done the faults
    are switched off and the scheduled action issues what is left (the invoices whose outcome was unknown are
    looked up by their transaction key before anything is sent again).

Checked at the end: every invoice issued once, numbers exactly 1..N in Odoo (no gap, no double), one signed XML
per invoice (local), and no error left to a client (PostgreSQL serialization failures are retried by Odoo
itself, up to three conflicts, after which the Issue button hands the invoices to the scheduled action; a
client that still gets an error counts it, so does an ERROR in the server's log; "none of the selected invoices is waiting to be issued",
when the scheduled action or another client was first, is counted apart: it is the right answer). With
``--provider`` also, from the sandbox's own state (``GET /_sandbox/state``): numbers exactly 1..N in the series
at the provider, one invoice per transaction key (none issued twice), each Odoo invoice recorded with the
number the provider gave its key. Last line:
``n=… clients=4 wall_s=… per_invoice_ms=… client_errors=… numbers=1..N ok|WRONG``.
BENCH_N (default 1000), BENCH_CLIENT_CHUNK (invoices per call, default 10).
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import ADDONS, DB, ODOO, PY, REPO, query, setup_database, trigger_cron  # noqa: E402

N = int(os.environ.get('BENCH_N', '1000'))
CHUNK = int(os.environ.get('BENCH_CLIENT_CHUNK', '10'))
CLIENTS = 4
PROVIDER = '--provider' in sys.argv[1:] or os.environ.get('BENCH_PROVIDER', '') not in ('', '0')
FAULT_RATE = float(os.environ.get('BENCH_FAULT_RATE', '0.03'))
READ_TIMEOUT = 1.5  # seconds: the provider account's read timeout; "late" answers come after it
V2_PREFIX = '/services/einvoiceapplication/api'  # vn_einvoice.providers.sinvoice_wire.V2_PREFIX
SYMBOL = f'K{date.today().year % 100:02d}TAA'
MST = '0312345673'

# the provider series made the default of the company (run in odoo-bin shell by setup_database)
PROVIDER_SETUP = '''
local = env['l10n_vn_einvoice.series'].search([('company_id', '=', company.id)])
local.write({{'is_default': False}})
env['l10n_vn_einvoice.provider'].create({{
    'name': 'SInvoice sandbox', 'company_id': company.id, 'service_url': {url!r}, 'auth_style': 'token',
    'account': 'demo', 'acpassword': 'demo', 'username': 'demo', 'password': 'demo', 'is_default': True,
    'download_files': False, 'retry_backoff': 0.05, 'read_timeout': {read_timeout}, 'connect_timeout': 5}})
env['l10n_vn_einvoice.series'].create({{
    'template_id': local[:1].template_id.id, 'symbol': {symbol!r}, 'company_id': company.id,
    'date_start': date(date.today().year, 1, 1), 'is_default': True, 'issuing_mode': 'provider',
    'provider_template_code': '1/001'}})
company.l10n_vn_einvoice_mode = 'provider'
'''


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


class Sandbox:
    """``vn-einvoice sandbox viettel`` in its own process on loopback, steered by its control endpoints."""

    def __init__(self, faults):
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        config = tempfile.NamedTemporaryFile('w', suffix='.json', delete=False)  # noqa: SIM115 - removed in stop()
        json.dump({'faults': faults, 'seed': 19}, config)
        config.close()
        self.config = config.name
        self.process = subprocess.Popen(
            [PY, '-m', 'vn_einvoice.cli', 'sandbox', 'viettel', '--port', str(self.port), '--config', self.config],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO,
            env={**os.environ, 'PYTHONPATH': str(REPO)}, start_new_session=True)
        self.token = None
        for line in self.process.stdout:
            if 'X-Sandbox-Token:' in line:
                self.token = line.rsplit(':', 1)[1].strip()
            if line.startswith('Ctrl-C'):
                break
        if not self.token:
            self.stop()
            sys.exit('the Viettel sandbox did not start')
        threading.Thread(target=self.process.stdout.read, daemon=True).start()  # keep its pipe drained

    def control(self, path, method='GET', data=None):
        request = urllib.request.Request(self.url + '/_sandbox/' + path, method=method,
                                         data=json.dumps(data).encode() if data is not None else None,
                                         headers={'X-Sandbox-Token': self.token, 'Content-Type': 'application/json'})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        Path(self.config).unlink(missing_ok=True)


def provider_faults(rate):
    """Per request, with probability ``rate``: what a provider across the Internet does now and then."""
    late = READ_TIMEOUT + 1.0  # answered after the account's read timeout
    lost = ['drop', 'error500', 'commit_drop', 'commit_delay']
    return [
        {'op': 'createBatchInvoice', 'kind': 'commit_drop', 'commit_items': 3, 'probability': rate},
        {'op': 'createBatchInvoice', 'kind': 'mix', 'kinds': lost, 'probability': rate, 'seconds': late},
        {'op': 'createInvoice', 'kind': 'mix', 'kinds': lost, 'probability': rate, 'seconds': late},
        {'op': 'searchInvoiceByTransactionUuid', 'kind': 'mix', 'kinds': ['drop', 'error500'], 'probability': rate},
    ]


def main():
    sandbox = Sandbox(provider_faults(FAULT_RATE)) if PROVIDER else None
    try:
        return run(sandbox)
    finally:
        if sandbox:
            sandbox.stop()


def run(sandbox):
    extra = PROVIDER_SETUP.format(url=sandbox.url + V2_PREFIX + '/', read_timeout=READ_TIMEOUT,
                                  symbol=SYMBOL) if sandbox else ''
    setup_database(N, auto_issue=True, extra=extra)
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

    crons = ['ir_cron_l10n_vn_einvoice_provider_issue'] if sandbox else ['ir_cron_l10n_vn_einvoice_issue']
    # each client takes every 4th chunk: the four hit the same series at once, in date order
    chunks = [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]
    shares = [[i for chunk in chunks[k::CLIENTS] for i in chunk] for k in range(CLIENTS)]
    started = time.perf_counter()
    for cron in crons:
        trigger_cron(cron)
    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    clients_s = time.perf_counter() - started
    if sandbox:
        fired = {k: v for k, v in sandbox.control('stats').items() if k.startswith('fault:')}
        sandbox.control('faults', 'DELETE')  # the rest, with a provider that answers again
    # what the clients left: an invoice dated before the series' last one stays, with its reason (local); the
    # scheduled action retries provider invoices, looking up those whose outcome is unknown
    pending = ("SELECT count(*) FROM account_move WHERE l10n_vn_einvoice_state = 'CREATED' AND state = 'posted'"
               + ('' if sandbox else ' AND l10n_vn_einvoice_error IS NULL'))
    deadline = time.time() + 600
    while time.time() < deadline and query(pending)[0][0]:
        for cron in crons:
            trigger_cron(cron)
        time.sleep(1)
    elapsed = time.perf_counter() - started
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=60)
    rows = query("SELECT l10n_vn_einvoice_number, l10n_vn_einvoice_transaction_uuid, "
                 "l10n_vn_einvoice_provider_invoice_no FROM account_move WHERE l10n_vn_einvoice_state = 'USING' "
                 "ORDER BY l10n_vn_einvoice_number")
    numbers = [r[0] for r in rows]
    failed = query("SELECT count(*) FROM account_move WHERE l10n_vn_einvoice_state = 'CREATED' AND state = 'posted'")[0][0]
    ok = numbers == list(range(1, N + 1)) and not failed
    for error in sorted(set(errors))[:10]:
        print('  client error:', error)
    # the server's own log: a deadlock or a serialization failure Odoo did not absorb is logged as an ERROR
    logged = [line for line in Path(log).read_text(errors='replace').splitlines()
              if re.match(r'^\S+ \S+ \d+ (ERROR|CRITICAL) ', line)] if Path(log).exists() else []
    for line in logged[:5]:
        print('  server log:', line[:300])
    figures = ''
    if sandbox:
        state = sandbox.control('state')
        stats = sandbox.control('stats')
        at_provider = [r for r in state['invoices'] if r['supplier'] == MST and r['invoiceSeries'] == SYMBOL]
        keys = [r['transactionUuid'] for r in at_provider]
        by_key = {r['transactionUuid']: r['invoiceNo'] for r in at_provider}
        provider_ok = (sorted(r['number'] for r in at_provider) == list(range(1, N + 1))
                       and len(set(keys)) == len(keys) == N
                       and all(by_key.get(key) == invoice_no for _n, key, invoice_no in rows))
        ok = ok and provider_ok and sum(fired.values()) > 0  # a run without a fault proves nothing about them
        requests = sum(v for k, v in stats.items() if not k.startswith('fault:'))
        figures = (f' provider_invoices={len(at_provider)} provider_numbers=1..N '
                   f'{"ok" if provider_ok else "WRONG"} issued_twice={len(keys) - len(set(keys))} '
                   f'resent_keys_answered_same={state["replays"]} requests={requests} '
                   f'faults_fired={sum(fired.values())} ({", ".join(f"{k[6:]}={v}" for k, v in sorted(fired.items()))}) '
                   f'clients_s={clients_s:.1f}')
    else:
        xml = query("SELECT count(*), count(DISTINCT res_id) FROM ir_attachment WHERE res_model = 'account.move' "
                    "AND res_field = 'l10n_vn_einvoice_xml'")[0]
        ok = ok and xml == (N, N)
        figures = f' xml={xml[0]}'
    # Issue clicks that met their series busy after Odoo's retries: handed to the scheduled action (a note each)
    handed = query("SELECT count(*) FROM mail_message WHERE model = 'account.move' AND body LIKE %s",
                   '%Issue asked by%')[0][0]
    print(f'n={N} clients={CLIENTS}{" provider=viettel-sandbox" if sandbox else ""} wall_s={elapsed:.1f} '
          f'per_invoice_ms={elapsed * 1000 / N:.1f} issued={len(numbers)} not_issued={failed} '
          f'client_errors={len(errors)} server_log_errors={len(logged)} already_issued_by_another={len(raced)} '
          f'handed_to_scheduled_action={handed}{figures} '
          f'numbers=1..N {"ok" if ok else "WRONG"}')
    return 0 if ok and not errors and not logged else 1


if __name__ == '__main__':
    try:
        sys.exit(main())
    finally:
        subprocess.run(['dropdb', '--if-exists', DB], check=False)
