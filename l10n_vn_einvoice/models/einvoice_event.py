"""The user log (nhật ký người dùng): one read-only row per e-invoice event.

Rows are written only by ``_log`` (sudo, as the acting user); nobody changes or deletes them, and they
outlive the invoice they are about (the links are set to empty, the names are kept). The one change ever made
to a row is the retention policy's: the request and response texts of provider and tax-authority exchanges
older than the company's limit are replaced by a note saying when (``_cron_l10n_vn_einvoice_purge_texts``)."""

import json
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from vn_einvoice.providers.redact import redact, redact_obj

EVENTS = [
    ('prepared', 'Prepared'),
    ('approval_requested', 'Approval requested'),
    ('approved', 'Approved'),
    ('issued', 'Issued'),
    ('sent', 'Sent to the buyer'),
    ('viewed', 'Looked up by the buyer'),
    ('downloaded', 'Downloaded by the buyer'),
    ('adjusted', 'Adjusted'),
    ('replaced', 'Replaced'),
    ('cancelled', 'Cancelled'),
    ('deleted', 'Deleted'),
    ('notice_sent', 'Notice sent'),
    ('provider', 'Provider message'),
    ('tax_authority', 'Tax authority message'),
    ('provider_exchange', 'Provider request and response'),
    ('alert', 'Alert'),
]
MAX_TEXT = 20_000  # request and response kept in the log, in characters
EXCHANGE_EVENTS = ('provider', 'provider_exchange', 'tax_authority')  # the events with request/response texts


def masked(data, secrets=()):
    """``data`` (text or JSON-like) as the log keeps it: secrets masked, at most ``MAX_TEXT`` characters."""
    if data is None or data == '':
        return False
    if not isinstance(data, str):
        data = json.dumps(redact_obj(data, secrets), ensure_ascii=False, default=str, sort_keys=True)
    text = redact(data, secrets)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + ' …'


class L10nVnEinvoiceEvent(models.Model):
    _name = 'l10n_vn_einvoice.event'
    _description = 'E-invoice user log'
    _order = 'date desc, id desc'
    _rec_name = 'event'

    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now, index=True)
    user_id = fields.Many2one('res.users', readonly=True, ondelete='set null', index=True)
    company_id = fields.Many2one('res.company', readonly=True, ondelete='set null', index=True)
    event = fields.Selection(EVENTS, required=True, readonly=True, index=True)
    outcome = fields.Selection([('done', 'Done'), ('failed', 'Failed')], required=True, readonly=True,
                               default='done')
    move_id = fields.Many2one('account.move', string='Invoice', readonly=True, ondelete='set null', index=True)
    invoice_ref = fields.Char(string='Invoice reference', readonly=True,
                              help='The invoice as it was named then (kept when the invoice is deleted).')
    einvoice_name = fields.Char(string='E-invoice', readonly=True, index=True)
    partner_name = fields.Char(string='Buyer', readonly=True)
    series_id = fields.Many2one('l10n_vn_einvoice.series', readonly=True, ondelete='set null')
    notice_id = fields.Many2one('l10n_vn_einvoice.notice', readonly=True, ondelete='set null')
    provider_id = fields.Many2one('l10n_vn_einvoice.provider', string='Provider account', readonly=True,
                                  ondelete='set null')
    channel = fields.Char(readonly=True, help='How it was sent or seen: email, sms, portal, lookup, …')
    message = fields.Text(readonly=True)
    request = fields.Text(string='Request (masked)', readonly=True)
    response = fields.Text(string='Response (masked)', readonly=True)
    texts_removed_date = fields.Date(
        string='Texts removed on', readonly=True,
        help='The request and response texts were removed on this day by the retention policy of the company '
             '(Settings > Vietnam e-invoices); the row itself is kept.')

    def init(self):
        res = super().init()
        # the rows whose texts the retention policy may still remove: what its daily run reads, without
        # scanning the rows it already emptied
        self.env.cr.execute("""
            CREATE INDEX IF NOT EXISTS l10n_vn_einvoice_event_texts_kept_idx
                ON l10n_vn_einvoice_event (company_id, date, id)
             WHERE texts_removed_date IS NULL AND (request IS NOT NULL OR response IS NOT NULL)
        """)
        return res

    def write(self, vals):  # pylint: disable=method-required-super  # never written
        raise UserError(_('The e-invoice log cannot be changed.'))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(_('The e-invoice log cannot be deleted.'))

    @api.model
    def _log(self, event, moves=None, outcome='done', message='', **vals):
        """Write one row per invoice of ``moves`` (or one row without invoice), as the current user."""
        user = self.env.user
        rows = []
        for move in (moves or [None]):
            row = {'event': event, 'outcome': outcome, 'message': message or False, 'user_id': user.id,
                   'company_id': self.env.company.id, **vals}
            if move:
                move = move.sudo()
                row.update({
                    'move_id': move.id, 'company_id': move.company_id.id, 'invoice_ref': move.name,
                    'einvoice_name': move.l10n_vn_einvoice_name or False,
                    'partner_name': move.commercial_partner_id.name or False,
                    'series_id': move.l10n_vn_einvoice_series_id.id,
                })
            rows.append(row)
        return self.sudo().create(rows)

    # ------------------------------------------------------------------
    # Retention of the exchange texts (daily scheduled action)
    # ------------------------------------------------------------------

    @api.model
    def _cron_l10n_vn_einvoice_purge_texts(self, batch_size=5000, now=None):
        """Remove the request and response texts of the exchange events older than each company's limit
        (``l10n_vn_einvoice_log_text_days``, 0: kept forever), at most ``batch_size`` rows per call; the rows
        stay, the texts are replaced by a note. Reports its progress: Odoo commits each call and calls again
        while some remain (ir.cron's batch protocol). Returns the number of rows emptied."""
        now = now or fields.Datetime.now()
        companies = self.env['res.company'].sudo().with_context(active_test=False).search(
            [('l10n_vn_einvoice_log_text_days', '>', 0)], order='id')
        done = remaining = 0
        for company in companies:
            cutoff = now - timedelta(days=company.l10n_vn_einvoice_log_text_days)
            if done < batch_size:
                done += self._l10n_vn_einvoice_purge_texts(company, cutoff, batch_size - done, now)
            remaining += self._l10n_vn_einvoice_purge_count(company, cutoff)
        if done:
            self.invalidate_model(['request', 'response', 'texts_removed_date'])
        self.env['ir.cron']._notify_progress(done=done, remaining=remaining)
        return done

    @api.model
    def _l10n_vn_einvoice_purge_where(self, company, cutoff):
        """The rows of ``company`` whose texts the policy removes: exchanges older than ``cutoff``, not done yet
        (read through the partial index of ``init``)."""
        return SQL("company_id = %s AND date < %s AND event IN %s AND texts_removed_date IS NULL"
                   " AND (request IS NOT NULL OR response IS NOT NULL)", company.id, cutoff, EXCHANGE_EVENTS)

    @api.model
    def _l10n_vn_einvoice_purge_count(self, company, cutoff):
        self.env.cr.execute(SQL("SELECT count(*) FROM l10n_vn_einvoice_event WHERE %s",
                                self._l10n_vn_einvoice_purge_where(company, cutoff)))
        return self.env.cr.fetchone()[0]

    @api.model
    def _l10n_vn_einvoice_purge_texts(self, company, cutoff, limit, now):
        """One chunk: the texts of at most ``limit`` rows of ``company`` older than ``cutoff``, oldest first,
        replaced by a note, by one UPDATE (no record loaded; rows another transaction holds are left to the next
        run). Ordered as the partial index of ``init`` (company, date, id), so that a run with nothing or little
        to do reads only that index, not the rows already emptied."""
        today = now.date()
        lang = company.partner_id.lang or self.env.lang
        note = self.with_context(lang=lang).env._(
            'Removed after %(days)s days, on %(date)s (retention of the e-invoice log).',
            days=company.l10n_vn_einvoice_log_text_days, date=today.isoformat())
        # write() refuses every change (the log is read-only to everyone): this UPDATE is the one exception
        self.env.cr.execute(SQL("""
            UPDATE l10n_vn_einvoice_event
               SET request = CASE WHEN request IS NULL THEN NULL ELSE %(note)s END,
                   response = CASE WHEN response IS NULL THEN NULL ELSE %(note)s END,
                   texts_removed_date = %(today)s
             WHERE id IN (SELECT id FROM l10n_vn_einvoice_event WHERE %(where)s
                           ORDER BY date, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
        """, note=note, today=today, limit=limit, where=self._l10n_vn_einvoice_purge_where(company, cutoff)))
        return self.env.cr.rowcount
