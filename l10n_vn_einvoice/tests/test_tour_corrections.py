"""The two corrections of an issued e-invoice, driven by an accountant in the backend web client.

Tours ``l10n_vn_einvoice_adjust`` and ``l10n_vn_einvoice_replace`` (static/tests/tours/einvoice_corrections.js)
run in headless Chromium: the wizards receive what the browser sends (readonly fields only when force_save),
not what ``odoo.tests.Form`` sends. The tours end on the issued new invoice; the signed XML is checked here.
"""

from decimal import Decimal

from odoo import Command
from odoo.tests import HttpCase, tagged

from vn_einvoice.document import RelationKind
from vn_einvoice.signing import verify_invoice

from .test_corrections import CorrectionCommon
from .test_portal import require_browser


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestCorrectionTours(CorrectionCommon, HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the accountant of AccountTestInvoicingCommon (login and password 'accountman'), working in the VN company
        cls.user = cls.env.user
        cls.user.write({'company_ids': [Command.link(cls.company.id)], 'company_id': cls.company.id})

    def setUp(self):
        super().setUp()
        require_browser(self)
        self.origin = self.issued([(2, 1_500_000, self.tax_10)])

    def start(self, tour):
        self.start_tour(f'/odoo/action-account.action_move_out_invoice_type/{self.origin.id}', tour,
                        login=self.user.login, timeout=180)
        self.env.invalidate_all()

    def test_adjust_unit_price_in_browser(self):
        self.start('l10n_vn_einvoice_adjust')
        adj = self.origin.l10n_vn_einvoice_adjustment_ids
        self.assertEqual(len(adj), 1)
        self.assertEqual(adj.move_type, 'out_refund')
        self.assertEqual(adj.l10n_vn_einvoice_state, 'USING', adj.l10n_vn_einvoice_error)
        self.assertEqual(adj.l10n_vn_einvoice_number, 2)
        self.assertEqual(self.origin.l10n_vn_einvoice_state, 'ADJUSTED')
        self.assertEqual(adj.l10n_vn_einvoice_agreement_id.reason, 'Hai bên thống nhất giảm đơn giá')
        self.assertTrue(verify_invoice(self.xml_of(adj)).valid)
        doc = self.document_of(adj)
        self.assertEqual(doc.related.relation, RelationKind.ADJUSTMENT)
        goods = doc.lines[-1]
        self.assertEqual((goods.quantity, goods.unit_price, goods.amount),
                         (Decimal(2), Decimal(-100_000), Decimal(-200_000)))
        self.assertTrue(goods.name.startswith('Điều chỉnh giảm đơn giá: '))
        self.assertEqual((doc.totals.total_before_tax, doc.totals.total_tax, doc.totals.total),
                         (Decimal(-200_000), Decimal(-20_000), Decimal(-220_000)))

    def test_replace_in_browser(self):
        self.start('l10n_vn_einvoice_replace')
        new = self.origin.l10n_vn_einvoice_replacement_ids
        self.assertEqual(len(new), 1)
        self.assertEqual(new.move_type, 'out_invoice')
        self.assertEqual(new.state, 'posted')
        self.assertEqual(new.l10n_vn_einvoice_state, 'USING', new.l10n_vn_einvoice_error)
        self.assertEqual(new.l10n_vn_einvoice_number, 2)
        self.assertEqual(self.origin.l10n_vn_einvoice_state, 'CHANGE')
        self.assertEqual(new.l10n_vn_einvoice_agreement_id.reason, 'Sai đơn giá')
        self.assertTrue(verify_invoice(self.xml_of(new)).valid)
        doc = self.document_of(new)
        self.assertEqual(doc.related.relation, RelationKind.REPLACEMENT)
        self.assertEqual(doc.totals.total, Decimal(3_080_000))
        self.assertEqual(self.origin.payment_state, 'reversed')
