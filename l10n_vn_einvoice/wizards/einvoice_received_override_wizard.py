from odoo import api, fields, models


class L10nVnEinvoiceReceivedOverrideWizard(models.TransientModel):
    _name = 'l10n_vn_einvoice.received.override.wizard'
    _description = 'Override the failed checks of a received e-invoice'

    move_id = fields.Many2one('account.move', string='Bill', required=True, readonly=True, ondelete='cascade')
    failed_checks = fields.Text(string='Failed checks', compute='_compute_failed_checks')
    reason = fields.Text(required=True,
                         help='Why the bill may be booked although these checks failed; written in the chatter.')

    @api.depends('move_id')
    def _compute_failed_checks(self):
        for wizard in self:
            wizard.failed_checks = '\n'.join(wizard.move_id._l10n_vn_einvoice_received_failed()) if wizard.move_id \
                else False

    def action_confirm(self):
        self.ensure_one()
        self.move_id._l10n_vn_einvoice_received_override(self.reason)
        return {'type': 'ir.actions.act_window_close'}
