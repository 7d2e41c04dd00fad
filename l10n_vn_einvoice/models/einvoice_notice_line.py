from odoo import _, api, fields, models
from odoo.exceptions import UserError
from .einvoice_notice import NATURES

class L10nVnEinvoiceNoticeLine(models.Model):
    _name = 'l10n_vn_einvoice.notice.line'
    _description = 'Invoice in a 04/SS notice'
    _order = 'notice_id, sequence, id'

    notice_id = fields.Many2one('l10n_vn_einvoice.notice', required=True, ondelete='cascade', index=True)
    company_id = fields.Many2one(related='notice_id.company_id')
    notice_state = fields.Selection(related='notice_id.state', string='Notice state')
    sequence = fields.Integer(default=10)
    move_id = fields.Many2one(
        'account.move', string='Invoice', required=True, ondelete='restrict', index=True,
        domain="[('company_id', '=', company_id), ('l10n_vn_einvoice_number', '!=', 0), "
               "('move_type', 'in', ('out_invoice', 'out_refund'))]")
    nature = fields.Selection(NATURES, required=True, default='4',
                              help='TCTBao: cancellation (coded invoice not yet sent to the buyer), adjustment, '
                                   'replacement, or explanation (wrong buyer name or address, right MST).')
    reason = fields.Char(size=255, help='LDo: what is wrong and what is done about it (written on the notice).')
    einvoice_name = fields.Char(related='move_id.l10n_vn_einvoice_name', string='E-invoice')
    invoice_date = fields.Date(related='move_id.invoice_date')
    einvoice_state = fields.Selection(related='move_id.l10n_vn_einvoice_state', string='E-invoice state')

    def _check_draft(self):
        if self.notice_id.filtered(lambda n: n.state != 'draft'):
            raise UserError(_('Notice %s is signed: reset it to draft to change it.',
                              self.notice_id.filtered(lambda n: n.state != 'draft')[0].name))

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines._check_draft()
        return lines

    def write(self, vals):
        self._check_draft()
        return super().write(vals)

    def unlink(self):
        self._check_draft()
        return super().unlink()

    @api.constrains('move_id', 'notice_id')
    def _check_unique_move(self):
        for line in self:
            if len(line.notice_id.line_ids.filtered(lambda l: l.move_id == line.move_id)) > 1:
                raise UserError(_('Invoice %s is listed twice in the notice.', line.move_id.display_name))
