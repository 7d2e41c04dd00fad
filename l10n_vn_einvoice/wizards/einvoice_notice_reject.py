from odoo import fields, models


class L10nVnEinvoiceNoticeReject(models.TransientModel):
    _name = 'l10n_vn_einvoice.notice.reject'
    _description = 'Reject a 04/SS notice'

    notice_id = fields.Many2one('l10n_vn_einvoice.notice', required=True)
    reason = fields.Text(required=True)

    def action_confirm(self):
        self.notice_id._reject(self.reason)
        return {'type': 'ir.actions.act_window_close'}
