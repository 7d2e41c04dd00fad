# ruff: noqa: F821 - `env` is given by odoo-bin shell
# Run by scripts/api-schemathesis in `odoo-bin shell` on a demo database: a user of the demo company with
# an Odoo API key, rate limits (per key, failed authentications per address) that fuzzing does not reach;
# prints APIKEY=…
company = env.ref('base.demo_company_vn')
user = env['res.users'].create({
    'name': 'schemathesis', 'login': 'schemathesis', 'email': 'st@example.vn', 'company_id': company.id,
    'company_ids': [(6, 0, company.ids)],
    'groups_id': [(6, 0, [env.ref('account.group_account_invoice').id,
                          env.ref('l10n_vn_einvoice.group_l10n_vn_einvoice_user').id])],
})
key = env['res.users.apikeys'].with_user(user).sudo()._generate(None, 'schemathesis', None)
env['ir.config_parameter'].sudo().set_param('l10n_vn_einvoice.api_rate_per_minute', '100000')
env['ir.config_parameter'].sudo().set_param('l10n_vn_einvoice.api_auth_failures_per_minute', '100000')
# the demo company's tax-authority sandbox (port 8460) is not started here: its connection is archived, and
# the concurrency script issues in K<yy>TAW, signed here without code (K<yy>TAA is the demo provider's)
env.ref('l10n_vn_einvoice.demo_tax_connection').active = False
coded = env['l10n_vn_einvoice.series'].search([('company_id', '=', company.id), ('symbol', '=like', 'C__TAA')], limit=1)
coded.copy({'symbol': 'K' + coded.symbol[1:3] + 'TAW', 'is_default': False})
env.cr.commit()
print(f'APIKEY={key}')
