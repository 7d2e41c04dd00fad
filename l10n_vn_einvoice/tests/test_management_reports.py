"""Usage report, sales listing and statistics: computed from issued e-invoices of fixed dates, read back
from the XLSX files (openpyxl) and the PDF's HTML, totals reconciled with the invoices."""
import base64
import io
from datetime import date

import openpyxl

from odoo.tests import Form, HttpCase, tagged
from odoo.tools.safe_eval import safe_eval

from .common import EinvoiceCommon
from .test_corrections import HAS_PDF_TOOLS, pdf_text


class ReportsCommon(EinvoiceCommon):
    """Invoices of fixed dates in this year's series: 1, 2 in January (and a prepared one deleted), 3 and 6
    in February (numbers 4–5 used elsewhere: a gap), 7 a credit note adjusting 6, 8 in March (KKKNT)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tax_kkknt = cls.tax_0.copy({'name': 'KKKNT', 'l10n_vn_einvoice_rate': 'KKKNT'})
        y = cls.year
        # January: 1, 2; a prepared one deleted; February: 3, then numbers 4–5 used elsewhere (gap), 6, and
        # 7, a credit note adjusting 6; March: 8 (KKKNT)
        cls.jan1 = cls._issued([(1, 1_000_000, cls.tax_10)], date(y, 1, 5))
        cls.jan2 = cls._issued([(1, 2_000_000, cls.tax_0), (1, 500_000, cls.tax_kct)], date(y, 1, 10))
        cls.deleted = cls._make([(1, 300_000, cls.tax_10)], date(y, 1, 20))
        cls.deleted.button_draft()
        cls.feb3 = cls._issued([(1, 1_500_000, cls.tax_8)], date(y, 2, 3))
        cls.series.sudo().with_context(l10n_vn_einvoice_allocating=True).write({'next_number': 6})
        cls.feb6 = cls._issued([(2, 1_000_000, cls.tax_10)], date(y, 2, 20))
        cls.credit = cls.feb6._reverse_moves([{'invoice_date': date(y, 2, 25)}])
        cls.credit.invoice_line_ids[0].quantity = 1  # a decrease of half
        cls.credit.action_post()
        cls.credit.action_l10n_vn_einvoice_issue()
        cls.mar8 = cls._issued([(1, 700_000, cls.tax_kkknt)], date(y, 3, 2))
        cls.series.sudo().range_to = 100

    @classmethod
    def _make(cls, lines, day):
        move = cls.env['account.move'].create({
            'move_type': 'out_invoice', 'partner_id': cls.partner_a.id, 'invoice_date': day,
            'invoice_line_ids': [(0, 0, {'product_id': cls.product_a.id, 'quantity': q, 'price_unit': p,
                                         'tax_ids': [(6, 0, t.ids)]}) for q, p, t in lines],
        })
        move.action_post()
        return move

    @classmethod
    def _issued(cls, lines, day):
        move = cls._make(lines, day)
        move.action_l10n_vn_einvoice_issue()
        assert move.l10n_vn_einvoice_state == 'USING', move.l10n_vn_einvoice_error
        return move

    def wizard(self, **vals):
        form = Form(self.env['l10n_vn_einvoice.report.wizard'])
        form.year = self.year
        for name, value in vals.items():
            setattr(form, name, value)
        return form.save()

    @staticmethod
    def sheet(wizard, action):
        result = getattr(wizard, action)()
        assert result['type'] == 'ir.actions.act_url' and f'/{wizard.id}/file_data/' in result['url']
        book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(wizard.file_data)))
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestManagementReports(ReportsCommon):

    def test_setup_numbers(self):
        self.assertEqual([m.l10n_vn_einvoice_number for m in (self.jan1, self.jan2, self.feb3, self.feb6,
                                                              self.credit, self.mar8)], [1, 2, 3, 6, 7, 8])
        self.assertEqual(self.feb6.l10n_vn_einvoice_state, 'ADJUSTED')
        self.assertEqual(self.deleted.l10n_vn_einvoice_state, 'DELETE')

    def test_usage_quarter_in_odoo_and_xlsx(self):
        wizard = self.wizard(period_type='quarter', quarter='1')
        self.assertEqual((wizard.date_from, wizard.date_to), (date(self.year, 1, 1), date(self.year, 3, 31)))
        action = wizard.action_view_usage()
        self.assertEqual(action['res_id'], wizard.id)
        line = wizard.line_ids.filtered(lambda l: l.series_id == self.series)
        self.assertEqual(
            (line.opening_number, line.first_number, line.last_number, line.used, line.in_use, line.adjusted,
             line.replaced, line.cancelled, line.deleted, line.range_to, line.remaining),
            (1, 1, 8, 6, 5, 1, 0, 0, 1, 100, 92))
        self.assertEqual((line.missing_count, line.missing), (2, '4–5'))
        self.assertIn('4–5', wizard.gaps)
        # totals reconciled with the invoices
        moves = self.jan1 | self.jan2 | self.feb3 | self.feb6 | self.credit | self.mar8
        self.assertEqual(wizard.total_used, len(moves))
        self.assertAlmostEqual(wizard.total_amount_untaxed, sum(moves.mapped('amount_untaxed_signed')))
        self.assertAlmostEqual(wizard.total_amount_untaxed, 1_000_000 + 2_500_000 + 1_500_000 + 2_000_000
                               - 1_000_000 + 700_000)
        self.assertAlmostEqual(wizard.total_amount, sum(moves.mapped('amount_total_signed')))

        rows = self.sheet(wizard, 'action_usage_xlsx')
        header = rows[4]
        row = next(r for r in rows if r[1] == self.series.symbol)
        values = dict(zip(header, row))
        self.assertEqual((values['Opening number'], values['First number used'], values['Last number used'],
                          values['Numbers used'], values['Adjusted'], values['Deleted before issue'],
                          values['Remaining'], values['Missing numbers']), (1, 1, 8, 6, 1, 1, 92, '4–5'))
        total = dict(zip(header, next(r for r in rows if r[0] == 'Total')))
        self.assertEqual(total['Numbers used'], 6)
        self.assertEqual(total['Total before tax'], wizard.total_amount_untaxed)
        self.assertEqual(total['VAT'], sum(moves.mapped('amount_tax_signed')))
        self.assertTrue(any(r[0] and 'MISSING' in str(r[0]) for r in rows), 'the gap is shouted')

    def test_usage_month_opening_number(self):
        wizard = self.wizard(period_type='month', month='2')
        wizard.action_view_usage()
        line = wizard.line_ids.filtered(lambda l: l.series_id == self.series)
        self.assertEqual((line.opening_number, line.first_number, line.last_number, line.used, line.deleted),
                         (3, 3, 7, 3, 0))
        self.assertEqual(line.missing, '4–5')
        march = self.wizard(period_type='month', month='3')
        march.action_view_usage()
        line = march.line_ids.filtered(lambda l: l.series_id == self.series)
        self.assertEqual((line.opening_number, line.first_number, line.last_number, line.used), (8, 8, 8, 1))

    def test_sales_listing_by_rate(self):
        wizard = self.wizard(period_type='quarter', quarter='1')
        rows = self.sheet(wizard, 'action_sales_xlsx')
        header = rows[4]
        self.assertEqual(header[:9], ['No.', 'Template', 'Series', 'Number', 'Date', 'Buyer', 'Buyer tax code',
                                      'Amount before tax', 'VAT'])
        sections, current = {}, None
        for row in rows[5:]:
            if row[0] and isinstance(row[0], str) and row[0][0].isdigit():
                current = row[0].split(' ', 1)[1]
                sections[current] = {'rows': []}
            elif current and isinstance(row[0], int):
                sections[current]['rows'].append(row)
            elif current and row[5] and str(row[5]).startswith('Total') and row[5] != 'Total sales':
                sections[current]['total'] = (row[7], row[8])
        by_title = {title.split('(')[-1].rstrip(')') if '(' in title else title: s for title, s in sections.items()}
        kct, kkknt, zero = by_title['KCT'], by_title['KKKNT'], by_title['VAT rate 0%']
        self.assertEqual([(r[3], r[7], r[8]) for r in kct['rows']], [(2, 500_000, 0)])
        self.assertEqual([(r[3], r[7], r[8]) for r in kkknt['rows']], [(8, 700_000, 0)])
        self.assertEqual([(r[3], r[7], r[8]) for r in zero['rows']], [(2, 2_000_000, 0)])
        ten = by_title['VAT rate 10%']
        self.assertEqual([(r[3], r[7], r[8]) for r in ten['rows']],
                         [(1, 1_000_000, 100_000), (6, 2_000_000, 200_000), (7, -1_000_000, -100_000)])
        self.assertEqual(ten['total'], (2_000_000, 200_000))
        self.assertEqual([(r[3], r[7], r[8]) for r in by_title['VAT rate 8%']['rows']], [(3, 1_500_000, 120_000)])
        self.assertEqual(by_title['VAT rate 5%']['rows'], [])
        first = ten['rows'][0]
        self.assertEqual((first[5], first[6]), (self.partner_a.name, self.partner_a.vat))
        self.assertEqual(first[4].date(), date(self.year, 1, 5))
        grand = next(r for r in rows if r[5] == 'Total sales')
        moves = self.jan1 | self.jan2 | self.feb3 | self.feb6 | self.credit | self.mar8
        self.assertEqual(grand[7], sum(moves.mapped('amount_untaxed_signed')))
        self.assertEqual(grand[8], sum(moves.mapped('amount_tax_signed')))

    def test_statistics_pivot_and_graph(self):
        action = self.env.ref('l10n_vn_einvoice.action_l10n_vn_einvoice_analysis')
        self.assertEqual(action.view_mode.split(',')[:2], ['pivot', 'graph'])
        Move = self.env['account.move']
        views = Move.get_views([(v.view_id.id, v.view_mode) for v in action.view_ids])['views']
        self.assertIn('l10n_vn_einvoice_state', views['pivot']['arch'])
        self.assertIn('invoice_date', views['graph']['arch'])
        domain = [*safe_eval(action.domain), ('company_id', '=', self.company.id)]
        groups = Move.read_group(domain, ['amount_untaxed_signed:sum'], ['l10n_vn_einvoice_state'], lazy=False)
        counts = {g['l10n_vn_einvoice_state']: g['__count'] for g in groups}
        self.assertEqual(counts, {'USING': 5, 'ADJUSTED': 1, 'DELETE': 1})
        months = Move.read_group(domain + [('l10n_vn_einvoice_number', '>', 0)], ['amount_untaxed_signed:sum'],
                                 ['invoice_date:month'], lazy=False)
        self.assertEqual([g['__count'] for g in months], [2, 3, 1])
        buyers = Move.read_group(domain, ['amount_untaxed_signed:sum'], ['partner_id'], lazy=False)
        self.assertEqual(buyers[0]['partner_id'][0], self.partner_a.id)


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestUsagePdf(ReportsCommon, HttpCase):
    """The PDF, rendered by wkhtmltopdf through the test server (which serves its style sheets)."""

    def test_usage_pdf(self):
        wizard = self.wizard(period_type='year')
        action = wizard.with_context(discard_logo_check=True).action_print_usage()  # no layout configurator
        self.assertEqual(action['report_name'], 'l10n_vn_einvoice.report_einvoice_usage')
        html = self.env['ir.actions.report']._render_qweb_html(
            'l10n_vn_einvoice.report_einvoice_usage', wizard.ids)[0].decode()
        self.assertIn('Numbers are missing in a series', html)
        self.assertIn('4–5', html)
        self.assertIn(self.series.symbol, html)
        if not HAS_PDF_TOOLS:
            return
        pdf, kind = self.env['ir.actions.report'].with_context(force_report_rendering=True)._render_qweb_pdf(
            'l10n_vn_einvoice.report_einvoice_usage', wizard.ids)
        self.assertEqual(kind, 'pdf')
        text = pdf_text(pdf)
        for expected in ('E-invoice usage report', self.series.symbol, 'Numbers are missing', '4–5',
                         self.company.vat):
            self.assertIn(expected, text)
