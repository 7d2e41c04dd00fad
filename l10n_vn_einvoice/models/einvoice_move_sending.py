"""Sending management (quản lý gửi hóa đơn), as fields and helpers of ``account.move`` (mixed in by
models/account_move.py): whether and when an issued e-invoice went to the buyer (mail, SMS when the
``sms`` module is installed), whether the buyer looked it up or downloaded it; resend; SMS text."""

import re

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount, format_date

# The company's SMS text when it wrote none; {placeholders} are filled by _l10n_vn_einvoice_sms_body.
DEFAULT_SMS_TEMPLATE = ('{company} gui Quy khach hoa don dien tu so {number} ngay {date}, tong tien {amount}. '
                        'Tra cuu tai {url} voi ma {code}.')
SEND_STATUSES = [('not_sent', 'Not sent'), ('sent', 'Sent'), ('viewed', 'Looked up'), ('downloaded', 'Downloaded')]


class _SafeDict(dict):
    def __missing__(self, key):
        return '{' + key + '}'


class L10nVnEinvoiceMoveSending(models.AbstractModel):
    _name = 'l10n_vn_einvoice.move.sending'
    _description = 'E-invoice sending to the buyer (invoice feature)'

    l10n_vn_einvoice_sent_on = fields.Datetime(string='E-invoice first sent on', readonly=True, copy=False)
    l10n_vn_einvoice_last_sent_on = fields.Datetime(string='E-invoice last sent on', readonly=True, copy=False)
    l10n_vn_einvoice_send_count = fields.Integer(string='Times sent', readonly=True, copy=False)
    l10n_vn_einvoice_sent_channels = fields.Char(string='Sent by', readonly=True, copy=False,
                                                 help='How the e-invoice went to the buyer: email, sms.')
    l10n_vn_einvoice_viewed_on = fields.Datetime(string='Looked up by the buyer on', readonly=True, copy=False)
    l10n_vn_einvoice_downloaded_on = fields.Datetime(string='Downloaded by the buyer on', readonly=True, copy=False)
    l10n_vn_einvoice_download_count = fields.Integer(string='Downloads', readonly=True, copy=False)
    l10n_vn_einvoice_send_status = fields.Selection(
        SEND_STATUSES, string='Sending status', compute='_compute_l10n_vn_einvoice_send_status', store=True)

    @api.depends('l10n_vn_einvoice_number', 'l10n_vn_einvoice_sent_on', 'l10n_vn_einvoice_viewed_on',
                 'l10n_vn_einvoice_downloaded_on')
    def _compute_l10n_vn_einvoice_send_status(self):
        for move in self:
            if not move.l10n_vn_einvoice_number:
                status = False
            elif move.l10n_vn_einvoice_downloaded_on:
                status = 'downloaded'
            elif move.l10n_vn_einvoice_viewed_on:
                status = 'viewed'
            elif move.l10n_vn_einvoice_sent_on:
                status = 'sent'
            else:
                status = 'not_sent'
            move.l10n_vn_einvoice_send_status = status

    def _l10n_vn_einvoice_record_sent(self, channel, recipients=''):
        """These issued e-invoices were just sent to the buyer by ``channel`` (email, sms)."""
        now = fields.Datetime.now()
        for move in self.filtered('l10n_vn_einvoice_number'):
            channels = set(filter(None, (move.l10n_vn_einvoice_sent_channels or '').split(', '))) | {channel}
            move.sudo().with_context(l10n_vn_einvoice_internal=True).write({
                'l10n_vn_einvoice_sent_on': move.l10n_vn_einvoice_sent_on or now,
                'l10n_vn_einvoice_last_sent_on': now,
                'l10n_vn_einvoice_send_count': move.l10n_vn_einvoice_send_count + 1,
                'l10n_vn_einvoice_sent_channels': ', '.join(sorted(channels)),
            })
            self.env['l10n_vn_einvoice.event']._log('sent', move, channel=channel, message=recipients)

    def _l10n_vn_einvoice_record_seen(self, channel, downloaded=False):
        """The buyer looked this e-invoice up (``channel``: lookup, portal) or downloaded it."""
        self.ensure_one()
        now = fields.Datetime.now()
        vals = {'l10n_vn_einvoice_viewed_on': self.l10n_vn_einvoice_viewed_on or now}
        if downloaded:
            vals.update(l10n_vn_einvoice_downloaded_on=self.l10n_vn_einvoice_downloaded_on or now,
                        l10n_vn_einvoice_download_count=self.l10n_vn_einvoice_download_count + 1)
        self.sudo().with_context(l10n_vn_einvoice_internal=True).write(vals)
        self.env['l10n_vn_einvoice.event']._log('downloaded' if downloaded else 'viewed', self, channel=channel,
                                                message=downloaded or '')

    def action_l10n_vn_einvoice_resend(self):
        """Send the issued e-invoice to the buyer again (Odoo's Send & Print, which no longer issues it)."""
        if not self.filtered('l10n_vn_einvoice_number') or self.filtered(lambda m: not m.l10n_vn_einvoice_number):
            raise UserError(_('Only issued e-invoices can be sent again.'))
        return self.action_send_and_print()

    # ------------------------------------------------------------------
    # SMS (the sms module, when installed)
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_sms_body(self):
        self.ensure_one()
        company = self.company_id
        template = company.l10n_vn_einvoice_sms_template or DEFAULT_SMS_TEMPLATE
        values = _SafeDict(
            company=company.name, number=self.l10n_vn_einvoice_name or '',
            date=format_date(self.env, self.invoice_date, date_format='dd/MM/yyyy'),
            amount=format_amount(self.env, self.amount_total, self.currency_id),
            code=self.sudo().l10n_vn_einvoice_lookup_code or '',
            url=company.l10n_vn_einvoice_lookup_url or f'{self.get_base_url()}/einvoice/lookup',
            buyer=self.commercial_partner_id.name or '',
        )
        return template.format_map(values)

    def action_l10n_vn_einvoice_send_sms(self):
        """Send each issued e-invoice's SMS to its buyer's mobile (queued; sent by the SMS scheduled action)."""
        if 'sms.sms' not in self.env:
            raise UserError(_('Sending SMS needs the "SMS gateway" module (sms): install it first.'))
        self.check_access('write')
        sent = self.browse()
        for move in self:
            if not move.l10n_vn_einvoice_number:
                raise UserError(_('The e-invoice of %s is not issued: there is nothing to send.', move.name))
            partner = move.partner_id
            number = partner.mobile or partner.phone or move.commercial_partner_id.mobile
            if not number:
                raise UserError(_('Customer %s has no mobile number to send the SMS to.', partner.display_name))
            # E.164 when the phonenumbers library is there; the separators people type removed anyway
            number = re.sub(r'[\s.()-]', '', partner._phone_format(number=number, country=partner.country_id) or number)
            move._message_sms(move._l10n_vn_einvoice_sms_body(), partner_ids=partner.ids,
                              sms_pid_to_number={partner.id: number}, put_in_queue=True)
            move._l10n_vn_einvoice_record_sent('sms', number)
            sent |= move
        return {
            'type': 'ir.actions.client', 'tag': 'display_notification',
            'params': {'type': 'success', 'title': _('E-invoices'),
                       'message': _('%s SMS queued for sending.', len(sent)),
                       'next': {'type': 'ir.actions.client', 'tag': 'soft_reload'}},
        }
