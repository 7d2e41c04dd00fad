from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_is_zero, html_escape

from vn_einvoice import lifecycle
from vn_einvoice.codes import check_tax_code

from ..models.account_move_correction import ADJUSTMENT_KINDS, vn_amount

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


class L10nVnEinvoiceCorrectionMixin(models.AbstractModel):
    """What the adjustment and replacement wizards share: the invoices corrected, the agreement, the
    list 01/BK-ĐCTT when they are several, the optional 04/SS notice."""

    _name = 'l10n_vn_einvoice.correction.mixin'
    _description = 'E-invoice correction wizard (common part)'
    _relation = 'adjustment'

    origin_ids = fields.Many2many('account.move', string='E-invoices corrected', required=True)
    company_id = fields.Many2one('res.company', compute='_compute_origin_data')
    currency_id = fields.Many2one('res.currency', compute='_compute_origin_data')
    partner_id = fields.Many2one('res.partner', string='Buyer', compute='_compute_origin_data')
    several = fields.Boolean(compute='_compute_origin_data')
    invoice_date = fields.Date(string='Date of the new invoice', required=True, default=fields.Date.context_today)
    list_number = fields.Char(string='List 01/BK-ĐCTT number', size=50,
                              help='When one invoice corrects several (Decree 70/2025): the number of the list.')
    list_date = fields.Date(string='List 01/BK-ĐCTT date', default=fields.Date.context_today)
    agreement_name = fields.Char(string='Agreement number or name',
                                 help='As written on the minutes signed with the buyer. Empty: numbered automatically.')
    agreement_date = fields.Date(string='Agreement date', required=True, default=fields.Date.context_today)
    reason = fields.Text(required=True, help='Why the invoice is corrected (printed on the minutes).')
    agreement_scan = fields.Binary(string='Signed minutes (scan)')
    agreement_scan_filename = fields.Char()
    seller_representative = fields.Char()
    buyer_representative = fields.Char()
    note = fields.Char(string='Note on the invoice', size=255, compute='_compute_note', store=True, readonly=False,
                       help='GChu of TTHDLQuan, also printed as the first line of the invoice.')
    create_notice = fields.Boolean(string='Also prepare a 04/SS notice',
                                   help='Not required for adjustment and replacement invoices under Decree 70/2025; '
                                        'useful when the tax authority asked for an explanation (01/TB-RSĐT).')

    @api.depends('origin_ids')
    def _compute_origin_data(self):
        for wizard in self:
            origins = wizard.origin_ids
            wizard.company_id = origins.company_id[:1]
            wizard.currency_id = origins.currency_id[:1]
            wizard.partner_id = origins.commercial_partner_id[:1]
            wizard.several = len(origins) > 1

    def _compute_note(self):
        for wizard in self:
            wizard.note = wizard._default_note()

    def _reference(self):
        return self.env['account.move']._l10n_vn_einvoice_reference(
            self.origin_ids, self._relation, self.list_number, self.list_date)

    @api.model
    def _origins_from_context(self, event):
        ctx = self.env.context
        if ctx.get('active_model') != 'account.move' or not ctx.get('active_ids'):
            return self.env['account.move']
        origins = self.env['account.move'].browse(ctx['active_ids'])
        self._check_origins(origins, event)
        return origins

    @api.model
    def _check_origins(self, origins, event):
        errors = []
        for origin in origins:
            if origin.move_type not in ('out_invoice', 'out_refund') or not origin.l10n_vn_einvoice_number:
                errors.append(_('%s is not an issued e-invoice.', origin.display_name))
                continue
            if origin.state != 'posted':
                errors.append(_('%s is not posted.', origin.display_name))
            errors += origin._l10n_vn_einvoice_correction_problems(event)
        if len(origins.company_id) > 1:
            errors.append(_('The e-invoices belong to several companies.'))
        if len(origins.commercial_partner_id) > 1:
            errors.append(_('One invoice corrects several e-invoices of the same buyer only.'))
        if len(origins.currency_id) > 1:
            errors.append(_('The e-invoices are in several currencies.'))
        if errors:
            raise UserError('\n'.join(errors))

    def _check_common(self):
        self.ensure_one()
        event = lifecycle.Event.ADJUST if self._relation == 'adjustment' else lifecycle.Event.REPLACE
        self._check_origins(self.origin_ids, event)
        if self.several and not (self.list_number and self.list_date):
            raise UserError(_('One invoice for several e-invoices needs the number and date of the list 01/BK-ĐCTT '
                              '(Decree 70/2025).'))
        late = self.origin_ids.filtered(lambda m: m.invoice_date and m.invoice_date > self.invoice_date)
        if late:
            raise UserError(_('E-invoice %s is dated after the new invoice.', late[0].l10n_vn_einvoice_name))

    def _agreement_kind(self):
        return 'adjust' if self._relation == 'adjustment' else 'replace'

    def _agreement_contents(self):
        return '', ''

    def _create_agreement(self):
        wrong, right = self._agreement_contents()
        vals = {
            'kind': self._agreement_kind(), 'date': self.agreement_date, 'reason': self.reason,
            'wrong_content': wrong, 'right_content': right,
            'company_id': self.company_id.id, 'partner_id': self.partner_id.id,
            'move_ids': [Command.set(self.origin_ids.ids)],
            'scan': self.agreement_scan, 'scan_filename': self.agreement_scan_filename,
            'seller_representative': self.seller_representative, 'buyer_representative': self.buyer_representative,
        }
        if self.agreement_name:
            vals['name'] = self.agreement_name
        return self.env['l10n_vn_einvoice.agreement'].create(vals)

    def _correction_vals(self, agreement):
        """The fields every correction invoice carries (the note only when typed by hand)."""
        vals = {
            'l10n_vn_einvoice_relation': self._relation,
            'l10n_vn_einvoice_origin_ids': [Command.set(self.origin_ids.ids)],
            'l10n_vn_einvoice_agreement_id': agreement.id,
            'invoice_date': self.invoice_date,
            'invoice_origin': ', '.join(self.origin_ids.mapped('l10n_vn_einvoice_name')),
        }
        if self.note and self.note != self._default_note():
            vals['l10n_vn_einvoice_correction_note'] = self.note
        if self.several:
            vals.update(l10n_vn_einvoice_list_number=self.list_number, l10n_vn_einvoice_list_date=self.list_date)
        return vals

    def _after_create(self, move, agreement):
        if self.create_notice:
            nature = '2' if self._relation == 'adjustment' else '3'
            self.env['l10n_vn_einvoice.notice'].create({
                'company_id': self.company_id.id, 'agreement_id': agreement.id,
                'line_ids': [Command.create({'move_id': origin.id, 'nature': nature, 'reason': (self.reason or '')[:255]})
                             for origin in self.origin_ids],
            })
        links = self.origin_ids._l10n_vn_einvoice_html_list()
        move.message_post(body=_('Correction of e-invoice %(origins)s, agreement %(agreement)s.', origins=links,
                                 agreement=agreement._get_html_link()))

    def _open(self, move):
        return {'type': 'ir.actions.act_window', 'res_model': 'account.move', 'res_id': move.id,
                'view_mode': 'form', 'name': move.display_name}

    def action_create(self):
        move = self._create_move()
        return self._open(move)

    def action_create_and_issue(self):
        move = self._create_move()
        move.action_post()
        move.action_l10n_vn_einvoice_issue()
        return self._open(move)


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
        super()._compute_note()

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


class L10nVnEinvoiceAdjustmentWizardLine(models.TransientModel):
    _name = 'l10n_vn_einvoice.adjustment.wizard.line'
    _description = 'Line of an e-invoice adjustment'

    wizard_id = fields.Many2one('l10n_vn_einvoice.adjustment.wizard', required=True, ondelete='cascade')
    currency_id = fields.Many2one(related='wizard_id.currency_id')
    company_id = fields.Many2one(related='wizard_id.company_id')
    origin_line_id = fields.Many2one('account.move.line', string='Original line', readonly=True)
    name = fields.Char(string='Description', required=True)
    product_id = fields.Many2one('product.product')
    product_uom_id = fields.Many2one('uom.uom', string='Unit')
    quantity = fields.Float(string='Invoiced quantity', digits='Product Unit of Measure')
    price_unit = fields.Float(string='Invoiced unit price', digits='Product Price')
    discount = fields.Float(string='Discount (%)', digits='Discount')
    tax_ids = fields.Many2many('account.tax', 'l10n_vn_einvoice_adj_line_tax_rel', string='Invoiced taxes',
                               domain="[('type_tax_use', '=', 'sale'), ('company_id', 'parent_of', company_id)]")
    what = fields.Selection(WHAT, string='Adjust', required=True, default='none')
    direction = fields.Selection([('increase', 'Increase'), ('decrease', 'Decrease')], required=True,
                                 default='decrease')
    delta_quantity = fields.Float(string='Quantity change', digits='Product Unit of Measure')
    delta_price = fields.Float(string='Unit price change', digits='Product Price')
    delta_amount = fields.Monetary(string='Amount change')
    new_tax_ids = fields.Many2many('account.tax', 'l10n_vn_einvoice_adj_line_new_tax_rel', string='Right taxes',
                                   domain="[('type_tax_use', '=', 'sale'), ('company_id', 'parent_of', company_id)]")

    def _sign(self):
        return 1 if self.direction == 'increase' else -1

    def _words(self):
        return 'tăng' if self.direction == 'increase' else 'giảm'

    def _move_line_vals(self):
        """Lines of the adjustment invoice for this wizard line (signed: decreases negative)."""
        self.ensure_one()
        if self.what == 'none':
            return []
        base = {'product_id': self.product_id.id or False, 'product_uom_id': self.product_uom_id.id or False,
                'discount': self.discount, 'l10n_vn_einvoice_adjust_what': self.what,
                'tax_ids': [Command.set(self.tax_ids.ids)]}
        name, sign = self.name, self._sign()
        if self.what == 'quantity':
            if self.delta_quantity <= 0:
                raise UserError(_('Line "%s": give the quantity to add or remove.', name))
            if self.direction == 'decrease' and self.origin_line_id and self.delta_quantity > self.quantity:
                raise UserError(_('Line "%s": the quantity removed exceeds the invoiced quantity.', name))
            return [{**base, 'name': f'Điều chỉnh {self._words()} số lượng: {name}', 'quantity': self.delta_quantity,
                     'price_unit': self.price_unit * sign}]
        if self.what == 'price':
            if self.delta_price <= 0:
                raise UserError(_('Line "%s": give the change of the unit price.', name))
            return [{**base, 'name': f'Điều chỉnh {self._words()} đơn giá: {name}', 'quantity': self.quantity,
                     'price_unit': self.delta_price * sign}]
        if self.what == 'amount':
            if self.delta_amount <= 0:
                raise UserError(_('Line "%s": give the change of the amount.', name))
            return [{**base, 'name': f'Điều chỉnh {self._words()} thành tiền: {name}', 'quantity': 1, 'discount': 0.0,
                     'price_unit': self.delta_amount * sign}]
        if self.what == 'tax':
            if not self.new_tax_ids or self.new_tax_ids == self.tax_ids:
                raise UserError(_('Line "%s": choose the right VAT, different from the invoiced one.', name))
            old = ', '.join(self.tax_ids.mapped('name'))
            new = ', '.join(self.new_tax_ids.mapped('name'))
            return [
                {**base, 'name': f'Điều chỉnh giảm (thuế suất sai {old}): {name}', 'quantity': self.quantity,
                 'price_unit': -self.price_unit},
                {**base, 'name': f'Điều chỉnh tăng (thuế suất đúng {new}): {name}', 'quantity': self.quantity,
                 'price_unit': self.price_unit, 'tax_ids': [Command.set(self.new_tax_ids.ids)]},
            ]
        # a line that was missing from the invoice (or must be removed entirely, as a decrease)
        if self.quantity <= 0:
            raise UserError(_('Line "%s": give its quantity.', name))
        return [{**base, 'name': f'Điều chỉnh {self._words()}: {name}', 'quantity': self.quantity,
                 'price_unit': self.price_unit * sign}]

    def _describe(self):
        """``(wrong, right)`` text of this line for the minutes (legal Vietnamese)."""
        self.ensure_one()
        cur = self.currency_id

        def state(qty, price, taxes):
            rates = ', '.join(taxes.mapped('name')) or '-'
            return (f'{self.name}: số lượng {_vn_number(qty)}, đơn giá {vn_amount(price, cur)}, '
                    f'thuế {rates}')

        before = state(self.quantity, self.price_unit, self.tax_ids) if self.origin_line_id else ''
        sign = self._sign()
        if self.what == 'quantity':
            after = state(self.quantity + sign * self.delta_quantity, self.price_unit, self.tax_ids)
        elif self.what == 'price':
            after = state(self.quantity, self.price_unit + sign * self.delta_price, self.tax_ids)
        elif self.what == 'amount':
            after = f'{self.name}: thành tiền {"tăng" if sign > 0 else "giảm"} {vn_amount(self.delta_amount, cur)}'
        elif self.what == 'tax':
            after = state(self.quantity, self.price_unit, self.new_tax_ids)
        else:
            after = (f'{self.name}: {"bổ sung" if sign > 0 else "bỏ"} số lượng {_vn_number(self.quantity)}, '
                     f'đơn giá {vn_amount(self.price_unit, cur)}')
        return before, after
