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
env.cr.commit()
print(f'APIKEY={key}')
