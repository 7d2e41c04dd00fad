"""Messages and wall time to send the data of N invoices without code to the tax authority: one message 203
per invoice (the connection's "Invoices per message 203" set to 1: what Odoo did before batches) against
batches (BENCH_BATCH, default 500), on the same invoices in the same run (run by scripts/bench-odoo --tax-data).

Runs inside ``odoo-bin shell`` on a throw-away database where l10n_vn_einvoice is installed without demo data:
creates a Vietnamese company (THROW-AWAY test signer), a K<yy>TBB series, a connection to the tax-authority
sandbox started in this process on loopback (real HTTP, registered 01/ĐKTĐ-HĐĐT), issues N invoices, then sends
their data twice with the daily scheduled action's method — once one message per invoice, once in batches (the
sandbox forgets the invoices in between, the invoices go back to "data to send") — until every invoice is
received (999 and 204 followed). Then a check: two workers (two database cursors) run the daily action at the
same moment on the same invoices: every invoice goes in exactly one message (ceil(N / BENCH_BATCH) messages,
none refused as already sent). The last line is ``messages_before=… messages_after=… … ratio=…``.

Environment: BENCH_N (default 1000), BENCH_BATCH (default 500).
"""
import math
import os
import threading
import time
from datetime import date

from odoo import Command, api

from vn_einvoice.sandbox.taxauthority import start

N = int(os.environ.get('BENCH_N', '1000'))
BATCH = int(os.environ.get('BENCH_BATCH', '500'))
MST = '0312345673'


def setup(env, url, ca_pem):
    vn = env.ref('base.vn')
    vals = {
        'name': 'Công ty TNHH Đo Hiệu Năng', 'country_id': vn.id, 'currency_id': env.ref('base.VND').id,
        'street': '12 Nguyễn Huệ', 'city': 'TP. Hồ Chí Minh', 'email': 'ketoan@bench.example.vn',
        'phone': '028 3822 0000', 'l10n_vn_einvoice_tax_office_code': '79100',
        'l10n_vn_einvoice_tax_office_name': 'Thuế cơ sở 1 Thành phố Hồ Chí Minh',
    }
    if 'iap_enrich_auto_done' in env['res.company']._fields:
        vals['iap_enrich_auto_done'] = True  # partner_autocomplete: no call to the IAP service
    company = env['res.company'].create(vals)
    env['account.chart.template'].try_loading('vn', company, install_demo=False)
    signer, c_series = company._l10n_vn_einvoice_setup_test_signer(MST)
    year = date.today().year
    k_series = env['l10n_vn_einvoice.series'].create({
        'template_id': c_series.template_id.id, 'symbol': f'K{year % 100:02d}TBB', 'company_id': company.id,
        'date_start': date(year, 1, 1), 'signer_id': signer.id,
    })
    connection = env['l10n_vn_einvoice.tax.connection'].create({
        'name': 'T-VAN sandbox', 'company_id': company.id, 'url': url, 'username': 'demo', 'password': 'demo',
        'contact_name': 'Nguyễn Văn An', 'place': 'Thành phố Hồ Chí Minh', 'authority_ca': ca_pem,
        'without_code': True, 'wait_seconds': 10, 'poll_interval': 0.05,
    })
    connection._sign_and_send_registration()
    if connection.registration_state != 'accepted':
        raise SystemExit(f'the sandbox did not accept the registration: {connection.registration_reason}')
    admin = env.ref('base.user_admin')
    admin.write({'company_ids': [Command.link(company.id)], 'company_id': company.id})
    env.cr.commit()
    return company, admin, k_series, connection


def issue(env, company, series, count):
    partner = env['res.partner'].create({
        'name': 'Công ty Cổ phần Khách hàng', 'is_company': True, 'vat': '0101234565', 'street': '1 Tràng Tiền',
        'city': 'Hà Nội', 'country_id': env.ref('base.vn').id, 'email': 'ap@buyer.example.vn',
    })
    tax = env['account.tax'].search([
        ('company_id', '=', company.id), ('type_tax_use', '=', 'sale'), ('amount', '=', 10),
        ('amount_type', '=', 'percent'), ('tax_group_id.name', 'not ilike', 'exempt')], limit=1)
    product = env['product.product'].create({'name': 'Sản phẩm', 'list_price': 100_000,
                                             'taxes_id': [Command.set(tax.ids)]})
    moves = env['account.move'].create([{
        'move_type': 'out_invoice', 'partner_id': partner.id, 'invoice_date': date.today(),
        'l10n_vn_einvoice_series_id': series.id,
        'invoice_line_ids': [Command.create({'product_id': product.id, 'quantity': 1 + n % 4,
                                             'price_unit': 150_000 + 1_000 * n})],
    } for n in range(count)])
    moves.action_post()
    for start_at in range(0, count, 200):
        moves[start_at:start_at + 200].action_l10n_vn_einvoice_issue()
        env.cr.commit()
    states = set(moves.mapped('l10n_vn_einvoice_cqt_state'))
    if states != {'data_pending'}:
        raise SystemExit(f'the benchmark invoices were not all issued without code: {states}')
    return moves


def send_all(env, moves, connection, app, size):
    """Wall time and messages to get every invoice's data received, with ``size`` invoices per message."""
    reset(env, moves, connection, app, size)  # the tax authority forgets them: the same invoices received again
    messages = env['l10n_vn_einvoice.tax.message']
    before = messages.search_count([('direction', '=', 'out'), ('message_type', '=', '203')])
    requests_before = sum(app.stats.values())
    env.invalidate_all()
    started = time.perf_counter()
    for _round in range(100):  # what ir.cron does while the job reports some remaining
        if not env['account.move'].search_count([('id', 'in', moves.ids),
                                                 ('l10n_vn_einvoice_cqt_state', '!=', 'data_ok')]):
            break
        env['account.move']._cron_l10n_vn_einvoice_cqt_data()
        env['account.move']._cron_l10n_vn_einvoice_cqt()
    elapsed = time.perf_counter() - started
    env.invalidate_all()
    states = set(moves.mapped('l10n_vn_einvoice_cqt_state'))
    if states != {'data_ok'} or len(app.invoices) != len(moves):
        raise SystemExit(f'not every invoice was received: {states}, {len(app.invoices)} at the sandbox')
    sent = messages.search_count([('direction', '=', 'out'), ('message_type', '=', '203')]) - before
    http = sum(app.stats.values()) - requests_before
    print(f'{size} invoice(s) per message: {sent} messages 203, {http} HTTP requests, {elapsed:.1f} s')
    return sent, elapsed


def reset(env, moves, connection, app, size):
    connection.data_batch_size = size
    moves.with_context(l10n_vn_einvoice_internal=True).write({'l10n_vn_einvoice_cqt_state': 'data_pending',
                                                              'l10n_vn_einvoice_cqt_message': False})
    with app.lock:
        app.invoices.clear()
    env.cr.commit()


def two_workers(env, moves, connection, app, size):
    """Two workers run the daily action at once: each invoice in one message, never in two."""
    reset(env, moves, connection, app, size)
    messages = env['l10n_vn_einvoice.tax.message']
    before = messages.search([('direction', '=', 'out'), ('message_type', '=', '203')])
    env.cr.commit()
    barrier, errors = threading.Barrier(2), []

    def worker():
        try:
            with env.registry.cursor() as cr:
                wenv = api.Environment(cr, env.uid, env.context)
                wenv['account.move'].search_count([('id', 'in', moves.ids)])  # both transactions begin
                barrier.wait(timeout=60)
                wenv['account.move']._cron_l10n_vn_einvoice_cqt_data()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise SystemExit(f'a worker failed: {errors!r}')
    for _round in range(10):  # the 5-minute action follows what is left
        env.cr.rollback()  # a new snapshot: what the workers committed
        env.invalidate_all()
        if not env['account.move'].search_count([('id', 'in', moves.ids),
                                                 ('l10n_vn_einvoice_cqt_state', '!=', 'data_ok')]):
            break
        env['account.move']._cron_l10n_vn_einvoice_cqt()
        env.cr.commit()
    sent = messages.search([('direction', '=', 'out'), ('message_type', '=', '203')]) - before
    states = set(moves.mapped('l10n_vn_einvoice_cqt_state'))
    carried = sum(len(m.move_ids) for m in sent)
    expected = math.ceil(len(moves) / size)
    ok = states == {'data_ok'} and len(sent) == expected and carried == len(moves) and len(app.invoices) == len(moves)
    print(f'two workers at once: {len(sent)} messages 203 (expected {expected}), {carried} invoices carried, '
          f'{len(app.invoices)} received, states {sorted(states)}: {"OK" if ok else "WRONG"}')
    if not ok:
        raise SystemExit('two workers put invoices in two messages, or lost some')


def main(env):
    with start() as server:
        company, admin, series, connection = setup(env, server.url, server.app.identity.ca_pem.decode())
        env = env(user=admin, context=dict(env.context, allowed_company_ids=[company.id]))
        connection = connection.with_env(env)
        moves = issue(env, company, series.with_env(env), N)
        before_n, before_s = send_all(env, moves, connection, server.app, 1)
        after_n, after_s = send_all(env, moves, connection, server.app, BATCH)
        two_workers(env, moves, connection, server.app, BATCH)
    print(f'messages_before={before_n} messages_after={after_n} seconds_before={before_s:.1f} '
          f'seconds_after={after_s:.1f} ratio={before_s / after_s:.1f} (N={N} invoices, {BATCH} per message)')


main(env)  # noqa: F821 - given by odoo-bin shell
