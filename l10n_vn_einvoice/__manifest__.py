{
    'name': 'Vietnam - E-invoices (local signing and providers)',
    'version': '18.0.1.0.0',
    'countries': ['vn'],
    'category': 'Accounting/Localizations/EDI',
    'summary': 'Issue, sign, correct and prove Vietnamese e-invoices (Decree 123/70, Circular 32/2025)',
    'description': """
Vietnamese e-invoices (hóa đơn điện tử) in Odoo 18
===================================================
* Invoice templates (mẫu số) and series (ký hiệu), current and legacy (01GTKT0/001, AA/17E).
* Life cycle CREATED / USING / CANCEL / ADJUSTED / CHANGE / DELETE and signing status.
* Local issuance: legal HDon XML (Decision 1271/QĐ-CT), signed with a PKCS#12 certificate
  or a PKCS#11 token/HSM, verified, with its QR code.

Built on the pure-Python library ``vn_einvoice``.
""",
    'author': 'l10n_vn_einvoice developers',
    'website': 'https://github.com/l10n-vn-einvoice/l10n_vn_einvoice',
    'license': 'LGPL-3',
    'depends': ['account', 'l10n_vn', 'certificate', 'mail', 'portal'],
    'external_dependencies': {
        'python': ['vn-einvoice', 'lxml', 'qrcode', 'python-stdnum', 'cryptography'],
    },
    'data': [
        'security/l10n_vn_einvoice_security.xml',
        'security/ir.model.access.csv',
        'data/ir_cron.xml',
        'views/einvoice_template_views.xml',
        'views/einvoice_series_views.xml',
        'views/einvoice_signer_views.xml',
        'views/account_move_views.xml',
        'views/account_tax_views.xml',
        'views/res_config_settings_views.xml',
        'views/menus.xml',
        'security/l10n_vn_einvoice_correction_security.xml',
        'data/l10n_vn_einvoice_correction_data.xml',
        'reports/l10n_vn_einvoice_correction_reports.xml',
        'views/einvoice_correction_views.xml',
        'wizards/einvoice_correction_wizard_views.xml',
        'security/l10n_vn_einvoice_portal_security.xml',
        'reports/l10n_vn_einvoice_templates.xml',
        'reports/l10n_vn_einvoice_report.xml',
        'data/mail_template_data.xml',
        'views/portal_templates.xml',
        'views/res_partner_report_views.xml',
        'security/l10n_vn_einvoice_provider_security.xml',
        'data/einvoice_provider_data.xml',
        'views/einvoice_provider_views.xml',
    ],
    'demo': [
        'demo/demo_company.xml',
        'demo/einvoice_provider_demo.xml',
    ],
    'assets': {
        'web.assets_tests': [
            'l10n_vn_einvoice/static/tests/tours/**/*',
        ],
    },
    'installable': True,
}
