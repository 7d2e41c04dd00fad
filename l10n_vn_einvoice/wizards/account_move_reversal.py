from odoo import Command, _, models
from odoo.exceptions import UserError

from vn_einvoice import lifecycle


class AccountMoveReversal(models.TransientModel):
    """Odoo's credit-note wizard cannot bypass the e-invoice rules: a credit note of an issued e-invoice
    is a (decrease) adjustment invoice, allowed only where the life cycle allows an adjustment, and
    "reverse and create invoice" is refused (a replacement goes through the Replace wizard)."""

    _inherit = 'account.move.reversal'

    def reverse_moves(self, is_modify=False):
        for move in self.move_ids.filtered('l10n_vn_einvoice_number'):
            if is_modify:
                raise UserError(_('E-invoice %s is issued: to issue a corrected invoice instead of it, use '
                                  '"Replace" (a replacement e-invoice), not "Reverse and create invoice".',
                                  move.l10n_vn_einvoice_name))
            problems = move._l10n_vn_einvoice_correction_problems(lifecycle.Event.ADJUST)
            if problems:
                raise UserError('\n'.join(problems))
        return super().reverse_moves(is_modify=is_modify)

    def _prepare_default_reversal(self, move):
        values = super()._prepare_default_reversal(move)
        if move.l10n_vn_einvoice_number:
            values.update({
                'l10n_vn_einvoice_relation': 'adjustment',
                'l10n_vn_einvoice_adjustment_kind': 'money',
                'l10n_vn_einvoice_origin_ids': [Command.set(move.ids)],
            })
        return values
