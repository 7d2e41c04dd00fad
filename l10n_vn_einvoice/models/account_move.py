import base64
import logging
import re
import secrets
from decimal import Decimal

import psycopg2

from odoo import SUPERUSER_ID, Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import float_repr, groupby, html_escape

from vn_einvoice import amounts, document as doc, lifecycle, signing
from vn_einvoice.codes import TaxRate, check_tax_code, tax_code_compact
from vn_einvoice.errors import EInvoiceError
from vn_einvoice.errors import ValidationError as LibValidationError
from vn_einvoice.providers import ProviderError
from vn_einvoice.qr import invoice_qr_payload
from vn_einvoice.words import total_in_words
from vn_einvoice.xml import build_checked_tree, build_xml

from .einvoice_series import run_request_again

_logger = logging.getLogger(__name__)

# How each issuing mode of a series issues one invoice: ``issuer(move, series, run)``, ending with
# ``_l10n_vn_einvoice_mark_issued``. A new mode is a selection value and a line here.
ISSUERS = {
    'local': lambda move, series, run: move._l10n_vn_einvoice_issue_local(series),
    'provider': lambda move, series, run: move._l10n_vn_einvoice_issue_provider(series, run),
}

STATES = [(s.value, label) for s, label in lifecycle.STATE_LABELS.items()]
SIGN_STATUSES = [(s.value, label) for s, label in lifecycle.SIGN_LABELS.items()]
LOOKUP_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'  # no 0/O, 1/I look-alikes
ISSUE_CHUNK = 100  # invoices issued together: one number allocation, one insert of attachments and notes

# Who prepared and approved an e-invoice: set by posting and by the approval button only.
APPROVAL_FIELDS = {'l10n_vn_einvoice_prepared_by_id', 'l10n_vn_einvoice_approved_by_id', 'l10n_vn_einvoice_approved_on'}
# The user-log event of each life-cycle event an issue moves a corrected invoice by.
CORRECTION_EVENTS = {lifecycle.Event.ADJUST: 'adjusted', lifecycle.Event.REPLACE: 'replaced'}

# Fields that make the legal content of an issued e-invoice (frozen once issued).
EINVOICE_LEGAL_FIELDS = {
    'l10n_vn_einvoice_series_id', 'l10n_vn_einvoice_number', 'l10n_vn_einvoice_issue_datetime',
    'l10n_vn_einvoice_lookup_code', 'l10n_vn_einvoice_xml', 'l10n_vn_einvoice_qr',
    'l10n_vn_einvoice_payment_method',
}


def _place_key(name):
    """A place name without its kind and punctuation, to compare "TP. Hồ Chí Minh" with "Thành phố Hồ Chí Minh"."""
    text = re.sub(r'^\s*(thành phố|tp\.?|tỉnh)\s*', '', name.strip().lower())
    return re.sub(r'[\W_]+', '', text)


class AccountMove(models.Model):
    """Vietnamese e-invoices on invoices. Every override of an Odoo method of ``account.move`` is here; the
    features (corrections, providers) are mixins of fields and named helpers that override nothing."""

    _name = 'account.move'
    _inherit = ['account.move', 'l10n_vn_einvoice.move.correction', 'l10n_vn_einvoice.move.provider',
                'l10n_vn_einvoice.move.report', 'l10n_vn_einvoice.move.approval',
                'l10n_vn_einvoice.move.sending', 'l10n_vn_einvoice.move.tax.authority',
                'l10n_vn_einvoice.move.received']

    l10n_vn_einvoice_applicable = fields.Boolean(compute='_compute_l10n_vn_einvoice_applicable')
    l10n_vn_einvoice_series_id = fields.Many2one(
        'l10n_vn_einvoice.series', string='E-invoice series', copy=False, tracking=True,
        compute='_compute_l10n_vn_einvoice_series_id', store=True, readonly=False, check_company=True,
        domain="[('company_id', '=', company_id)]")
    l10n_vn_einvoice_template_id = fields.Many2one(
        related='l10n_vn_einvoice_series_id.template_id', string='E-invoice template', store=True)
    l10n_vn_einvoice_number = fields.Integer(string='E-invoice number', readonly=True, copy=False,
                                             index='btree_not_null')
    l10n_vn_einvoice_name = fields.Char(string='E-invoice', compute='_compute_l10n_vn_einvoice_name')
    l10n_vn_einvoice_issue_datetime = fields.Datetime(string='E-invoice issued at', readonly=True, copy=False)
    l10n_vn_einvoice_state = fields.Selection(STATES, string='E-invoice state', readonly=True, copy=False,
                                              tracking=True, index='btree_not_null')
    l10n_vn_einvoice_sign_status = fields.Selection(SIGN_STATUSES, string='Signing status', readonly=True,
                                                    copy=False)
    l10n_vn_einvoice_lookup_code = fields.Char(string='Lookup code', readonly=True, copy=False,
                                               index='btree_not_null',  # the public lookup searches by it
                                               groups='account.group_account_invoice',
                                               help='Secret code the buyer uses to look the invoice up.')
    l10n_vn_einvoice_authority_code = fields.Char(string='Tax authority code (MCCQT)', readonly=True, copy=False)
    l10n_vn_einvoice_qr = fields.Char(string='QR payload', readonly=True, copy=False)
    l10n_vn_einvoice_xml = fields.Binary(string='Signed XML', attachment=True, readonly=True, copy=False)
    l10n_vn_einvoice_xml_id = fields.Many2one(
        'ir.attachment', string='Signed XML file', copy=False,
        compute=lambda self: self._compute_linked_attachment_id('l10n_vn_einvoice_xml_id', 'l10n_vn_einvoice_xml'),
        depends=['l10n_vn_einvoice_xml'])
    l10n_vn_einvoice_error = fields.Text(string='E-invoice error', readonly=True, copy=False)
    l10n_vn_einvoice_issue_queued = fields.Boolean(
        string='Issued in the background', readonly=True, copy=False,
        help='Issue was asked while another user or the scheduled action was numbering the series: the '
             'scheduled action issues the invoice in a moment.')
    l10n_vn_einvoice_payment_method = fields.Char(
        string='Payment method (e-invoice)', copy=False,
        help='HTTToan: e.g. TM/CK, Tiền mặt, Chuyển khoản. Empty: the company default.')

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------

    @api.depends('move_type', 'company_id.l10n_vn_einvoice_mode', 'l10n_vn_einvoice_accounting_only')
    def _compute_l10n_vn_einvoice_applicable(self):
        for move in self:
            move.l10n_vn_einvoice_applicable = (
                move.move_type in ('out_invoice', 'out_refund')
                and move.company_id.l10n_vn_einvoice_mode != 'none'
                and not move.l10n_vn_einvoice_accounting_only  # the reversal of a replaced invoice
            )

    @api.depends('company_id', 'journal_id', 'partner_id', 'invoice_date', 'move_type')
    def _compute_l10n_vn_einvoice_series_id(self):
        Series = self.env['l10n_vn_einvoice.series']
        for move in self:
            if move.l10n_vn_einvoice_state and move.l10n_vn_einvoice_state != 'CREATED':
                continue  # issued: the series is part of the legal document
            if move.move_type not in ('out_invoice', 'out_refund') or move.company_id.l10n_vn_einvoice_mode == 'none':
                move.l10n_vn_einvoice_series_id = False
                continue
            year = (move.invoice_date or fields.Date.context_today(move)).year
            partner = move.partner_id.commercial_partner_id
            default = Series._default_for(move.company_id, move.journal_id, partner, year)
            current = move.l10n_vn_einvoice_series_id
            # Keep a series chosen by hand while it still fits, unless the customer has its own.
            keep = (current and current.company_id == move.company_id and current.year in (year, 0)
                    and partner not in default.partner_ids)
            move.l10n_vn_einvoice_series_id = current if keep else default

    @api.depends('l10n_vn_einvoice_series_id', 'l10n_vn_einvoice_number')
    def _compute_l10n_vn_einvoice_name(self):
        for move in self:
            if move.l10n_vn_einvoice_number:
                move.l10n_vn_einvoice_name = f'{move.l10n_vn_einvoice_series_id.name}-{move.l10n_vn_einvoice_number:08d}'
            else:
                move.l10n_vn_einvoice_name = False

    @api.depends('l10n_vn_einvoice_state')
    def _compute_show_reset_to_draft_button(self):
        res = super()._compute_show_reset_to_draft_button()
        for move in self:
            if move._l10n_vn_einvoice_is_issued():
                move.show_reset_to_draft_button = False
        return res

    @api.depends('l10n_vn_einvoice_state')
    def _compute_need_cancel_request(self):
        return super()._compute_need_cancel_request()

    def _need_cancel_request(self):
        return super()._need_cancel_request() or self._l10n_vn_einvoice_is_issued()

    def _l10n_vn_einvoice_is_issued(self):
        self.ensure_one()
        return bool(self.l10n_vn_einvoice_state) and lifecycle.State(self.l10n_vn_einvoice_state) in lifecycle.ISSUED_STATES

    # ------------------------------------------------------------------
    # Guards
    # ------------------------------------------------------------------

    def _post(self, soft=True):
        self._l10n_vn_einvoice_received_check_post()
        deleted = self.filtered(lambda m: m.l10n_vn_einvoice_state == lifecycle.State.DELETE.value)
        posted = super()._post(soft=soft)
        to_prepare = posted.filtered(lambda m: m.l10n_vn_einvoice_applicable and not m.l10n_vn_einvoice_state)
        if to_prepare:
            to_prepare.with_context(l10n_vn_einvoice_internal=True).write({
                'l10n_vn_einvoice_state': lifecycle.State.CREATED.value,
                'l10n_vn_einvoice_sign_status': lifecycle.SignStatus.NOSIGN.value,
                'l10n_vn_einvoice_error': False,
            })
        (posted & deleted)._l10n_vn_einvoice_prepare_again()
        (to_prepare | (posted & deleted).filtered(lambda m: m.l10n_vn_einvoice_state == 'CREATED')
         )._l10n_vn_einvoice_on_prepared()
        posted._l10n_vn_einvoice_assign_keys()
        return posted

    def write(self, vals):
        if not self.env.context.get('l10n_vn_einvoice_internal'):
            self._l10n_vn_einvoice_correction_check_write(vals)
            frozen = EINVOICE_LEGAL_FIELDS & set(vals)
            state_fields = {'l10n_vn_einvoice_state', 'l10n_vn_einvoice_sign_status', 'l10n_vn_einvoice_number',
                            'l10n_vn_einvoice_authority_code', 'l10n_vn_einvoice_lookup_code'} & set(vals)
            if state_fields:
                raise UserError(_('The e-invoice state, number and codes are set by issuing, not by hand.'))
            if APPROVAL_FIELDS & set(vals):
                raise UserError(_('An e-invoice is approved with the "Approve e-invoice" button, not by hand.'))
            if frozen:
                for move in self.filtered(lambda m: m.l10n_vn_einvoice_state and m.l10n_vn_einvoice_state != 'CREATED'):
                    if any(move[f] != vals[f] for f in frozen if move._fields[f].type != 'many2one') or any(
                            move[f].id != vals[f] for f in frozen if move._fields[f].type == 'many2one'):
                        raise UserError(_('E-invoice %s is issued: its legal content cannot be changed. '
                                          'Correct it with an adjustment or a replacement invoice.',
                                          move.l10n_vn_einvoice_name))
        elif all(fname.startswith('l10n_vn_einvoice_') for fname in vals):
            # E-invoice bookkeeping only (issuing, errors): no journal item to resynchronise, and not a change
            # of the invoice by the user (is_manually_modified). Saves most of the cost of issuing.
            return super(AccountMove, self.with_context(
                skip_invoice_sync=True, skip_is_manually_modified=True)).write(vals)
        return super().write(vals)

    def button_draft(self):
        self._l10n_vn_einvoice_check_not_pending()
        self._l10n_vn_einvoice_check_not_waiting()
        issued = self.filtered(lambda m: m._l10n_vn_einvoice_is_issued())
        if issued:
            raise UserError(_(
                'E-invoice %s is issued and cannot be reset to draft. Under Decree 70/2025 an issued e-invoice is '
                'corrected by an adjustment or a replacement invoice.', ', '.join(issued.mapped('l10n_vn_einvoice_name'))))
        prepared = self.filtered(lambda m: m.l10n_vn_einvoice_state == lifecycle.State.CREATED.value)
        res = super().button_draft()
        prepared._l10n_vn_einvoice_delete_prepared()
        return res

    def button_cancel(self):
        self._l10n_vn_einvoice_check_not_pending()
        self._l10n_vn_einvoice_check_not_waiting()
        issued = self.filtered(lambda m: m._l10n_vn_einvoice_is_issued())
        if issued:
            raise UserError(_('E-invoice %s is issued and cannot be cancelled from here: use the adjustment or '
                              'replacement wizard.', ', '.join(issued.mapped('l10n_vn_einvoice_name'))))
        prepared = self.filtered(lambda m: m.l10n_vn_einvoice_state == lifecycle.State.CREATED.value)
        res = super().button_cancel()
        prepared.filtered(lambda m: m.l10n_vn_einvoice_state == lifecycle.State.CREATED.value
                          )._l10n_vn_einvoice_delete_prepared()
        return res

    def action_reverse(self):
        if self.filtered('l10n_vn_einvoice_number'):
            return self._l10n_vn_einvoice_credit_note_action()
        return super().action_reverse()

    def button_request_cancel(self):
        if self.l10n_vn_einvoice_applicable and self.l10n_vn_einvoice_state:
            return self.action_l10n_vn_einvoice_correct()
        return super().button_request_cancel()

    def _get_name_invoice_report(self):
        self.ensure_one()
        if self._l10n_vn_einvoice_has_signed_xml():
            return 'l10n_vn_einvoice.report_einvoice_document'  # the e-invoice, printed from its signed XML
        return super()._get_name_invoice_report()

    def _get_edi_decoder(self, file_data, new=False):
        return self._l10n_vn_einvoice_received_decoder(file_data) or super()._get_edi_decoder(file_data, new=new)

    def _autopost_bill(self):
        if self.l10n_vn_einvoice_received_blocked or self._l10n_vn_einvoice_received_duplicates():
            return None  # a received e-invoice that failed a check waits for an accountant
        return super()._autopost_bill()

    def _get_mail_template(self):
        return self._l10n_vn_einvoice_mail_template() or super()._get_mail_template()

    @api.ondelete(at_uninstall=False)
    def _unlink_except_einvoice_issued(self):
        for move in self:
            if move.l10n_vn_einvoice_number or move._l10n_vn_einvoice_is_issued():
                raise UserError(_('E-invoice %s was issued and cannot be deleted.', move.l10n_vn_einvoice_name))

    def unlink(self):
        logged = self.filtered('l10n_vn_einvoice_state')
        if logged:  # the user log keeps the invoice's name; its link becomes empty
            self.env['l10n_vn_einvoice.event']._log('deleted', logged, message=_('The invoice record was deleted.'))
        return super().unlink()

    # ------------------------------------------------------------------
    # Checks before issue
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_check(self):
        """Problems that prevent issuing, in words an accountant understands (empty: ready)."""
        self.ensure_one()
        errors = []
        company, partner = self.company_id, self.commercial_partner_id
        if not self.l10n_vn_einvoice_applicable:
            errors.append(_('E-invoices are not enabled for this document.'))
            return errors
        if self.state != 'posted':
            errors.append(_('Only posted invoices can be issued.'))
        if self.l10n_vn_einvoice_state != lifecycle.State.CREATED.value:
            errors.append(_('This e-invoice is not waiting to be issued (state: %s).',
                            dict(STATES).get(self.l10n_vn_einvoice_state, _('none'))))
        series = self.l10n_vn_einvoice_series_id
        if not series:
            errors.append(_('Choose the e-invoice series (Accounting > Configuration > E-invoice series).'))
        else:
            errors += series._check_issue_date(self.invoice_date)
            if series.issuing_mode == 'local' and not (series.signer_id or company.l10n_vn_einvoice_signer_id):
                errors.append(_('No signer: set one on series %s or in the settings.', series.name))
            errors += self._l10n_vn_einvoice_cqt_check(series)
        if self.l10n_vn_einvoice_cqt_state == 'waiting':
            errors.append(_('This e-invoice was sent to the tax authority and waits for its code: it is not sent twice.'))
        if not company.vat:
            errors.append(_('The tax code (MST) of company %s is missing.', company.name))
        else:
            for problem in check_tax_code(company.vat, 'MST'):
                errors.append(_('Company %(name)s: %(problem)s', name=company.name, problem=problem.message))
        if not (company.street or company.city):
            errors.append(_('The address of company %s is missing.', company.name))
        if partner.vat:
            for problem in check_tax_code(partner.vat, 'MST'):
                errors.append(_('Customer %(name)s: %(problem)s', name=partner.name, problem=problem.message))
        if not partner.name:
            errors.append(_('The customer has no name.'))
        if partner.is_company and partner.country_id.code in (False, 'VN') and not partner.vat:
            errors.append(_('Customer %s is a company without a tax code (MST).', partner.name))
        if partner.is_company and not (partner.street or partner.city):
            errors.append(_('The address of customer %s is missing.', partner.name))
        if self.currency_id != company.currency_id and not self._l10n_vn_einvoice_exchange_rate():
            errors.append(_('There is no exchange rate of %(cur)s on %(date)s.', cur=self.currency_id.name,
                            date=self.invoice_date))
        if self.move_type == 'out_refund' and not self.reversed_entry_id.l10n_vn_einvoice_number:
            errors.append(_('A credit note is issued as an adjustment of an issued e-invoice: this credit note is '
                            'not linked to one.'))
        for line in self.invoice_line_ids.filtered(lambda l: l.display_type == 'product'):
            vat = line.tax_ids.filtered('l10n_vn_einvoice_rate')
            if len(vat) > 1:
                errors.append(_('Line "%s" has more than one VAT tax.', line.name))
            elif not vat and series and series.template_id.invoice_type in ('1', '8'):
                errors.append(_('Line "%s" has no VAT rate; a VAT invoice needs one on every line.', line.name))
        if self.l10n_vn_einvoice_relation:
            errors += self._l10n_vn_einvoice_correction_check()
        if series.issuing_mode == 'provider':
            errors += self._l10n_vn_einvoice_provider_check()
        errors += self._l10n_vn_einvoice_approval_problems()
        return errors

    def _l10n_vn_einvoice_exchange_rate(self):
        if self.currency_id == self.company_id.currency_id:
            return None
        rate = self.currency_id._get_conversion_rate(
            self.currency_id, self.company_id.currency_id, self.company_id, self.invoice_date or self.date)
        return Decimal(float_repr(rate, 2)) if rate else None


    # ------------------------------------------------------------------
    # Mapping to the library's document
    # ------------------------------------------------------------------

    @api.model
    def _l10n_vn_einvoice_address(self, partner):
        state = partner.state_id.name
        if state and (key := _place_key(state)) and key in _place_key(partner.city or ''):
            state = False  # the city already names the province ("TP. Hồ Chí Minh" and "TP Hồ Chí Minh")
        parts = [partner.street, partner.street2, partner.city, state,
                 partner.country_id.name if partner.country_id.code not in (False, 'VN') else False]
        return ', '.join(p for p in parts if p)

    @api.model
    def _l10n_vn_einvoice_seller(self, company):
        bank = company.partner_id.bank_ids[:1]
        return doc.Party(
            name=company.name, tax_code=company.vat or '', address=self._l10n_vn_einvoice_address(company.partner_id),
            phone=company.phone or '', email=company.email or '', website=company.website or '',
            bank_account=bank.acc_number or '', bank_name=bank.bank_id.name or '',
        )

    def _l10n_vn_einvoice_buyer(self):
        partner = self.commercial_partner_id
        contact = self.partner_id if self.partner_id != partner else self.env['res.partner']
        id_kind = partner.l10n_vn_einvoice_id_kind
        return self._l10n_vn_einvoice_corrected_buyer(doc.Party(
            name=partner.name or '', tax_code=partner.vat or '', address=self._l10n_vn_einvoice_address(partner),
            phone=partner.phone or '', email=(contact or partner).email or '', code=partner.ref or '',
            contact_name=contact.name or '', country_code=partner.country_id.code or '',
            id_kind=doc.IdKind(id_kind) if id_kind and not partner.vat else None,
            id_number=(partner.l10n_vn_einvoice_id_number or '') if id_kind and not partner.vat else '',
            budget_unit_code=partner.l10n_vn_einvoice_budget_code or '',
        ))

    def _l10n_vn_einvoice_lines(self, sign, negative='discount'):
        """Document lines of the invoice (a correction invoice's start with its legal note)."""
        if self.l10n_vn_einvoice_relation:
            return self._l10n_vn_einvoice_correction_lines(sign, negative)
        return self._l10n_vn_einvoice_plain_lines(sign, negative)

    def _l10n_vn_einvoice_plain_lines(self, sign, negative='discount'):
        """Document lines of the invoice lines; see ``_l10n_vn_einvoice_doc_line`` for ``negative``."""
        lines = []
        for line in self.invoice_line_ids.sorted('sequence'):
            if line.display_type in ('line_section', 'line_note'):
                if line.name:
                    lines.append(doc.Line(name=line.name[:500], kind=doc.LineKind.NOTE))
            elif line.display_type == 'product':
                lines.append(self._l10n_vn_einvoice_doc_line(line, sign, negative))
        return tuple(lines)

    def _l10n_vn_einvoice_doc_line(self, line, sign, negative='discount'):
        """The document line of a product line; ``sign`` is -1 on credit notes.

        A negative amount is a trade discount line (TChat 3, positive amount) when ``negative`` is
        ``'discount'``, or a decrease when it is ``'decrease'`` (adjustments, credit notes): amount, unit
        price, discount and VAT negative, quantity positive.
        """
        digits = self.currency_id.decimal_places
        vat = line.tax_ids.filtered('l10n_vn_einvoice_rate')[:1]
        amount = Decimal(float_repr(line.price_subtotal, digits)) * sign
        tax_amount = Decimal(float_repr(line.price_total - line.price_subtotal, digits)) * sign if vat else None
        qty = abs(Decimal(float_repr(line.quantity, 6))).normalize()
        kind = doc.LineKind.GOODS
        if amount < 0 and negative == 'discount' and sign > 0:
            kind, amount = doc.LineKind.DISCOUNT, -amount
            tax_amount = -tax_amount if tax_amount is not None else None
        direction = -1 if amount < 0 else 1
        discount_rate = discount_amount = None
        if any(t.price_include for t in line.tax_ids) or not qty:
            unit_price = (amount / qty).quantize(Decimal('0.000001')).normalize() if qty else None
        else:
            unit_price = abs(Decimal(float_repr(line.price_unit, 6))).normalize() * direction
            if line.discount:
                discount_amount = amounts.round_amount(qty * abs(unit_price) - abs(amount),
                                                       self.currency_id.name) * direction
                discount_rate = Decimal(float_repr(line.discount, 4)).normalize()
        return doc.Line(
            name=(line.name or line.product_id.display_name or '')[:500], kind=kind,
            code=line.product_id.default_code or '', unit=line.product_uom_id.name or '',
            quantity=qty, unit_price=unit_price, discount_rate=discount_rate, discount_amount=discount_amount,
            amount=amount, tax_rate=vat._l10n_vn_einvoice_tax_rate() if vat else None, tax_amount=tax_amount,
        )

    def _l10n_vn_einvoice_breakdown(self, lines, sign):
        """Tax breakdown with Odoo's own VAT amounts (so the e-invoice total is the accounting total)."""
        digits = self.currency_id.decimal_places
        bases, taxes = {}, {}
        for line in lines:
            if line.counts_in_totals and line.tax_rate is not None:
                bases[line.tax_rate] = bases.get(line.tax_rate, Decimal(0)) + line.signed_amount
        for tax_line in self.line_ids.filtered(lambda l: l.display_type == 'tax'):
            rate = tax_line.tax_line_id._l10n_vn_einvoice_tax_rate() if tax_line.tax_line_id.l10n_vn_einvoice_rate else None
            if rate is None:
                continue
            # tax lines are credits on invoices, debits on credit notes: -amount_currency carries the sign
            amount = Decimal(float_repr(-tax_line.amount_currency, digits))
            taxes[rate] = taxes.get(rate, Decimal(0)) + amount
        return tuple(
            doc.TaxBreakdown(rate=rate, taxable_amount=base,
                             tax_amount=(taxes.get(rate, Decimal(0)) if rate.is_taxed else None))
            for rate, base in bases.items()
        )

    def _l10n_vn_einvoice_related(self):
        """``TTHDLQuan`` of this invoice (None for an ordinary one): a correction made with the wizards, or a
        credit note, which adjusts the invoice it reverses."""
        self.ensure_one()
        if self.l10n_vn_einvoice_relation:
            return self._l10n_vn_einvoice_correction_related()
        if self.move_type != 'out_refund':
            return None
        origin = self.reversed_entry_id
        return doc.RelatedInvoice(
            relation=doc.RelationKind.ADJUSTMENT, template=origin.l10n_vn_einvoice_template_id.code,
            symbol=origin.l10n_vn_einvoice_series_id.symbol, number=str(origin.l10n_vn_einvoice_number),
            issue_date=origin.invoice_date,
            invoice_type=(doc.RelatedInvoiceType.LEGACY_OTHER
                          if origin.l10n_vn_einvoice_template_id.regime == 'legacy'
                          else doc.RelatedInvoiceType.DECREE_123),
            note=(self.ref or _('Decrease adjustment'))[:255],
        )

    def _l10n_vn_einvoice_corrected(self):
        """``[(invoice, lifecycle event)]``: the issued invoices this one corrects, moved when it is issued."""
        self.ensure_one()
        if self.l10n_vn_einvoice_relation:
            return self._l10n_vn_einvoice_correction_corrected()
        if self.move_type == 'out_refund' and self.reversed_entry_id:
            return [(self.reversed_entry_id, lifecycle.Event.ADJUST)]
        return []

    def _l10n_vn_einvoice_role(self):
        """What this invoice is for the life cycle (an adjustment invoice is never corrected itself, …)."""
        self.ensure_one()
        if self.l10n_vn_einvoice_relation == 'replacement':
            return lifecycle.Role.REPLACEMENT
        if self.l10n_vn_einvoice_relation == 'adjustment' or (self.move_type == 'out_refund' and self.reversed_entry_id):
            return lifecycle.Role.ADJUSTMENT
        return lifecycle.Role.ORIGINAL

    def _l10n_vn_einvoice_document(self, number=None):
        """The library document of this invoice (``number`` given at issue time)."""
        self.ensure_one()
        company = self.company_id
        sign = -1 if self.move_type == 'out_refund' else 1
        lines = self._l10n_vn_einvoice_lines(sign)
        series = self.l10n_vn_einvoice_series_id
        related = self._l10n_vn_einvoice_related()
        invoice = doc.Invoice(
            template=series.template_id.code, symbol=series.symbol, issue_date=self.invoice_date,
            seller=self._l10n_vn_einvoice_seller(company), buyer=self._l10n_vn_einvoice_buyer(), lines=lines,
            number=number, title=series.template_id.title or '', currency=self.currency_id.name,
            exchange_rate=self._l10n_vn_einvoice_exchange_rate(),
            payment_method=self.l10n_vn_einvoice_payment_method or company.l10n_vn_einvoice_payment_method or 'TM/CK',
            provider_tax_code=company.l10n_vn_einvoice_provider_vat or company.vat or '',
            related=related, version=company.l10n_vn_einvoice_version or doc.DEFAULT_VERSION,
            data_id='data',
        )
        breakdown = self._l10n_vn_einvoice_breakdown(lines, sign)
        invoice = amounts.complete(invoice)  # title, line numbers, words
        before = invoice.totals.total_before_tax
        tax = sum((b.tax_amount or Decimal(0) for b in breakdown), Decimal(0))
        total = amounts.round_amount(before + tax, invoice.currency)

        totals = invoice.totals.__class__(
            total_before_tax=before, total_tax=tax, total=total,
            total_in_words=total_in_words(total, invoice.currency), total_discount=invoice.totals.total_discount)
        accounting_total = Decimal(float_repr(self.amount_total, self.currency_id.decimal_places)) * sign
        if total != accounting_total:
            raise UserError(_(
                'The e-invoice total %(einvoice)s differs from the invoice total %(invoice)s: the invoice has '
                'amounts that are not VAT lines (other taxes, cash rounding). Remove them or issue it otherwise.',
                einvoice=total, invoice=accounting_total))
        return invoice.replace(tax_breakdown=breakdown, totals=totals)

    @api.model
    def _l10n_vn_einvoice_sample_xml(self, company):
        """An unsigned sample HDon of the company (used to test a signer)."""
        today = fields.Date.context_today(self)
        invoice = amounts.complete(doc.Invoice(
            template='1', symbol=f'C{today:%y}TYY', issue_date=today, number=1,
            seller=self._l10n_vn_einvoice_seller(company), buyer=doc.Party(name='Khách hàng thử nghiệm'),
            lines=(doc.Line(name='Test', quantity=Decimal(1), unit_price=Decimal(1000), amount=Decimal(1000),
                            tax_rate=TaxRate('10%')),),
            payment_method='TM/CK', provider_tax_code=company.vat or '',
        ))
        return build_xml(invoice, check=False)

    # ------------------------------------------------------------------
    # Issuing
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_check_access(self):
        if not self.env.user.has_group('l10n_vn_einvoice.group_l10n_vn_einvoice_user'):
            raise UserError(_('You are not allowed to issue e-invoices: ask for the "Issue e-invoices" right.'))
        self.check_access('write')

    def action_l10n_vn_einvoice_issue(self):
        """Issue the selected prepared e-invoices (form button, list action, Send & Print, cron)."""
        self._l10n_vn_einvoice_check_access()
        moves = self.filtered(lambda m: m.l10n_vn_einvoice_state == 'CREATED' and m.l10n_vn_einvoice_cqt_state != 'waiting')
        if not moves:
            raise UserError(_('None of the selected invoices is waiting to be issued.'))
        # the web service tries again itself and answers with the issued invoice: never handed off
        handoff = not self.env.context.get('l10n_vn_einvoice_no_handoff')
        issued, failed = moves.with_context(l10n_vn_einvoice_handoff=handoff)._l10n_vn_einvoice_issue_batch()
        queued = (moves - issued - failed).filtered(
            lambda m: m.l10n_vn_einvoice_issue_queued and m.l10n_vn_einvoice_state == 'CREATED')
        if queued:
            return self._l10n_vn_einvoice_notify('info', _(
                'Its series was being numbered by another user or the scheduled action: this e-invoice is issued '
                'in the background in a moment.') if len(moves) == 1 else _(
                '%(issued)s issued, %(failed)s not issued, %(queued)s issued in the background in a moment: their '
                'series was being numbered by another user or the scheduled action.',
                issued=len(issued), failed=len(failed), queued=len(queued)))
        waiting = moves.filtered(lambda m: m.l10n_vn_einvoice_cqt_state == 'waiting')
        if waiting:
            return self._l10n_vn_einvoice_notify('warning', _(
                '%(issued)s issued, %(failed)s not issued, %(waiting)s waiting for the tax authority\'s code (button '
                '"Check the tax authority").', issued=len(issued), failed=len(failed), waiting=len(waiting)),
                sticky=True)
        if len(moves) == 1 and failed:
            return self._l10n_vn_einvoice_notify('danger', failed.l10n_vn_einvoice_error, sticky=True,
                                                 title=_('The e-invoice was not issued'))
        return self._l10n_vn_einvoice_notify('warning' if failed else 'success', _(
            '%(issued)s issued, %(failed)s not issued (see the reason on each invoice).',
            issued=len(issued), failed=len(failed)), sticky=bool(failed))

    @api.model
    def _l10n_vn_einvoice_notify(self, kind, message, sticky=False, title=None):
        """A notification, then the view reloaded (the invoices' states changed)."""
        return {
            'type': 'ir.actions.client', 'tag': 'display_notification',
            'params': {'type': kind, 'sticky': sticky, 'title': title or _('E-invoices'), 'message': message,
                       'next': {'type': 'ir.actions.client', 'tag': 'soft_reload'}},
        }

    def _l10n_vn_einvoice_issue_batch(self, commit=False, batch=False):
        """Issue these invoices; returns (issued, failed). Errors are recorded, not raised. Invoices of
        provider series go through the provider (``batch``: in batches, as the scheduled actions do)."""
        providers = self.filtered(lambda m: m.l10n_vn_einvoice_series_id.issuing_mode == 'provider')
        issued, failed = (self - providers)._l10n_vn_einvoice_issue_local_batch(commit)
        if providers:
            more_issued, more_failed = providers._l10n_vn_einvoice_provider_issue(batch=batch)
            issued, failed = issued | more_issued, failed | more_failed
        issued._l10n_vn_einvoice_cqt_mark_data()  # without code: their data go the same day (203) or by 400
        # invoices with the tax authority's code: sent now (their message is stored), issued when coded
        submitted = issued.filtered(lambda m: m.l10n_vn_einvoice_cqt_state == 'waiting')
        if submitted:
            can_commit = commit or self._l10n_vn_einvoice_provider_can_commit()
            if can_commit:
                # the number and the message 200 are safe before it leaves: whatever happens next, the very
                # same message is looked up and sent again, never a second one
                self.env.cr.commit()  # pylint: disable=invalid-commit
            submitted._l10n_vn_einvoice_cqt_exchange(commit=can_commit)
            issued -= submitted.filtered(lambda m: m.l10n_vn_einvoice_state == 'CREATED')
            failed |= submitted.filtered(lambda m: m.l10n_vn_einvoice_cqt_state == 'refused')
        return issued, failed

    def _l10n_vn_einvoice_issue_each(self, commit=False):
        """Issue each invoice in its own savepoint; returns (issued, failed)."""
        issued = failed = self.browse()
        # each signer opens its key (or logs in to its token) once for the whole batch
        with self.env['l10n_vn_einvoice.signer']._reuse_signers():
            for move in self.sorted(lambda m: (m.invoice_date, m.id)):
                if commit:
                    # a commit empties the cache: prefetch this invoice alone, not the whole batch again
                    move = move.with_prefetch()
                try:
                    with self.env.cr.savepoint():
                        move._l10n_vn_einvoice_issue_one()
                    issued |= move
                except (UserError, ValidationError, EInvoiceError) as e:
                    move._l10n_vn_einvoice_record_error(e)
                    failed |= move
                if commit:
                    self.env.cr.commit()  # pylint: disable=invalid-commit  # one invoice per transaction (cron, Send & Print)
        return issued, failed

    def _l10n_vn_einvoice_record_error(self, error):
        message = error.args[0] if isinstance(error, (UserError, ValidationError)) else str(error)
        if isinstance(error, ProviderError):
            message = self.env['l10n_vn_einvoice.provider']._error_text(error)
        elif isinstance(error, LibValidationError):
            message = '\n'.join(str(p) for p in error.problems)
        # not tried again in the background: the user corrects it and issues again
        self.with_context(l10n_vn_einvoice_internal=True).write({'l10n_vn_einvoice_error': message,
                                                                  'l10n_vn_einvoice_issue_queued': False})
        self.message_post(body=_('The e-invoice was not issued: %s', html_escape(message)))
        self.env['l10n_vn_einvoice.event']._log('issued', self, outcome='failed', message=message)

    def _l10n_vn_einvoice_issue_one(self, run=None):
        """Issue one e-invoice in the way its series says (``ISSUERS``): all or nothing (the caller holds a
        savepoint). ``run``: the provider run it belongs to, if any."""
        self.ensure_one()
        errors = self._l10n_vn_einvoice_check()
        if errors:
            raise UserError('\n'.join(errors))
        series = self.l10n_vn_einvoice_series_id
        return ISSUERS[series.issuing_mode](self, series, run)

    def _l10n_vn_einvoice_issue_local(self, series):
        """Number, build, sign with the company's own key, verify; an invoice coded by the tax authority is
        then sent for its code (issued when the code comes back)."""
        connection = self._l10n_vn_einvoice_cqt_connection(series)
        if connection is not None and self.l10n_vn_einvoice_cqt_state == 'refused' and self.l10n_vn_einvoice_number:
            number = self.l10n_vn_einvoice_number  # refused by the tax authority, which never recorded it: kept
        else:
            number = series._allocate_number(self.invoice_date)
        vals, signed, filename, signed_by = self._l10n_vn_einvoice_sign_local(series, number, fields.Datetime.now())
        if connection is not None:
            if (taken := self._l10n_vn_einvoice_number_taken(number)):
                raise UserError(_('Number %(number)s of series %(series)s is already used by invoice %(other)s.',
                                  number=number, series=series.name, other=taken.name))
            return self._l10n_vn_einvoice_cqt_submit(connection, signed, vals)
        return self._l10n_vn_einvoice_mark_issued(vals, signed, filename, signed_by=signed_by)

    def _l10n_vn_einvoice_sign_local(self, series, number, now):
        """Build the XML of this invoice numbered ``number``, sign it with the company's own key, verify it:
        ``(values to write, signed XML, file name, signer's name)``."""
        signer = series.signer_id or self.company_id.l10n_vn_einvoice_signer_id
        invoice = self._l10n_vn_einvoice_document(number)
        invoice = invoice.replace(qr_payload=invoice_qr_payload(invoice))
        try:
            root = build_checked_tree(invoice)  # signed as built: no serialization and parse in between
        except LibValidationError as e:
            raise UserError(_('The e-invoice is not valid:\n%s', '\n'.join(str(p) for p in e.problems))) from None
        signed = signer._sign_xml(root)
        report = signing.verify_invoice(signed)
        if not report.valid:
            raise UserError(_('The signed e-invoice does not verify: %s', '; '.join(report.all_problems())))
        filename = f'{tax_code_compact(self.company_id.vat)}_{series.name.replace("/", "-")}_{number:08d}.xml'
        return {
            'l10n_vn_einvoice_number': number,
            'l10n_vn_einvoice_issue_datetime': now,
            'l10n_vn_einvoice_lookup_code': ''.join(secrets.choice(LOOKUP_ALPHABET) for _i in range(12)),
            'l10n_vn_einvoice_qr': invoice.qr_payload,
        }, signed, filename, report.seller.subject

    def _l10n_vn_einvoice_issue_local_batch(self, commit=False):
        """Issue invoices signed here, ``ISSUE_CHUNK`` at a time (``commit``: one transaction per chunk, so that
        a crash loses at most a chunk, which the next run issues again). Plain invoices that pass the checks
        are issued together (:meth:`_l10n_vn_einvoice_issue_local_together`); the others, and every invoice of
        a chunk in which something failed that the checks could not foresee, one by one (each error recorded
        on its invoice). Returns (issued, failed)."""
        issued = failed = handed = self.browse()
        ordered = self.sorted(lambda m: (m.invoice_date, m.id))
        conflict = 'skip' if commit else 'handoff' if self.env.context.get('l10n_vn_einvoice_handoff') else 'raise'
        with self.env['l10n_vn_einvoice.signer']._reuse_signers():
            for start in range(0, len(ordered), ISSUE_CHUNK):
                chunk = self.browse(ordered[start:start + ISSUE_CHUNK].ids)  # prefetch this chunk only
                # the counters of the chunk's series locked first, so that a conflict with another worker (see
                # _lock_numbering) is met before anything is issued
                busy = chunk.l10n_vn_einvoice_series_id._lock_numbering(conflict)
                if busy:
                    later = chunk.filtered(lambda m: m.l10n_vn_einvoice_series_id in busy)
                    _logger.info('E-invoices %s: series %s used by another worker, %s', later.ids, busy.ids,
                                 'left for the next run' if commit else 'handed to the scheduled action')
                    handed |= later
                    chunk -= later
                # and the invoices: those another worker is issuing, or changed since this transaction began, are
                # left to it (a request runs again first, as for the series)
                locked = chunk._l10n_vn_einvoice_lock_to_issue(conflict)
                if len(locked) < len(chunk):
                    _logger.info('E-invoices %s: being issued or changed by another worker, left to it',
                                 sorted(set(chunk.ids) - locked))
                    chunk = chunk.filtered(lambda m: m.id in locked)
                if not chunk:
                    if commit:
                        self.env.cr.commit()  # pylint: disable=invalid-commit  # nothing written: a new snapshot for the next chunk
                    continue
                # the taxes of all the lines at once (the checks and the document read them one invoice at a time,
                # whose lines Odoo would prefetch alone)
                chunk.mapped('invoice_line_ids.tax_ids')
                together = chunk.filtered(lambda m: m.move_type == 'out_invoice' and not m.l10n_vn_einvoice_relation
                                          and m._l10n_vn_einvoice_cqt_connection(m.l10n_vn_einvoice_series_id) is None
                                          and not m._l10n_vn_einvoice_check())
                try:
                    if together:
                        try:
                            with self.env.cr.savepoint():
                                together._l10n_vn_einvoice_issue_local_together()
                        except (UserError, ValidationError, EInvoiceError, psycopg2.errors.UniqueViolation) as e:
                            _logger.info('E-invoices %s: issued one by one to find which failed (%s)', together.ids, e)
                            together = self.browse()
                    one_issued, one_failed = (chunk - together)._l10n_vn_einvoice_issue_each()
                except psycopg2.errors.SerializationFailure:
                    if not commit:
                        raise  # a request: Odoo runs it again whole
                    # another worker used the series since this transaction began (several workers): this chunk
                    # stays prepared for the next run of the job (which reports it as remaining), the others go on
                    _logger.info('E-invoices %s: left for the next run (series used by another worker)', chunk.ids)
                    self.env.cr.rollback()
                    self.env.invalidate_all()
                    continue
                issued, failed = issued | together | one_issued, failed | one_failed
                if commit:
                    self.env.cr.commit()  # pylint: disable=invalid-commit  # one chunk per transaction (cron, Send & Print)
                    self.env.invalidate_all()  # memory stays bounded by a chunk, whatever the batch
        if handed and not commit:
            handed._l10n_vn_einvoice_issue_in_background()
        return issued, failed

    def _l10n_vn_einvoice_lock_to_issue(self, conflict):
        """Lock these invoices' rows for the rest of the transaction before issuing them; returns the ids
        locked. ``conflict`` as for ``einvoice_series._lock_numbering``: a scheduled action ('skip') takes
        those it can; a request raises (Odoo runs it again), and in 'handoff' mode after a few conflicts
        takes those it can."""
        if not self.ids:
            return set()
        if conflict != 'skip':
            try:
                with self.env.cr.savepoint(flush=False):
                    self.env.cr.execute('SELECT id FROM account_move WHERE id IN %s ORDER BY id FOR UPDATE NOWAIT',
                                        [tuple(self.ids)], log_exceptions=False)
                return set(self.ids)
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                if conflict == 'raise' or run_request_again():
                    raise
        return self._l10n_vn_einvoice_lock()

    def _l10n_vn_einvoice_issue_in_background(self):
        """Issue was asked while another worker was numbering the series of these invoices (see
        ``einvoice_series._lock_numbering``): the scheduled action issues them in a moment, one worker after
        the other, rather than the user getting a concurrency error. Those another worker is issuing, or has
        changed since this transaction began, are left to it.

        This transaction is older than the series' last numbering: nothing written here may refer to the
        series (PostgreSQL would refuse the reference check), so the checks' errors, if any, are recorded
        by the scheduled action, and the job is woken once this transaction has committed."""
        moves = self.browse(sorted(self._l10n_vn_einvoice_lock()))
        if not moves:
            return
        moves.with_context(l10n_vn_einvoice_internal=True).write({'l10n_vn_einvoice_issue_queued': True})
        moves._message_log_batch(bodies={move.id: _(
            'Issue asked by %(user)s while series %(series)s was being numbered by another user or the scheduled '
            'action: the scheduled action issues this e-invoice in a moment.', user=html_escape(self.env.user.name),
            series=html_escape(move.l10n_vn_einvoice_series_id.name)) for move in moves})
        cron_id, registry = self.env.ref('l10n_vn_einvoice.ir_cron_l10n_vn_einvoice_issue').id, self.env.registry

        @self.env.cr.postcommit.add
        def wake_the_job():
            with registry.cursor() as cr:
                cr.transaction = api.Transaction(registry)  # this registry: not looked up again by name
                api.Environment(cr, SUPERUSER_ID, {})['ir.cron'].browse(cron_id)._trigger()

    def _l10n_vn_einvoice_issue_local_together(self):
        """Issue plain invoices signed here that passed the checks, as one: the numbers of each series taken
        at once, each XML built, signed and verified, then the invoices, their XML attachments and their
        chatter notes (with the state change) written together. All or nothing: the caller holds a savepoint."""
        now = fields.Datetime.now()
        done = []  # (move, values, signed XML, file name, signer)
        for series, moves in groupby(self, key=lambda m: m.l10n_vn_einvoice_series_id):
            numbers = series._allocate_numbers([move.invoice_date for move in moves])
            done += [(move, *move._l10n_vn_einvoice_sign_local(series, number, now))
                     for move, number in zip(moves, numbers)]
        self._l10n_vn_einvoice_record_issued_together(done, now)

    def _l10n_vn_einvoice_record_issued_together(self, done, now):
        """Record plain invoices issued together (signed here, or by a provider's batch): ``done`` lists
        (move, values, signed XML or None, file name, signer or None). The values of every invoice are written
        by one UPDATE, their XML attachments, chatter notes (with the state change) and user log rows inserted
        at once. All or nothing: the caller holds a savepoint (a number already used is refused, the unique
        index of the database as last guard, and the caller then records them one by one, which says which)."""
        # a number already recorded (by another invoice, or twice here): refused before anything is written
        used = {(move.l10n_vn_einvoice_series_id, vals['l10n_vn_einvoice_number'], move.invoice_date.year)
                for move, vals, *_rest in done}
        taken = self.sudo().with_context(active_test=False).search([
            ('id', 'not in', [row[0].id for row in done]),
            ('l10n_vn_einvoice_series_id', 'in', [series.id for series, _n, _y in used]),
            ('l10n_vn_einvoice_number', 'in', [number for _s, number, _y in used])])
        if len(used) < len(done) or taken.filtered(
                lambda m: (m.l10n_vn_einvoice_series_id, m.l10n_vn_einvoice_number, m.invoice_date.year) in used):
            raise UserError(_('A number of series %s is already used.', ', '.join(  # one by one says which
                sorted({series.name for series, _n, _y in used}))))
        field = self._fields['l10n_vn_einvoice_state']
        col_info = {'type': field.type, 'selection': field.get_description(self.env)['selection']}
        tracking, states = {}, {}
        for move, *_rest in done:
            state, sign_status = lifecycle.transition(move.l10n_vn_einvoice_state, lifecycle.Event.ISSUE,
                                                      move.l10n_vn_einvoice_sign_status or 'NOSIGN')
            tracking[move.id] = self.env['mail.tracking.value']._create_tracking_values(
                move.l10n_vn_einvoice_state, state.value, 'l10n_vn_einvoice_state', col_info, move)
            states[move.id] = {'l10n_vn_einvoice_state': state.value, 'l10n_vn_einvoice_sign_status': sign_status.value}
        # The values of every invoice written at once, by one UPDATE (Odoo's flush groups the rows by the fields
        # they change; the sending status it recomputes goes with them), without account.move.write(): about
        # 1.5 ms an invoice of checks and recomputations for values that have no business rule but the unique
        # number index (a violation rolls the whole chunk back, then it goes one by one). The state is tracked
        # below, in the note of each invoice (one insert for all, not a message each).
        moves = self.browse([move.id for move, *_rest in done])
        moves._l10n_vn_einvoice_write_rows([
            {'l10n_vn_einvoice_issue_datetime': now, **vals, 'l10n_vn_einvoice_error': False,
             'l10n_vn_einvoice_issue_queued': False} | states[move.id] for move, vals, *_rest in done])
        moves.flush_recordset()  # and what the values recomputed
        # the signed XML of each invoice (its field) and a copy for the chatter (field attachments are hidden),
        # all created at once
        signed = [row for row in done if row[2]]
        attachments = self.env['ir.attachment'].sudo().create([{
            'name': name, 'raw': xml, 'mimetype': 'application/xml', 'res_model': self._name, 'res_id': move.id,
            'res_field': res_field} for res_field in ('l10n_vn_einvoice_xml', False)
            for move, _vals, xml, name, _signer in signed])
        copies = dict(zip([row[0].id for row in signed], attachments[len(signed):]))
        if signed:
            self.invalidate_recordset(['l10n_vn_einvoice_xml', 'l10n_vn_einvoice_xml_id'])
        author_id, email_from = self._message_compute_author()
        note = self.env['ir.model.data']._xmlid_to_res_id('mail.mt_note')
        reply_to = self.env['mail.thread']._notify_get_reply_to(default=email_from)[False]
        messages = self.env['mail.message'].sudo().create([{
            'author_id': author_id, 'email_from': email_from, 'reply_to': reply_to,
            'model': self._name, 'res_id': move.id, 'message_type': 'notification', 'subtype_id': note,
            'is_internal': True,
            'body': _('E-invoice %(name)s issued and signed by %(signer)s.', name=move.l10n_vn_einvoice_name,
                      signer=html_escape(signer)) if signer else _('E-invoice %s issued.', move.l10n_vn_einvoice_name),
            'attachment_ids': [Command.link(copies[move.id].id)] if move.id in copies else [],
        } for move, _vals, _xml, _name, signer in done])
        self.env['mail.tracking.value'].sudo().create([
            {**tracking[message.res_id], 'mail_message_id': message.id} for message in messages])
        for signer, group in groupby(done, key=lambda row: row[4] or ''):  # the user log, one insert per signer
            self.env['l10n_vn_einvoice.event']._log('issued', self.browse([row[0].id for row in group]), message=signer)
        for move, *_rest in done:
            move._l10n_vn_einvoice_set_aside_pdf(move.invoice_pdf_report_id)

    def _l10n_vn_einvoice_write_rows(self, rows):
        """Write ``rows`` (one dict of e-invoice bookkeeping fields per invoice of ``self``, the same fields in
        each) by one UPDATE, without account.move.write() and its checks of the journal entry (several ms an
        invoice for values that have no business rule)."""
        if not self:
            return
        fnames = list(rows[0])
        for fname in fnames:
            field = self._fields[fname]
            self.env.cache.update(self, field, [field.convert_to_cache(row[fname], move)
                                                for move, row in zip(self, rows)], dirty=True)
        self.modified(fnames)
        self.flush_recordset(fnames)

    def init(self):
        res = super().init()
        # An e-invoice number is used once in its series and year, whatever issued it (local signing, a
        # provider's answer): the database refuses a second use even if a check is bypassed.
        self.env.cr.execute("""
            CREATE UNIQUE INDEX IF NOT EXISTS account_move_l10n_vn_einvoice_number_uniq
                ON account_move (l10n_vn_einvoice_series_id, l10n_vn_einvoice_number, (date_part('year', invoice_date)))
             WHERE l10n_vn_einvoice_number > 0
        """)
        # A supplier's e-invoice is booked once: seller tax code, template, symbol and number.
        self.env.cr.execute("""
            CREATE UNIQUE INDEX IF NOT EXISTS account_move_l10n_vn_einvoice_received_uniq
                ON account_move (company_id, l10n_vn_einvoice_received_seller_vat, l10n_vn_einvoice_received_template,
                                 l10n_vn_einvoice_received_symbol, l10n_vn_einvoice_received_number)
             WHERE state = 'posted' AND l10n_vn_einvoice_received_number IS NOT NULL
        """)
        return res

    def _l10n_vn_einvoice_number_taken(self, number):
        """The other invoice that already holds ``number`` in this invoice's series and year, if any."""
        self.ensure_one()
        year = self.invoice_date.year
        return self.sudo().with_context(active_test=False).search([
            ('id', '!=', self.id), ('l10n_vn_einvoice_series_id', '=', self.l10n_vn_einvoice_series_id.id),
            ('l10n_vn_einvoice_number', '=', number),
            ('invoice_date', '>=', f'{year}-01-01'), ('invoice_date', '<=', f'{year}-12-31'),
        ], limit=1)

    def _l10n_vn_einvoice_mark_issued(self, vals, xml, filename, signed_by=None):
        """Record an issued e-invoice (number, codes, XML) and move it and the invoices it corrects on."""
        number = vals.get('l10n_vn_einvoice_number')
        if number and (taken := self._l10n_vn_einvoice_number_taken(number)):
            raise UserError(_(
                'Number %(number)s of series %(series)s is already used in %(year)s by invoice %(other)s: it cannot '
                'be given to a second invoice. If the provider gave it, ask the provider to check its numbering; '
                'this invoice stays not issued.', number=number, series=self.l10n_vn_einvoice_series_id.name,
                year=self.invoice_date.year, other=taken.name))
        state, sign_status = lifecycle.transition(self.l10n_vn_einvoice_state, lifecycle.Event.ISSUE,
                                                  self.l10n_vn_einvoice_sign_status or 'NOSIGN')
        stale_pdf = self.invoice_pdf_report_id  # printed before the issue: not the e-invoice
        try:
            with self.env.cr.savepoint():
                self.with_context(l10n_vn_einvoice_internal=True, skip_is_manually_modified=True).write({
                    **vals,
                    'l10n_vn_einvoice_state': state.value,
                    'l10n_vn_einvoice_sign_status': sign_status.value,
                    'l10n_vn_einvoice_error': False,
                    'l10n_vn_einvoice_issue_queued': False,
                })
                self.flush_recordset(['l10n_vn_einvoice_number'])
        except psycopg2.errors.UniqueViolation:
            # another transaction stored the same number meanwhile (the check above cannot see it)
            raise UserError(_('Number %(number)s of series %(series)s was just used by another invoice: this invoice '
                              'stays not issued.', number=number,
                              series=self.l10n_vn_einvoice_series_id.name)) from None
        attachment = self.env['ir.attachment']
        if xml:
            attachment = attachment.sudo().create({
                'name': filename, 'raw': xml, 'mimetype': 'application/xml',
                'res_model': self._name, 'res_id': self.id, 'res_field': 'l10n_vn_einvoice_xml',
            })
            self.invalidate_recordset(['l10n_vn_einvoice_xml', 'l10n_vn_einvoice_xml_id'])
        for origin, event in self._l10n_vn_einvoice_corrected():
            o_state, o_sign = lifecycle.transition(origin.l10n_vn_einvoice_state, event,
                                                   origin.l10n_vn_einvoice_sign_status,
                                                   role=origin._l10n_vn_einvoice_role())
            origin.with_context(l10n_vn_einvoice_internal=True).write({
                'l10n_vn_einvoice_state': o_state.value, 'l10n_vn_einvoice_sign_status': o_sign.value})
            if event in CORRECTION_EVENTS:
                self.env['l10n_vn_einvoice.event']._log(CORRECTION_EVENTS[event], origin, message=_(
                    'By e-invoice %s.', self.l10n_vn_einvoice_name))
        if signed_by:
            body = _('E-invoice %(name)s issued and signed by %(signer)s.', name=self.l10n_vn_einvoice_name,
                     signer=html_escape(signed_by))
        else:
            body = _('E-invoice %s issued.', self.l10n_vn_einvoice_name)
        # no_new_invoice: the XML is ours, not a vendor document to import (else Odoo notes "not a draft")
        self.with_context(no_new_invoice=True).message_post(
            body=body, attachment_ids=attachment.copy({'res_field': False}).ids if attachment else [])
        if self.l10n_vn_einvoice_relation:
            self._l10n_vn_einvoice_correction_after_issue()
        self._l10n_vn_einvoice_set_aside_pdf(stale_pdf)
        self.env['l10n_vn_einvoice.event']._log('issued', self, message=signed_by or '')
        return attachment

    @api.model
    def _cron_l10n_vn_einvoice_issue(self, batch_size=1000):
        """Issue up to ``batch_size`` prepared e-invoices of the companies that issue automatically, and those
        the Issue button handed over (their series was busy), one transaction per chunk (a killed worker loses at most the chunk it was signing: its numbers roll back
        and the next run issues it). Reports its progress, so that Odoo runs it again at once while some
        remain (ir.cron's batch protocol). Invoices waiting for approval are not issued (nor retried): they
        wait for their approver."""
        # handed over by the Issue button: whatever the company's setting (an approval it still lacks is
        # recorded as its error)
        domain = [('l10n_vn_einvoice_state', '=', 'CREATED'), ('state', '=', 'posted'),
                  ('l10n_vn_einvoice_cqt_state', '!=', 'waiting'),
                  *expression.OR([[('l10n_vn_einvoice_issue_queued', '=', True)], [
                      ('company_id.l10n_vn_einvoice_auto_issue', '=', True),
                      *self._l10n_vn_einvoice_no_approval_needed_domain()]])]
        moves = self.search(domain, limit=batch_size, order='invoice_date, id')
        if not moves:
            return
        issued, failed = moves._l10n_vn_einvoice_issue_batch(commit=self._can_commit(), batch=True)
        # the failed ones stay CREATED with their reason: not counted as remaining, or the job would loop on them
        remaining = self.search_count(domain + [('l10n_vn_einvoice_error', '=', False)])
        self.env['ir.cron']._notify_progress(done=len(issued) + len(failed), remaining=remaining)

    def action_l10n_vn_einvoice_download_xml(self):
        self.ensure_one()
        if not self.l10n_vn_einvoice_xml_id:
            raise UserError(_('This invoice has no signed e-invoice XML.'))
        return {'type': 'ir.actions.act_url', 'target': 'download',
                'url': f'/web/content/{self.l10n_vn_einvoice_xml_id.id}?download=true'}

    def _get_invoice_legal_documents(self, filetype, allow_fallback=False):
        self.ensure_one()
        if filetype == 'xml' and self.l10n_vn_einvoice_xml_id:
            return {'filename': self.l10n_vn_einvoice_xml_id.name, 'filetype': 'xml',
                    'content': base64.b64decode(self.l10n_vn_einvoice_xml)}
        return super()._get_invoice_legal_documents(filetype, allow_fallback=allow_fallback)
