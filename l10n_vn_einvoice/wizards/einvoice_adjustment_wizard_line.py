from odoo import Command, _, fields, models
from odoo.exceptions import UserError


from ..models.einvoice_move_correction import vn_amount
from .einvoice_adjustment_wizard import WHAT, _vn_number

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
