from odoo import fields, models


class L10nVnEinvoiceProviderField(models.Model):
    """A custom (dynamic) field of a provider template (SInvoice getCustomFields), for the metadata block."""

    _name = 'l10n_vn_einvoice.provider.field'
    _description = 'E-invoice provider custom field'
    _order = 'provider_id, template_code, field_id'

    provider_id = fields.Many2one('l10n_vn_einvoice.provider', required=True, ondelete='cascade')
    company_id = fields.Many2one(related='provider_id.company_id', store=True)
    template_code = fields.Char(string='Provider template', required=True)
    field_id = fields.Integer(string='Provider id', required=True)
    key = fields.Char(required=True)
    label = fields.Char()
    value_type = fields.Char(string='Type')
    required = fields.Boolean()
    seller_side = fields.Boolean(string='Filled by the seller')
