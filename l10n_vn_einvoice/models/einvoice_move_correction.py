"""The corrections of issued e-invoices, a feature of ``account.move`` (mixed in by models/account_move.py):
adjustment and replacement invoices linked to the invoices they correct, agreements, 04/SS notices,
deletion of prepared e-invoices, and the accounting of replaced or cancelled ones.

Every state change asks ``vn_einvoice.lifecycle`` (the one state table). The legal rules applied
(Decree 123/2020 Art. 19 as amended by Decree 70/2025) are explained in the wizards.
"""

import dataclasses
import logging

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import html_escape

from vn_einvoice import document as doc
from vn_einvoice import lifecycle
from vn_einvoice.errors import EInvoiceError
from vn_einvoice.xml import parse_xml

_logger = logging.getLogger(__name__)

RELATIONS = [('adjustment', 'Adjustment'), ('replacement', 'Replacement')]
ADJUSTMENT_KINDS = [('money', 'Amounts'), ('info', 'Information')]
ADJUST_WHAT = [
    ('quantity', 'Quantity'),
    ('price', 'Unit price'),
    ('amount', 'Amount'),
    ('tax', 'VAT rate'),
    ('new', 'New line'),
]
# Legal Vietnamese words of the note "Điều chỉnh tăng đơn giá cho hóa đơn …".
WHAT_WORDS = {'quantity': 'số lượng', 'price': 'đơn giá', 'amount': 'thành tiền', 'tax': 'thuế suất',
              'new': 'hàng hóa, dịch vụ'}
# Fields that make the legal content of a correction invoice (frozen once it is issued).
CORRECTION_LEGAL_FIELDS = {
    'l10n_vn_einvoice_relation', 'l10n_vn_einvoice_adjustment_kind', 'l10n_vn_einvoice_origin_ids',
    'l10n_vn_einvoice_correction_note', 'l10n_vn_einvoice_list_number', 'l10n_vn_einvoice_list_date',
    'l10n_vn_einvoice_buyer_name', 'l10n_vn_einvoice_buyer_vat', 'l10n_vn_einvoice_buyer_address',
    'l10n_vn_einvoice_buyer_email',
}


def vn_amount(value, currency):
    """``24.900.000`` (VND) or ``1.234,56``: how amounts are written on Vietnamese documents."""
    digits = 0 if currency.name == 'VND' else currency.decimal_places
    text = f'{value:,.{digits}f}'
    return text.replace(',', ' ').replace('.', ',').replace(' ', '.')


class L10nVnEinvoiceMoveCorrection(models.AbstractModel):
    """Fields and helpers of correction invoices on ``account.move``. It overrides nothing: the Odoo
    methods of ``account.move`` (posting, reset, cancel, reverse, write) call these helpers."""

    _name = 'l10n_vn_einvoice.move.correction'
    _description = 'E-invoice corrections (invoice feature)'

    l10n_vn_einvoice_relation = fields.Selection(
        RELATIONS, string='Corrects by', readonly=True, copy=False, index='btree_not_null',
        help='Adjustment (TCHDon 2) or replacement (TCHDon 1) of the e-invoices listed in "Corrected e-invoices".')
    l10n_vn_einvoice_adjustment_kind = fields.Selection(ADJUSTMENT_KINDS, string='Adjustment of', readonly=True,
                                                        copy=False)
    l10n_vn_einvoice_origin_ids = fields.Many2many(
        'account.move', 'l10n_vn_einvoice_correction_rel', 'correction_id', 'origin_id',
        string='Corrected e-invoices', readonly=True, copy=False)
    l10n_vn_einvoice_correction_ids = fields.Many2many(
        'account.move', 'l10n_vn_einvoice_correction_rel', 'origin_id', 'correction_id',
        string='Corrections', readonly=True, copy=False)
    l10n_vn_einvoice_adjustment_ids = fields.Many2many(
        'account.move', string='Adjustment invoices', compute='_compute_l10n_vn_einvoice_corrections')
    l10n_vn_einvoice_replacement_ids = fields.Many2many(
        'account.move', string='Replacement invoice', compute='_compute_l10n_vn_einvoice_corrections')
    l10n_vn_einvoice_adjustment_count = fields.Integer(compute='_compute_l10n_vn_einvoice_corrections')
    l10n_vn_einvoice_replacement_count = fields.Integer(compute='_compute_l10n_vn_einvoice_corrections')
    l10n_vn_einvoice_origin_count = fields.Integer(compute='_compute_l10n_vn_einvoice_corrections')
    l10n_vn_einvoice_agreement_id = fields.Many2one(
        'l10n_vn_einvoice.agreement', string='Agreement (biên bản)', copy=False, check_company=True,
        help='The agreement with the buyer this correction invoice rests on.')
    l10n_vn_einvoice_agreement_ids = fields.Many2many(
        'l10n_vn_einvoice.agreement', 'l10n_vn_einvoice_agreement_move_rel', 'move_id', 'agreement_id',
        string='Agreements', readonly=True, copy=False)
    l10n_vn_einvoice_agreement_count = fields.Integer(compute='_compute_l10n_vn_einvoice_agreement_count')
    l10n_vn_einvoice_notice_count = fields.Integer(compute='_compute_l10n_vn_einvoice_agreement_count')
    l10n_vn_einvoice_correction_note = fields.Char(
        string='Correction note', size=255, copy=False,
        help='GChu of TTHDLQuan, e.g. "Điều chỉnh giảm đơn giá cho hóa đơn Mẫu số 1, ký hiệu C26TAA, số 12, '
             'ngày 05/03/2026". Empty: written from the lines at issue.')
    l10n_vn_einvoice_list_number = fields.Char(
        string='List 01/BK-ĐCTT number', size=50, copy=False,
        help='SBKCLQuan: number of the list of invoices when one invoice corrects several (Decree 70/2025).')
    l10n_vn_einvoice_list_date = fields.Date(string='List 01/BK-ĐCTT date', copy=False, help='NBKCLQuan.')
    l10n_vn_einvoice_buyer_name = fields.Char(string='Corrected buyer name', copy=False)
    l10n_vn_einvoice_buyer_vat = fields.Char(string='Corrected buyer tax code', copy=False)
    l10n_vn_einvoice_buyer_address = fields.Char(string='Corrected buyer address', copy=False)
    l10n_vn_einvoice_buyer_email = fields.Char(string='Corrected buyer email', copy=False)
    l10n_vn_einvoice_accounting_only = fields.Boolean(
        string='Accounting reversal only', readonly=True, copy=False,
        help='Reverses the accounting of a replaced or cancelled e-invoice; it is not an e-invoice itself.')
    l10n_vn_einvoice_reversal_id = fields.Many2one('account.move', string='Accounting reversal', readonly=True,
                                                   copy=False)
    l10n_vn_einvoice_can_adjust = fields.Boolean(compute='_compute_l10n_vn_einvoice_can_correct')
    l10n_vn_einvoice_can_replace = fields.Boolean(compute='_compute_l10n_vn_einvoice_can_correct')
    l10n_vn_einvoice_cancel_pending = fields.Boolean(
        string='Cancellation pending', compute='_compute_l10n_vn_einvoice_can_correct',
        help='Listed for cancellation in a 04/SS notice not yet accepted or rejected.')
    l10n_vn_einvoice_notice_line_ids = fields.One2many('l10n_vn_einvoice.notice.line', 'move_id',
                                                       string='04/SS notices', readonly=True)

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------

    @api.depends('l10n_vn_einvoice_correction_ids.l10n_vn_einvoice_relation', 'l10n_vn_einvoice_origin_ids')
    def _compute_l10n_vn_einvoice_corrections(self):
        for move in self:
            corrections = move.l10n_vn_einvoice_correction_ids
            move.l10n_vn_einvoice_adjustment_ids = corrections.filtered(
                lambda m: m.l10n_vn_einvoice_relation == 'adjustment')
            move.l10n_vn_einvoice_replacement_ids = corrections.filtered(
                lambda m: m.l10n_vn_einvoice_relation == 'replacement')
            move.l10n_vn_einvoice_adjustment_count = len(move.l10n_vn_einvoice_adjustment_ids)
            move.l10n_vn_einvoice_replacement_count = len(move.l10n_vn_einvoice_replacement_ids)
            move.l10n_vn_einvoice_origin_count = len(move.l10n_vn_einvoice_origin_ids)

    @api.depends('l10n_vn_einvoice_agreement_ids', 'l10n_vn_einvoice_agreement_id',
                 'l10n_vn_einvoice_notice_line_ids')
    def _compute_l10n_vn_einvoice_agreement_count(self):
        for move in self:
            move.l10n_vn_einvoice_agreement_count = len(move._l10n_vn_einvoice_agreements())
            move.l10n_vn_einvoice_notice_count = len(move.l10n_vn_einvoice_notice_line_ids.notice_id)

    @api.depends('state', 'l10n_vn_einvoice_state', 'l10n_vn_einvoice_relation', 'l10n_vn_einvoice_number',
                 'l10n_vn_einvoice_notice_line_ids.notice_id.state', 'l10n_vn_einvoice_notice_line_ids.nature')
    def _compute_l10n_vn_einvoice_can_correct(self):
        for move in self:
            pending = bool(move.l10n_vn_einvoice_notice_line_ids.filtered(
                lambda l: l.nature == '1' and l.notice_id.state in ('draft', 'signed', 'sent')))
            issued = move.state == 'posted' and bool(move.l10n_vn_einvoice_number) and not pending
            role = move._l10n_vn_einvoice_role() if issued else None
            move.l10n_vn_einvoice_cancel_pending = pending
            move.l10n_vn_einvoice_can_adjust = issued and lifecycle.can(
                move.l10n_vn_einvoice_state, lifecycle.Event.ADJUST, role)
            move.l10n_vn_einvoice_can_replace = issued and lifecycle.can(
                move.l10n_vn_einvoice_state, lifecycle.Event.REPLACE, role)

    def _l10n_vn_einvoice_agreements(self):
        self.ensure_one()
        return self.l10n_vn_einvoice_agreement_ids | self.l10n_vn_einvoice_agreement_id

    # ------------------------------------------------------------------
    # Guards (called by account.move's write, _post, button_draft and button_cancel)
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_correction_check_write(self, vals):
        if CORRECTION_LEGAL_FIELDS & set(vals):
            if issued := self.filtered('l10n_vn_einvoice_number'):
                raise UserError(_('E-invoice %s is issued: what it corrects can no longer be changed.',
                                  issued[0].l10n_vn_einvoice_name))

    def _l10n_vn_einvoice_prepare_again(self):
        """DELETE → CREATED: an invoice whose prepared e-invoice was deleted is posted again."""
        for move in self.filtered('l10n_vn_einvoice_applicable'):
            state, sign = lifecycle.transition(move.l10n_vn_einvoice_state, lifecycle.Event.PREPARE,
                                               move.l10n_vn_einvoice_sign_status or 'NOSIGN')
            move.with_context(l10n_vn_einvoice_internal=True).write({
                'l10n_vn_einvoice_state': state.value, 'l10n_vn_einvoice_sign_status': sign.value,
                'l10n_vn_einvoice_error': False})

    def _l10n_vn_einvoice_delete_prepared(self):
        """CREATED → DELETE: the prepared e-invoice was never issued (no number was taken, none is lost)."""
        for move in self:
            state, sign = lifecycle.transition(move.l10n_vn_einvoice_state, lifecycle.Event.DELETE,
                                               move.l10n_vn_einvoice_sign_status or 'NOSIGN')
            move.with_context(l10n_vn_einvoice_internal=True).write({
                'l10n_vn_einvoice_state': state.value, 'l10n_vn_einvoice_sign_status': sign.value,
                'l10n_vn_einvoice_error': False})
            if move.l10n_vn_einvoice_number:  # refused by the tax authority: its number stays reserved
                move.message_post(body=_('The e-invoice refused by the tax authority is being corrected: it keeps number '
                                         '%s, under which it is issued again once posted.',
                                         move.l10n_vn_einvoice_number))
                continue
            move.message_post(body=_('The prepared e-invoice was deleted: it was never issued, so no number was used. '
                                     'Posting the invoice again prepares a new one.'))
        self.env['l10n_vn_einvoice.event']._log('deleted', self, message=_('Prepared e-invoice deleted before issue.'))

    def _l10n_vn_einvoice_credit_note_action(self):
        """A credit note of issued e-invoices is an adjustment invoice: the adjustment wizard (Reverse)."""
        if self != self.filtered('l10n_vn_einvoice_number'):
            raise UserError(_('Reverse issued e-invoices apart from other entries.'))
        problems = [p for move in self for p in move._l10n_vn_einvoice_correction_problems(lifecycle.Event.ADJUST)]
        if problems:
            raise UserError('\n'.join(problems))
        return self._l10n_vn_einvoice_adjustment_action(decrease_all=True)

    # ------------------------------------------------------------------
    # The library document of a correction invoice
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_as_related(self, relation):
        """This issued invoice as the target of ``TTHDLQuan`` (no note)."""
        self.ensure_one()
        template = self.l10n_vn_einvoice_template_id
        return doc.RelatedInvoice(
            relation=relation, template=template.code or '', symbol=self.l10n_vn_einvoice_series_id.symbol or '',
            number=str(self.l10n_vn_einvoice_number or ''), issue_date=self.invoice_date,
            invoice_type=(doc.RelatedInvoiceType.LEGACY_OTHER if template.regime == 'legacy'
                          else doc.RelatedInvoiceType.DECREE_123),
        )

    @api.model
    def _l10n_vn_einvoice_reference(self, origins, relation, list_number='', list_date=None):
        """``RelatedInvoice`` naming ``origins``: the invoice itself, or the list 01/BK-ĐCTT for several."""
        relation = doc.RelationKind(relation) if not isinstance(relation, str) else (
            doc.RelationKind.ADJUSTMENT if relation == 'adjustment' else doc.RelationKind.REPLACEMENT)
        origins = origins.sorted(lambda m: (m.invoice_date or fields.Date.today(), m.l10n_vn_einvoice_number, m.id))
        refs = tuple(o._l10n_vn_einvoice_as_related(relation) for o in origins)
        if len(refs) == 1:
            return refs[0]
        return doc.RelatedInvoice(relation=relation, invoice_type=refs[0].invoice_type if refs else
                                  doc.RelatedInvoiceType.DECREE_123, list_number=list_number or '',
                                  list_date=list_date or None, invoices=refs)

    @api.model
    def _l10n_vn_einvoice_note_text(self, reference, kind=None, increase=False, decrease=False, whats=()):
        """The legal sentence: "Điều chỉnh giảm đơn giá cho hóa đơn Mẫu số 1, ký hiệu C26TAA, số 12, ngày …"."""
        text = reference.reference_text()
        if reference.relation is doc.RelationKind.REPLACEMENT:
            return text
        if kind == 'info':
            words = 'Điều chỉnh thông tin người mua'
        else:
            direction = ('tăng, giảm' if increase and decrease else 'tăng' if increase else 'giảm' if decrease else '')
            words = ' '.join(w for w in ('Điều chỉnh', direction, ', '.join(whats)) if w)
        return words + text[len('Điều chỉnh'):]

    def _l10n_vn_einvoice_default_note(self):
        self.ensure_one()
        reference = self._l10n_vn_einvoice_reference(
            self.l10n_vn_einvoice_origin_ids, self.l10n_vn_einvoice_relation,
            self.l10n_vn_einvoice_list_number, self.l10n_vn_einvoice_list_date)
        sign = -1 if self.move_type == 'out_refund' else 1
        lines = self.invoice_line_ids.filtered(lambda l: l.display_type == 'product')
        amounts = [line.price_subtotal * sign for line in lines]
        whats = []
        for line in lines:
            word = WHAT_WORDS.get(line.l10n_vn_einvoice_adjust_what)
            if word and word not in whats:
                whats.append(word)
        return self._l10n_vn_einvoice_note_text(
            reference, kind=self.l10n_vn_einvoice_adjustment_kind, increase=any(a > 0 for a in amounts),
            decrease=any(a < 0 for a in amounts), whats=whats)

    def _l10n_vn_einvoice_correction_related(self):
        """``TTHDLQuan`` of a correction invoice made with the wizards."""
        self.ensure_one()
        reference = self._l10n_vn_einvoice_reference(
            self.l10n_vn_einvoice_origin_ids, self.l10n_vn_einvoice_relation,
            self.l10n_vn_einvoice_list_number, self.l10n_vn_einvoice_list_date)
        note = self.l10n_vn_einvoice_correction_note or self._l10n_vn_einvoice_default_note()
        return dataclasses.replace(reference, note=note[:255])

    def _l10n_vn_einvoice_correction_corrected(self):
        self.ensure_one()
        event = (lifecycle.Event.ADJUST if self.l10n_vn_einvoice_relation == 'adjustment'
                 else lifecycle.Event.REPLACE)
        return [(origin, event) for origin in self.l10n_vn_einvoice_origin_ids]

    def _l10n_vn_einvoice_corrected_buyer(self, party):
        """``party`` with the buyer data an information adjustment corrects."""
        changes = {key: value for key, value in (
            ('name', self.l10n_vn_einvoice_buyer_name), ('tax_code', self.l10n_vn_einvoice_buyer_vat),
            ('address', self.l10n_vn_einvoice_buyer_address), ('email', self.l10n_vn_einvoice_buyer_email),
        ) if value}
        return dataclasses.replace(party, **changes) if changes else party

    def _l10n_vn_einvoice_issued_buyer(self):
        """The buyer as written in the issued XML (the customer may have changed since)."""
        self.ensure_one()
        if self.l10n_vn_einvoice_xml_id:
            try:
                return parse_xml(self.l10n_vn_einvoice_xml_id.raw).buyer
            except EInvoiceError as e:
                _logger.info('E-invoice %s: issued XML not readable (%s), buyer taken from the invoice', self.id, e)
        return self._l10n_vn_einvoice_buyer()

    def _l10n_vn_einvoice_correction_lines(self, sign, negative='discount'):
        """Correction invoices start with the legal note as a text line (TChat 4): "Điều chỉnh giảm … cho
        hóa đơn Mẫu số …" / "Thay thế cho hóa đơn …". Adjustment invoices: increases positive, decreases
        negative (amount, unit price, discount, VAT), quantities positive; an information adjustment has
        only text lines, no amounts."""
        note = (self.l10n_vn_einvoice_correction_note or self._l10n_vn_einvoice_default_note())
        lines = self._l10n_vn_einvoice_adjustment_lines(sign) if self.l10n_vn_einvoice_relation == 'adjustment' \
            else self._l10n_vn_einvoice_plain_lines(sign, negative)
        if lines and lines[0].kind is doc.LineKind.NOTE and lines[0].name == note:
            return lines
        return (doc.Line(name=note[:500], kind=doc.LineKind.NOTE), *lines)

    def _l10n_vn_einvoice_adjustment_lines(self, sign):
        if self.l10n_vn_einvoice_adjustment_kind == 'info':
            # an information adjustment carries text only, no amounts
            return tuple(doc.Line(name=line.name[:500], kind=doc.LineKind.NOTE)
                         for line in self.invoice_line_ids.sorted('sequence')
                         if line.display_type in ('line_section', 'line_note', 'product') and line.name)
        lines = []
        for line in self.invoice_line_ids.sorted('sequence'):
            if line.display_type in ('line_section', 'line_note'):
                if line.name:
                    lines.append(doc.Line(name=line.name[:500], kind=doc.LineKind.NOTE))
            elif line.display_type == 'product':
                doc_line = self._l10n_vn_einvoice_doc_line(line, sign, negative='decrease')
                if line.l10n_vn_einvoice_adjust_what == 'amount':
                    doc_line = dataclasses.replace(doc_line, quantity=None, unit_price=None, discount_rate=None,
                                                   discount_amount=None)
                lines.append(doc_line)
        return tuple(lines)

    def _l10n_vn_einvoice_correction_check(self):
        """Problems of a correction invoice that prevent issuing it (translated)."""
        errors = []
        origins = self.l10n_vn_einvoice_origin_ids
        if not origins:
            errors.append(_('This correction invoice is not linked to the e-invoice it corrects.'))
        event = lifecycle.Event.ADJUST if self.l10n_vn_einvoice_relation == 'adjustment' else lifecycle.Event.REPLACE
        for origin in origins:
            if not origin.l10n_vn_einvoice_number:
                errors.append(_('Invoice %s has no issued e-invoice to correct.', origin.display_name))
                continue
            errors += origin._l10n_vn_einvoice_correction_problems(event)
            if origin.company_id != self.company_id:
                errors.append(_('E-invoice %s belongs to another company.', origin.l10n_vn_einvoice_name))
            if self.invoice_date and origin.invoice_date and origin.invoice_date > self.invoice_date:
                errors.append(_('E-invoice %(name)s is dated %(date)s, after this correction invoice.',
                                name=origin.l10n_vn_einvoice_name, date=origin.invoice_date.strftime('%d/%m/%Y')))
        if len(origins) > 1:
            if len(origins.commercial_partner_id) > 1:
                errors.append(_('One correction invoice covers several e-invoices of the same buyer only.'))
            if not (self.l10n_vn_einvoice_list_number and self.l10n_vn_einvoice_list_date):
                errors.append(_('A correction of several e-invoices needs the number and date of the list '
                                '01/BK-ĐCTT.'))
        if self.l10n_vn_einvoice_adjustment_kind == 'info' and not self.currency_id.is_zero(self.amount_total):
            errors.append(_('An information adjustment changes no amount: its total must be zero.'))
        return errors

    def _l10n_vn_einvoice_correction_problems(self, event):
        """Why this issued e-invoice cannot undergo ``event`` now (translated; empty: it can)."""
        self.ensure_one()
        role = self._l10n_vn_einvoice_role()
        state = self.l10n_vn_einvoice_state or lifecycle.State.CREATED.value
        if not lifecycle.can(state, event, role):
            return [_('E-invoice %(name)s: %(reason)s.', name=self.l10n_vn_einvoice_name or self.display_name,
                      reason=str(lifecycle.TransitionError(state, event, role)))]
        pending = self.l10n_vn_einvoice_notice_line_ids.filtered(
            lambda l: l.nature == '1' and l.notice_id.state in ('draft', 'signed', 'sent'))
        if pending:
            return [_('E-invoice %(name)s is being cancelled by notice %(notice)s.',
                      name=self.l10n_vn_einvoice_name, notice=pending[0].notice_id.name)]
        return []

    def _l10n_vn_einvoice_correction_after_issue(self):
        """Whatever the issuing mode: a replaced invoice's accounting is reversed, the originals say by whom."""
        for origin in self.l10n_vn_einvoice_origin_ids:
            if self.l10n_vn_einvoice_relation == 'replacement':
                origin._l10n_vn_einvoice_reverse_accounting(
                    self.invoice_date, _('Replaced by e-invoice %s', self.l10n_vn_einvoice_name))
                body = _('Replaced by e-invoice %s.', self._get_html_link(title=self.l10n_vn_einvoice_name))
            else:
                body = _('Adjusted by e-invoice %s.', self._get_html_link(title=self.l10n_vn_einvoice_name))
            origin.message_post(body=body)

    def _l10n_vn_einvoice_reverse_accounting(self, date, reason):
        """Reverse the accounting of a replaced or cancelled e-invoice (reconciled, not an e-invoice)."""
        self.ensure_one()
        if self.state != 'posted' or self.l10n_vn_einvoice_reversal_id:
            return self.l10n_vn_einvoice_reversal_id
        date = self._get_accounting_date(max(date, self.date), self._affect_tax_report())
        reversal = self._reverse_moves([{
            'ref': reason, 'date': date, 'invoice_date': date, 'invoice_date_due': date,
            'journal_id': self.journal_id.id, 'l10n_vn_einvoice_accounting_only': True,
        }], cancel=True)
        self.with_context(l10n_vn_einvoice_internal=True).write({'l10n_vn_einvoice_reversal_id': reversal.id})
        return reversal

    def _l10n_vn_einvoice_apply_cancel(self, notice):
        """The tax authority accepted the cancellation (04/SS, TCTBao 1): CANCEL and reverse the accounting."""
        self.ensure_one()
        state, sign = lifecycle.transition(self.l10n_vn_einvoice_state, lifecycle.Event.CANCEL,
                                           self.l10n_vn_einvoice_sign_status, role=self._l10n_vn_einvoice_role())
        self.with_context(l10n_vn_einvoice_internal=True).write({
            'l10n_vn_einvoice_state': state.value, 'l10n_vn_einvoice_sign_status': sign.value})
        self._l10n_vn_einvoice_reverse_accounting(
            self.date, _('E-invoice %(name)s cancelled (notice %(notice)s)', name=self.l10n_vn_einvoice_name,
                         notice=notice.name))
        self.message_post(body=_('E-invoice cancelled: the tax authority accepted notice %s.',
                                 notice._get_html_link()))
        self.env['l10n_vn_einvoice.event']._log('cancelled', self, notice_id=notice.id,
                                                message=_('Notice %s accepted.', notice.name))

    # ------------------------------------------------------------------
    # Printing helpers
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_reference_row(self):
        """One invoice as printed in the minutes and notices (legal Vietnamese formats)."""
        self.ensure_one()
        return {
            'template': self.l10n_vn_einvoice_template_id.code or '',
            'symbol': self.l10n_vn_einvoice_series_id.symbol or '',
            'number': str(self.l10n_vn_einvoice_number or '') or self.name,
            'date': self.invoice_date.strftime('%d/%m/%Y') if self.invoice_date else '',
            'total': vn_amount(self.amount_total * (-1 if self.move_type == 'out_refund' else 1), self.currency_id),
            'currency': self.currency_id.name,
            'note': self.l10n_vn_einvoice_correction_note or '',
        }

    # ------------------------------------------------------------------
    # Actions (buttons, smart buttons)
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_adjustment_action(self, decrease_all=False, kind='money'):
        return {
            'type': 'ir.actions.act_window', 'res_model': 'l10n_vn_einvoice.adjustment.wizard',
            'view_mode': 'form', 'target': 'new', 'name': _('Adjust e-invoice'),
            'context': {'active_model': 'account.move', 'active_ids': self.ids,
                        'default_decrease_all': decrease_all, 'default_kind': kind},
        }

    def action_l10n_vn_einvoice_adjust(self):
        return self._l10n_vn_einvoice_adjustment_action()

    def action_l10n_vn_einvoice_replace(self):
        return {
            'type': 'ir.actions.act_window', 'res_model': 'l10n_vn_einvoice.replacement.wizard',
            'view_mode': 'form', 'target': 'new', 'name': _('Replace e-invoice'),
            'context': {'active_model': 'account.move', 'active_ids': self.ids},
        }

    def action_l10n_vn_einvoice_correct(self):
        self.ensure_one()
        return {
            'type': 'ir.actions.act_window', 'res_model': 'l10n_vn_einvoice.correction.wizard',
            'view_mode': 'form', 'target': 'new', 'name': _('Cancel or correct e-invoice'),
            'context': {'default_move_id': self.id},
        }

    def _l10n_vn_einvoice_open(self, records, name):
        """The list (or the form, for one record) of ``records`` (invoices, agreements, notices)."""
        action = {'type': 'ir.actions.act_window', 'res_model': records._name, 'name': name,
                  'context': {'create': False}}
        if len(records) == 1:
            action.update(view_mode='form', res_id=records.id)
        else:
            action.update(view_mode='list,form', domain=[('id', 'in', records.ids)])
        return action

    def action_l10n_vn_einvoice_view_adjustments(self):
        return self._l10n_vn_einvoice_open(self.l10n_vn_einvoice_adjustment_ids, _('Adjustment invoices'))

    def action_l10n_vn_einvoice_view_replacement(self):
        return self._l10n_vn_einvoice_open(self.l10n_vn_einvoice_replacement_ids, _('Replacement invoice'))

    def action_l10n_vn_einvoice_view_origins(self):
        return self._l10n_vn_einvoice_open(self.l10n_vn_einvoice_origin_ids, _('Corrected e-invoices'))

    def action_l10n_vn_einvoice_view_agreements(self):
        return self._l10n_vn_einvoice_open(self._l10n_vn_einvoice_agreements(), _('Agreements'))

    def action_l10n_vn_einvoice_view_notices(self):
        return self._l10n_vn_einvoice_open(self.l10n_vn_einvoice_notice_line_ids.notice_id, _('Notices 04/SS-HĐĐT'))

    def _l10n_vn_einvoice_html_list(self):
        return ', '.join(html_escape(m.l10n_vn_einvoice_name or m.display_name) for m in self)

    # ------------------------------------------------------------------
    # Notices 04/SS-HĐĐT
    # ------------------------------------------------------------------

    def action_l10n_vn_einvoice_new_notice(self):
        """A draft 04/SS notice listing the selected issued e-invoices (list or form action)."""
        moves = self.filtered('l10n_vn_einvoice_number')
        if not moves:
            raise UserError(_('Select issued e-invoices.'))
        if len(moves.company_id) > 1:
            raise UserError(_('Select e-invoices of one company.'))
        notice = self.env['l10n_vn_einvoice.notice'].with_company(moves.company_id).create({
            'company_id': moves.company_id.id,
            'line_ids': [Command.create({'move_id': m.id, 'nature': '4'})
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
