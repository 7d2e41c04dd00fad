"""Scale benchmark: the scheduled action issues a large batch in a real Odoo worker, is killed (kill -9) in the
middle, and finishes after a restart with nothing lost or doubled; its time per invoice is compared with a
100-invoice run of the same scheduled action in the same worker (run by scripts/bench-scale).

Steps, on a throw-away database where l10n_vn_einvoice is installed without demo data:
  1. ``odoo-bin shell`` creates two companies (VN chart, THROW-AWAY test signer, series C<yy>TAA): the large
     one (automatic issue on) with BENCH_N (10 000) posted invoices of 3 lines, in committed batches, and the
     baseline one (automatic issue off for now) with BENCH_BASELINE_N (100);
  2. ``odoo-bin`` is started as a server with one cron thread; the "issue prepared e-invoices" job is triggered;
     once about a third of the invoices are issued, the worker is killed with SIGKILL; it is started again and
     runs the job until nothing is left; its peak memory (VmHWM) is read from /proc while it runs;
  3. automatic issue is switched on for the baseline company and the job triggered again, in the same (now
     warm) worker: its time per invoice for 100 invoices is the baseline;
  4. the database is checked: every invoice issued exactly once, numbers exactly 1..N without gap or double,
     one signed XML per invoice. Time per invoice of the large run: the time the workers worked (the chunk
     lost to the kill and issued again, and both cold starts, included; the restart itself not), and the wall
     time with the restart.
Last line: ``n=… issued=… killed_at=… per_invoice_ms=… baseline_100_per_invoice_ms=… ratio_N_vs_100=…
peak_rss_mb=… numbers=1..N ok``: the ratio is what "no worse for 10 000 than for 100" asks (at most 1).
"""

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import psycopg2

REPO = Path(__file__).resolve().parent.parent
ODOO = Path(os.environ.get('ODOO_SRC', '/opt/odoo/18.0'))
PY = os.environ.get('PYTHON', str(REPO / '.venv' / 'bin' / 'python'))
N = int(os.environ.get('BENCH_N', '10000'))
BASELINE_N = int(os.environ.get('BENCH_BASELINE_N', '100'))
DB = f'einv_scale_{int(time.time())}{os.getpid()}'
ADDONS = f'{ODOO}/addons,{ODOO}/odoo/addons,{REPO}'
COMPANY = 'Công ty TNHH Quy Mô'
BASELINE = 'Công ty TNHH Đối Chứng'  # its 100 invoices: the baseline run

SETUP = '''
from datetime import date
from odoo import Command
env = env(context=dict(env.context, tracking_disable=True))
vn = env.ref('base.vn')
for index, (name, count, auto_issue) in enumerate({companies!r}):
    env = env(context={{k: v for k, v in env.context.items() if k != 'allowed_company_ids'}})
    company = env['res.company'].create({{
        'name': name, 'country_id': vn.id, 'currency_id': env.ref('base.VND').id,
        'street': '12 Nguyễn Huệ', 'city': 'TP. Hồ Chí Minh'}})
    env['account.chart.template'].try_loading('vn', company, install_demo=False)
    company._l10n_vn_einvoice_setup_test_signer('0312345673')
    company.l10n_vn_einvoice_auto_issue = auto_issue
    env.ref('base.user_admin').write({{'company_ids': [Command.link(company.id)]}})
    if index == 0:
{extra}
        pass
    env.cr.commit()
    env = env(context=dict(env.context, allowed_company_ids=[company.id]))
    partner = env['res.partner'].create({{'name': 'Công ty Cổ phần Khách hàng', 'is_company': True,
                                         'vat': '0101234565', 'street': '1 Tràng Tiền', 'city': 'Hà Nội',
                                         'country_id': vn.id}})
    tax = env['account.tax'].search([('company_id', '=', company.id), ('type_tax_use', '=', 'sale'),
                                     ('amount', '=', 10), ('amount_type', '=', 'percent')], limit=1)
    products = env['product.product'].create([{{'name': f'Sản phẩm {{i}}', 'taxes_id': [Command.set(tax.ids)]}}
                                              for i in range(3)])
    for start in range(0, count, 500):
        moves = env['account.move'].with_company(company).create([{{
            'move_type': 'out_invoice', 'partner_id': partner.id, 'invoice_date': date(date.today().year, 1, 2),
            'invoice_line_ids': [Command.create({{'product_id': p.id, 'quantity': 1 + (n + i) % 4,
                                                  'price_unit': 100_000 + n}}) for i, p in enumerate(products)],
        }} for n in range(start, min(start + 500, count))])
        moves.action_post()
        env.cr.commit()
        env.invalidate_all()
    print('created', name, env['account.move'].search_count([('company_id', '=', company.id),
                                                            ('state', '=', 'posted')]))
'''


def odoo(*args, **kw):
    command = [args[0]] if args and args[0] == 'shell' else []  # a sub-command comes first
    return subprocess.run([PY, str(ODOO / 'odoo-bin'), *command, '-d', DB, f'--addons-path={ADDONS}',
                           *args[len(command):]], **kw)


def query(sql, *params):
    with psycopg2.connect(dbname=DB) as cnx, cnx.cursor() as cr:
        cr.execute(sql, params)
        return cr.fetchall() if cr.description else None


def issued_count(company=None):
    return query("SELECT count(*) FROM account_move m JOIN res_company c ON c.id = m.company_id "
                 "WHERE m.l10n_vn_einvoice_state = 'USING' AND c.name = %s", company or COMPANY)[0][0]


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def trigger_cron(name='ir_cron_l10n_vn_einvoice_issue'):
    query("UPDATE ir_cron SET active = true, nextcall = now() AT TIME ZONE 'UTC' - interval '1 minute' "
          "WHERE id = (SELECT res_id FROM ir_model_data WHERE module = 'l10n_vn_einvoice' AND name = %s)", name)
    cnx = psycopg2.connect(dbname='postgres')  # wake the cron threads now, as ir.cron._trigger() does
    cnx.autocommit = True
    with cnx.cursor() as cr:
        cr.execute('SELECT pg_notify(%s, %s)', ['cron_trigger', DB])
    cnx.close()


def start_worker(log):
    """An Odoo server with one cron thread, once it answers HTTP (its registry loaded)."""
    port = free_port()
    worker = subprocess.Popen([PY, str(ODOO / 'odoo-bin'), '-d', DB, f'--addons-path={ADDONS}',
                               f'--http-port={port}', '--http-interface=127.0.0.1', '--max-cron-threads=1',
                               '--log-level=warn', f'--logfile={log}'],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _i in range(240):
        try:
            urllib.request.urlopen(f'http://127.0.0.1:{port}/web/login', timeout=5)
            break
        except OSError:
            if worker.poll() is not None:
                sys.exit(f'the worker did not start; see {log}')
            time.sleep(0.25)
    return worker


def rss_peak_mb(pid):
    try:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def setup_database(n, auto_issue=True, extra='', baseline=0):
    """Install the addon in a new database and create the company and ``n`` posted invoices (``extra``: code
    run in the shell once the company exists, e.g. a provider series made the default); ``baseline``: a second
    company (BASELINE) with that many posted invoices, not issuing automatically (switched on later)."""
    print(f'-- database {DB}: install, then {n} posted invoices' + (f' (and {baseline} of {BASELINE})' if baseline
                                                                     else ''), flush=True)
    odoo('--stop-after-init', '--without-demo=all', '-i', 'l10n_vn_einvoice', '--log-level=warn', '--no-http',
         '--max-cron-threads=0', check=True, capture_output=True)
    companies = [(COMPANY, n, auto_issue)] + ([(BASELINE, baseline, False)] if baseline else [])
    out = odoo('shell', '--log-level=warn', '--no-http', '--max-cron-threads=0',
               input=SETUP.format(companies=companies, extra=textwrap.indent(extra.strip(), ' ' * 8)), text=True,
               capture_output=True)
    if out.returncode or 'Traceback' in out.stdout + out.stderr:
        sys.exit(f'the set-up failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}')
    for line in out.stdout.strip().splitlines()[-len(companies):]:
        print('  ', line, flush=True)


def main():
    setup_database(N, auto_issue=True, baseline=BASELINE_N)
    log = f'/tmp/{DB}.log'
    worker = start_worker(log)
    # 1. the large run: killed (SIGKILL) a third of the way, restarted, finished
    trigger_cron()
    started = time.perf_counter()
    kill_at = N // 3
    peak = 0.0
    while issued_count() < kill_at:
        peak = max(peak, rss_peak_mb(worker.pid))
        if worker.poll() is not None:
            sys.exit(f'the worker stopped before being killed; see {log}')
        time.sleep(0.2)
    killed_at = issued_count()
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    first_s = time.perf_counter() - started
    print(f'-- killed the worker (SIGKILL) with {killed_at} of {N} issued', flush=True)
    worker = start_worker(log)
    trigger_cron()
    restarted = time.perf_counter()
    while issued_count() < N:
        peak = max(peak, rss_peak_mb(worker.pid))
        if worker.poll() is not None:
            sys.exit(f'the worker stopped; see {log}')
        time.sleep(0.2)
    done = time.perf_counter()
    peak = max(peak, rss_peak_mb(worker.pid))
    working_ms = (first_s + done - restarted) * 1000 / N  # the chunk lost to the kill, redone, included
    wall_ms = (done - started) * 1000 / N
    # 2. the baseline: a run of BASELINE_N invoices by the same job in the same worker, now warm (the large
    #    run paid two cold starts: the first one and the one after the kill)
    query("UPDATE res_company SET l10n_vn_einvoice_auto_issue = true WHERE name = %s", BASELINE)
    trigger_cron()
    started = time.perf_counter()
    while issued_count(BASELINE) < BASELINE_N:
        if worker.poll() is not None:
            sys.exit(f'the worker stopped; see {log}')
        time.sleep(0.02)
    base_ms = (time.perf_counter() - started) * 1000 / BASELINE_N
    print(f'-- baseline: {BASELINE_N} invoices issued by the scheduled action, {base_ms:.1f} ms/inv', flush=True)
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    numbers = [r[0] for r in query("SELECT m.l10n_vn_einvoice_number FROM account_move m JOIN res_company c "
                                   "ON c.id = m.company_id WHERE m.l10n_vn_einvoice_state = 'USING' AND c.name = %s "
                                   "ORDER BY m.l10n_vn_einvoice_number", COMPANY)]
    xml = query("SELECT count(*), count(DISTINCT a.res_id) FROM ir_attachment a JOIN account_move m ON m.id = a.res_id "
                "JOIN res_company c ON c.id = m.company_id WHERE a.res_model = 'account.move' "
                "AND a.res_field = 'l10n_vn_einvoice_xml' AND c.name = %s", COMPANY)[0]
    ok = numbers == list(range(1, N + 1)) and xml == (N, N)
    print(f'n={N} issued={len(numbers)} killed_at={killed_at} per_invoice_ms={working_ms:.1f} '
          f'(wall with the restart {wall_ms:.1f}) baseline_{BASELINE_N}_per_invoice_ms={base_ms:.1f} '
          f'ratio_{N}_vs_{BASELINE_N}={working_ms / base_ms:.2f} peak_rss_mb={peak:.0f} '
          f'numbers=1..N {"ok" if ok else "WRONG"} xml_attachments={xml[0]} distinct={xml[1]}')
    return 0 if ok else 1


if __name__ == '__main__':
    try:
        sys.exit(main())
    finally:
        subprocess.run(['dropdb', '--if-exists', DB], check=False)
