"""Received e-invoices (hóa đơn đầu vào): a supplier's XML becomes a checked draft vendor bill.

Odoo's import pipeline brings the file (upload on the purchase journal or on a bill, mail to the
journal's alias): ``account.move._get_edi_decoder`` (models/account_move.py) hands an ``HDon`` or
``TDiep`` XML, or a provider's ZIP (``ir.attachment``), to :meth:`_l10n_vn_einvoice_import_received`.
The library reads (``read_tree``) and verifies (``verify_invoice``) it; this fills the bill, attaches the
XML and its PDF, and records the checks that posting requires (or an accountant's override).
"""

import logging
from decimal import Decimal

from markupsafe import Markup

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError

from vn_einvoice.amounts import check_amounts, round_amount
from vn_einvoice.codes import normalize_tax_code
from vn_einvoice.document import LineKind
from vn_einvoice.errors import EInvoiceError
from vn_einvoice.signing import verify_invoice

from ..tools.einvoice_display import certificate_common_name, format_number, number_text
from ..tools.received_xml import is_einvoice_root, read_received

_logger = logging.getLogger(__name__)

# The company's purchase taxes of each rate code, as the Vietnamese chart names them.
PURCHASE_TAX_XMLIDS = {
    '0%': 'tax_purchase_vat0', '5%': 'tax_purchase_vat5', '8%': 'tax_purchase_vat8',
    '10%': 'tax_purchase_vat10', 'KCT': 'tax_purchase_vat_exemption',
}
CHECK_STATES = ('ok', 'warning', 'failed')


class L10nVnEinvoiceMoveReceived(models.AbstractModel):
    """Fields and helpers of received e-invoices on ``account.move`` (mixed in by models/account_move.py,
    which holds the overrides of Odoo's methods)."""

    _name = 'l10n_vn_einvoice.move.received'
    _description = 'Received e-invoice (vendor bill feature)'

    l10n_vn_einvoice_received_xml_id = fields.Many2one(
        'ir.attachment', string='Received e-invoice XML', readonly=True, copy=False,
        help='The supplier\'s e-invoice this bill was created from.')
    l10n_vn_einvoice_received_pdf_id = fields.Many2one(
        'ir.attachment', string='Received e-invoice PDF', readonly=True, copy=False)
    l10n_vn_einvoice_received_seller_vat = fields.Char(string='Seller tax code (e-invoice)', readonly=True, copy=False)
    l10n_vn_einvoice_received_template = fields.Char(string='Template (e-invoice)', readonly=True, copy=False)
    l10n_vn_einvoice_received_symbol = fields.Char(string='Symbol (e-invoice)', readonly=True, copy=False)
    l10n_vn_einvoice_received_number = fields.Char(string='Number (e-invoice)', readonly=True, copy=False)
    l10n_vn_einvoice_received_authority_code = fields.Char(string='Tax authority code (received)', readonly=True,
                                                           copy=False)
    l10n_vn_einvoice_received_verdict = fields.Selection(
        [('valid', 'Valid'), ('intact_unverified', 'Signature intact, signer not verified'), ('invalid', 'Not valid')],
        string='Signature verdict', readonly=True, copy=False)
    l10n_vn_einvoice_received_checks = fields.Json(string='E-invoice checks (data)', readonly=True, copy=False)
    l10n_vn_einvoice_received_checks_html = fields.Html(
        string='E-invoice checks', compute='_compute_l10n_vn_einvoice_received_checks_html', sanitize=False)
    l10n_vn_einvoice_received_blocked = fields.Boolean(
        string='E-invoice check failed', readonly=True, copy=False,
        help='A check of the received e-invoice failed: the bill is posted only after an accountant overrides it.')
    l10n_vn_einvoice_received_override_reason = fields.Text(string='Override reason', readonly=True, copy=False)
    l10n_vn_einvoice_received_override_uid = fields.Many2one('res.users', string='Overridden by', readonly=True,
                                                             copy=False)
    l10n_vn_einvoice_received_related_id = fields.Many2one(
        'account.move', string='Corrected bill', readonly=True, copy=False, index='btree_not_null',
        help='The bill of the supplier\'s invoice that this adjustment or replacement invoice corrects.')
    l10n_vn_einvoice_received_relation = fields.Selection(
        [('adjustment', 'Adjustment'), ('replacement', 'Replacement')], string='Corrects as', readonly=True,
        copy=False)

    # ------------------------------------------------------------------
    # Display
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_received_check_labels(self):
        return {
            'signatures': _('Signatures'),
            'trust': _('Signers verified (trust store)'),
            'authority': _('Tax authority code and signature'),
            'buyer': _('Buyer tax code is ours'),
            'totals': _('Totals consistent'),
            'duplicate': _('Not booked before'),
            'related': _('Corrected invoice'),
        }

    @api.depends('l10n_vn_einvoice_received_checks', 'l10n_vn_einvoice_received_override_reason')
    def _compute_l10n_vn_einvoice_received_checks_html(self):
        labels = self._l10n_vn_einvoice_received_check_labels()
        marks = {'ok': ('✓', _('Passed'), '#1e7b34'), 'warning': ('!', _('Note'), '#9a6700'),
                 'failed': ('✗', _('Failed'), '#c00000')}
        for move in self:
            checks = move.l10n_vn_einvoice_received_checks or []
            if not checks:
                move.l10n_vn_einvoice_received_checks_html = False
                continue
            rows = Markup().join(
                Markup('<tr><td style="color:%s; font-weight:bold; white-space:nowrap;">%s %s</td>'
                       '<td style="font-weight:bold;">%s</td><td style="white-space:pre-line;">%s</td></tr>') % (
                    marks[c['state']][2], marks[c['state']][0], marks[c['state']][1],
                    labels.get(c['code'], c['code']), c.get('detail') or '')
                for c in checks)
            html = Markup('<table class="table table-sm o_l10n_vn_einvoice_received_checks">'
                          '<thead><tr><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>') % (
                _('Result'), _('Check'), _('Details'), rows)
            if move.l10n_vn_einvoice_received_override_reason:
                html += Markup('<p><strong>%s</strong> %s: %s</p>') % (
                    _('Overridden by'), move.l10n_vn_einvoice_received_override_uid.name or '',
                    move.l10n_vn_einvoice_received_override_reason)
            move.l10n_vn_einvoice_received_checks_html = html

    def _l10n_vn_einvoice_received_failed(self):
        """The failed checks of this bill, as their labels."""
        self.ensure_one()
        labels = self._l10n_vn_einvoice_received_check_labels()
        return [f"{labels.get(c['code'], c['code'])}: {c.get('detail') or ''}"
                for c in self.l10n_vn_einvoice_received_checks or [] if c['state'] == 'failed']

    # ------------------------------------------------------------------
    # Import (the decoder of Odoo's pipeline)
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_received_decoder(self, file_data):
        """The import function for a received e-invoice file on a purchase document, else None."""
        if file_data['type'] != 'xml':
            return None
        if not self.is_purchase_document(include_receipts=False) and self.journal_id.type != 'purchase':
            return None
        if not file_data.get('l10n_vn_einvoice') and not is_einvoice_root(file_data.get('xml_tree')):
            return None
        return self.env['account.move']._l10n_vn_einvoice_import_received

    @api.model
    def _l10n_vn_einvoice_import_received(self, invoice, file_data, new=False):
        """Fill the draft bill ``invoice`` from the received e-invoice of ``file_data`` (Odoo's decoder)."""
        if invoice.state != 'draft' or invoice.l10n_vn_einvoice_received_xml_id:
            return False
        try:
            received = read_received(file_data['content'], file_data['filename'])
            report = verify_invoice(received.xml, trusted_certificates=invoice.company_id._l10n_vn_einvoice_trust_anchors())
        except EInvoiceError as e:
            invoice.message_post(body=_('The e-invoice %(file)s cannot be read: %(error)s',
                                        file=file_data['filename'], error=e))
            return False
        doc = received.invoice
        total = doc.totals.total if doc.totals else Decimal(0)
        if invoice.move_type in ('in_invoice', 'in_refund'):
            invoice.move_type = 'in_refund' if total < 0 else 'in_invoice'
        sign = Decimal(-1) if invoice.move_type == 'in_refund' else Decimal(1)
        notes = []
        partner = self._l10n_vn_einvoice_received_partner(doc.seller, invoice.company_id, notes)
        currency = self.env['res.currency'].with_context(active_test=False).search(
            [('name', '=', doc.currency.upper())], limit=1)
        with invoice._get_edi_creation() as invoice:
            vals = {
                'partner_id': partner.id,
                'invoice_date': doc.issue_date,
                'ref': f'{doc.template}{doc.symbol}-{number_text(doc.number, doc.template)}',
                'invoice_line_ids': [Command.clear()] + [
                    Command.create(vals) for vals in self._l10n_vn_einvoice_received_lines(
                        doc, invoice.company_id, sign, notes)],
            }
            if currency and currency.active:
                vals['currency_id'] = currency.id
            elif doc.currency.upper() != invoice.company_currency_id.name:
                notes.append(_('The currency %s is not active: the bill is in the company currency.', doc.currency))
            invoice.write(vals)
        with invoice._get_edi_creation() as invoice:
            rounding = invoice._l10n_vn_einvoice_received_fit_totals(doc, sign)
        if rounding:
            notes.append(rounding)
        xml_attachment = file_data['attachment']
        if received.filename != file_data['filename'] or xml_attachment.raw != received.xml:  # from a ZIP
            xml_attachment = self.env['ir.attachment'].create({
                'name': received.filename or 'einvoice.xml', 'raw': received.xml, 'mimetype': 'application/xml',
                'res_model': 'account.move', 'res_id': invoice.id,
            })
        invoice.write({
            'l10n_vn_einvoice_received_xml_id': xml_attachment.id,
            'l10n_vn_einvoice_received_seller_vat': normalize_tax_code(doc.seller.tax_code) or False,
            'l10n_vn_einvoice_received_template': doc.template,
            'l10n_vn_einvoice_received_symbol': doc.symbol,
            'l10n_vn_einvoice_received_number': str(doc.number) if doc.number is not None else False,
            'l10n_vn_einvoice_received_authority_code': doc.authority_code or False,
            'l10n_vn_einvoice_received_verdict': report.verdict,
        })
        invoice._l10n_vn_einvoice_received_link_related(doc)
        invoice._l10n_vn_einvoice_received_run_checks(doc, report, rounding)
        invoice._l10n_vn_einvoice_received_attach_pdf()
        body = Markup('<strong>%s</strong>') % _('Vendor bill created from the e-invoice %(file)s (template %(template)s, '
                                                 'symbol %(symbol)s, number %(number)s).', file=file_data['filename'],
                                                 template=doc.template, symbol=doc.symbol, number=doc.number)
        if notes:
            body += Markup('<ul>%s</ul>') % Markup().join(Markup('<li>%s</li>') % n for n in notes)
        invoice.message_post(body=body)
        return True

    @api.model
    def _l10n_vn_einvoice_received_partner(self, seller, company, notes):
        """The supplier of tax code ``seller.tax_code``, created as a company when unknown."""
        Partner = self.env['res.partner']
        vat = normalize_tax_code(seller.tax_code)
        domain = [*Partner._check_company_domain(company)]
        partner = vat and Partner.search(domain + [('vat', '=', vat)], limit=1)
        if not partner and vat:
            partner = Partner.search(domain + [('vat', '=ilike', f'VN{vat}')], limit=1)
        if partner:
            return partner.commercial_partner_id
        if not vat:
            partner = Partner.search(domain + [('name', '=ilike', seller.name)], limit=1)
            if partner:
                return partner
        partner = Partner.create({
            'name': seller.name or vat, 'vat': vat or False, 'is_company': True, 'street': seller.address or False,
            'country_id': self.env.ref('base.vn').id, 'phone': seller.phone or False, 'email': seller.email or False,
            'website': seller.website or False,
        })
        notes.append(_('New supplier %(name)s created (tax code %(vat)s).', name=partner.name, vat=vat or '-'))
        return partner

    @api.model
    def _l10n_vn_einvoice_received_tax(self, company, rate, notes):
        """The company's purchase tax of e-invoice rate ``rate`` (0%, 5%, 8%, 10%, KCT and KKKNT apart)."""
        Tax = self.env['account.tax']
        if rate is None:
            return Tax
        code = 'KHAC' if rate.code.startswith('KHAC') else rate.code
        domain = [*Tax._check_company_domain(company), ('type_tax_use', '=', 'purchase'),
                  ('l10n_vn_einvoice_rate', '=', code), ('amount_type', '=', 'percent')]
        if code == 'KHAC':
            domain.append(('amount', '=', float(rate.percent)))
        candidates = Tax.search(domain)
        xmlid = PURCHASE_TAX_XMLIDS.get(code)
        preferred = xmlid and self.env['account.chart.template'].with_company(company).ref(xmlid, raise_if_not_found=False)
        if preferred and preferred in candidates:
            return preferred
        if candidates:
            return candidates[:1]
        if code == 'KKKNT':  # the chart has none: one of its own, never merged with 0% or KCT
            group = self.env['account.chart.template'].with_company(company).ref('tax_group_exemption',
                                                                                 raise_if_not_found=False)
            tax = Tax.sudo().create({
                'name': 'KKKNT', 'description': _('Not declared nor paid (KKKNT)'), 'amount': 0,
                'amount_type': 'percent', 'type_tax_use': 'purchase', 'company_id': company.id,
                'l10n_vn_einvoice_rate': 'KKKNT', **({'tax_group_id': group.id} if group else {}),
            })
            notes.append(_('Purchase tax "KKKNT" created for the lines not declared nor paid.'))
            return tax.sudo(False)
        notes.append(_('No purchase tax of rate %s: its lines are without tax, check them.', rate.code))
        return Tax

    @api.model
    def _l10n_vn_einvoice_received_lines(self, doc, company, sign, notes):
        """Values of the bill's lines, one per e-invoice line (and fees, deductions)."""
        vals_list = []
        price_digits = self.env['decimal.precision'].precision_get('Product Price')
        for ln in doc.lines:
            if ln.kind is LineKind.NOTE:
                vals_list.append({'display_type': 'line_note', 'name': ln.name})
                continue
            vals = {'name': ln.name}
            uom = ln.unit and self.env['uom.uom'].search([('name', '=ilike', ln.unit)], limit=1)
            if uom:
                vals['product_uom_id'] = uom.id
            elif ln.unit:
                vals['name'] = f'{ln.name} ({ln.unit})'
            if ln.kind is LineKind.PROMOTION:
                vals.update(quantity=float(ln.quantity or 1), price_unit=0, tax_ids=[Command.clear()])
                vals['name'] = _('%s (promotion)', vals['name'])
                vals_list.append(vals)
                continue
            tax = self._l10n_vn_einvoice_received_tax(company, ln.tax_rate, notes)
            vals['tax_ids'] = [Command.set(tax.ids)]
            amount = (ln.amount or Decimal(0)) * sign
            if ln.kind is LineKind.DISCOUNT:
                vals.update(quantity=1, price_unit=float(-amount))
            else:
                price = _line_price(ln, amount, sign, doc.currency, price_digits)
                if 'name' in price:
                    price['name'] = vals['name'].replace(ln.name, price['name'], 1)
                vals.update(price)
            vals_list.append(vals)
        totals = doc.totals
        if totals:
            for fee in totals.fees:
                vals_list.append({'name': fee.name, 'quantity': 1, 'price_unit': float(fee.amount * sign),
                                  'tax_ids': [Command.clear()]})
            if totals.total_other_deduction:
                vals_list.append({'name': _('Other deductions'), 'quantity': 1,
                                  'price_unit': float(-totals.total_other_deduction * sign),
                                  'tax_ids': [Command.clear()]})
        return vals_list

    def _l10n_vn_einvoice_received_fit_totals(self, doc, sign):
        """Make the bill's VAT per rate and total equal the e-invoice's to the đồng: VAT lines take the
        e-invoice's amounts (a rounding difference of at most a unit per line), then a rounding line
        makes up a small remaining difference of the total (its note returned). Larger differences are left
        for the checks."""
        self.ensure_one()
        currency = self.currency_id
        unit = Decimal(1).scaleb(-currency.decimal_places)
        n_lines = max(1, len(doc.lines))
        for row in doc.tax_breakdown:
            if row.tax_amount is None:
                continue
            taxes = self._l10n_vn_einvoice_received_tax(self.company_id, row.rate, [])
            tax_lines = self.line_ids.filtered(lambda line: line.tax_line_id and line.tax_line_id in taxes)
            if len(tax_lines) != 1:
                continue
            wanted = float(row.tax_amount * sign)
            if wanted != tax_lines.amount_currency and abs(Decimal(str(tax_lines.amount_currency)) - row.tax_amount * sign) \
                    <= unit * n_lines:
                tax_lines.amount_currency = wanted
        if not doc.totals:
            return ''
        difference = doc.totals.total * sign - Decimal(str(self.amount_total))
        if difference and abs(difference) <= unit * n_lines:
            self.invoice_line_ids = [Command.create({
                'name': _('Rounding difference of the e-invoice'), 'quantity': 1, 'price_unit': float(difference),
                'tax_ids': [Command.clear()], 'sequence': 9999,
            })]
            return _('A rounding line of %s was added so that the total equals the e-invoice\'s.',
                     currency.format(float(difference)))
        return ''

    def _l10n_vn_einvoice_received_link_related(self, doc):
        """Link an adjustment or replacement invoice to the bill of the invoice it corrects."""
        self.ensure_one()
        related = doc.related
        if related is None:
            return
        self.l10n_vn_einvoice_received_relation = 'adjustment' if doc.is_adjustment else 'replacement'
        if related.number:
            original = self._l10n_vn_einvoice_received_find(
                self.company_id, normalize_tax_code(doc.seller.tax_code), related.template, related.symbol, related.number)
            self.l10n_vn_einvoice_received_related_id = original[:1]

    def _l10n_vn_einvoice_received_find(self, company, vat, template, symbol, number, states=('draft', 'posted')):
        """The bills of ``company`` (in ``states``) made from the invoice seller ``vat`` + template + symbol +
        number, other than these."""
        try:
            number = str(int(number))
        except (TypeError, ValueError):
            number = str(number)
        return self.sudo().search([
            ('company_id', '=', company.id), ('id', 'not in', self.ids), ('state', 'in', states),
            ('move_type', 'in', ('in_invoice', 'in_refund')),
            ('l10n_vn_einvoice_received_seller_vat', '=', vat), ('l10n_vn_einvoice_received_template', '=', template),
            ('l10n_vn_einvoice_received_symbol', '=', symbol), ('l10n_vn_einvoice_received_number', '=', number),
        ], order='state desc, id').with_env(self.env)

    def _l10n_vn_einvoice_received_duplicates(self, states=('draft', 'posted')):
        """The other bills of the same supplier's e-invoice (in ``states``)."""
        self.ensure_one()
        if not self.l10n_vn_einvoice_received_number:
            return self.browse()
        return self._l10n_vn_einvoice_received_find(
            self.company_id, self.l10n_vn_einvoice_received_seller_vat, self.l10n_vn_einvoice_received_template,
            self.l10n_vn_einvoice_received_symbol, self.l10n_vn_einvoice_received_number, states)

    # ------------------------------------------------------------------
    # Checks
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_received_run_checks(self, doc, report, rounding=''):
        """Record the checks of the received e-invoice ``doc`` verified as ``report`` (vn_einvoice)."""
        self.ensure_one()
        checks = []

        def add(code, state, detail):
            checks.append({'code': code, 'state': state, 'detail': detail})

        roles = {'seller': _('seller'), 'buyer': _('buyer'), 'authority': _('tax authority'), 'other': _('other')}
        lines = []
        for sig in report.signatures:
            who = certificate_common_name(sig.subject) if sig.subject else '?'
            status = _('valid') if sig.valid else _('NOT valid')
            trusted = {True: _('issued by a trusted CA'), False: _('NOT issued by a trusted CA'),
                       None: _('not verified')}[sig.trusted]
            lines.append(f'{roles.get(sig.role, sig.role)}: {who} - {status}, {trusted}')
            lines += [f'  {p}' for p in sig.problems]
        lines += report.problems
        add('signatures', 'ok' if report.valid else 'failed', '\n'.join(lines) or _('The invoice is not signed.'))

        if report.trust == 'verified':
            add('trust', 'ok', _('Every signer chains to the company\'s trusted certification authorities.'))
        elif report.trust == 'not_checked':
            add('trust', 'failed', _('The company has no trusted certification authority: who signed is not '
                                     'verified. Add the CAs in the e-invoice settings.'))
        else:
            add('trust', 'failed', _('A signer is not issued by a certification authority the company trusts.'))

        if report.coded:
            cqt = [s for s in report.signatures if s.role == 'authority']
            if not report.mccqt:
                add('authority', 'failed', _('Invoice with code (symbol %s) without the tax authority\'s code '
                                             '(MCCQT).', doc.symbol))
            elif not report.mccqt_covered or not cqt or not all(s.valid for s in cqt):
                add('authority', 'failed', _('The tax authority\'s code %s is not covered by a valid tax '
                                             'authority signature.', report.mccqt))
            else:
                add('authority', 'ok', _('Code %s, signed by the tax authority.', report.mccqt))
        else:
            add('authority', 'ok', _('Invoice without code (symbol %s): no tax authority code expected.', doc.symbol))

        ours = normalize_tax_code(self.company_id.vat or '')
        theirs = normalize_tax_code(doc.buyer.tax_code or '')
        if ours and theirs == ours:
            add('buyer', 'ok', _('Buyer tax code %s.', theirs))
        else:
            add('buyer', 'failed', _('The buyer\'s tax code on the invoice is "%(theirs)s", the company\'s is '
                                     '"%(ours)s".', theirs=theirs or '-', ours=ours or '-'))

        problems = [p.message for p in check_amounts(doc)]
        sign = -1 if self.move_type == 'in_refund' else 1
        if doc.totals:
            for label, ours_amount, theirs_amount in (
                    (_('total'), self.amount_total, doc.totals.total),
                    (_('VAT'), self.amount_tax, doc.totals.total_tax)):
                if Decimal(str(ours_amount)) * sign != theirs_amount:
                    problems.append(_('The bill\'s %(what)s is %(ours)s, the e-invoice says %(theirs)s.', what=label,
                                      ours=self.currency_id.format(ours_amount * sign),
                                      theirs=self.currency_id.format(float(theirs_amount))))
        if problems:
            add('totals', 'failed', '\n'.join(problems))
        else:
            add('totals', 'warning' if rounding else 'ok',
                rounding or _('Lines, VAT by rate and totals agree; the bill equals the e-invoice.'))

        duplicates = self._l10n_vn_einvoice_received_duplicates()
        if duplicates:
            add('duplicate', 'failed', _('Already imported as %s.', ', '.join(duplicates.mapped('display_name'))))
        else:
            add('duplicate', 'ok', _('No other bill of this seller, template, symbol and number.'))

        if doc.related is not None:
            text = doc.related.reference_text()
            if self.l10n_vn_einvoice_received_related_id:
                add('related', 'ok', _('%(text)s: bill %(bill)s.', text=text,
                                       bill=self.l10n_vn_einvoice_received_related_id.display_name))
            else:
                add('related', 'warning', _('%s: no bill of that invoice was found.', text))

        self.write({
            'l10n_vn_einvoice_received_checks': checks,
            'l10n_vn_einvoice_received_blocked': any(c['state'] == 'failed' for c in checks),
            'l10n_vn_einvoice_received_override_reason': False,
            'l10n_vn_einvoice_received_override_uid': False,
        })

    def action_l10n_vn_einvoice_received_recheck(self):
        """Check the attached e-invoice again (e.g. after a CA was added to the trust store, or the bill it
        corrects was booked); a previous override no longer holds."""
        for move in self.filtered(lambda m: m.state == 'draft' and m.l10n_vn_einvoice_received_xml_id):
            try:
                received = read_received(move.sudo().l10n_vn_einvoice_received_xml_id.raw)
                report = verify_invoice(received.xml,
                                        trusted_certificates=move.company_id._l10n_vn_einvoice_trust_anchors())
            except EInvoiceError as e:
                raise UserError(_('The received e-invoice of %(move)s cannot be read: %(error)s',
                                  move=move.display_name, error=e)) from None
            if not move.l10n_vn_einvoice_received_related_id:
                move._l10n_vn_einvoice_received_link_related(received.invoice)
            move._l10n_vn_einvoice_received_run_checks(received.invoice, report)
        return True

    def _l10n_vn_einvoice_received_check_post(self):
        """Refuse to post a received bill booked before, or with a failed check nobody overrode."""
        for move in self.filtered('l10n_vn_einvoice_received_xml_id'):
            duplicates = move._l10n_vn_einvoice_received_duplicates(states=('posted',))
            if duplicates:
                raise UserError(_(
                    'The e-invoice %(symbol)s number %(number)s of the seller %(vat)s is already booked as '
                    '%(bill)s: it cannot be booked twice.', symbol=move.l10n_vn_einvoice_received_symbol,
                    number=move.l10n_vn_einvoice_received_number, vat=move.l10n_vn_einvoice_received_seller_vat,
                    bill=', '.join(duplicates.mapped('display_name'))))
            if move.l10n_vn_einvoice_received_blocked and not move.l10n_vn_einvoice_received_override_reason:
                raise UserError(_(
                    'The checks of the received e-invoice of %(bill)s failed:\n%(failed)s\n\nCorrect the cause and '
                    'import the e-invoice again, or have an accountant override the checks with a reason.',
                    bill=move.display_name, failed='\n'.join(move._l10n_vn_einvoice_received_failed())))

    def _l10n_vn_einvoice_received_override(self, reason):
        """Accept this bill's failed checks, for ``reason`` (an accountant's decision, logged)."""
        self.ensure_one()
        if not self.env.user.has_group('account.group_account_user'):
            raise UserError(_('Only an accountant can override the checks of a received e-invoice.'))
        if not (reason or '').strip():
            raise UserError(_('Give the reason for overriding the checks.'))
        self.write({
            'l10n_vn_einvoice_received_override_reason': reason.strip(),
            'l10n_vn_einvoice_received_override_uid': self.env.uid,
        })
        self.message_post(body=Markup('<strong>%s</strong><br/>%s<ul>%s</ul>') % (
            _('E-invoice checks overridden'), _('Reason: %s', reason.strip()),
            Markup().join(Markup('<li>%s</li>') % f for f in self._l10n_vn_einvoice_received_failed())))

    def action_l10n_vn_einvoice_received_override(self):
        self.ensure_one()
        return {
            'type': 'ir.actions.act_window', 'name': _('Override e-invoice checks'),
            'res_model': 'l10n_vn_einvoice.received.override.wizard', 'view_mode': 'form', 'target': 'new',
            'context': {'default_move_id': self.id},
        }

    # ------------------------------------------------------------------
    # PDF
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_is_received(self):
        self.ensure_one()
        return self.move_type in ('in_invoice', 'in_refund') and bool(self.sudo().l10n_vn_einvoice_received_xml_id)

    def _l10n_vn_einvoice_received_attach_pdf(self):
        """Render the received XML (the e-invoice display) and attach it to the bill."""
        self.ensure_one()
        content, kind = self.env['ir.actions.report'].sudo()._render_qweb_pdf(
            'l10n_vn_einvoice.action_report_received_einvoice', self.ids)
        name = f'{self.l10n_vn_einvoice_received_symbol or "einvoice"}_{self.l10n_vn_einvoice_received_number or ""}'
        attachment = self.env['ir.attachment'].create({
            'name': f'{name}.{kind}', 'raw': content, 'res_model': 'account.move', 'res_id': self.id,
            'mimetype': 'application/pdf' if kind == 'pdf' else 'text/html',
        })
        self.l10n_vn_einvoice_received_pdf_id = attachment
        self.message_main_attachment_id = attachment
        return attachment


def _line_price(line, amount, sign, currency, price_digits):
    """quantity, price_unit and discount (%) of ``line`` whose Odoo subtotal is ``amount`` (its ``ThTien``), Odoo
    keeping ``price_digits`` decimals of a unit price. When no such price exists (e.g. 1 000 × 12,345 with 2
    decimals) the line is 1 × its amount and its label says the quantity and price of the e-invoice."""
    quantity, unit_price = line.quantity, line.unit_price
    discount_rate, discount_amount = line.discount_rate, line.discount_amount
    if quantity and unit_price is not None:
        price = round(unit_price * sign, price_digits)
        gross = quantity * price
        discount = Decimal(0)
        if discount_rate:
            discount = discount_rate
        elif discount_amount and gross:
            discount = discount_amount * sign * 100 / gross
        if round_amount(gross * (1 - discount / 100), currency) == amount:
            return {'quantity': float(quantity), 'price_unit': float(price), 'discount': float(discount)}
        price = round(amount / quantity, price_digits)
        if round_amount(quantity * price, currency) == amount:
            return {'quantity': float(quantity), 'price_unit': float(price), 'discount': 0}
        return {'quantity': 1, 'price_unit': float(amount), 'discount': 0,
                'name': f'{line.name} ({format_number(quantity)} × {format_number(unit_price)})'}
    return {'quantity': 1, 'price_unit': float(amount), 'discount': 0}
