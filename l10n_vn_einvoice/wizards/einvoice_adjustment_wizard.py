from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_is_zero, html_escape

from vn_einvoice import lifecycle
from vn_einvoice.codes import check_tax_code

from ..models.einvoice_move_correction import ADJUSTMENT_KINDS

WHAT = [
    ('none', 'No change'),
    ('quantity', 'Quantity'),
    ('price', 'Unit price'),
    ('amount', 'Amount'),
    ('tax', 'VAT rate'),
    ('new', 'New line'),
]
# Legal Vietnamese line texts of the adjustment invoice.
LINE_WORDS = {
    'quantity': 'số lượng',
    'price': 'đơn giá',
    'amount': 'thành tiền',
}


def _vn_number(value):
    text = f'{value:,.6f}'.rstrip('0').rstrip('.')
    return text.replace(',', ' ').replace('.', ',').replace(' ', '.')


class L10nVnEinvoiceAdjustmentWizard(models.TransientModel):
    """Adjustment invoice (TCHDon 2) of one or several issued e-invoices: amounts (per line: quantity,
    unit price, amount or VAT rate, increased or decreased) or information (buyer data, no amount)."""

    _name = 'l10n_vn_einvoice.adjustment.wizard'
    _inherit = 'l10n_vn_einvoice.correction.mixin'
    _description = 'Adjust issued e-invoices'
    _relation = 'adjustment'

    kind = fields.Selection(ADJUSTMENT_KINDS, string='Adjust', required=True, default='money')
    decrease_all = fields.Boolean(help='Prefill every line as decreased to zero (credit note, void invoice).')
    line_ids = fields.One2many('l10n_vn_einvoice.adjustment.wizard.line', 'wizard_id', string='Lines')
    old_buyer_name = fields.Char(string='Buyer name (issued)', readonly=True)
    old_buyer_vat = fields.Char(string='Tax code (issued)', readonly=True)
    old_buyer_address = fields.Char(string='Address (issued)', readonly=True)
    old_buyer_email = fields.Char(string='Email (issued)', readonly=True)
    buyer_name = fields.Char()
    buyer_vat = fields.Char(string='Buyer tax code')
    buyer_address = fields.Char()
    buyer_email = fields.Char()
    update_partner = fields.Boolean(string='Also correct the customer', default=True,
                                    help='Write the corrected name, tax code and email on the customer.')
    amount_untaxed = fields.Monetary(string='Untaxed change', compute='_compute_amounts')
    amount_tax = fields.Monetary(string='VAT change', compute='_compute_amounts')
    amount_total = fields.Monetary(string='Total change', compute='_compute_amounts')
    legal_hint = fields.Html(compute='_compute_legal_hint')

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        origins = self._origins_from_context(lifecycle.Event.ADJUST)
        if not origins:
            return res
        res['origin_ids'] = [Command.set(origins.ids)]
        decrease_all = self.env.context.get('default_decrease_all')
        lines = []
        for origin in origins:
            for line in origin.invoice_line_ids.filtered(lambda l: l.display_type == 'product').sorted('sequence'):
                vals = {
                    'origin_line_id': line.id, 'name': line.name or line.product_id.display_name or '',
                    'product_id': line.product_id.id, 'product_uom_id': line.product_uom_id.id,
                    'quantity': line.quantity, 'price_unit': line.price_unit, 'discount': line.discount,
                    'tax_ids': [Command.set(line.tax_ids.ids)],
                }
                if decrease_all:
                    vals.update(what='quantity', direction='decrease', delta_quantity=line.quantity)
                lines.append(Command.create(vals))
        res['line_ids'] = lines
        buyer = origins[:1]._l10n_vn_einvoice_issued_buyer()
        res.update({
            'old_buyer_name': buyer.name, 'old_buyer_vat': buyer.tax_code, 'old_buyer_address': buyer.address,
            'old_buyer_email': buyer.email, 'buyer_name': buyer.name, 'buyer_vat': buyer.tax_code,
            'buyer_address': buyer.address, 'buyer_email': buyer.email,
        })
        return res

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------

    def _planned(self, strict=True):
        """``[(vals, signed_total_included, signed_untaxed)]`` of the lines the adjustment invoice gets,
        increases positive and decreases negative (before choosing invoice or credit note). Not
        ``strict``: lines not filled in yet are left out instead of refused (previews)."""
        self.ensure_one()
        planned = []
        for wl in self.line_ids:
            try:
                line_vals = wl._move_line_vals()
            except UserError:
                if strict:
                    raise
                continue
            for vals in line_vals:
                taxes = self.env['account.tax'].browse(vals['tax_ids'][0][2])
                price = vals['price_unit'] * (1 - (vals.get('discount') or 0.0) / 100)
                res = taxes.compute_all(price, self.currency_id, vals['quantity'],
                                        product=self.env['product.product'].browse(vals.get('product_id')),
                                        partner=self.partner_id)
                planned.append((vals, res['total_included'], res['total_excluded']))
        return planned

    @api.depends('line_ids.what', 'line_ids.direction', 'line_ids.delta_quantity', 'line_ids.delta_price',
                 'line_ids.delta_amount', 'line_ids.new_tax_ids', 'line_ids.quantity', 'line_ids.price_unit',
                 'line_ids.tax_ids', 'kind')
    def _compute_amounts(self):
        for wizard in self:
            planned = wizard._planned(strict=False) if wizard.kind == 'money' else []
            wizard.amount_total = sum(p[1] for p in planned)
            wizard.amount_untaxed = sum(p[2] for p in planned)
            wizard.amount_tax = wizard.amount_total - wizard.amount_untaxed

    @api.depends('kind', 'origin_ids', 'list_number', 'list_date', 'line_ids.what', 'line_ids.direction',
                 'line_ids.delta_quantity', 'line_ids.delta_price', 'line_ids.delta_amount', 'line_ids.new_tax_ids')
    def _compute_note(self):
        return super()._compute_note()

    def _default_note(self):
        self.ensure_one()
        if not self.origin_ids:
            return ''
        planned = self._planned(strict=False) if self.kind == 'money' else []
        whats = []
        for vals, _total, _untaxed in planned:
            word = {'quantity': 'số lượng', 'price': 'đơn giá', 'amount': 'thành tiền', 'tax': 'thuế suất',
                    'new': 'hàng hóa, dịch vụ'}[vals['l10n_vn_einvoice_adjust_what']]
            if word not in whats:
                whats.append(word)
        return self.env['account.move']._l10n_vn_einvoice_note_text(
            self._reference(), kind=self.kind, increase=any(p[2] > 0 for p in planned),
            decrease=any(p[2] < 0 for p in planned), whats=whats)[:255]

    @api.depends('kind', 'buyer_name', 'buyer_vat', 'buyer_address', 'buyer_email')
    def _compute_legal_hint(self):
        for wizard in self:
            hint = ''
            if wizard.kind == 'info' and wizard._info_changes() and not wizard._changed('vat') \
                    and not wizard._changed('email'):
                hint = _('Only the buyer\'s name or address is wrong and the tax code is right: under Decree 123/2020 '
                         'Art. 19.2.a (as amended by Decree 70/2025) no new invoice is required; informing the buyer '
                         'and sending a 04/SS-HĐĐT notice (explanation) is enough. Issue this information adjustment '
                         'only if the buyer asks for it.')
            elif wizard.kind == 'info' and wizard._changed('vat'):
                hint = _('A wrong buyer tax code is corrected by an adjustment or a replacement invoice '
                         '(Decree 123/2020 Art. 19.2.b, as amended by Decree 70/2025).')
            wizard.legal_hint = f'<p>{html_escape(hint)}</p>' if hint else False

    # ------------------------------------------------------------------
    # Information adjustment
    # ------------------------------------------------------------------

    def _changed(self, key):
        return (self[f'buyer_{key}'] or '').strip() != (self[f'old_buyer_{key}'] or '').strip()

    def _info_changes(self):
        """``[(label, old, new)]`` in legal Vietnamese, for the invoice line and the minutes."""
        labels = {'name': 'Tên người mua', 'vat': 'Mã số thuế', 'address': 'Địa chỉ', 'email': 'Email'}
        return [(labels[k], (self[f'old_buyer_{k}'] or '').strip(), (self[f'buyer_{k}'] or '').strip())
                for k in ('name', 'vat', 'address', 'email') if self._changed(k)]

    def _info_text(self):
        changes = '; '.join(f'{label}: {old or "(trống)"} → {new or "(trống)"}' for label, old, new in self._info_changes())
        return f'{self._default_note()}: {changes}'

    # ------------------------------------------------------------------
    # Creation
    # ------------------------------------------------------------------

    def _agreement_contents(self):
        if self.kind == 'info':
            changes = self._info_changes()
            return ('\n'.join(f'{label}: {old}' for label, old, _new in changes),
                    '\n'.join(f'{label}: {new}' for label, _old, new in changes))
        wrong, right = [], []
        for wl in self.line_ids.filtered(lambda l: l.what != 'none'):
            before, after = wl._describe()
            if before:
                wrong.append(before)
            right.append(after)
        return '\n'.join(wrong), '\n'.join(right)

    def _create_move(self):
        self.ensure_one()
        self._check_common()
        origin = self.origin_ids.sorted(lambda m: (m.invoice_date, m.id))[0]
        vals = {
            'partner_id': origin.partner_id.id, 'journal_id': origin.journal_id.id,
            'currency_id': origin.currency_id.id,
            'l10n_vn_einvoice_adjustment_kind': self.kind,
            'l10n_vn_einvoice_payment_method': origin.l10n_vn_einvoice_payment_method,
            'ref': (self.reason or '').splitlines()[0][:200] if self.reason else False,
        }
        if self.kind == 'info':
            if not self._info_changes():
                raise UserError(_('Change at least one of the buyer\'s data.'))
            if self.buyer_vat and self._changed('vat'):
                problems = check_tax_code(self.buyer_vat, 'MST')
                if problems:
                    raise UserError(_('Buyer tax code: %s', problems[0].message))
            vat = origin.invoice_line_ids.filtered(lambda l: l.display_type == 'product').tax_ids.filtered(
                'l10n_vn_einvoice_rate')[:1]
            vals.update({
                'move_type': 'out_invoice',
                'l10n_vn_einvoice_buyer_name': self.buyer_name if self._changed('name') else False,
                'l10n_vn_einvoice_buyer_vat': self.buyer_vat if self._changed('vat') else False,
                'l10n_vn_einvoice_buyer_address': self.buyer_address if self._changed('address') else False,
                'l10n_vn_einvoice_buyer_email': self.buyer_email if self._changed('email') else False,
                # Odoo posts no invoice without an accounting line: one line of zero carries the text.
                'invoice_line_ids': [Command.create({
                    'name': self._info_text()[:500], 'quantity': 1, 'price_unit': 0.0,
                    'tax_ids': [Command.set(vat.ids)],
                })],
            })
        else:
            planned = self._planned()
            if not planned:
                raise UserError(_('Choose what to adjust on at least one line (quantity, unit price, amount or VAT '
                                  'rate), or add a new line.'))
            total = sum(p[1] for p in planned)
            refund = total < 0 and not float_is_zero(total, precision_rounding=self.currency_id.rounding)
            lines = []
            for line_vals, _total, _untaxed in planned:
                line_vals = dict(line_vals)
                if refund:
                    line_vals['price_unit'] = -line_vals['price_unit']
                lines.append(Command.create(line_vals))
            vals.update({
                'move_type': 'out_refund' if refund else 'out_invoice',
                'reversed_entry_id': origin.id if refund else False,
                'invoice_line_ids': lines,
            })
        agreement = self._create_agreement()
        vals.update(self._correction_vals(agreement))
        move = self.env['account.move'].with_company(self.company_id).create(vals)
        if self.kind == 'info' and self.update_partner:
            partner = origin.commercial_partner_id
            partner_vals = {}
            if self._changed('name') and self.buyer_name:
                partner_vals['name'] = self.buyer_name
            if self._changed('vat'):
                partner_vals['vat'] = self.buyer_vat or False
            if self._changed('email'):
                partner_vals['email'] = self.buyer_email or False
            if partner_vals:
                partner.write(partner_vals)
        self._after_create(move, agreement)
        return move
