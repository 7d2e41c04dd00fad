"""Two database transactions issuing e-invoices of the same series at the same time.

The usual test data (``EinvoiceCommon``) lives in the test transaction, which is never committed and so
is invisible to other cursors; its row locks would also block them. These tests therefore build their own
small Vietnamese company (no chart template: one receivable, one income account, a sale journal, a 10%
VAT tax, the test signer and series) in a cursor of its own that is COMMITTED, run two threads with two
more real cursors (``registry.cursor()``), and delete everything they committed at the end (checked).
"""
import logging
import threading
import time
from datetime import date

from psycopg2 import errors as pg_errors

from odoo import SUPERUSER_ID, Command, api
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from .common import BUYER_MST, SELLER_MST

_logger = logging.getLogger(__name__)

TAG = 'l10n_vn_einvoice concurrency test'  # in the names of every record committed here
WAIT = 60  # seconds: nothing here should ever take that long


def setup_committed_company(env, invoices=2):
    """Create (in ``env``'s cursor, which the caller commits) a minimal VN company able to issue.

    Returns a dict of ids for :func:`cleanup_committed_company`.
    """
    env = env(context={'chart_template_load': True, 'tracking_disable': True})  # no automatic chart
    vnd = env.ref('base.VND').with_context(active_test=False)
    ids = {'vnd_was_active': vnd.active, 'before': _side_effects(env.cr)}
    company = env['res.company'].create({
        'name': f'{TAG} {time.time_ns()}', 'currency_id': vnd.id, 'country_id': env.ref('base.vn').id,
        'street': '12 Nguyễn Huệ', 'city': 'TP. Hồ Chí Minh',
    })
    ids['company'] = company.id
    ids['company_partner'] = company.partner_id.id
    env = env(context=dict(env.context, allowed_company_ids=[company.id]))
    company = company.with_env(env)
    Account = env['account.account'].with_company(company)
    receivable = Account.create({'name': f'{TAG} receivable', 'code': '131TEST', 'reconcile': True,
                                 'account_type': 'asset_receivable', 'company_ids': [Command.set(company.ids)]})
    income = Account.create({'name': f'{TAG} income', 'code': '511TEST', 'account_type': 'income',
                             'company_ids': [Command.set(company.ids)]})
    tax_account = Account.create({'name': f'{TAG} VAT', 'code': '3331TEST', 'account_type': 'liability_current',
                                  'company_ids': [Command.set(company.ids)]})
    ids['accounts'] = (receivable | income | tax_account).ids
    journal = env['account.journal'].create({
        'name': f'{TAG} sales', 'code': 'TSALE', 'type': 'sale', 'company_id': company.id,
        'default_account_id': income.id,
    })
    ids['journal'] = journal.id
    group = env['account.tax.group'].create({'name': f'{TAG} VAT 10%', 'company_id': company.id,
                                             'country_id': company.country_id.id})
    ids['tax_group'] = group.id
    tax = env['account.tax'].create({
        'name': f'{TAG} VAT 10%', 'amount': 10, 'amount_type': 'percent', 'type_tax_use': 'sale',
        'company_id': company.id, 'tax_group_id': group.id, 'country_id': company.country_id.id,
        'invoice_repartition_line_ids': [
            Command.create({'repartition_type': 'base'}),
            Command.create({'repartition_type': 'tax', 'account_id': tax_account.id})],
        'refund_repartition_line_ids': [
            Command.create({'repartition_type': 'base'}),
            Command.create({'repartition_type': 'tax', 'account_id': tax_account.id})],
    })
    ids['tax'] = tax.id
    signer, series = company._l10n_vn_einvoice_setup_test_signer(SELLER_MST)
    ids.update(signer=signer.id, certificate=signer.sudo().certificate_id.id, series=series.id,
               template=series.template_id.id)
    buyer = env['res.partner'].create({
        'name': f'{TAG} buyer', 'is_company': True, 'vat': BUYER_MST, 'street': '1 Tràng Tiền', 'city': 'Hà Nội',
        'country_id': env.ref('base.vn').id,
    })
    buyer.with_company(company).property_account_receivable_id = receivable
    ids['buyer'] = buyer.id
    moves = env['account.move'].create([{
        'move_type': 'out_invoice', 'partner_id': buyer.id, 'journal_id': journal.id, 'invoice_date': date.today(),
        'invoice_line_ids': [Command.create({'name': f'Hàng {i}', 'quantity': 1, 'price_unit': 1_000_000 + i,
                                             'account_id': income.id, 'tax_ids': [Command.set(tax.ids)]})],
    } for i in range(invoices)])
    moves.action_post()
    ids['moves'] = moves.ids
    return ids


def _side_effects(cr):
    """What creating a company and activating a currency change besides the company's own records.

    A second company puts the superuser in "Multi Companies"; a second active currency enables pricelists
    (a group implied for internal users, and a default pricelist for every company); a company gets a
    batch payment sequence without company.
    """
    cr.execute('SELECT gid, uid FROM res_groups_users_rel')
    users = set(cr.fetchall())
    cr.execute('SELECT gid, hid FROM res_groups_implied_rel')
    implied = set(cr.fetchall())
    cr.execute('SELECT COALESCE(max(id), 0) FROM ir_sequence')
    sequence = cr.fetchone()[0]
    pricelist = 0
    cr.execute("SELECT 1 FROM pg_tables WHERE tablename = 'product_pricelist'")
    if cr.fetchone():
        cr.execute('SELECT COALESCE(max(id), 0) FROM product_pricelist')
        pricelist = cr.fetchone()[0]
    return {'users': users, 'implied': implied, 'sequence': sequence, 'pricelist': pricelist}


def cleanup_committed_company(env, ids):
    """Delete everything :func:`setup_committed_company` and the issuing committed (the caller commits)."""
    env = env(context={'active_test': False, 'tracking_disable': True})
    cr = env.cr
    company_id = ids['company']
    move_ids = tuple(env['account.move'].search([('company_id', '=', company_id)]).ids) or (0,)
    # Issued e-invoices cannot be deleted through the ORM (that is the point): delete them in SQL.
    env['ir.attachment'].search([('res_model', '=', 'account.move'), ('res_id', 'in', move_ids)]).unlink()
    cr.execute("DELETE FROM ir_attachment WHERE res_model = 'account.move' AND res_id IN %s", [move_ids])
    cr.execute("DELETE FROM mail_message WHERE model = 'account.move' AND res_id IN %s", [move_ids])
    cr.execute("DELETE FROM mail_followers WHERE res_model = 'account.move' AND res_id IN %s", [move_ids])
    cr.execute("DELETE FROM account_move WHERE id IN %s", [move_ids])  # lines cascade
    cr.execute('DELETE FROM l10n_vn_einvoice_series WHERE company_id = %s', [company_id])  # used: SQL only
    env.invalidate_all()
    company = env['res.company'].browse(company_id)
    company.write({'l10n_vn_einvoice_signer_id': False, 'l10n_vn_einvoice_mode': 'none'})
    env['l10n_vn_einvoice.template'].search([('company_id', '=', company_id)]).unlink()
    env['l10n_vn_einvoice.signer'].search([('company_id', '=', company_id)]).unlink()
    env['certificate.certificate'].sudo().search([('company_id', '=', company_id)]).unlink()
    env['certificate.key'].sudo().search([('company_id', '=', company_id)]).unlink()
    env['account.tax'].search([('company_id', '=', company_id)]).unlink()
    env['account.tax.group'].search([('company_id', '=', company_id)]).unlink()
    env['account.journal'].search([('company_id', '=', company_id)]).unlink()
    env['res.partner'].browse(ids['buyer']).unlink()  # before its receivable account
    env['account.account'].browse(ids['accounts']).unlink()
    # records made for every new company (set to no company when it is deleted): delete them too
    before = ids['before']
    by_company = [env[model].search([('company_id', '=', company_id)])
                  for model in ('ir.sequence', 'product.pricelist', 'resource.calendar') if model in env]
    company.unlink()
    for records in by_company:
        records.unlink()
    env['res.partner'].browse(ids['company_partner']).unlink()
    if not ids['vnd_was_active']:
        env.ref('base.VND').active = False
    env['ir.sequence'].search([('id', '>', before['sequence'])]).unlink()
    if 'product.pricelist' in env:
        env['product.pricelist'].search([('id', '>', before['pricelist'])]).unlink()
    env.flush_all()
    after = _side_effects(cr)
    for gid, uid in after['users'] - before['users']:
        cr.execute('DELETE FROM res_groups_users_rel WHERE gid = %s AND uid = %s', [gid, uid])
    for gid, hid in after['implied'] - before['implied']:
        cr.execute('DELETE FROM res_groups_implied_rel WHERE gid = %s AND hid = %s', [gid, hid])
    env.invalidate_all()
    env.registry.clear_cache('groups')


def leftovers(env, ids):
    """Rows that should be gone after the clean-up (table: count)."""
    cr, found = env.cr, {}
    checks = {
        'res_company': ('id = %s', ids['company']),
        'res_partner': ('id IN %s', (ids['company_partner'], ids['buyer'])),
        'account_move': ('company_id = %s', ids['company']),
        'account_move_line': ('company_id = %s', ids['company']),
        'account_journal': ('company_id = %s', ids['company']),
        'account_account': ('id IN %s', tuple(ids['accounts'])),
        'account_tax': ('company_id = %s', ids['company']),
        'l10n_vn_einvoice_series': ('company_id = %s', ids['company']),
        'l10n_vn_einvoice_template': ('company_id = %s', ids['company']),
        'l10n_vn_einvoice_signer': ('company_id = %s', ids['company']),
        'certificate_certificate': ('company_id = %s', ids['company']),
        'certificate_key': ('company_id = %s', ids['company']),
        'mail_message': ("model = 'account.move' AND res_id IN %s", tuple(ids['moves'])),
        'ir_attachment': ("res_model = 'account.move' AND res_id IN %s", tuple(ids['moves'])),
    }
    for table, (where, arg) in checks.items():
        cr.execute(f'SELECT count(*) FROM {table} WHERE {where}', [arg])  # noqa: S608 (constant names)
        if count := cr.fetchone()[0]:
            found[table] = count
    before, after = ids['before'], _side_effects(cr)
    for key in ('users', 'implied'):
        if after[key] != before[key]:
            found[f'groups {key}'] = after[key] ^ before[key]
    for key in ('sequence', 'pricelist'):
        if after[key] > before[key]:
            found[key] = after[key]
    return found


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestConcurrentIssue(TransactionCase):
    """Two transactions issuing in the same series: the row lock makes the second wait, no number is shared."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.registry.cursor() as cr:  # committed at the end of the block
            cls.ids = setup_committed_company(api.Environment(cr, SUPERUSER_ID, {}), invoices=20)
        cls.addClassCleanup(cls._cleanup)

    @classmethod
    def _cleanup(cls):
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            cleanup_committed_company(env, cls.ids)
        with cls.registry.cursor() as cr:
            left = leftovers(api.Environment(cr, SUPERUSER_ID, {}), cls.ids)
        if left:
            raise AssertionError(f'the concurrency test left committed rows behind: {left}')

    # helpers ------------------------------------------------------------------------------------

    def _env(self, cr):
        # Environment() would call Registry(dbname), which waits for the registry lock that the test runner
        # holds while it runs the tests (ThreadedServer.run): give the cursor its transaction directly.
        if cr.transaction is None:
            cr.transaction = api.Transaction(self.registry)
        return api.Environment(cr, SUPERUSER_ID, {'allowed_company_ids': [self.ids['company']]})

    @staticmethod
    def _retrying(func, cr, tries=30):
        """Call ``func`` and commit, retrying on concurrency errors as Odoo does for every request.

        Odoo's own ``retrying`` also reloads the registry (``env.reset()``), which needs the registry lock
        held by the test runner; a rollback is all a retry needs here. Returns the number of attempts.
        """
        for attempt in range(1, tries + 1):
            try:
                func()
                cr.commit()  # pylint: disable=invalid-commit  # a cursor of its own, not the test transaction
                return attempt
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                cr.rollback()
                time.sleep(0.01 * attempt)
        raise AssertionError(f'still failing after {tries} attempts')

    def _series_state(self):
        with self.registry.cursor() as cr:
            cr.execute('SELECT next_number FROM l10n_vn_einvoice_series WHERE id = %s', [self.ids['series']])
            next_number = cr.fetchone()[0]
            cr.execute('SELECT id, COALESCE(l10n_vn_einvoice_number, 0), l10n_vn_einvoice_state FROM account_move '
                       'WHERE id IN %s', [tuple(self.ids['moves'])])
            return next_number, {mid: (number, state) for mid, number, state in cr.fetchall()}

    def _run_threads(self, *targets):
        errors = []

        def wrap(target):
            def run():
                try:
                    target()
                except Exception as e:  # reported by the test, not lost in the thread
                    _logger.exception('concurrency test thread failed')
                    errors.append(e)
            return threading.Thread(target=run, daemon=True)

        threads = [wrap(t) for t in targets]
        for thread in threads:
            thread.start()
        return threads, errors

    # tests --------------------------------------------------------------------------------------

    @mute_logger('odoo.sql_db')  # the serialization failures of the losing transaction
    def test_second_transaction_waits_for_the_series_lock(self):
        start, moves = self._series_state()
        move_a, move_b = [mid for mid, (number, _state) in sorted(moves.items()) if not number][:2]
        a_holds_lock, release_a = threading.Event(), threading.Event()
        result = {'b_attempts': 0, 'b_pid': None}

        def issuer_a():
            with self.registry.cursor() as cr:  # commits at the end
                env = self._env(cr)
                move = env['account.move'].browse(move_a)
                move.action_l10n_vn_einvoice_issue()
                env.flush_all()
                result['a'] = move.l10n_vn_einvoice_number
                a_holds_lock.set()  # number allocated, the series row is locked until commit
                self.assertTrue(release_a.wait(WAIT), 'A was never released')

        def issuer_b():
            with self.registry.cursor() as cr:
                result['b_pid'] = cr._cnx.get_backend_pid()
                env = self._env(cr)

                def issue():
                    result['b_attempts'] += 1
                    # as the web service issues (never handed to the scheduled action: it tries again)
                    move = env['account.move'].browse(move_b).with_context(l10n_vn_einvoice_no_handoff=True)
                    move.action_l10n_vn_einvoice_issue()
                    result['b'] = move.l10n_vn_einvoice_number
                # as an HTTP request does: retried on serialization failures
                self._retrying(issue, cr)

        threads, errors = self._run_threads(issuer_a)
        self.assertTrue(a_holds_lock.wait(WAIT), errors)
        threads_b, errors_b = self._run_threads(issuer_b)
        threads += threads_b
        # B must be blocked on the series row lock (SELECT ... FOR UPDATE) while A is not committed.
        waiting = False
        deadline = time.monotonic() + WAIT
        with self.registry.cursor() as cr:
            while time.monotonic() < deadline and not waiting and not errors_b:
                cr.execute("SELECT wait_event_type, query FROM pg_stat_activity WHERE pid = %s",
                           [result['b_pid'] or 0])
                row = cr.fetchone()
                waiting = bool(row and row[0] == 'Lock' and 'FOR UPDATE' in row[1])
                cr.rollback()
                time.sleep(0.05)
        self.assertTrue(waiting, f'B did not wait for the series lock {errors_b}')
        self.assertNotIn('b', result, 'B got a number while A held the series lock')
        release_a.set()
        for thread in threads:
            thread.join(WAIT)
        self.assertFalse(errors + errors_b)
        self.assertEqual((result['a'], result['b']), (start, start + 1))
        # A committed after B took its snapshot: B's first attempt ends in a serialization failure and the
        # retry (as for every Odoo request) gets the next number; nothing half-done from the first attempt.
        self.assertGreaterEqual(result['b_attempts'], 2)
        next_number, moves = self._series_state()
        self.assertEqual(next_number, start + 2)
        self.assertEqual(moves[move_a], (start, 'USING'))
        self.assertEqual(moves[move_b], (start + 1, 'USING'))

    @mute_logger('odoo.sql_db')  # the serialization failures of the losing transaction
    def test_racing_transactions_never_share_a_number(self):
        start, moves = self._series_state()
        todo = [mid for mid, (number, _state) in sorted(moves.items()) if not number]
        self.assertGreaterEqual(len(todo), 10)
        halves = todo[:5], todo[5:10]
        barrier = threading.Barrier(2, timeout=WAIT)
        attempts = []

        def issuer(move_ids):
            def run():
                barrier.wait()
                for move_id in move_ids:  # one transaction per invoice, like one request per click
                    with self.registry.cursor() as cr:
                        env = self._env(cr)
                        attempts.append(self._retrying(
                            lambda env=env, move_id=move_id:
                                env['account.move'].browse(move_id).action_l10n_vn_einvoice_issue(), cr))
            return run

        threads, errors = self._run_threads(issuer(halves[0]), issuer(halves[1]))
        for thread in threads:
            thread.join(WAIT * 2)
        self.assertFalse(errors)
        self.assertEqual(attempts, [1] * 10, 'the Issue button left a concurrency error to its caller')
        # what the button handed over (its series was busy), the scheduled action issues
        handed = self._run_issue_cron()
        next_number, after = self._series_state()
        numbers = [after[mid][0] for mid in halves[0] + halves[1]]
        self.assertEqual(len(set(numbers)), 10, f'a number was shared: {numbers}')
        self.assertEqual(sorted(numbers), list(range(start, start + 10)), 'numbers are not consecutive')
        self.assertEqual(next_number, start + 10)
        self.assertEqual({after[mid][1] for mid in halves[0] + halves[1]}, {'USING'})
        _logger.info('racing issue: %s of 10 invoices handed to the scheduled action', handed)

    def _run_issue_cron(self):
        """Run the scheduled action "issue prepared e-invoices" in a transaction of its own (committed);
        returns how many invoices it issued."""
        with self.registry.cursor() as cr:
            env = self._env(cr)
            queued = env['account.move'].search_count([('l10n_vn_einvoice_issue_queued', '=', True)])
            env['account.move']._cron_l10n_vn_einvoice_issue()
            env.flush_all()
            return queued

    def _move_row(self, move_id):
        with self.registry.cursor() as cr:
            cr.execute('SELECT COALESCE(l10n_vn_einvoice_number, 0), l10n_vn_einvoice_state, l10n_vn_einvoice_error, '
                       'l10n_vn_einvoice_issue_queued FROM account_move WHERE id = %s', [move_id])
            return cr.fetchone()

    @mute_logger('odoo.sql_db')  # the serialization failures of the losing transaction
    def test_serialization_error_is_not_recorded_as_an_invoice_error(self):
        """A lost race is retried by the web service; it must not leave an error text or a number behind."""
        _start, moves = self._series_state()
        move_id = next(mid for mid, (number, _state) in sorted(moves.items()) if not number)
        with self.registry.cursor() as cr_a, self.registry.cursor() as cr_b:
            env_b = self._env(cr_b)
            move_b = env_b['account.move'].browse(move_id).with_context(l10n_vn_einvoice_no_handoff=True)
            move_b.l10n_vn_einvoice_state  # noqa: B018 # pylint: disable=pointless-statement  # B takes its snapshot now
            cr_a.execute('UPDATE l10n_vn_einvoice_series SET write_date = now() WHERE id = %s', [self.ids['series']])
            cr_a.commit()
            with self.assertRaises(pg_errors.SerializationFailure):
                move_b.action_l10n_vn_einvoice_issue()
            cr_b.rollback()
        self.assertEqual(self._move_row(move_id), (0, 'CREATED', None, None))

    def test_issue_button_hands_a_busy_series_to_the_scheduled_action(self):
        """Issue on an invoice whose series another transaction is numbering: no concurrency error, no
        number; the invoice says it is issued in the background, and the scheduled action issues it next. One
        the checks refuse gets its reason from the scheduled action (and is no longer "in the background")."""
        start, moves = self._series_state()
        todo = [mid for mid, (number, _state) in sorted(moves.items()) if not number]
        move_a, move_b, move_c = todo[0], todo[1], todo[-1]  # C, refused, is the last: the other tests take the first
        with self.registry.cursor() as cr:  # C's line loses its VAT: "a VAT invoice needs one on every line"
            cr.execute('DELETE FROM account_move_line_account_tax_rel WHERE account_move_line_id IN '
                       "(SELECT id FROM account_move_line WHERE move_id = %s AND display_type = 'product')", [move_c])
        a_holds_lock, release_a = threading.Event(), threading.Event()
        result = {}

        def issuer_a():
            with self.registry.cursor() as cr:  # commits at the end
                env = self._env(cr)
                env['account.move'].browse(move_a).action_l10n_vn_einvoice_issue()
                env.flush_all()
                a_holds_lock.set()
                self.assertTrue(release_a.wait(WAIT), 'A was never released')

        def issuer_b():
            with self.registry.cursor() as cr:  # commits at the end: a request that did not fail
                result['b_pid'] = cr._cnx.get_backend_pid()
                env = self._env(cr)
                result['b'] = env['account.move'].browse([move_b, move_c]).action_l10n_vn_einvoice_issue()
                env.flush_all()

        threads, errors = self._run_threads(issuer_a)
        self.assertTrue(a_holds_lock.wait(WAIT), errors)
        threads_b, errors_b = self._run_threads(issuer_b)
        deadline = time.monotonic() + WAIT
        with self.registry.cursor() as cr:  # B waits for A's lock on the series
            while time.monotonic() < deadline and not errors_b:
                cr.execute('SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s', [result.get('b_pid') or 0])
                row = cr.fetchone()
                cr.rollback()
                if row and row[0] == 'Lock':
                    break
                time.sleep(0.05)
        release_a.set()
        for thread in threads + threads_b:
            thread.join(WAIT)
        self.assertFalse(errors + errors_b)
        self.assertEqual(result['b']['params']['type'], 'info')
        self.assertTrue(result['b']['params']['message'].startswith(
            '0 issued, 0 not issued, 2 issued in the background in a moment: their series'), result['b'])
        self.assertEqual(self._move_row(move_a)[:2], (start, 'USING'))
        self.assertEqual(self._move_row(move_b), (0, 'CREATED', None, True), 'no number, no error, handed over')
        self.assertEqual(self._move_row(move_c), (0, 'CREATED', None, True))
        with self.registry.cursor() as cr:
            env = self._env(cr)
            move = env['account.move'].browse(move_b)
            self.assertIn('Issue asked by', move.message_ids[:1].body)
            cron = env.ref('l10n_vn_einvoice.ir_cron_l10n_vn_einvoice_issue')
            self.assertTrue(cron.active)
            self.assertTrue(env['ir.cron.trigger'].search_count([('cron_id', '=', cron.id)]), 'the job was woken')
        self.assertEqual(self._run_issue_cron(), 2)
        self.assertEqual(self._move_row(move_b), (start + 1, 'USING', None, False))
        number, state, error, queued = self._move_row(move_c)
        self.assertEqual((number, state, queued), (0, 'CREATED', False), 'refused: not tried again and again')
        self.assertIn('has no VAT rate', error)
        self.assertEqual(self._series_state()[0], start + 2, 'no number consumed by the refused one')
