import base64
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import html_escape

from vn_einvoice import lifecycle
from vn_einvoice import notice as lib_notice
from vn_einvoice.codes import tax_code_compact
from vn_einvoice.document import RelatedInvoiceType
from vn_einvoice.errors import EInvoiceError
from vn_einvoice.errors import ValidationError as LibValidationError

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


class ResCompany(models.Model):
    _inherit = 'res.company'

    l10n_vn_einvoice_tax_office_code = fields.Char(
        string='Tax office code', size=5,
        help='MCQT: code of the tax office managing the company (5 characters), written on 04/SS notices.')
    l10n_vn_einvoice_tax_office_name = fields.Char(string='Tax office', help='TCQT: name of that tax office.')


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
    place = fields.Char(string='Place', size=50,
                        default=lambda self: self.env.company.state_id.name or self.env.company.city)
    line_ids = fields.One2many('l10n_vn_einvoice.notice.line', 'notice_id', string='Invoices', copy=True)
    agreement_id = fields.Many2one('l10n_vn_einvoice.agreement', string='Agreement', check_company=True, copy=False)
    xml = fields.Binary(string='Signed XML', attachment=True, readonly=True, copy=False)
    xml_filename = fields.Char(readonly=True, copy=False)
    signed_on = fields.Datetime(readonly=True, copy=False)
    signer_subject = fields.Char(string='Signed by', readonly=True, copy=False)
    rejection_reason = fields.Text(readonly=True, copy=False, tracking=True)

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
                               'message_main_attachment_id', 'agreement_id'}
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
        return True

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


class L10nVnEinvoiceNoticeLine(models.Model):
    _name = 'l10n_vn_einvoice.notice.line'
    _description = 'Invoice in a 04/SS notice'
    _order = 'notice_id, sequence, id'

    notice_id = fields.Many2one('l10n_vn_einvoice.notice', required=True, ondelete='cascade', index=True)
    company_id = fields.Many2one(related='notice_id.company_id')
    notice_state = fields.Selection(related='notice_id.state', string='Notice state')
    sequence = fields.Integer(default=10)
    move_id = fields.Many2one(
        'account.move', string='Invoice', required=True, ondelete='restrict', index=True,
        domain="[('company_id', '=', company_id), ('l10n_vn_einvoice_number', '!=', 0), "
               "('move_type', 'in', ('out_invoice', 'out_refund'))]")
    nature = fields.Selection(NATURES, required=True, default='4',
                              help='TCTBao: cancellation (coded invoice not yet sent to the buyer), adjustment, '
                                   'replacement, or explanation (wrong buyer name or address, right MST).')
    reason = fields.Char(size=255, help='LDo: what is wrong and what is done about it (written on the notice).')
    einvoice_name = fields.Char(related='move_id.l10n_vn_einvoice_name', string='E-invoice')
    invoice_date = fields.Date(related='move_id.invoice_date')
    einvoice_state = fields.Selection(related='move_id.l10n_vn_einvoice_state', string='E-invoice state')

    def _check_draft(self):
        if self.notice_id.filtered(lambda n: n.state != 'draft'):
            raise UserError(_('Notice %s is signed: reset it to draft to change it.',
                              self.notice_id.filtered(lambda n: n.state != 'draft')[0].name))

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines._check_draft()
        return lines

    def write(self, vals):
        self._check_draft()
        return super().write(vals)

    def unlink(self):
        self._check_draft()
        return super().unlink()

    @api.constrains('move_id', 'notice_id')
    def _check_unique_move(self):
        for line in self:
            if len(line.notice_id.line_ids.filtered(lambda l: l.move_id == line.move_id)) > 1:
                raise UserError(_('Invoice %s is listed twice in the notice.', line.move_id.display_name))


class L10nVnEinvoiceNoticeReject(models.TransientModel):
    _name = 'l10n_vn_einvoice.notice.reject'
    _description = 'Reject a 04/SS notice'

    notice_id = fields.Many2one('l10n_vn_einvoice.notice', required=True)
    reason = fields.Text(required=True)

    def action_confirm(self):
        self.notice_id._reject(self.reason)
        return {'type': 'ir.actions.act_window_close'}


class AccountMove(models.Model):
    _inherit = 'account.move'

    l10n_vn_einvoice_notice_line_ids = fields.One2many('l10n_vn_einvoice.notice.line', 'move_id',
                                                       string='04/SS notices', readonly=True)

    def action_l10n_vn_einvoice_new_notice(self):
        """A draft 04/SS notice listing the selected issued e-invoices (list or form action)."""
        moves = self.filtered('l10n_vn_einvoice_number')
        if not moves:
            raise UserError(_('Select issued e-invoices.'))
        if len(moves.company_id) > 1:
            raise UserError(_('Select e-invoices of one company.'))
        notice = self.env['l10n_vn_einvoice.notice'].with_company(moves.company_id).create({
            'company_id': moves.company_id.id,
            'line_ids': [fields.Command.create({'move_id': m.id, 'nature': '4'})
                         for m in moves],
        })
        return {'type': 'ir.actions.act_window', 'res_model': notice._name, 'res_id': notice.id,
                'view_mode': 'form', 'name': notice.name}

    def _l10n_vn_einvoice_cancel_problems(self, allow_pending=None):
        """Why this e-invoice cannot be cancelled (translated; empty: it can, per the law and its state)."""
        self.ensure_one()
        errors = []
        role = self._l10n_vn_einvoice_role()
        if not lifecycle.can(self.l10n_vn_einvoice_state or 'CREATED', lifecycle.Event.CANCEL, role):
            errors.append(_('E-invoice %(name)s cannot be cancelled: %(reason)s.', name=self.l10n_vn_einvoice_name,
                            reason=str(lifecycle.TransitionError(self.l10n_vn_einvoice_state or 'CREATED',
                                                                 lifecycle.Event.CANCEL, role))))
            return errors
        if not self.l10n_vn_einvoice_series_id.is_coded:
            errors.append(_('E-invoice %s has no tax authority code (symbol K…): since Decree 70/2025 it is corrected '
                            'by adjustment or replacement, not cancelled.', self.l10n_vn_einvoice_name))
        if self.is_move_sent:
            errors.append(_('E-invoice %s was sent to the buyer: since Decree 70/2025 it is corrected by adjustment '
                            'or replacement, not cancelled.', self.l10n_vn_einvoice_name))
        pending = self.l10n_vn_einvoice_notice_line_ids.filtered(
            lambda l: l.nature == '1' and l.notice_id.state in ('draft', 'signed', 'sent')
            and l.notice_id != allow_pending)
        if pending:
            errors.append(_('E-invoice %(name)s is already in cancellation notice %(notice)s.',
                            name=self.l10n_vn_einvoice_name, notice=pending[0].notice_id.name))
        return errors
