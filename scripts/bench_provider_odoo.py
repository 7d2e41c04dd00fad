"""Issuing through a provider from Odoo, against the SInvoice sandbox: HTTP round trips and wall time.

Run it as a program: ``.venv/bin/python scripts/bench_provider_odoo.py`` creates a throw-away database
with l10n_vn_einvoice and Odoo's own l10n_vn_edi_viettel (no demo data), runs this same file inside
``odoo-bin shell`` and drops the database. In the shell it starts a SInvoice sandbox in-process and, in
one run, issues BENCH_N invoices (default 500) three ways, each on its own N posted invoices:

  * ours, batch: the scheduled action (``issue_batch`` → SInvoice ``createBatchInvoice``, 50 per request);
  * ours, one by one: the "Issue e-invoice" action on the N invoices (lock, key committed, createInvoice,
    outcome committed, per invoice);
  * Odoo's ``l10n_vn_edi_viettel``: what its Send & Print does before rendering the PDF, per invoice
    (generate the JSON, ``_l10n_vn_edi_send_invoice``: lock, createInvoice, commit), its URL constants
    pointed at the sandbox (``SINVOICE_API_URL`` and the hard-coded login URL); run twice: looping over
    the recordset as Send & Print does, and with each invoice prefetched alone (as ours does: a commit
    empties the ORM cache, and a shared prefetch set then reloads every invoice each time).

Then ours one by one through the VNPT (SOAP, zeep) and seed 002 portal sandboxes, N invoices each, files not
fetched: round trips per invoice per provider from Odoo (every request also written to the user log).

Files (PDF/ZIP) are not fetched in these three runs (Odoo fetches them after its PDF rendering); a fourth
run, ours one by one WITH the files, shows their cost. Round trips are counted by the sandbox (every HTTP
request it received, logins and look-ups included). ``--latency MS`` (or BENCH_LATENCY_MS) makes the sandbox
answer every request MS milliseconds late, as a provider across the Internet does. The last lines print the
figures and the wall-time ratios of Odoo's module against ours.
"""
import cProfile
import os
import pstats
import subprocess
import sys
import time
from datetime import date

from vn_einvoice.sandbox.http import SandboxServer
from vn_einvoice.sandbox.portal import PortalSandbox
from vn_einvoice.sandbox.viettel import V2_PREFIX, start
from vn_einvoice.sandbox.vnpt import VnptSandbox, default_companies

N = int(os.environ.get('BENCH_N', '500'))
# --latency MS (or BENCH_LATENCY_MS): the sandbox answers every request that much later, as a provider across
# the Internet does; what batching is worth shows only with it
LATENCY_MS = float(sys.argv[sys.argv.index('--latency') + 1] if '--latency' in sys.argv[:-1]
                   else os.environ.get('BENCH_LATENCY_MS', '0'))
MST = '0312345673'


def _main():
    """Outside Odoo: fresh database, this file in `odoo-bin shell`, database dropped."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    odoo = os.environ.get('ODOO_SRC', '/opt/odoo/18.0')
    python = os.environ.get('PYTHON') or os.path.join(repo, '.venv', 'bin', 'python')
    addons = f'{odoo}/addons,{odoo}/odoo/addons,{repo}'
    db = f'einv_bench_provider_{int(time.time())}{os.getpid()}'
    common = [python, f'{odoo}/odoo-bin', '-d', db, f'--addons-path={addons}', '--log-level=warn', '--no-http',
              '--max-cron-threads=0']
    try:
        print(f'-- installing l10n_vn_einvoice and l10n_vn_edi_viettel in {db} (no demo data)', flush=True)
        subprocess.run(common + ['--stop-after-init', '--without-demo=all', '-i', 'l10n_vn_einvoice,l10n_vn_edi_viettel'],
                       check=True, cwd=repo)
        print(f'-- benchmark (BENCH_N={N}, latency {LATENCY_MS:g} ms per answer)', flush=True)
        with open(__file__, 'rb') as script:
            run = subprocess.run(common[:2] + ['shell'] + common[2:], stdin=script, cwd=repo,
                                 env={**os.environ, 'BENCH_LATENCY_MS': str(LATENCY_MS)})
        return run.returncode
    finally:
        subprocess.run(['dropdb', '--if-exists', db], check=False)


def _bench(env):
    from odoo import Command  # noqa: PLC0415 - Odoo exists only in odoo-bin shell; _main runs without it
    from odoo.addons.l10n_vn_edi_viettel.models import account_move as odoo_viettel  # noqa: PLC0415 - Odoo exists only in odoo-bin shell; _main runs without it

    server = start()
    app = server.app
    url = server.url

    def stats():
        return sum(v for k, v in app.stats.items() if not k.startswith('fault:'))

    # --- a Vietnamese company, its provider account and series ------------------------------------------
    vn = env.ref('base.vn')
    state = env['res.country.state'].search([('country_id', '=', vn.id)], limit=1) or env['res.country.state'].create(
        {'name': 'Hà Nội', 'code': 'HN', 'country_id': vn.id})
    vals = {'name': 'Công ty TNHH Đo Hiệu Năng', 'country_id': vn.id, 'currency_id': env.ref('base.VND').id,
            'street': '12 Nguyễn Huệ', 'city': 'TP. Hồ Chí Minh', 'state_id': state.id,
            'email': 'ketoan@bench.example.vn', 'l10n_vn_edi_username': 'demo', 'l10n_vn_edi_password': 'demo'}
    if 'iap_enrich_auto_done' in env['res.company']._fields:
        vals['iap_enrich_auto_done'] = True
    company = env['res.company'].create(vals)
    env['account.chart.template'].try_loading('vn', company, install_demo=False)
    _signer, local_series = company._l10n_vn_einvoice_setup_test_signer(MST)
    admin = env.ref('base.user_admin')
    admin.write({'company_ids': [Command.link(company.id)], 'company_id': company.id})
    env = env(user=admin.id, context=dict(env.context, allowed_company_ids=[company.id]))
    account = env['l10n_vn_einvoice.provider'].create({
        'name': 'SInvoice sandbox', 'company_id': company.id, 'service_url': url + V2_PREFIX + '/',
        'auth_style': 'token', 'account': 'demo', 'acpassword': 'demo', 'username': 'demo', 'password': 'demo',
        'is_default': True, 'download_files': False, 'retry_backoff': 0.05, 'read_timeout': 30,
    })
    year = date.today().year
    local_series.is_default = False
    env['l10n_vn_einvoice.series'].create({
        'template_id': local_series.template_id.id, 'symbol': f'K{year % 100:02d}TAA', 'company_id': company.id,
        'date_start': date(year, 1, 1), 'is_default': True, 'issuing_mode': 'provider',
        'provider_template_code': '1/001',
    })
    company.write({'l10n_vn_einvoice_mode': 'provider', 'l10n_vn_einvoice_auto_issue': True})
    # Odoo's own module: template 1/001, series C<yy>TAA (its own numbering at the sandbox)
    template = env['l10n_vn_edi_viettel.sinvoice.template'].create({'name': '1/001', 'template_invoice_type': '1'})
    symbol = env['l10n_vn_edi_viettel.sinvoice.symbol'].create(
        {'name': f'C{year % 100:02d}TAA', 'invoice_template_id': template.id})
    partner = env['res.partner'].create({
        'name': 'Công ty Cổ phần Khách hàng', 'is_company': True, 'vat': '0101234565', 'street': '1 Tràng Tiền',
        'city': 'Hà Nội', 'state_id': state.id, 'country_id': vn.id, 'email': 'ap@buyer.example.vn',
    })
    taxes = [env['account.tax'].search([
        ('company_id', '=', company.id), ('type_tax_use', '=', 'sale'), ('amount', '=', amount),
        ('amount_type', '=', 'percent'), ('tax_group_id.name', 'not ilike', 'exempt')], limit=1) for amount in (10, 8, 5)]
    products = env['product.product'].create([
        {'name': f'Sản phẩm {i}', 'default_code': f'SP{i:03d}', 'taxes_id': [Command.set(tax.ids)]}
        for i, tax in enumerate(taxes)])
    env.cr.commit()

    # Odoo's module pointed at the sandbox: its API base and its hard-coded login address
    odoo_viettel.SINVOICE_API_URL = url + V2_PREFIX + '/'
    send = odoo_viettel._l10n_vn_edi_send_request

    def to_sandbox(method, url, json_data=None, params=None, headers=None, cookies=None):
        return send(method, url.replace('https://api-vinvoice.viettel.vn', server.url), json_data=json_data,
                    params=params, headers=headers, cookies=cookies)

    odoo_viettel._l10n_vn_edi_send_request = to_sandbox

    def invoices(count, odoo=False, series=None, goods=None):
        extra = {'l10n_vn_einvoice_series_id': local_series.id} if odoo else {}  # not picked by our batch
        if series:
            extra = {'l10n_vn_einvoice_series_id': series.id}
        moves = env['account.move'].create([{
            'move_type': 'out_invoice', 'partner_id': partner.id, 'invoice_date': date.today(),
            'l10n_vn_edi_invoice_symbol': symbol.id, **extra,
            'invoice_line_ids': [Command.create({'product_id': p.id, 'quantity': 1 + (n + i) % 4,
                                                 'price_unit': 150_000 + 1_000 * n})
                                 for i, p in enumerate(goods or products)],
        } for n in range(count)])
        moves.action_post()
        env.cr.commit()
        return moves

    def measure(label, moves, func):
        env.invalidate_all()
        trips, start_time = stats(), time.perf_counter()
        if os.environ.get('BENCH_PROFILE') == label:
            profile = cProfile.Profile()
            profile.runcall(func, moves)
            pstats.Stats(profile).sort_stats('cumulative').print_stats(40)
        else:
            func(moves)
        env.cr.commit()
        elapsed = time.perf_counter() - start_time
        trips = stats() - trips
        env.invalidate_all()
        return label, elapsed, trips

    def ours_batch(moves):
        env['account.move']._cron_l10n_vn_einvoice_provider_issue(limit=len(moves))

    def ours_each(moves):
        moves.action_l10n_vn_einvoice_issue()

    def odoo_each(moves, own_prefetch=False):
        for move in moves:
            if own_prefetch:  # what ours does: each commit empties the cache, so prefetch this invoice alone
                move = move.with_prefetch()
            errors = move._l10n_vn_edi_check_invoice_configuration()
            if not errors:
                errors = move._l10n_vn_edi_send_invoice(move._l10n_vn_edi_generate_invoice_json())
            if errors:
                print('odoo error', move.id, errors)

    # warm-up: a few of each (login, caches)
    ours_each(invoices(2))
    odoo_each(invoices(2, odoo=True))
    ours_batch(invoices(2))
    env.cr.commit()

    if LATENCY_MS:
        app.faults.add(op='*', kind='delay', seconds=LATENCY_MS / 1000)
    results = []
    batch_moves = invoices(N)
    results.append(measure('ours_batch', batch_moves, ours_batch))
    ok_batch = sum(1 for m in batch_moves if m.l10n_vn_einvoice_state == 'USING')
    each_moves = invoices(N)
    results.append(measure('ours_one_by_one', each_moves, ours_each))
    ok_each = sum(1 for m in each_moves if m.l10n_vn_einvoice_state == 'USING')
    odoo_moves = invoices(N, odoo=True)
    results.append(measure('odoo_l10n_vn_edi_viettel', odoo_moves, odoo_each))
    ok_odoo = sum(1 for m in odoo_moves if m.l10n_vn_edi_invoice_state == 'sent')
    odoo_fixed = invoices(N, odoo=True)
    results.append(measure('odoo_viettel_own_prefetch', odoo_fixed, lambda moves: odoo_each(moves, True)))
    ok_odoo += sum(1 for m in odoo_fixed if m.l10n_vn_edi_invoice_state == 'sent')
    account.download_files = True
    files_moves = invoices(N)
    results.append(measure('ours_one_by_one_with_files', files_moves, ours_each))
    ok_files = sum(1 for m in files_moves if m.l10n_vn_einvoice_provider_pdf_id)

    uuids = [r['transactionUuid'] for r in app.invoices()]
    duplicates = len(uuids) - len(set(uuids))
    server.stop()
    account.download_files = False

    # --- the same one by one through VNPT and the seed 002 portal --------------------------------------
    yy = f'{year % 100:02d}'
    others = {
        'vnpt': (VnptSandbox({'companies': [{**default_companies()[0], 'tax_code': MST,
                                             'patterns': {'1/001': [f'K{yy}TVN']}}]}), f'K{yy}TVN', '1/001',
                 {'account': 'demoadmin', 'acpassword': 'demo', 'username': 'demoservice', 'password': 'demo'}),
        'portal': (PortalSandbox({'accounts': [{'apikey': 'bench-apikey', 'sessionkey': 'bench-sessionkey',
                                                'tax_code': MST, 'name': company.name, 'forms': {'1': [f'K{yy}TPT']}}]}),
                   f'K{yy}TPT', '1', {'username': 'bench-apikey', 'password': 'bench-sessionkey'}),
    }
    other_ok = {}
    for name, (sandbox, serial, template_code, credentials) in others.items():
        with SandboxServer(sandbox) as other_server:
            other_account = env['l10n_vn_einvoice.provider'].create({
                'name': f'{name} sandbox', 'provider': name, 'company_id': company.id,
                'service_url': other_server.url, 'download_files': False, 'retry_backoff': 0.05, 'read_timeout': 30,
                **credentials})
            other_series = env['l10n_vn_einvoice.series'].create({
                'template_id': local_series.template_id.id, 'symbol': serial, 'company_id': company.id,
                'date_start': date(year, 1, 1), 'issuing_mode': 'provider', 'provider_id': other_account.id,
                'provider_template_code': template_code})
            env.cr.commit()
            goods = products[:1] if name == 'portal' else None  # seed 002 has one VAT rate per invoice
            ours_each(invoices(2, series=other_series, goods=goods))  # warm-up (WSDLs, watermark)
            if LATENCY_MS:
                sandbox.faults.add(op='*', kind='delay', seconds=LATENCY_MS / 1000)
            moves = invoices(N, series=other_series, goods=goods)
            before = sum(v for k, v in sandbox.stats.items() if not k.startswith('fault:'))
            started = time.perf_counter()
            ours_each(moves)
            env.cr.commit()
            elapsed = time.perf_counter() - started
            trips = sum(v for k, v in sandbox.stats.items() if not k.startswith('fault:')) - before
            env.invalidate_all()
            results.append((f'ours_one_by_one_{name}', elapsed, trips))
            other_ok[name] = sum(1 for m in moves if m.l10n_vn_einvoice_state == 'USING')
    for label, elapsed, trips in results:
        print(f'{label:28s} {N} invoices: {elapsed:8.2f} s  {elapsed / N * 1000:7.1f} ms/inv  '
              f'{trips:6d} round trips  {trips / N:5.2f}/inv')
    print(f'issued: ours_batch={ok_batch}/{N} ours_one_by_one={ok_each}/{N} odoo={ok_odoo}/{2 * N} '
          f'ours_with_files={ok_files}/{N} ' + ' '.join(f'ours_{k}={v}/{N}' for k, v in other_ok.items())
          + f'; sandbox invoices sharing a key: {duplicates}')
    by_label = {label: (elapsed, trips) for label, elapsed, trips in results}
    odoo_s = by_label['odoo_l10n_vn_edi_viettel'][0]
    print(f'latency={LATENCY_MS:g}ms: odoo/ours_batch wall = {odoo_s / by_label["ours_batch"][0]:.1f}x, '
          f'odoo/ours_one_by_one wall = {odoo_s / by_label["ours_one_by_one"][0]:.2f}x; round trips/inv: '
          f'ours_batch={by_label["ours_batch"][1] / N:.3f} ours_one_by_one={by_label["ours_one_by_one"][1] / N:.2f} '
          f'odoo={by_label["odoo_l10n_vn_edi_viettel"][1] / N:.2f} '
          f'vnpt={by_label["ours_one_by_one_vnpt"][1] / N:.2f} portal={by_label["ours_one_by_one_portal"][1] / N:.2f}; '
          f'wall vs ours one by one (SInvoice): vnpt x{by_label["ours_one_by_one_vnpt"][0] / by_label["ours_one_by_one"][0]:.2f}'
          f' portal x{by_label["ours_one_by_one_portal"][0] / by_label["ours_one_by_one"][0]:.2f}')
    print(' | '.join(f'{label}: {trips} trips {elapsed:.1f}s ({elapsed / N * 1000:.1f} ms/inv)'
                     for label, elapsed, trips in results) + f' | N={N}')


if 'env' in globals():  # inside odoo-bin shell
    _bench(globals()['env'])
elif __name__ == '__main__':
    sys.exit(_main())
