from odoo import fields, models


class L10nVnEinvoiceProviderToken(models.Model):
    """The session token of a provider account (token login), shared by the workers. No access rights:
    read and written by the issuing code only."""

    _name = 'l10n_vn_einvoice.provider.token'
    _description = 'E-invoice provider session token'
    _log_access = False

    provider_id = fields.Many2one('l10n_vn_einvoice.provider', required=True, ondelete='cascade', index=True)
    key_hash = fields.Char()
    token = fields.Char()
    expiry = fields.Float()

    _sql_constraints = [('provider_uniq', 'unique(provider_id)', 'One token per provider account.')]
