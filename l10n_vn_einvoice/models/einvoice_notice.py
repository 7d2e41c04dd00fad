import base64
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import html_escape

from vn_einvoice import notice as lib_notice
from vn_einvoice.codes import tax_code_compact
from vn_einvoice.document import RelatedInvoiceType
from vn_einvoice.errors import EInvoiceError
from vn_einvoice.errors import ValidationError as LibValidationError
from vn_einvoice.providers import ProviderError, ProviderUnknownOutcome
from vn_einvoice.taxauthority import MessageType, build_message
from vn_einvoice.taxauthority.transport import NoReplyYet

_logger = logging.getLogger(__name__)

NATURES = [
    ('1', 'Cancellation'),
    ('2', 'Adjustment'),
    ('3', 'Replacement'),
    ('4', 'Explanation'),
]
NOTICE_STATES = [
    ('draft', 'Draft'),
    ('signed', 'Signed'),
    ('sent', 'Sent'),
    ('accepted', 'Accepted'),
    ('rejected', 'Rejected'),
]


class L10nVnEinvoiceNotice(models.Model):
    """Notice of erroneous e-invoices, form 04/SS-HĐĐT, with its own life: draft, signed, sent,
    accepted or rejected by the tax authority. Accepting a cancellation cancels the invoice."""

    _name = 'l10n_vn_einvoice.notice'
    _description = 'E-invoice error notice (04/SS-HĐĐT)'
    _inherit = ['mail.thread']
    _order = 'date desc, id desc'
    _check_company_auto = True

    name = fields.Char(string='Number', required=True, copy=False, readonly=True, default=lambda self: _('New'))
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company)
    state = fields.Selection(NOTICE_STATES, required=True, default='draft', tracking=True, copy=False)
    date = fields.Date(string='Notice date', required=True, default=fields.Date.context_today, tracking=True)
    kind = fields.Selection([('1', 'Own notice'), ('2', 'Reply to the tax authority')], required=True,
                            default='1', help='Loai: 2 when answering the tax authority\'s notice 01/TB-RSĐT.')
    authority_notice_number = fields.Char(string='Tax authority notice number', help='So (reply only).')
    authority_notice_date = fields.Date(string='Tax authority notice date', help='NTBCCQT (reply only).')
    tax_office_code = fields.Char(string='Tax office code', size=5,
                                  default=lambda self: self.env.company.l10n_vn_einvoice_tax_office_code)
    tax_office_name = fields.Char(string='Tax office',
                                  default=lambda self: self.env.company.l10n_vn_einvoice_tax_office_name)
    place = fields.Char(size=50,
                        default=lambda self: self.env.company.state_id.name or self.env.company.city)
    line_ids = fields.One2many('l10n_vn_einvoice.notice.line', 'notice_id', string='Invoices', copy=True)
    agreement_id = fields.Many2one('l10n_vn_einvoice.agreement', check_company=True, copy=False)
    xml = fields.Binary(string='Signed XML', attachment=True, readonly=True, copy=False)
    xml_filename = fields.Char(readonly=True, copy=False)
    signed_on = fields.Datetime(readonly=True, copy=False)
    signer_subject = fields.Char(string='Signed by', readonly=True, copy=False)
    rejection_reason = fields.Text(readonly=True, copy=False, tracking=True)
    tax_message = fields.Char(string='Message to the tax authority (MTDiep)', readonly=True, copy=False,
                              help='The notice sent as message 300; the tax authority answers with a 301.')

    _sql_constraints = [
        ('name_company_uniq', 'unique(company_id, name)', 'This notice number already exists.'),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if not vals.get('name') or vals['name'] == _('New'):
                vals['name'] = self.env['ir.sequence'].next_by_code('l10n_vn_einvoice.notice') or _('New')
        return super().create(vals_list)

    def write(self, vals):
        content = set(vals) - {'state', 'xml', 'xml_filename', 'signed_on', 'signer_subject', 'rejection_reason',
                               'message_main_attachment_id', 'agreement_id', 'tax_message'}
        if content and not self.env.context.get('l10n_vn_einvoice_internal'):
            if locked := self.filtered(lambda n: n.state != 'draft'):
                raise UserError(_('Notice %s is signed: reset it to draft to change it.', locked[0].name))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_signed(self):
        if signed := self.filtered(lambda n: n.state not in ('draft', 'rejected')):
            raise UserError(_('Notice %s was signed and cannot be deleted.', signed[0].name))

    # ------------------------------------------------------------------
    # The library document
    # ------------------------------------------------------------------

    def _l10n_vn_document(self):
        self.ensure_one()
        company = self.company_id
        invoices = []
        for line in self.line_ids.sorted(lambda l: (l.sequence, l.id)):
            move = line.move_id
            invoices.append(lib_notice.NoticeInvoice(
                template=move.l10n_vn_einvoice_template_id.code or '',
                symbol=move.l10n_vn_einvoice_series_id.symbol or '',
                number=str(move.l10n_vn_einvoice_number or ''),
                issue_date=move.invoice_date,
                nature=lib_notice.NoticeNature(int(line.nature)),
                reason=(line.reason or '')[:255],
                authority_code=move.l10n_vn_einvoice_authority_code or '',
                invoice_type=(RelatedInvoiceType.LEGACY_OTHER if move.l10n_vn_einvoice_template_id.regime == 'legacy'
                              else RelatedInvoiceType.DECREE_123),
            ))
        return lib_notice.ErrorNotice(
            taxpayer_name=company.name or '', tax_code=company.vat or '',
            tax_office_code=(self.tax_office_code or '').strip(), tax_office_name=(self.tax_office_name or '').strip(),
            place=(self.place or '').strip(), notice_date=self.date, invoices=tuple(invoices),
            kind=lib_notice.NoticeKind(int(self.kind)),
            authority_notice_number=self.authority_notice_number or '',
            authority_notice_date=self.authority_notice_date or None,
            version=company.l10n_vn_einvoice_version or lib_notice.DEFAULT_VERSION,
        )

    def _check_lines(self):
        """Problems the law or the invoices' states raise (translated)."""
        self.ensure_one()
        errors = []
        if not self.line_ids:
            errors.append(_('Add the invoices the notice is about.'))
        for line in self.line_ids:
            move = line.move_id
            if move.company_id != self.company_id:
                errors.append(_('Invoice %s belongs to another company.', move.display_name))
            if not move.l10n_vn_einvoice_number:
                errors.append(_('Invoice %s has no issued e-invoice.', move.display_name))
                continue
            if line.nature == '1':
                errors += move._l10n_vn_einvoice_cancel_problems(allow_pending=self)
        return errors

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def _signer(self):
        self.ensure_one()
        signer = self.company_id.l10n_vn_einvoice_signer_id
        if not signer:
            series = self.line_ids.move_id.l10n_vn_einvoice_series_id.filtered('signer_id')[:1]
            signer = series.signer_id
        if not signer:
            raise UserError(_('No signer: set the company\'s default signer in the e-invoice settings.'))
        return signer

    def action_sign(self):
        """Build the 04/SS XML, sign it with the company's signer, verify it and keep it."""
        for notice in self:
            notice._check_sign_access()
            if notice.state != 'draft':
                raise UserError(_('Only a draft notice can be signed.'))
            errors = notice._check_lines()
            if errors:
                raise UserError('\n'.join(errors))
            try:
                xml = lib_notice.build_notice_xml(notice._l10n_vn_document())
            except LibValidationError as e:
                raise UserError(_('The notice is not valid:\n%s', '\n'.join(str(p) for p in e.problems))) from None
            signer = notice._signer().sudo()
            try:
                with signer._make_signer() as lib_signer:
                    signed = lib_notice.sign_notice(xml, lib_signer, algorithm=signer.algorithm,
                                                    allow_mst_mismatch=signer.allow_mst_mismatch)
            except EInvoiceError as e:
                raise UserError(_('Signing with %(name)s failed: %(reason)s', name=signer.name, reason=str(e))) from None
            report = lib_notice.verify_notice(signed)
            if not report.valid:
                raise UserError(_('The signed notice does not verify: %s', '; '.join(report.all_problems())))
            company = notice.company_id
            if not company.l10n_vn_einvoice_tax_office_code:
                company.sudo().write({'l10n_vn_einvoice_tax_office_code': notice.tax_office_code,
                                      'l10n_vn_einvoice_tax_office_name': notice.tax_office_name})
            filename = f'04SS_{tax_code_compact(company.vat)}_{notice.name.replace("/", "-")}.xml'
            notice.with_context(l10n_vn_einvoice_internal=True).write({
                'state': 'signed', 'xml': base64.b64encode(signed), 'xml_filename': filename,
                'signed_on': fields.Datetime.now(), 'signer_subject': report.signatures[0].subject,
            })
            notice.message_post(body=_('Notice signed by %s.', html_escape(report.signatures[0].subject)))
            for move in notice.line_ids.move_id:
                move.message_post(body=_('Listed in notice 04/SS-HĐĐT %s.', notice._get_html_link()))
        return True

    def _check_sign_access(self):
        if not self.env.user.has_group('l10n_vn_einvoice.group_l10n_vn_einvoice_user'):
            raise UserError(_('You are not allowed to sign e-invoice documents: ask for the "Issue e-invoices" right.'))

    def action_mark_sent(self):
        for notice in self:
            if notice.state != 'signed':
                raise UserError(_('Only a signed notice can be marked as sent.'))
            notice.state = 'sent'
            self.env['l10n_vn_einvoice.event']._log('notice_sent', notice.line_ids.move_id, notice_id=notice.id,
                                                    channel='tax_authority', message=notice.name)
        return True

    # ------------------------------------------------------------------
    # Through the connection to the tax authority: 300, then 999 and 301
    # ------------------------------------------------------------------

    def _tax_connection(self):
        self.ensure_one()
        return self.env['l10n_vn_einvoice.tax.connection'].sudo().search(
            [('company_id', '=', self.company_id.id), ('active', '=', True)], limit=1)

    def action_send_to_tax_authority(self):
        """Send the signed notice as message 300 (kept before it leaves) and follow the replies."""
        self._check_sign_access()
        for notice in self:
            if notice.state != 'signed':
                raise UserError(_('Only a signed notice can be sent.'))
            connection = notice._tax_connection()
            if not connection:
                raise UserError(_('Company %s has no connection to the tax authority: send the notice another way, '
                                  'then mark it as sent.', notice.company_id.name))
            if connection.registration_state != 'accepted':
                raise UserError(_('The registration 01/ĐKTĐ-HĐĐT of company %s must be accepted first.',
                                  notice.company_id.name))
            try:
                raw = build_message(MessageType.ERROR_NOTICE, [base64.b64decode(notice.xml)],
                                    sender=connection._sender_code(), receiver=connection.receiver_code,
                                    tax_code=notice.company_id.vat)
            except EInvoiceError as e:
                raise UserError(_('The message to the tax authority cannot be made: %s',
                                  connection._error_text(e))) from None
            sent = connection._log_sent(raw)
            notice.write({'state': 'sent', 'tax_message': sent.message_id})
        if self.env['account.move']._l10n_vn_einvoice_provider_can_commit():
            self.env.cr.commit()  # pylint: disable=invalid-commit  # the message is safe before it leaves
        self._tax_follow()
        return True

    def action_check_tax_authority(self):
        """Read the tax authority's replies (the same message is sent again only if it never arrived)."""
        waiting = self.filtered(lambda n: n.state == 'sent' and n.tax_message)
        if not waiting:
            raise UserError(_('None of these notices waits for the tax authority.'))
        waiting._tax_follow()
        return True

    def _tax_follow(self, wait=True):
        for notice in self.filtered(lambda n: n.state == 'sent' and n.tax_message):
            sent = self.env['l10n_vn_einvoice.tax.message'].sudo().search(
                [('message_id', '=', notice.tax_message), ('direction', '=', 'out')], limit=1)
            connection = sent.connection_id
            if not connection:
                continue
            try:
                with connection._client() as client:
                    if client.status(sent.message_id) is None:
                        client.send(base64.b64decode(sent.with_context(bin_size=False).xml))
                    exchange = connection._exchange(client, wait=wait)
                    outcome = exchange.wait(sent.message_id, MessageType.ERROR_NOTICE) if wait else \
                        exchange.poll(sent.message_id, MessageType.ERROR_NOTICE)
            except (NoReplyYet, ProviderUnknownOutcome):
                continue
            except ProviderError as e:
                notice.message_post(body=html_escape(connection._error_text(e)))
                continue
            notice._tax_apply(connection, outcome)

    def _tax_apply(self, connection, outcome):
        """A 301 decides line by line: the cancellations it accepts take effect; the notice is accepted when
        every line is, else rejected with the tax authority's reasons. A 999 error rejects it."""
        self.ensure_one()
        logged = connection._log_replies(outcome)
        if outcome.final is None:
            if outcome.rejected_technically:
                record = logged.get(outcome.receipt.message_id)
                self._reject(record.reasons if record else _('refused by the tax authority'))
            return
        record = logged.get(outcome.final.message_id)
        problems = connection._reply_signature_problems(outcome.final)
        if problems:  # the reply itself is not to be believed: a person must look
            self.message_post(body=_('The tax authority\'s reply could not be trusted: %s',
                                     html_escape('; '.join(problems))))
            return
        answer = outcome.final.notice()
        results = {(r.template, r.symbol, r.number): r for r in answer.invoices}
        for line in self.line_ids:
            move = line.move_id
            key = (move.l10n_vn_einvoice_template_id.code, move.l10n_vn_einvoice_series_id.symbol,
                   str(move.l10n_vn_einvoice_number))
            result = results.get(key)
            if result is not None and result.accepted and line.nature == '1':
                move._l10n_vn_einvoice_apply_cancel(self)
        if answer.accepted:
            self.state = 'accepted'
        else:
            self._reject('\n'.join(answer.all_reasons()) or record.summary)

    @api.model
    def _cron_l10n_vn_einvoice_tax_notices(self):
        self.search([('state', '=', 'sent'), ('tax_message', '!=', False)], limit=200)._tax_follow(wait=False)

    def action_accept(self):
        """The tax authority accepted the notice (01/TB-SSĐT): cancellations take effect."""
        for notice in self:
            if notice.state != 'sent':
                raise UserError(_('Only a sent notice can be accepted.'))
            notice.state = 'accepted'
            for line in notice.line_ids.filtered(lambda l: l.nature == '1'):
                line.move_id._l10n_vn_einvoice_apply_cancel(notice)
        return True

    def action_reject(self):
        return {
            'type': 'ir.actions.act_window', 'res_model': 'l10n_vn_einvoice.notice.reject', 'view_mode': 'form',
            'target': 'new', 'name': _('Rejected notice'), 'context': {'default_notice_id': self.id},
        }

    def _reject(self, reason):
        for notice in self:
            if notice.state != 'sent':
                raise UserError(_('Only a sent notice can be rejected.'))
            notice.write({'state': 'rejected', 'rejection_reason': reason})
        return True

    def action_reset_to_draft(self):
        for notice in self:
            if notice.state not in ('signed', 'rejected'):
                raise UserError(_('Only a signed (not sent) or rejected notice can be reset to draft.'))
            notice.with_context(l10n_vn_einvoice_internal=True).write({
                'state': 'draft', 'xml': False, 'xml_filename': False, 'signed_on': False, 'signer_subject': False})
        return True

    def action_download_xml(self):
        self.ensure_one()
        if not self.xml:
            raise UserError(_('This notice is not signed yet.'))
        return {'type': 'ir.actions.act_url', 'target': 'download',
                'url': f'/web/content/{self._name}/{self.id}/xml/{self.xml_filename}?download=true'}

    def action_print(self):
        return self.env.ref('l10n_vn_einvoice.action_report_einvoice_notice').report_action(self)

    def _l10n_vn_report_values(self):
        self.ensure_one()
        rows = []
        for line in self.line_ids.sorted(lambda l: (l.sequence, l.id)):
            row = line.move_id._l10n_vn_einvoice_reference_row()
            row.update(nature=lib_notice.NATURE_WORDS[lib_notice.NoticeNature(int(line.nature))], reason=line.reason or '',
                       authority_code=line.move_id.l10n_vn_einvoice_authority_code or '',
                       invoice_type='3' if line.move_id.l10n_vn_einvoice_template_id.regime == 'legacy' else '1')
            rows.append(row)
        return {'rows': rows}
