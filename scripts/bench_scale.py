"""Scale benchmark: the scheduled action issues a large batch in a real Odoo worker, is killed (kill -9) in the
middle, and finishes after a restart with nothing lost or doubled (run by scripts/bench-scale).

Steps, on a throw-away database where l10n_vn_einvoice is installed without demo data:
  1. ``odoo-bin shell`` creates a company (VN chart, THROW-AWAY test signer, series C<yy>TAA, automatic issue on)
     and BENCH_N posted invoices of 3 lines, in committed batches;
  2. ``odoo-bin`` is started as a server with one cron thread; the "issue prepared e-invoices" job is triggered;
     once about a third of the invoices are issued, the worker is killed with SIGKILL;
  3. the worker is started again and runs the job until nothing is left; its peak memory (VmHWM) is read from
     /proc while it runs;
  4. the database is checked: every invoice issued exactly once, numbers exactly 1..N without gap or double,
     one signed XML per invoice; issue time per invoice over the whole run.
Last line: ``n=… issued=… killed_at=… per_invoice_ms=… peak_rss_mb=… numbers=1..N ok``.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

REPO = Path(__file__).resolve().parent.parent
ODOO = Path(os.environ.get('ODOO_SRC', '/opt/odoo/18.0'))
PY = os.environ.get('PYTHON', str(REPO / '.venv' / 'bin' / 'python'))
N = int(os.environ.get('BENCH_N', '10000'))
DB = f'einv_scale_{int(time.time())}{os.getpid()}'
ADDONS = f'{ODOO}/addons,{ODOO}/odoo/addons,{REPO}'

SETUP = '''
from datetime import date
from odoo import Command
env = env(context=dict(env.context, tracking_disable=True))
vn = env.ref('base.vn')
company = env['res.company'].create({{
    'name': 'Công ty TNHH Quy Mô', 'country_id': vn.id, 'currency_id': env.ref('base.VND').id,
    'street': '12 Nguyễn Huệ', 'city': 'TP. Hồ Chí Minh'}})
env['account.chart.template'].try_loading('vn', company, install_demo=False)
company._l10n_vn_einvoice_setup_test_signer('0312345673')
company.l10n_vn_einvoice_auto_issue = {auto_issue}
env.ref('base.user_admin').write({{'company_ids': [Command.link(company.id)]}})
env.cr.commit()
env = env(context=dict(env.context, allowed_company_ids=[company.id]))
partner = env['res.partner'].create({{'name': 'Công ty Cổ phần Khách hàng', 'is_company': True, 'vat': '0101234565',
                                     'street': '1 Tràng Tiền', 'city': 'Hà Nội', 'country_id': vn.id}})
tax = env['account.tax'].search([('company_id', '=', company.id), ('type_tax_use', '=', 'sale'),
                                 ('amount', '=', 10), ('amount_type', '=', 'percent')], limit=1)
products = env['product.product'].create([{{'name': f'Sản phẩm {{i}}', 'taxes_id': [Command.set(tax.ids)]}}
                                          for i in range(3)])
for start in range(0, {n}, 500):
    moves = env['account.move'].with_company(company).create([{{
        'move_type': 'out_invoice', 'partner_id': partner.id, 'invoice_date': date(date.today().year, 1, 2),
        'invoice_line_ids': [Command.create({{'product_id': p.id, 'quantity': 1 + (n + i) % 4,
                                              'price_unit': 100_000 + n}}) for i, p in enumerate(products)],
    }} for n in range(start, min(start + 500, {n}))])
    moves.action_post()
    env.cr.commit()
    env.invalidate_all()
print('created', env['account.move'].search_count([('company_id', '=', company.id), ('state', '=', 'posted')]))
'''


def odoo(*args, **kw):
    command = [args[0]] if args and args[0] == 'shell' else []  # a sub-command comes first
    return subprocess.run([PY, str(ODOO / 'odoo-bin'), *command, '-d', DB, f'--addons-path={ADDONS}',
                           *args[len(command):]], **kw)


def query(sql, *params):
    with psycopg2.connect(dbname=DB) as cnx, cnx.cursor() as cr:
        cr.execute(sql, params)
        return cr.fetchall() if cr.description else None


def issued_count():
    return query("SELECT count(*) FROM account_move WHERE l10n_vn_einvoice_state = 'USING'")[0][0]


def trigger_cron():
    query("UPDATE ir_cron SET active = true, nextcall = now() AT TIME ZONE 'UTC' - interval '1 minute' "
          "WHERE id = (SELECT res_id FROM ir_model_data WHERE module = 'l10n_vn_einvoice' "
          "AND name = 'ir_cron_l10n_vn_einvoice_issue')")
    cnx = psycopg2.connect(dbname='postgres')  # wake the cron threads now, as ir.cron._trigger() does
    cnx.autocommit = True
    with cnx.cursor() as cr:
        cr.execute('SELECT pg_notify(%s, %s)', ['cron_trigger', DB])
    cnx.close()


def start_worker(log):
    return subprocess.Popen([PY, str(ODOO / 'odoo-bin'), '-d', DB, f'--addons-path={ADDONS}', '--http-port=0',
                             '--max-cron-threads=1', '--log-level=warn', f'--logfile={log}'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def rss_peak_mb(pid):
    try:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def setup_database(n, auto_issue=True):
    """Install the addon in a new database and create the company and ``n`` posted invoices."""
    print(f'-- database {DB}: install, then {n} posted invoices', flush=True)
    odoo('--stop-after-init', '--without-demo=all', '-i', 'l10n_vn_einvoice', '--log-level=warn', '--no-http',
         '--max-cron-threads=0', check=True, capture_output=True)
    out = odoo('shell', '--log-level=warn', '--no-http', '--max-cron-threads=0',
               input=SETUP.format(n=n, auto_issue=auto_issue), text=True, capture_output=True)
    if out.returncode or 'Traceback' in out.stdout + out.stderr:
        sys.exit(f'the set-up failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}')
    print('  ', out.stdout.strip().splitlines()[-1], flush=True)


def main():
    setup_database(N)
    log = f'/tmp/{DB}.log'
    trigger_cron()
    started = time.perf_counter()
    worker = start_worker(log)
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
    print(f'-- killed the worker (SIGKILL) with {killed_at} of {N} issued')
    trigger_cron()
    worker = start_worker(log)
    while issued_count() < N:
        peak = max(peak, rss_peak_mb(worker.pid))
        if worker.poll() is not None:
            sys.exit(f'the worker stopped; see {log}')
        time.sleep(0.5)
    elapsed = time.perf_counter() - started
    peak = max(peak, rss_peak_mb(worker.pid))
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    numbers = [r[0] for r in query("SELECT l10n_vn_einvoice_number FROM account_move WHERE l10n_vn_einvoice_state "
                                   "= 'USING' ORDER BY l10n_vn_einvoice_number")]
    xml = query("SELECT count(*), count(DISTINCT res_id) FROM ir_attachment WHERE res_model = 'account.move' "
                "AND res_field = 'l10n_vn_einvoice_xml'")[0]
    ok = numbers == list(range(1, N + 1)) and xml == (N, N)
    print(f'n={N} issued={len(numbers)} killed_at={killed_at} per_invoice_ms={elapsed * 1000 / N:.1f} '
          f'(wall, incl. a restart) peak_rss_mb={peak:.0f} numbers=1..N {"ok" if ok else "WRONG"} '
          f'xml_attachments={xml[0]} distinct={xml[1]}')
    return 0 if ok else 1


if __name__ == '__main__':
    try:
        sys.exit(main())
    finally:
        subprocess.run(['dropdb', '--if-exists', DB], check=False)
