"""The user log (nhật ký người dùng): one read-only row per e-invoice event.

Rows are written only by ``_log`` (sudo, as the acting user); nobody changes or deletes them, and they
outlive the invoice they are about (the links are set to empty, the names are kept)."""

import json

from odoo import _, api, fields, models
from odoo.exceptions import UserError

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
