from datetime import date

from odoo import Command
from odoo.tests import Form
from odoo.tests import common as odoo_tests_common
from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from vn_einvoice.xml import parse_xml

# Odoo gives Chromium 10 s to open its DevTools port, then SKIPS the browser test (and leaves the browser
# running). On a loaded CI machine that is too short: give it a minute, so a browser test runs or fails.
odoo_tests_common.CHECK_BROWSER_ITERATIONS = max(odoo_tests_common.CHECK_BROWSER_ITERATIONS, 600)

SELLER_MST = '0312345673'
BUYER_MST = '0101234565'
OTHER_MST = '0309887764'  # a second seller (another company)


class EinvoiceCommon(AccountTestInvoicingCommon):
    """A Vietnamese company configured to sign locally with a throw-away test certificate."""

    @classmethod
    @AccountTestInvoicingCommon.setup_country('vn')
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.company_data['company']
        cls.company.write({
            'street': '12 Nguyễn Huệ', 'city': 'TP. Hồ Chí Minh', 'phone': '02838000000',
            'email': 'ketoan@seller.example.vn',
        })
        cls.signer, cls.series = cls.company._l10n_vn_einvoice_setup_test_signer(SELLER_MST)
        cls.year = date.today().year
        cls.tax_10 = cls._vn_tax(10)
        cls.tax_8 = cls._vn_tax(8)
        cls.tax_0 = cls._vn_tax(0)
        cls.tax_kct = cls.env['account.chart.template'].ref('tax_sale_vat_exemption')
        cls.partner_a.write({
            'name': 'Công ty Cổ phần Khách hàng', 'is_company': True, 'vat': BUYER_MST,
            'street': '1 Tràng Tiền', 'city': 'Hà Nội', 'country_id': cls.env.ref('base.vn').id,
            'email': 'ap@buyer.example.vn',
        })
        cls.env.user.groups_id |= cls.env.ref('l10n_vn_einvoice.group_l10n_vn_einvoice_manager')

    @classmethod
    def _vn_tax(cls, amount, company=None):
        return cls.env['account.tax'].search([
            ('company_id', '=', (company or cls.company).id), ('type_tax_use', '=', 'sale'), ('amount', '=', amount),
            ('amount_type', '=', 'percent'), ('tax_group_id.name', 'not ilike', 'exempt'),
        ], limit=1)

    @classmethod
    def setup_other_vn_company(cls, tax_code=OTHER_MST, name='Công ty TNHH Thứ Hai'):
        """A second Vietnamese company (VN chart) with its own test signer, template and series.

        Returns ``(company_data, signer, series)``; ``company_data['tax_10']`` is its 10% VAT.
        """
        company_data = cls.setup_other_company(name=name)
        company = company_data['company']
        company.write({'street': '5 Lê Lợi', 'city': 'Đà Nẵng'})
        signer, series = company._l10n_vn_einvoice_setup_test_signer(tax_code)
        company_data['tax_10'] = cls._vn_tax(10, company)
        return company_data, signer, series

    def make_company_invoice(self, company_data, amounts=(1_000_000,), partner=None, post=True, **vals):
        """A customer invoice of another company (``company_data`` of ``setup_other_vn_company``)."""
        company = company_data['company']
        env = self.env(context=dict(self.env.context, allowed_company_ids=[company.id]))
        move = env['account.move'].create({
            'move_type': 'out_invoice', 'partner_id': (partner or self.partner_a).id,
            'journal_id': company_data['default_journal_sale'].id, 'invoice_date': date.today(),
            'invoice_line_ids': [
                Command.create({'name': f'Dịch vụ {i}', 'quantity': 1, 'price_unit': amount,
                                'tax_ids': [Command.set(company_data['tax_10'].ids)]})
                for i, amount in enumerate(amounts)
            ],
            **vals,
        })
        if post:
            move.action_post()
        return move.with_env(self.env)

    def make_invoice(self, lines=None, partner=None, invoice_date=None, post=True, move_type='out_invoice', **vals):
        lines = lines or [(2, 1_500_000, self.tax_10)]
        move = self.env['account.move'].create({
            'move_type': move_type,
            'partner_id': (partner or self.partner_a).id,
            'invoice_date': invoice_date or date.today(),
            'invoice_line_ids': [
                Command.create({'product_id': self.product_a.id, 'quantity': qty, 'price_unit': price,
                                'tax_ids': [Command.set(tax.ids)]})
                for qty, price, tax in lines
            ],
            **vals,
        })
        if post:
            move.action_post()
        return move

    # ------------------------------------------------------------------
    # Wizards as the web client drives them: opened by the button's action, filled and saved through
    # their real form view (readonly fields are not sent unless force_save), then the button called.
    # ------------------------------------------------------------------

    WIZARD_ACTIONS = {
        'l10n_vn_einvoice.adjustment.wizard': 'action_l10n_vn_einvoice_adjust',
        'l10n_vn_einvoice.replacement.wizard': 'action_l10n_vn_einvoice_replace',
        'l10n_vn_einvoice.correction.wizard': 'action_l10n_vn_einvoice_correct',
    }

    def wizard_form(self, action):
        """The form of the wizard a button's ``action`` opens, with the action's context."""
        return Form(self.env[action['res_model']].with_context(**action.get('context', {})))

    @staticmethod
    def fill(form, vals):
        for name, value in vals.items():
            setattr(form, name, value)
        return form

    def fill_lines(self, form, line_changes, field='line_ids'):
        """``line_changes`` {index: {field: value}} typed into the editable list ``field``."""
        for index, change in (line_changes or {}).items():
            with getattr(form, field).edit(index) as line:
                self.fill(line, change)
        return form

    def wizard(self, model, moves, lines=None, action=None, **vals):
        """The wizard ``model`` opened on ``moves`` by its button (or ``action``), filled with ``vals`` and
        ``lines``, saved as the web client saves it."""
        action = action or getattr(moves, self.WIZARD_ACTIONS[model])()
        self.assertEqual(action['res_model'], model)
        form = self.wizard_form(action)
        if 'reason' in form._view['fields'] and model != 'l10n_vn_einvoice.correction.wizard':
            vals = {'reason': 'Hai bên thống nhất điều chỉnh', **vals}
        self.fill(form, vals)
        self.fill_lines(form, lines)
        return form.save()

    def issue(self, moves):
        return moves.action_l10n_vn_einvoice_issue()

    def xml_of(self, move):
        self.assertTrue(move.l10n_vn_einvoice_xml_id, 'the signed XML is attached')
        return move.l10n_vn_einvoice_xml_id.raw

    def document_of(self, move):
        return parse_xml(self.xml_of(move))
