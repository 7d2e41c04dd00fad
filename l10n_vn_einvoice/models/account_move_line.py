from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .einvoice_move_correction import ADJUST_WHAT

# What an e-invoice line shows (HHDVu) and its amounts: frozen once the e-invoice is issued.
EINVOICE_LINE_FIELDS = frozenset({
    'name', 'product_id', 'product_uom_id', 'quantity', 'price_unit', 'discount', 'tax_ids', 'display_type',
    'currency_id', 'amount_currency', 'balance', 'debit', 'credit', 'price_subtotal', 'price_total',
})


class AccountMoveLine(models.Model):
    _inherit = 'account.move.line'

    l10n_vn_einvoice_adjust_what = fields.Selection(
        ADJUST_WHAT, string='Adjusted', copy=False,
        help='On an adjustment invoice: what this line adjusts on the original invoice.')

    def _l10n_vn_einvoice_refuse_change(self, moves):
        # a number refused by the tax authority is only reserved: the invoice is corrected, then issued under it
        issued = moves.filtered(lambda m: m._l10n_vn_einvoice_is_issued() or (
            m.l10n_vn_einvoice_number and m.l10n_vn_einvoice_cqt_state != 'refused'))
        if issued and not self.env.context.get('l10n_vn_einvoice_internal'):
            raise UserError(_(
                'E-invoice %s is issued: its lines (description, quantity, unit price, taxes, amounts) must stay '
                'what was signed. Correct it with an adjustment or a replacement invoice.',
                ', '.join(issued.mapped(lambda m: m.l10n_vn_einvoice_name or m.display_name))))

    @api.model_create_multi
    def create(self, vals_list):
        move_ids = {vals['move_id'] for vals in vals_list if vals.get('move_id')}
        if move_ids:
            self._l10n_vn_einvoice_refuse_change(self.env['account.move'].browse(move_ids))
        return super().create(vals_list)

    def write(self, vals):
        touched = EINVOICE_LINE_FIELDS & set(vals)
        if touched or 'move_id' in vals:
            Move = self.env['account.move']
            changed = self.filtered(lambda line: 'move_id' in vals or any(
                Move._field_will_change(line, vals, fname) for fname in touched))
            moves = changed.move_id
            if 'move_id' in vals:
                moves |= Move.browse(vals['move_id'])
            self._l10n_vn_einvoice_refuse_change(moves)
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_einvoice_issued(self):
        self._l10n_vn_einvoice_refuse_change(self.move_id)
