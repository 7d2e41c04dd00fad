"""Retention of the user log: the masked texts of provider and tax-authority exchanges are removed after the
company's number of days (Settings, administrators only) by a daily scheduled action, in committed chunks; the
rows stay, read-only, and say when their texts were removed. Dates are fixed around a frozen time."""
from contextlib import closing
from datetime import date, datetime, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import EinvoiceCommon

NOW = datetime(2031, 3, 15, 9, 30)  # the frozen "now" of these tests (never today's date)
FIELD = 'l10n_vn_einvoice_log_text_days'


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestLogRetention(EinvoiceCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Event = cls.env['l10n_vn_einvoice.event']
        cls.other = cls.env['res.company'].create({'name': 'Công ty Khác', 'country_id': cls.env.ref('base.vn').id})
        cls.cron = cls.env.ref('l10n_vn_einvoice.ir_cron_l10n_vn_einvoice_purge_texts')

    def log(self, days_ago, event='provider_exchange', company=None, request='<req>hello</req>',
            response='<resp>ok</resp>', move=None, seconds=0, **vals):
        """One row of the user log dated ``days_ago`` days (and ``seconds``) before NOW, as a provider run writes
        it; read as the superuser (rows of another company included)."""
        return self.Event._log(event, move, message=f'{event} {days_ago} days ago',
                               date=NOW - timedelta(days=days_ago, seconds=seconds),
                               company_id=(company or self.company).id, request=request, response=response,
                               **vals).sudo()

    def purge(self, **kw):
        progress = self.env['ir.cron.progress'].create({'cron_id': self.cron.id, 'done': 0, 'remaining': 0})
        done = self.Event.with_context(ir_cron_progress_id=progress.id)._cron_l10n_vn_einvoice_purge_texts(
            now=NOW, **kw)
        self.assertEqual(progress.done, done)
        return progress

    # ------------------------------------------------------------------
    # Settings
    # ------------------------------------------------------------------

    @mute_logger('odoo.tests.form.onchange')  # Odoo's own cash-basis onchange warns about the VN chart's taxes
    def test_settings_set_the_days_in_the_real_view(self):
        settings = Form(self.env['res.config.settings'].with_company(self.company))
        self.assertEqual(settings[FIELD], 365, 'a year by default')
        settings[FIELD] = 30
        settings.save().execute()
        self.assertEqual(self.company.sudo()[FIELD], 30)
        settings = Form(self.env['res.config.settings'].with_company(self.company))
        settings[FIELD] = 0
        settings.save().execute()
        self.assertEqual(self.company.sudo()[FIELD], 0, '0 keeps the texts forever')
        settings = Form(self.env['res.config.settings'].with_company(self.company))
        settings[FIELD] = -5
        with self.assertRaisesRegex(ValidationError, 'cannot be negative'):
            settings.save().execute()

    def test_settings_for_administrators_only(self):
        arch = self.env['res.config.settings'].get_views([(False, 'form')])['views']['form']['arch']
        self.assertIn(f'name="{FIELD}"', arch)
        self.assertIn('never removed: they are the audit trail', arch)
        accountant = self.env['res.users'].create({
            'name': 'Kế toán trưởng', 'login': 'ke.toan.retention', 'company_id': self.company.id,
            'company_ids': [Command.set(self.company.ids)],
            'groups_id': [Command.set([self.env.ref('account.group_account_manager').id,
                                       self.env.ref('l10n_vn_einvoice.group_l10n_vn_einvoice_manager').id])]})
        company = self.company.with_user(accountant)
        with self.assertRaises(AccessError):
            company.read([FIELD])
        with self.assertRaises(AccessError):
            company.write({FIELD: 1})
        with self.assertRaises(AccessError):
            self.env['res.config.settings'].with_user(accountant).create({FIELD: 1})
        self.assertEqual(self.company.sudo()[FIELD], 365)

    # ------------------------------------------------------------------
    # The purge
    # ------------------------------------------------------------------

    def test_old_exchange_texts_removed_rows_kept(self):
        move = self.make_invoice()
        old = self.log(400, move=move, provider_id=False, channel='ImportAndPublishInv')
        old_tax = self.log(366, event='tax_authority', request='<TDiep>203</TDiep>', response=False)
        old_provider = self.log(500, event='provider', request='{"operation": "issue"}', response='{"ok": 1}')
        just_old = self.log(365, seconds=1)
        at_limit = self.log(365)  # exactly 365 days: not older than the limit
        young = self.log(10)
        old_issued = self.log(400, event='issued', request=False, response=False, move=move)
        before = {row.id: row.read(['date', 'user_id', 'company_id', 'event', 'outcome', 'move_id', 'invoice_ref',
                                    'message', 'channel'])[0]
                  for row in old | old_tax | old_provider | old_issued}
        count = self.Event.search_count([])

        progress = self.purge()

        self.assertEqual((progress.done, progress.remaining), (4, 0))
        note = 'Removed after 365 days, on 2031-03-15 (retention of the e-invoice log).'
        for row in old | old_provider | just_old:
            self.assertEqual((row.request, row.response, row.texts_removed_date), (note, note, date(2031, 3, 15)))
        self.assertEqual((old_tax.request, old_tax.response), (note, False), 'a text that never existed stays empty')
        for row in at_limit | young:
            self.assertEqual((row.request, row.response, row.texts_removed_date), ('<req>hello</req>', '<resp>ok</resp>',
                                                                                  False))
        self.assertFalse(old_issued.texts_removed_date)
        # the rows stay, with who, when, which invoice, what and the outcome
        self.assertEqual(self.Event.search_count([]), count)
        for row in old | old_tax | old_provider | old_issued:
            self.assertEqual(row.read(list(before[row.id]))[0], before[row.id])
        self.assertEqual(old.move_id, move)
        # still read-only to everyone, and findable
        for env in (self.env, self.env(su=True)):
            with self.assertRaisesRegex(UserError, 'cannot be changed'):
                old.with_env(env).write({'request': 'back'})
        with self.assertRaisesRegex(UserError, 'cannot be deleted'):
            old.sudo().unlink()
        self.assertEqual(self.Event.search([('texts_removed_date', '!=', False)]), old | old_tax | old_provider | just_old)
        # done once: a second run finds nothing, the note keeps its first date
        progress = self.purge()
        self.assertEqual((progress.done, progress.remaining), (0, 0))
        self.assertEqual(old.texts_removed_date, date(2031, 3, 15))

    def test_each_company_its_own_days_zero_keeps_forever(self):
        self.other.sudo()[FIELD] = 30
        ours_old, ours_young = self.log(400), self.log(40)
        other_old, other_young = self.log(40, company=self.other), self.log(20, company=self.other)
        self.assertEqual(self.purge().done, 2)
        self.assertTrue(ours_old.texts_removed_date)
        self.assertFalse(ours_young.texts_removed_date)
        self.assertEqual(other_old.request, 'Removed after 30 days, on 2031-03-15 (retention of the e-invoice log).')
        self.assertFalse(other_young.texts_removed_date)

        self.company.sudo()[FIELD] = 0
        self.other.sudo()[FIELD] = 0
        forever = self.log(3650) | self.log(20, company=self.other)
        progress = self.purge()
        self.assertEqual((progress.done, progress.remaining), (0, 0))
        self.assertEqual(forever.mapped('request'), ['<req>hello</req>'] * 2)
        self.assertEqual(forever.mapped('texts_removed_date'), [False, False])

    def test_note_in_the_company_language(self):
        self.env['res.lang']._activate_lang('vi_VN')
        self.company.partner_id.lang = 'vi_VN'
        row = self.log(400)
        self.purge()
        self.assertEqual(row.response, 'Đã xóa sau 365 ngày, vào ngày 2031-03-15 (thời hạn lưu nhật ký hóa đơn điện tử).')

    def test_chunks_report_their_progress(self):
        rows = self.Event.browse([self.log(400 + i).id for i in range(5)])
        self.assertEqual([(p.done, p.remaining) for p in (self.purge(batch_size=2) for _ in range(4))],
                         [(2, 3), (2, 1), (1, 0), (0, 0)])
        self.assertEqual(set(rows.mapped('texts_removed_date')), {date(2031, 3, 15)})

    def test_scheduled_action_runs_chunks_until_done(self):
        """The real job, as Odoo's cron worker runs it: each chunk committed and reported, called again while
        some remain."""
        self.assertTrue(self.cron.active)
        self.assertEqual((self.cron.interval_number, self.cron.interval_type), (1, 'days'))
        rows = self.Event.browse([self.log(400 + i).id for i in range(5)])
        young = self.log(5)
        self.cron.code = 'model._cron_l10n_vn_einvoice_purge_texts(batch_size=2)'  # small chunks, to see them
        Progress = self.env['ir.cron.progress']
        Progress.search([('cron_id', '=', self.cron.id)]).unlink()
        self.env.flush_all()
        self.registry.enter_test_mode(self.cr)
        try:
            with freeze_time(NOW), closing(self.registry.cursor()) as cron_cr:
                self.registry['ir.cron']._process_job(self.registry.db_name, cron_cr, {
                    **self.cron.read(load=None)[0], 'done': 0, 'remaining': 0, 'timed_out_counter': 0})
        finally:
            self.registry.leave_test_mode()
        self.env.invalidate_all()
        self.assertEqual(Progress.search([('cron_id', '=', self.cron.id)], order='id').mapped(
            lambda p: (p.done, p.remaining)), [(2, 3), (2, 1), (1, 0)])
        self.assertEqual(set(rows.mapped('texts_removed_date')), {date(2031, 3, 15)})
        self.assertEqual(young.request, '<req>hello</req>')
        self.assertEqual(self.cron.failure_count, 0)
