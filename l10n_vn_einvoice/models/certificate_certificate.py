from odoo import fields, models


class Certificate(models.Model):
    _inherit = 'certificate.certificate'

    scope = fields.Selection(selection_add=[('l10n_vn_einvoice', 'Vietnam e-invoices')],
                             ondelete={'l10n_vn_einvoice': lambda recs: recs.write({'scope': 'general'})})
