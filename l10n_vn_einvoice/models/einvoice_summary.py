"""Summary tables of invoice data 01/TH-HĐĐT (message 400), for a company registered to report its invoices
without code by summary table (Decree 123/2020 Art. 22.3; Circular 78 form 01/TH-HĐĐT).

A table covers a period (day, month or quarter) and the invoices without code of that period not yet
reported; built by the library from the stored signed invoices, signed with the company's signer, kept
(message log) before it leaves, sent, and followed (999, then 204). Accepted: its invoices are reported.
Refused: the reasons are shown in the tax authority's words; once the cause is corrected it is sent
again (a new message: the tax authority did not record it). Invoices issued later in a reported period go
into a supplement (``BSLThu`` 1, 2…).
"""

import base64
import calendar
import logging
from datetime import date

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import html_escape

from vn_einvoice.errors import EInvoiceError
from vn_einvoice.providers import ProviderError, ProviderUnknownOutcome
from vn_einvoice.taxauthority import MessageType, Period, SummaryTable, build_message, build_summary_xml, \
    sign_summary, summary_lines
from vn_einvoice.taxauthority.transport import NoReplyYet
from vn_einvoice.xml import parse_xml

_logger = logging.getLogger(__name__)

PERIODS = [('T', 'Month'), ('Q', 'Quarter'), ('N', 'Day')]
STATES = [('draft', 'Draft'), ('sent', 'Sent, waiting for the tax authority'), ('accepted', 'Accepted'),
          ('refused', 'Refused')]
STATUS = {'CANCEL': 1, 'ADJUSTED': 2, 'REPLACED': 3}  # TThai of a line, by the invoice's state


class L10nVnEinvoiceSummary(models.Model):
    _name = 'l10n_vn_einvoice.summary'
    _description = 'Summary table of invoice data (01/TH-HĐĐT)'
    _order = 'date_from desc, supplement desc, id desc'
    _check_company_auto = True

    name = fields.Char(compute='_compute_name', store=True)
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company,
                                 readonly=True)
    period = fields.Selection(PERIODS, required=True, default='T')
    date = fields.Date(string='A day of the period', required=True, default=fields.Date.context_today)
    date_from = fields.Date(compute='_compute_period', store=True)
    date_to = fields.Date(compute='_compute_period', store=True)
    period_value = fields.Char(string='Period (KDLieu)', compute='_compute_period', store=True)
    goods = fields.Selection([('1', 'Petrol'), ('2', 'Air transport'), ('9', 'Other')],
                             required=True, default='9')
    number = fields.Integer(string='Table number', readonly=True, copy=False)
    supplement = fields.Integer(readonly=True, copy=False, help='0: the first table of the period; 1, 2…: '
                                                               'supplements for invoices reported later.')
    move_ids = fields.Many2many('account.move', string='Invoices', readonly=True, copy=False, check_company=True)
    move_count = fields.Integer(compute='_compute_move_count')
    state = fields.Selection(STATES, default='draft', required=True, readonly=True, copy=False)
    connection_id = fields.Many2one('l10n_vn_einvoice.tax.connection', readonly=True, copy=False,
                                    check_company=True)
    message_id = fields.Char(string='Message (MTDiep)', readonly=True, copy=False)
    reasons = fields.Text(readonly=True, copy=False)
    xml = fields.Binary(string='Signed table', attachment=True, readonly=True, copy=False)
    xml_filename = fields.Char(compute='_compute_xml_filename')

    @api.depends('period', 'period_value', 'supplement')
    def _compute_name(self):
        for table in self:
            table.name = _('01/TH-HĐĐT %(period)s', period=table.period_value or '') + (
                _(' (supplement %s)', table.supplement) if table.supplement else '')

    @api.depends('period_value', 'supplement')
    def _compute_xml_filename(self):
        for table in self:
            table.xml_filename = f'01TH_{(table.period_value or "").replace("/", "-")}_{table.supplement}.xml'

    @api.depends('period', 'date')
    def _compute_period(self):
        for table in self:
            day = table.date or fields.Date.context_today(table)
            if table.period == 'N':
                start = end = day
                value = day.strftime('%d/%m/%Y')
            elif table.period == 'Q':
                quarter = (day.month - 1) // 3
                start = date(day.year, 3 * quarter + 1, 1)
                end = date(day.year, 3 * quarter + 3, calendar.monthrange(day.year, 3 * quarter + 3)[1])
                value = f'{quarter + 1:02d}/{day.year}'
            else:
                start, end = day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
                value = day.strftime('%m/%Y')
            table.date_from, table.date_to, table.period_value = start, end, value

    @api.depends('move_ids')
    def _compute_move_count(self):
        for table in self:
            table.move_count = len(table.move_ids)

    # ------------------------------------------------------------------
    # Building
    # ------------------------------------------------------------------

    def _connection(self):
        self.ensure_one()
        connection = self.env['l10n_vn_einvoice.tax.connection'].sudo().search(
            [('company_id', '=', self.company_id.id), ('active', '=', True)], limit=1)
        if not connection or connection.registration_state != 'accepted' or not connection.without_code \
                or not connection.summary_table:
            raise UserError(_('Company %s is not registered (01/ĐKTĐ-HĐĐT accepted) to send the data of its invoices '
                              'without code by summary table.', self.company_id.name))
        return connection

    def _pending_moves(self):
        self.ensure_one()
        return self.env['account.move'].search([
            ('company_id', '=', self.company_id.id), ('l10n_vn_einvoice_cqt_state', '=', 'summary_pending'),
            ('invoice_date', '>=', self.date_from), ('invoice_date', '<=', self.date_to),
        ], order='l10n_vn_einvoice_series_id, l10n_vn_einvoice_number')

    def _check_manager(self):
        if not self.env.user.has_group('l10n_vn_einvoice.group_l10n_vn_einvoice_manager'):
            raise UserError(_('Only e-invoice managers may send summary tables to the tax authority.'))

    def action_load(self):
        """The invoices of the period not yet reported."""
        self._check_manager()
        for table in self.filtered(lambda t: t.state in ('draft', 'refused')):
            moves = table._pending_moves()
            if not moves:
                raise UserError(_('No invoice without code of %(period)s waits to be reported.',
                                  period=table.period_value))
            table.move_ids = moves
        return True

    def _build(self, connection):
        """The signed table 01/TH-HĐĐT of these invoices (library), numbered after the tables already accepted."""
        self.ensure_one()
        company = self.company_id
        others = self.search([('company_id', '=', company.id), ('id', '!=', self.id),
                              ('state', 'in', ('sent', 'accepted'))])
        same_period = others.filtered(lambda t: (t.period, t.period_value) == (self.period, self.period_value))
        number = self.number or (max(others.mapped('number'), default=0) + 1)
        supplement = self.supplement if self.number else len(same_period)
        lines = []
        for move in self.move_ids:
            invoice = parse_xml(move.l10n_vn_einvoice_xml_id.raw)
            lines += summary_lines([invoice], status=STATUS.get(move.l10n_vn_einvoice_state, 0))
        table = SummaryTable(taxpayer_name=company.name, tax_code=company.vat, number=number,
                             period=Period(self.period), period_value=self.period_value,
                             date=fields.Date.context_today(self), lines=tuple(lines), supplement=supplement,
                             goods=int(self.goods))
        signer = connection.signer_id or company.l10n_vn_einvoice_signer_id
        if not signer:
            raise UserError(_('Choose the signer of the company (settings) to sign the summary table.'))
        with signer.sudo()._open_signer() as lib_signer:
            signed = sign_summary(build_summary_xml(table), lib_signer)
        return number, supplement, signed

    # ------------------------------------------------------------------
    # Sending and following
    # ------------------------------------------------------------------

    def action_send(self):
        """Build, sign and send the table (message 400), then follow the replies."""
        self.ensure_one()
        self._check_manager()
        if self.state not in ('draft', 'refused'):
            raise UserError(_('This summary table was already sent.'))
        connection = self._connection()
        if not self.move_ids.filtered(lambda m: m.l10n_vn_einvoice_cqt_state == 'summary_pending'):
            self.action_load()
        try:
            number, supplement, signed = self._build(connection)
            raw = build_message(MessageType.SUMMARY_TABLE, [signed], sender=connection._sender_code(),
                                receiver=connection.receiver_code, tax_code=self.company_id.vat)
        except EInvoiceError as e:
            raise UserError(_('The summary table cannot be made: %s', connection._error_text(e))) from None
        sent = connection._log_sent(raw)
        self.write({'state': 'sent', 'connection_id': connection.id, 'message_id': sent.message_id,
                    'number': number, 'supplement': supplement, 'reasons': False, 'xml': base64.b64encode(signed)})
        self.move_ids.with_context(l10n_vn_einvoice_internal=True, mail_notrack=True).write(
            {'l10n_vn_einvoice_cqt_state': 'summary_sent', 'l10n_vn_einvoice_cqt_message': sent.message_id})
        if self.env['account.move']._l10n_vn_einvoice_provider_can_commit():
            self.env.cr.commit()  # pylint: disable=invalid-commit  # the table is kept before it leaves
        self._follow(wait=True)
        return self._notification()

    def action_check(self):
        """Look the table up (sending the same bytes again if it never arrived) and read the replies."""
        self._check_manager()
        waiting = self.filtered(lambda t: t.state == 'sent')
        if not waiting:
            raise UserError(_('No summary table here waits for the tax authority.'))
        waiting._follow(wait=True)
        return self[:1]._notification()

    def _notification(self):
        kind = {'accepted': 'success', 'refused': 'danger'}.get(self.state, 'warning')
        message = {'accepted': _('The tax authority accepted the summary table.'),
                   'refused': _('The tax authority refused the summary table: %s', self.reasons or ''),
                   }.get(self.state, _('The tax authority has not answered yet: "Check the tax authority" later; '
                                       'the table is not sent twice.'))
        return {'type': 'ir.actions.client', 'tag': 'display_notification',
                'params': {'type': kind, 'title': self.name, 'message': message, 'sticky': kind != 'success',
                           'next': {'type': 'ir.actions.client', 'tag': 'soft_reload'}}}

    def _follow(self, wait=False, commit=False):
        messages = self.env['l10n_vn_einvoice.tax.message'].sudo()
        for table in self.filtered(lambda t: t.state == 'sent'):
            connection = table.connection_id.sudo()
            sent = messages.search([('message_id', '=', table.message_id), ('direction', '=', 'out')], limit=1)
            raw = base64.b64decode(sent.with_context(bin_size=False).xml)
            try:
                with connection._client() as client:
                    if client.status(table.message_id) is None:
                        client.send(raw)  # never arrived: these very bytes
                    exchange = connection._exchange(client, wait=wait)
                    outcome = exchange.wait(table.message_id, MessageType.SUMMARY_TABLE) if wait else \
                        exchange.poll(table.message_id, MessageType.SUMMARY_TABLE)
            except NoReplyYet:
                continue
            except ProviderUnknownOutcome as e:
                _logger.info('summary table %s: %s', table.message_id, e)
                connection._log_failure(sent, e)
                continue
            except ProviderError as e:
                connection._log_failure(sent, e)
                table.reasons = connection._error_text(e)
                continue
            table._apply(connection, outcome)
            if commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit  # one table per transaction (scheduled action)

    def _apply(self, connection, outcome):
        self.ensure_one()
        record = connection._log_final_reply(outcome)
        if record is None:
            return
        moves = self.move_ids.with_context(l10n_vn_einvoice_internal=True, mail_notrack=True)
        if record.result == 'ok':
            self.write({'state': 'accepted', 'reasons': False})
            moves.write({'l10n_vn_einvoice_cqt_state': 'data_ok', 'l10n_vn_einvoice_error': False})
            for move in self.move_ids:
                move.message_post(body=_('Reported to the tax authority in summary table %(table)s (%(notice)s).',
                                         table=self.name, notice=record.summary))
            return
        reasons = record.reasons or record.summary
        self.write({'state': 'refused', 'reasons': reasons})
        moves.write({'l10n_vn_einvoice_cqt_state': 'summary_pending'})
        for move in self.move_ids:
            move.message_post(body=_('The tax authority refused summary table %(table)s: %(reasons)s',
                                     table=self.name, reasons=html_escape(reasons)))

    @api.model
    def _cron_l10n_vn_einvoice_summaries(self):
        self.search([('state', '=', 'sent')])._follow(commit=self.env['account.move']._can_commit())

    def action_view_moves(self):
        self.ensure_one()
        return {'type': 'ir.actions.act_window', 'name': _('Invoices'), 'res_model': 'account.move',
                'view_mode': 'list,form', 'domain': [('id', 'in', self.move_ids.ids)]}
