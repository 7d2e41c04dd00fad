import shutil
import subprocess
from datetime import date
from decimal import Decimal
from unittest import skipUnless

from lxml import etree

from odoo.exceptions import UserError
from odoo.tests import Form, HttpCase, tagged

from vn_einvoice.document import LineKind, RelationKind
from vn_einvoice.signing import verify_invoice

from .common import BUYER_MST, EinvoiceCommon

HAS_PDF_TOOLS = bool(shutil.which('wkhtmltopdf') and shutil.which('pdftotext'))


def pdf_text(pdf):
    """The PDF's text, whitespace (line breaks of wrapped text included) collapsed to single spaces."""
    return ' '.join(_pdftotext(pdf).split())


def _pdftotext(pdf):
    return subprocess.run(['pdftotext', '-layout', '-', '-'], input=pdf, capture_output=True, check=True, timeout=60).stdout.decode()


class CorrectionCommon(EinvoiceCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({'l10n_vn_einvoice_tax_office_code': '79100',
                           'l10n_vn_einvoice_tax_office_name': 'Chi cục Thuế khu vực I'})
        cls.yy = f'{cls.year % 100:02d}'

    def issued(self, lines=None, **kw):
        move = self.make_invoice(lines, **kw)
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        return move

    def adjust(self, moves, line_changes=None, issue=True, **vals):
        """Adjustment wizard: ``line_changes`` {index: {what, direction, delta_…}} on the prefilled lines."""
        wizard = self.wizard('l10n_vn_einvoice.adjustment.wizard', moves, lines=line_changes, **vals)
        action = wizard.action_create_and_issue() if issue else wizard.action_create()
        return self.env['account.move'].browse(action['res_id']), wizard

    def raw_xml(self, move):
        return etree.fromstring(self.xml_of(move))


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestCorrections(CorrectionCommon):

    # ------------------------------------------------------------------
    # Adjustment of amounts
    # ------------------------------------------------------------------

    def test_decrease_unit_price(self):
        origin = self.issued([(2, 1_500_000, self.tax_10)])
        adj, wizard = self.adjust(origin, {0: {'what': 'price', 'direction': 'decrease', 'delta_price': 100_000}})
        self.assertEqual(wizard.amount_total, -220_000)
        self.assertEqual(adj.move_type, 'out_refund')
        self.assertEqual(adj.reversed_entry_id, origin)
        self.assertEqual(adj.l10n_vn_einvoice_state, 'USING', adj.l10n_vn_einvoice_error)
        self.assertEqual(adj.l10n_vn_einvoice_number, 2)
        self.assertEqual(origin.l10n_vn_einvoice_state, 'ADJUSTED')
        # links both ways
        self.assertEqual(adj.l10n_vn_einvoice_origin_ids, origin)
        self.assertEqual(origin.l10n_vn_einvoice_adjustment_ids, adj)
        self.assertEqual(origin.l10n_vn_einvoice_adjustment_count, 1)
        self.assertEqual(adj.l10n_vn_einvoice_relation, 'adjustment')
        self.assertTrue(verify_invoice(self.xml_of(adj)).valid)
        doc = self.document_of(adj)
        rel = doc.related
        self.assertEqual(rel.relation, RelationKind.ADJUSTMENT)
        self.assertEqual((rel.template, rel.symbol, rel.number, rel.issue_date),
                         ('1', f'C{self.yy}TAA', '1', origin.invoice_date))
        expected_note = (f'Điều chỉnh giảm đơn giá cho hóa đơn Mẫu số 1, ký hiệu C{self.yy}TAA, số 1, '
                         f'ngày {origin.invoice_date:%d/%m/%Y}')
        self.assertEqual(rel.note, expected_note)
        self.assertEqual(self.raw_xml(adj).findtext('DLHDon/TTChung/TTHDLQuan/TCHDon'), '2')
        note, goods = doc.lines
        self.assertEqual((note.kind, note.name), (LineKind.NOTE, expected_note))
        self.assertEqual(goods.kind, LineKind.GOODS)
        self.assertEqual((goods.quantity, goods.unit_price, goods.amount), (Decimal(2), Decimal(-100_000), Decimal(-200_000)))
        self.assertEqual(goods.tax_rate.code, '10%')
        self.assertTrue(goods.name.startswith('Điều chỉnh giảm đơn giá:'))
        self.assertEqual((doc.totals.total_before_tax, doc.totals.total_tax, doc.totals.total),
                         (Decimal(-200_000), Decimal(-20_000), Decimal(-220_000)))
        self.assertEqual(doc.totals.total_in_words, 'Hai trăm hai mươi nghìn đồng chẵn')
        # the agreement
        agreement = adj.l10n_vn_einvoice_agreement_id
        self.assertEqual(agreement.kind, 'adjust')
        self.assertEqual(agreement.move_ids, origin)
        self.assertEqual(agreement.correction_move_ids, adj)
        self.assertIn('đơn giá 1.500.000', agreement.wrong_content)
        self.assertIn('đơn giá 1.400.000', agreement.right_content)
        self.assertEqual(origin.l10n_vn_einvoice_agreement_count, 1)

    def test_increase_quantity_then_second_adjustment(self):
        origin = self.issued([(2, 1_500_000, self.tax_10), (1, 500_000, self.tax_8)])
        first, _wizard = self.adjust(origin, {0: {'what': 'quantity', 'direction': 'increase', 'delta_quantity': 1}})
        self.assertEqual(first.move_type, 'out_invoice')
        doc = self.document_of(first)
        self.assertTrue(doc.related.note.startswith('Điều chỉnh tăng số lượng cho hóa đơn Mẫu số 1'))
        goods = [ln for ln in doc.lines if ln.kind is LineKind.GOODS]
        self.assertEqual(len(goods), 1, 'unchanged lines are not on the adjustment invoice')
        self.assertEqual((goods[0].quantity, goods[0].unit_price, goods[0].amount),
                         (Decimal(1), Decimal(1_500_000), Decimal(1_500_000)))
        self.assertEqual(doc.totals.total, Decimal(1_650_000))
        self.assertEqual(doc.totals.total_in_words, 'Một triệu sáu trăm năm mươi nghìn đồng chẵn')
        self.assertEqual(origin.l10n_vn_einvoice_state, 'ADJUSTED')
        # a second adjustment of the same invoice: decrease the amount of the second line
        second, _wizard = self.adjust(origin, {1: {'what': 'amount', 'direction': 'decrease', 'delta_amount': 50_000}})
        self.assertEqual(second.l10n_vn_einvoice_state, 'USING', second.l10n_vn_einvoice_error)
        doc2 = self.document_of(second)
        goods2 = [ln for ln in doc2.lines if ln.kind is LineKind.GOODS][0]
        self.assertIsNone(goods2.quantity)
        self.assertIsNone(goods2.unit_price)
        self.assertEqual(goods2.amount, Decimal(-50_000))
        self.assertEqual(goods2.tax_rate.code, '8%')
        self.assertEqual(doc2.totals.total, Decimal(-54_000))
        self.assertEqual(origin.l10n_vn_einvoice_state, 'ADJUSTED')
        self.assertEqual(origin.l10n_vn_einvoice_adjustment_ids, first | second)
        self.assertEqual(origin.l10n_vn_einvoice_adjustment_count, 2)
        action = origin.action_l10n_vn_einvoice_view_adjustments()
        self.assertEqual(action['domain'][0][:2], ('id', 'in'))
        self.assertEqual(sorted(action['domain'][0][2]), sorted((first | second).ids))

    def test_vat_rate_adjustment(self):
        origin = self.issued([(1, 10_000_000, self.tax_10)])
        adj, wizard = self.adjust(origin, {0: {'what': 'tax', 'new_tax_ids': self.tax_8}})
        self.assertEqual(wizard.amount_total, -200_000)
        self.assertEqual(adj.move_type, 'out_refund')
        doc = self.document_of(adj)
        self.assertIn('Điều chỉnh tăng, giảm thuế suất', doc.related.note)
        goods = [ln for ln in doc.lines if ln.kind is LineKind.GOODS]
        self.assertEqual([(ln.amount, ln.tax_rate.code) for ln in goods],
                         [(Decimal(-10_000_000), '10%'), (Decimal(10_000_000), '8%')])
        breakdown = {b.rate.code: (b.taxable_amount, b.tax_amount) for b in doc.tax_breakdown}
        self.assertEqual(breakdown, {'10%': (Decimal(-10_000_000), Decimal(-1_000_000)),
                                     '8%': (Decimal(10_000_000), Decimal(800_000))})
        self.assertEqual(doc.totals.total, Decimal(-200_000))
        self.assertEqual(doc.totals.total_in_words, 'Hai trăm nghìn đồng chẵn')
        self.assertIn('thuế 10%', adj.l10n_vn_einvoice_agreement_id.wrong_content.replace('Thuế GTGT ', ''))

    def test_information_adjustment(self):
        origin = self.issued()
        form = self.wizard_form(origin.action_l10n_vn_einvoice_adjust())
        self.fill(form, {'reason': 'Sai tên, địa chỉ', 'kind': 'info'})
        self.assertEqual(form.old_buyer_name, 'Công ty Cổ phần Khách hàng')
        self.assertEqual(form.old_buyer_vat, BUYER_MST)
        self.fill(form, {'buyer_name': 'Công ty Cổ phần Khách hàng Mới', 'buyer_address': '2 Tràng Tiền, Hà Nội'})
        self.assertIn('19.2.a', form.legal_hint)
        wizard = form.save()
        self.assertEqual(wizard.old_buyer_name, 'Công ty Cổ phần Khách hàng', 'the issued data is saved too')
        adj = self.env['account.move'].browse(wizard.action_create_and_issue()['res_id'])
        self.assertEqual(adj.l10n_vn_einvoice_state, 'USING', adj.l10n_vn_einvoice_error)
        self.assertEqual(adj.amount_total, 0)
        self.assertEqual(origin.l10n_vn_einvoice_state, 'ADJUSTED')
        doc = self.document_of(adj)
        self.assertEqual(doc.related.relation, RelationKind.ADJUSTMENT)
        self.assertTrue(doc.related.note.startswith('Điều chỉnh thông tin người mua cho hóa đơn Mẫu số 1'))
        self.assertEqual(doc.buyer.name, 'Công ty Cổ phần Khách hàng Mới')
        self.assertEqual(doc.buyer.address, '2 Tràng Tiền, Hà Nội')
        self.assertEqual(doc.buyer.tax_code, BUYER_MST)
        self.assertTrue(all(ln.kind is LineKind.NOTE for ln in doc.lines))
        self.assertIn('Tên người mua: Công ty Cổ phần Khách hàng → Công ty Cổ phần Khách hàng Mới',
                      doc.lines[1].name)
        self.assertEqual((doc.totals.total_before_tax, doc.totals.total_tax, doc.totals.total),
                         (Decimal(0), Decimal(0), Decimal(0)))
        self.assertEqual(doc.totals.total_in_words, 'Không đồng')
        self.assertFalse(doc.tax_breakdown)
        self.assertEqual(self.partner_a.name, 'Công ty Cổ phần Khách hàng Mới')
        agreement = adj.l10n_vn_einvoice_agreement_id
        self.assertIn('Tên người mua: Công ty Cổ phần Khách hàng\n', agreement.wrong_content + '\n')

    def test_adjustment_draft_is_editable_and_note_follows_lines(self):
        origin = self.issued([(2, 1_500_000, self.tax_10)])
        adj, wizard = self.adjust(origin, {0: {'what': 'quantity', 'direction': 'decrease', 'delta_quantity': 1}},
                                  issue=False)
        self.assertEqual(adj.state, 'draft')
        self.assertFalse(adj.l10n_vn_einvoice_correction_note, 'the note is written from the lines at issue')
        with Form(adj) as form, form.invoice_line_ids.edit(0) as line:
            line.quantity = 2
        adj.action_post()
        self.issue(adj)
        self.assertEqual(self.document_of(adj).totals.total, Decimal(-3_300_000))

    # ------------------------------------------------------------------
    # Replacement
    # ------------------------------------------------------------------

    def test_replacement(self):
        origin = self.issued([(2, 1_500_000, self.tax_10)])
        wizard = self.wizard('l10n_vn_einvoice.replacement.wizard', origin, reason='Sai đơn giá')
        self.assertEqual(wizard.note, f'Thay thế cho hóa đơn Mẫu số 1, ký hiệu C{self.yy}TAA, số 1, '
                                      f'ngày {origin.invoice_date:%d/%m/%Y}')
        new = self.env['account.move'].browse(wizard.action_create()['res_id'])
        self.assertEqual(new.state, 'draft')
        self.assertEqual(new.move_type, 'out_invoice')
        self.assertEqual(new.partner_id, origin.partner_id)
        self.assertEqual(new.invoice_line_ids.mapped('quantity'), [2.0])
        self.assertEqual(new.invoice_line_ids.price_unit, 1_500_000)
        with Form(new) as form, form.invoice_line_ids.edit(0) as line:
            line.price_unit = 1_400_000
        new.action_post()
        self.issue(new)
        self.assertEqual(new.l10n_vn_einvoice_state, 'USING', new.l10n_vn_einvoice_error)
        self.assertEqual(origin.l10n_vn_einvoice_state, 'CHANGE')
        self.assertEqual(origin.l10n_vn_einvoice_replacement_ids, new)
        self.assertEqual(new.l10n_vn_einvoice_origin_ids, origin)
        doc = self.document_of(new)
        self.assertEqual(doc.related.relation, RelationKind.REPLACEMENT)
        self.assertEqual(self.raw_xml(new).findtext('DLHDon/TTChung/TTHDLQuan/TCHDon'), '1')
        self.assertEqual((doc.related.symbol, doc.related.number), (f'C{self.yy}TAA', '1'))
        self.assertEqual(doc.lines[0].kind, LineKind.NOTE)
        self.assertTrue(doc.lines[0].name.startswith('Thay thế cho hóa đơn Mẫu số 1'))
        self.assertEqual(doc.totals.total, Decimal(3_080_000))
        self.assertEqual(doc.totals.total_in_words, 'Ba triệu không trăm tám mươi nghìn đồng chẵn')
        # the replaced invoice's accounting is reversed
        reversal = origin.l10n_vn_einvoice_reversal_id
        self.assertTrue(reversal.l10n_vn_einvoice_accounting_only)
        self.assertFalse(reversal.l10n_vn_einvoice_state, 'the accounting reversal is not an e-invoice')
        self.assertEqual(reversal.state, 'posted')
        self.assertEqual(origin.payment_state, 'reversed')
        self.assertEqual(new.l10n_vn_einvoice_agreement_id.kind, 'replace')
        # refusals: a replaced invoice is final, a replacement is never cancelled
        self.assertFalse(origin.l10n_vn_einvoice_can_adjust or origin.l10n_vn_einvoice_can_replace)
        for model in ('l10n_vn_einvoice.adjustment.wizard', 'l10n_vn_einvoice.replacement.wizard'):
            with self.assertRaisesRegex(UserError, "'Replaced' cannot be"):
                self.wizard(model, origin)
        with self.assertRaisesRegex(UserError, 'cannot be reset to draft'):
            origin.button_draft()
        with self.assertRaisesRegex(UserError, 'adjustment or replacement'):
            origin.button_cancel()
        wizard = self.wizard('l10n_vn_einvoice.correction.wizard', origin, error_kind='void')
        self.assertFalse(wizard.can_cancel or wizard.can_adjust or wizard.can_replace)
        self.assertIn('was replaced: correct the replacement invoice', wizard.advice)
        wizard = self.wizard('l10n_vn_einvoice.correction.wizard', new, error_kind='void')
        self.assertFalse(wizard.can_cancel)
        self.assertTrue(wizard.can_adjust)
        self.assertIn('a replacement invoice is never cancelled', wizard.advice)
        with self.assertRaisesRegex(UserError, 'does not allow'):
            wizard.action_cancel()
        self.assertIn('replacement invoice cannot be cancelled', new._l10n_vn_einvoice_cancel_problems()[0])

    def test_adjusted_invoice_cannot_be_replaced(self):
        origin = self.issued()
        self.adjust(origin, {0: {'what': 'price', 'direction': 'increase', 'delta_price': 10_000}})
        self.assertFalse(origin.l10n_vn_einvoice_can_replace)
        self.assertTrue(origin.l10n_vn_einvoice_can_adjust)
        with self.assertRaisesRegex(UserError, "'Adjusted' cannot be replaced"):
            self.wizard('l10n_vn_einvoice.replacement.wizard', origin)

    def test_adjustment_invoice_is_not_corrected_itself(self):
        origin = self.issued()
        adj, _wizard = self.adjust(origin, {0: {'what': 'price', 'direction': 'increase', 'delta_price': 10_000}})
        self.assertFalse(adj.l10n_vn_einvoice_can_adjust or adj.l10n_vn_einvoice_can_replace)
        with self.assertRaisesRegex(UserError, 'adjust the original invoice again'):
            self.wizard('l10n_vn_einvoice.adjustment.wizard', adj)
        with self.assertRaisesRegex(UserError, 'adjust the original invoice again'):
            adj.action_reverse()

    # ------------------------------------------------------------------
    # Several invoices, list 01/BK-ĐCTT
    # ------------------------------------------------------------------

    def test_one_adjustment_for_several_invoices(self):
        first = self.issued([(2, 1_000_000, self.tax_10)])
        second = self.issued([(3, 1_000_000, self.tax_10)])
        moves = first | second
        change = {'what': 'quantity', 'direction': 'decrease', 'delta_quantity': 1}
        form = self.wizard_form(moves.action_l10n_vn_einvoice_adjust())
        self.fill(form, {'reason': 'Hai bên thống nhất điều chỉnh', 'list_number': False})
        self.fill_lines(form, {0: change, 1: change})
        self.assertTrue(form.several)
        self.assertEqual(len(form.line_ids), 2)
        with self.assertRaisesRegex(AssertionError, 'list_number is a required field'):
            form.save()  # the view requires the list when the invoices are several
        self.fill(form, {'list_number': 'BK-01', 'list_date': date.today()})
        wizard = form.save()
        wizard.list_number = False  # RPC without the view: refused by the wizard itself
        with self.assertRaisesRegex(UserError, '01/BK-ĐCTT'):
            wizard.action_create_and_issue()
        wizard.list_number = 'BK-01'
        adj = self.env['account.move'].browse(wizard.action_create_and_issue()['res_id'])
        self.assertEqual(adj.l10n_vn_einvoice_state, 'USING', adj.l10n_vn_einvoice_error)
        self.assertEqual(set(moves.mapped('l10n_vn_einvoice_state')), {'ADJUSTED'})
        self.assertEqual(first.l10n_vn_einvoice_adjustment_ids, adj)
        self.assertEqual(second.l10n_vn_einvoice_adjustment_ids, adj)
        rel = self.raw_xml(adj).find('DLHDon/TTChung/TTHDLQuan')
        self.assertEqual(rel.findtext('TCHDon'), '2')
        self.assertEqual(rel.findtext('SBKCLQuan'), 'BK-01')
        self.assertEqual(rel.findtext('NBKCLQuan'), date.today().isoformat())
        self.assertIsNone(rel.find('SHDCLQuan'))
        self.assertEqual(rel.findtext('GChu'), f'Điều chỉnh giảm số lượng cho các hóa đơn theo bảng kê số BK-01 '
                                               f'ngày {date.today():%d/%m/%Y}')
        self.assertEqual(self.document_of(adj).totals.total, Decimal(-2_200_000))

    def test_one_replacement_for_several_invoices(self):
        first = self.issued([(2, 1_000_000, self.tax_10)])
        second = self.issued([(1, 500_000, self.tax_8)])
        wizard = self.wizard('l10n_vn_einvoice.replacement.wizard', first | second, list_number='BK-02')
        new = self.env['account.move'].browse(wizard.action_create()['res_id'])
        self.assertEqual(len(new.invoice_line_ids.filtered(lambda l: l.display_type == 'product')), 2)
        new.action_post()
        self.issue(new)
        self.assertEqual(new.l10n_vn_einvoice_state, 'USING', new.l10n_vn_einvoice_error)
        self.assertEqual(set((first | second).mapped('l10n_vn_einvoice_state')), {'CHANGE'})
        rel = self.raw_xml(new).find('DLHDon/TTChung/TTHDLQuan')
        self.assertEqual((rel.findtext('TCHDon'), rel.findtext('SBKCLQuan')), ('1', 'BK-02'))
        self.assertEqual(self.document_of(new).totals.total, Decimal(2_200_000 + 540_000))

    def test_several_buyers_refused(self):
        self.partner_b.write({'is_company': True, 'vat': '0100109106', 'street': '5 Lý Thái Tổ', 'city': 'Hà Nội'})
        first = self.issued()
        other = self.issued(partner=self.partner_b)
        with self.assertRaisesRegex(UserError, 'same buyer'):
            self.wizard('l10n_vn_einvoice.adjustment.wizard', first | other)
        with self.assertRaisesRegex(UserError, 'same buyer'):
            self.wizard('l10n_vn_einvoice.replacement.wizard', first | other)

    # ------------------------------------------------------------------
    # Deletion and cancellation
    # ------------------------------------------------------------------

    def test_delete_prepared_einvoice(self):
        move = self.make_invoice()
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        wizard = self.wizard('l10n_vn_einvoice.correction.wizard', move)
        self.assertTrue(wizard.can_delete)
        self.assertFalse(wizard.can_cancel or wizard.can_adjust or wizard.can_replace)
        self.assertIn('never issued', wizard.advice)
        wizard.action_delete()
        self.assertEqual(move.state, 'draft')
        self.assertEqual(move.l10n_vn_einvoice_state, 'DELETE')
        self.assertFalse(move.l10n_vn_einvoice_number)
        self.assertEqual(self.series.next_number, 1, 'no number was used')
        # fixed and posted again: a new prepared e-invoice, numbered at issue
        move.invoice_line_ids.price_unit = 1_400_000
        move.action_post()
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.issue(move)
        self.assertEqual((move.l10n_vn_einvoice_state, move.l10n_vn_einvoice_number), ('USING', 1))
        # or cancelled
        other = self.make_invoice()
        wizard = self.wizard('l10n_vn_einvoice.correction.wizard', other, after_delete='cancel')
        wizard.action_delete()
        self.assertEqual((other.state, other.l10n_vn_einvoice_state), ('cancel', 'DELETE'))

    def test_cancel_coded_invoice_not_sent(self):
        move = self.issued()
        self.assertTrue(self.series.is_coded)
        wizard = self.wizard('l10n_vn_einvoice.correction.wizard', move, error_kind='void')
        self.assertTrue(wizard.can_cancel and wizard.can_adjust)
        self.assertFalse(wizard.can_replace)
        self.assertIn('Art. 19.1', wizard.advice)
        with self.assertRaisesRegex(UserError, 'reason'):
            wizard.action_cancel()
        wizard.reason = 'Lập nhầm khách hàng, chưa gửi hóa đơn'
        action = wizard.action_cancel()
        notice = self.env['l10n_vn_einvoice.notice'].browse(action['res_id'])
        self.assertEqual(notice.line_ids.move_id, move)
        self.assertEqual(notice.line_ids.nature, '1')
        self.assertEqual(notice.agreement_id.kind, 'cancel')
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', 'cancelled only when the tax authority accepts')
        self.assertTrue(move.l10n_vn_einvoice_cancel_pending)
        self.assertFalse(move.l10n_vn_einvoice_can_adjust)
        new = self.env['account.move'].search([('partner_id', '=', move.partner_id.id), ('state', '=', 'draft')])
        self.assertEqual(len(new), 1, 'a new invoice is prepared')
        with self.assertRaisesRegex(UserError, 'being cancelled'):
            self.wizard('l10n_vn_einvoice.adjustment.wizard', move)
        notice.action_sign()
        notice.action_mark_sent()
        notice.action_accept()
        self.assertEqual(move.l10n_vn_einvoice_state, 'CANCEL')
        self.assertEqual(move.payment_state, 'reversed')
        self.assertTrue(move.l10n_vn_einvoice_reversal_id.l10n_vn_einvoice_accounting_only)
        wizard = self.wizard('l10n_vn_einvoice.correction.wizard', move)
        self.assertFalse(wizard.can_cancel or wizard.can_adjust or wizard.can_replace or wizard.can_explain)

    def test_cancel_refused_when_sent_or_not_coded(self):
        move = self.issued()
        move.is_move_sent = True
        wizard = self.wizard('l10n_vn_einvoice.correction.wizard', move, error_kind='void')
        self.assertFalse(wizard.can_cancel)
        self.assertTrue(wizard.can_adjust)
        self.assertIn('sent to the buyer', wizard.advice)
        self.assertIn('decreasing every line to zero', wizard.advice)
        # adjust to zero: every line decreased
        action = wizard.action_adjust()
        self.assertTrue(action['context']['default_decrease_all'])
        adj_wizard = self.wizard('l10n_vn_einvoice.adjustment.wizard', move, action=action, reason='Hủy giao dịch')
        adj = self.env['account.move'].browse(adj_wizard.action_create_and_issue()['res_id'])
        self.assertEqual(self.document_of(adj).totals.total, -Decimal(str(move.amount_total)))
        self.assertEqual(move.l10n_vn_einvoice_state, 'ADJUSTED')
        # a non-coded series (K…): no cancellation at all since Decree 70/2025
        k_series = self.env['l10n_vn_einvoice.series'].create({
            'template_id': self.series.template_id.id, 'symbol': f'K{self.yy}TAB', 'signer_id': self.signer.id,
            'date_start': date(self.year, 1, 1)})
        k_move = self.make_invoice(post=False)
        k_move.l10n_vn_einvoice_series_id = k_series
        k_move.action_post()
        self.issue(k_move)
        self.assertEqual(k_move.l10n_vn_einvoice_state, 'USING', k_move.l10n_vn_einvoice_error)
        wizard = self.wizard('l10n_vn_einvoice.correction.wizard', k_move)
        self.assertFalse(wizard.can_cancel)
        self.assertIn('no tax authority code', wizard.advice)
        self.assertIn('symbol K', k_move._l10n_vn_einvoice_cancel_problems()[0])

    def test_sent_to_buyer_as_ticked_is_kept(self):
        """The user says the buyer got the invoice (by hand, on paper): the cancel route closes and stays closed
        once the wizard is saved, whatever Odoo's own "sent" flag says."""
        move = self.issued()
        self.assertFalse(move.is_move_sent)
        form = self.wizard_form(move.action_l10n_vn_einvoice_correct())
        form.error_kind = 'void'
        self.assertTrue(form.can_cancel)
        form.sent_to_buyer = True
        self.assertFalse(form.can_cancel)
        wizard = form.save()
        wizard.invalidate_recordset()
        self.assertTrue(wizard.coded)  # non-stored facts computed again
        self.assertTrue(wizard.sent_to_buyer)
        self.assertFalse(wizard.can_cancel)
        self.assertTrue(wizard.can_adjust)
        with self.assertRaisesRegex(UserError, 'does not allow'):
            wizard.action_cancel()

    def test_explain_wrong_buyer_address(self):
        move = self.issued()
        wizard = self.wizard('l10n_vn_einvoice.correction.wizard', move, error_kind='buyer_name_address',
                             reason='Sai địa chỉ người mua')
        self.assertTrue(wizard.can_explain and wizard.can_adjust)
        self.assertIn('Art. 19.2.a', wizard.advice)
        self.assertEqual(wizard.action_adjust()['context']['default_kind'], 'info')
        notice = self.env['l10n_vn_einvoice.notice'].browse(wizard.action_explain()['res_id'])
        self.assertEqual((notice.line_ids.nature, notice.line_ids.reason), ('4', 'Sai địa chỉ người mua'))
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING')

    # ------------------------------------------------------------------
    # Odoo's own paths cannot bypass the rules
    # ------------------------------------------------------------------

    def test_credit_note_button_opens_the_adjustment_wizard(self):
        move = self.issued([(2, 1_500_000, self.tax_10)])
        action = move.action_reverse()
        self.assertEqual(action['res_model'], 'l10n_vn_einvoice.adjustment.wizard')
        wizard = self.wizard('l10n_vn_einvoice.adjustment.wizard', move, action=action, reason='Trả lại hàng')
        self.assertEqual(wizard.line_ids.mapped('what'), ['quantity'])
        self.assertEqual(wizard.line_ids.delta_quantity, 2)
        self.assertEqual(wizard.amount_total, -3_300_000)
        # not an issued e-invoice: Odoo's own wizard
        self.assertEqual(self.make_invoice().action_reverse()['res_model'], 'account.move.reversal')

    def test_reversal_wizard_obeys_the_life_cycle(self):
        move = self.issued()
        reversal = Form(self.env['account.move.reversal'].with_context(
            active_model='account.move', active_ids=move.ids)).save()
        with self.assertRaisesRegex(UserError, 'Replace'):
            reversal.modify_moves()
        refund = self.env['account.move'].browse(reversal.refund_moves()['res_id'])
        self.assertEqual(refund.l10n_vn_einvoice_relation, 'adjustment')
        self.assertEqual(refund.l10n_vn_einvoice_origin_ids, move)
        refund.action_post()
        self.issue(refund)
        self.assertEqual(move.l10n_vn_einvoice_state, 'ADJUSTED')
        self.assertEqual(move.l10n_vn_einvoice_adjustment_ids, refund)
        self.assertTrue(self.document_of(refund).related.note.startswith('Điều chỉnh giảm cho hóa đơn Mẫu số 1'))
        # a replaced invoice cannot be credited any more
        other = self.issued()
        replacement = self.env['account.move'].browse(
            self.wizard('l10n_vn_einvoice.replacement.wizard', other).action_create()['res_id'])
        replacement.action_post()
        self.issue(replacement)
        reversal = Form(self.env['account.move.reversal'].with_context(
            active_model='account.move', active_ids=other.ids)).save()
        with self.assertRaisesRegex(UserError, "'Replaced' cannot be adjusted"):
            reversal.refund_moves()

    def test_issued_correction_is_frozen(self):
        origin = self.issued()
        adj, _wizard = self.adjust(origin, {0: {'what': 'price', 'direction': 'increase', 'delta_price': 10_000}})
        with self.assertRaisesRegex(UserError, 'can no longer be changed'):
            adj.l10n_vn_einvoice_correction_note = 'Khác'


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestCorrectionsPdf(CorrectionCommon, HttpCase):
    """The minutes rendered for real (wkhtmltopdf fetches the assets from the test server) and read back."""

    @skipUnless(HAS_PDF_TOOLS, 'wkhtmltopdf and pdftotext are needed')
    def test_minutes_pdf(self):
        origin = self.issued([(2, 1_500_000, self.tax_10)])
        adj, _wizard = self.adjust(
            origin, {0: {'what': 'price', 'direction': 'decrease', 'delta_price': 100_000}},
            agreement_name='BB-07/2026', seller_representative='Nguyễn Văn A', buyer_representative='Trần Thị B')
        agreement = adj.l10n_vn_einvoice_agreement_id
        pdf, kind = self.env['ir.actions.report'].with_context(force_report_rendering=True)._render_qweb_pdf(
            'l10n_vn_einvoice.action_report_einvoice_agreement', res_ids=agreement.ids)
        self.assertEqual(kind, 'pdf')
        self.assertTrue(pdf.startswith(b'%PDF'))
        text = pdf_text(pdf)
        for expected in ('BIÊN BẢN ĐIỀU CHỈNH HÓA ĐƠN', 'BB-07/2026', 'Nghị định số 70/2025/NĐ-CP',
                         'Công ty Cổ phần Khách hàng', BUYER_MST, self.company.vat, f'C{self.yy}TAA',
                         origin.invoice_date.strftime('%d/%m/%Y'), '3.300.000', 'Nội dung sai', 'Nội dung đúng',
                         'Nguyễn Văn A', 'Trần Thị B', 'ĐẠI DIỆN BÊN A'):
            self.assertIn(expected, text)
        # the adjustment invoice and its number are on the minutes
        self.assertIn(f'số {adj.l10n_vn_einvoice_number}', text)
        # replacement minutes
        other = self.issued()
        new = self.env['account.move'].browse(
            self.wizard('l10n_vn_einvoice.replacement.wizard', other, reason='Sai mã số thuế').action_create()['res_id'])
        pdf, _kind = self.env['ir.actions.report'].with_context(force_report_rendering=True)._render_qweb_pdf(
            'l10n_vn_einvoice.action_report_einvoice_agreement', res_ids=new.l10n_vn_einvoice_agreement_id.ids)
        text = pdf_text(pdf)
        self.assertIn('BIÊN BẢN THAY THẾ HÓA ĐƠN', text)
        self.assertIn('Sai mã số thuế', text)
        self.assertIn(str(other.l10n_vn_einvoice_number), text)
