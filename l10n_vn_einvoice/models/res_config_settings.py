from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = 'res.config.settings'

    l10n_vn_einvoice_mode = fields.Selection(related='company_id.l10n_vn_einvoice_mode', readonly=False)
    l10n_vn_einvoice_signer_id = fields.Many2one(related='company_id.l10n_vn_einvoice_signer_id', readonly=False)
    l10n_vn_einvoice_version = fields.Selection(related='company_id.l10n_vn_einvoice_version', readonly=False)
    l10n_vn_einvoice_provider_vat = fields.Char(related='company_id.l10n_vn_einvoice_provider_vat', readonly=False)
    l10n_vn_einvoice_lookup_url = fields.Char(related='company_id.l10n_vn_einvoice_lookup_url', readonly=False)
    l10n_vn_einvoice_payment_method = fields.Char(related='company_id.l10n_vn_einvoice_payment_method',
                                                  readonly=False)
    l10n_vn_einvoice_auto_issue = fields.Boolean(related='company_id.l10n_vn_einvoice_auto_issue', readonly=False)
    l10n_vn_einvoice_approval = fields.Boolean(related='company_id.l10n_vn_einvoice_approval', readonly=False)
    l10n_vn_einvoice_four_eyes = fields.Boolean(related='company_id.l10n_vn_einvoice_four_eyes', readonly=False)
    l10n_vn_einvoice_sms_template = fields.Text(related='company_id.l10n_vn_einvoice_sms_template', readonly=False)
    l10n_vn_einvoice_provider_id = fields.Many2one(related='company_id.l10n_vn_einvoice_provider_id', readonly=False)
    l10n_vn_einvoice_trusted_ca_ids = fields.Many2many(related='company_id.l10n_vn_einvoice_trusted_ca_ids',
                                                       readonly=False)
    l10n_vn_einvoice_log_text_days = fields.Integer(related='company_id.l10n_vn_einvoice_log_text_days',
                                                    readonly=False, groups='base.group_system')
