"""E-invoice reports of a company and period: the usage report (báo cáo tình hình sử dụng hóa đơn) per
template and series, and the sales listing (bảng kê hóa đơn bán ra) of the issued e-invoices by VAT rate.
Shown in Odoo, printed as PDF (QWeb), downloaded as XLSX (xlsxwriter, which Odoo ships)."""

import base64
import calendar
import io
from collections import defaultdict
from datetime import date

import xlsxwriter

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_date

# Sections of the sales listing, in the order of the VAT return's listing: 0 %, KCT and KKKNT apart.
RATE_SECTIONS = ['KCT', 'KKKNT', '0%', '5%', '8%', '10%', 'KHAC', 'none']
# E-invoices whose amounts count in the sales listing (the replaced and cancelled ones are reversed).
SALES_STATES = ('USING', 'ADJUSTED')
MAX_GAPS_LISTED = 200


def _ranges(numbers):
    """``[1, 2, 3, 7, 9, 10]`` → ``'1–3, 7, 9–10'``."""
    out, start, prev = [], None, None
    for n in sorted(numbers):
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            out.append(f'{start}–{prev}' if prev != start else str(start))
            start = prev = n
    if start is not None:
        out.append(f'{start}–{prev}' if prev != start else str(start))
    return ', '.join(out)


class L10nVnEinvoiceReportWizard(models.TransientModel):
    _name = 'l10n_vn_einvoice.report.wizard'
    _description = 'E-invoice usage report and sales listing'

    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company)
    period_type = fields.Selection([('month', 'Month'), ('quarter', 'Quarter'), ('year', 'Year')],
                                   string='Period', required=True, default='month')
    year = fields.Integer(required=True, default=lambda self: fields.Date.context_today(self).year)
    month = fields.Selection([(str(m), str(m)) for m in range(1, 13)], default=lambda self: str(
        fields.Date.context_today(self).month))
    quarter = fields.Selection([(str(q), str(q)) for q in range(1, 5)], default='1')
    date_from = fields.Date(compute='_compute_dates')
    date_to = fields.Date(compute='_compute_dates')
    line_ids = fields.One2many('l10n_vn_einvoice.report.wizard.line', 'wizard_id', string='Usage', readonly=True)
    gaps = fields.Text(string='Missing numbers', readonly=True)
    total_used = fields.Integer(string='Numbers used', readonly=True)
    total_amount_untaxed = fields.Monetary(string='Total before tax', readonly=True)
    total_amount_tax = fields.Monetary(string='Total VAT', readonly=True)
    total_amount = fields.Monetary(string='Total', readonly=True)
    currency_id = fields.Many2one(related='company_id.currency_id')
    file_data = fields.Binary(readonly=True, attachment=False)
    file_name = fields.Char(readonly=True)

    @api.depends('period_type', 'year', 'month', 'quarter')
    def _compute_dates(self):
        for wizard in self:
            year = wizard.year if 1900 < (wizard.year or 0) < 3000 else fields.Date.context_today(self).year
            if wizard.period_type == 'month':
                first = last = int(wizard.month or 1)
            elif wizard.period_type == 'quarter':
                first = 3 * int(wizard.quarter or 1) - 2
                last = first + 2
            else:
                first, last = 1, 12
            wizard.date_from = date(year, first, 1)
            wizard.date_to = date(year, last, calendar.monthrange(year, last)[1])

    def _check_period(self):
        self.ensure_one()
        if not 1900 < self.year < 3000:
            raise UserError(_('The year %s is not a valid year.', self.year))

    def _period_label(self):
        if self.period_type == 'month':
            return _('Month %(month)s/%(year)s', month=self.month, year=self.year)
        if self.period_type == 'quarter':
            return _('Quarter %(quarter)s/%(year)s', quarter=self.quarter, year=self.year)
        return _('Year %s', self.year)

    # ------------------------------------------------------------------
    # Usage report
    # ------------------------------------------------------------------

    def _numbered(self, series, date_from, date_to):
        """The invoices of ``series`` holding a number, dated in [date_from, date_to] (all states)."""
        return self.env['account.move'].with_context(active_test=False).search([
            ('company_id', '=', self.company_id.id), ('l10n_vn_einvoice_series_id', '=', series.id),
            ('l10n_vn_einvoice_number', '>', 0),
            ('invoice_date', '>=', date_from), ('invoice_date', '<=', date_to),
        ])

    def _usage_rows(self):
        """One dict per series used or open in the period, with the numbers found missing."""
        self.ensure_one()
        self._check_period()
        Move = self.env['account.move'].with_context(active_test=False)
        year_start = date(self.year, 1, 1)
        all_series = self.env['l10n_vn_einvoice.series'].with_context(active_test=False).search(
            [('company_id', '=', self.company_id.id), ('year', 'in', (self.year, 0))])
        rows = []
        for series in all_series.sorted(lambda s: (s.template_id.code or '', s.symbol)):
            moves = self._numbered(series, self.date_from, self.date_to)
            deleted = Move.search_count([
                ('company_id', '=', self.company_id.id), ('l10n_vn_einvoice_series_id', '=', series.id),
                ('l10n_vn_einvoice_state', '=', 'DELETE'),
                ('invoice_date', '>=', self.date_from), ('invoice_date', '<=', self.date_to)])
            if not moves and not deleted and not series.active:
                continue
            numbers = moves.mapped('l10n_vn_einvoice_number')
            before = (self._numbered(series, year_start, fields.Date.subtract(self.date_from, days=1))
                      if self.date_from > year_start else Move.browse())
            last_before = max(before.mapped('l10n_vn_einvoice_number') or [0])
            up_to_end = set(before.mapped('l10n_vn_einvoice_number')) | set(numbers)
            highest = max(up_to_end or {0})
            missing = sorted(set(range(1, highest + 1)) - up_to_end)
            states = defaultdict(int)
            for move in moves:
                states[move.l10n_vn_einvoice_state] += 1
            rows.append({
                'series': series,
                'template': series.template_id.code or '',
                'symbol': series.symbol,
                'opening_number': last_before + 1,
                'first_number': min(numbers) if numbers else 0,
                'last_number': max(numbers) if numbers else 0,
                'used': len(numbers),
                'in_use': states['USING'] + states['CUSSIGNED'],
                'cancelled': states['CANCEL'],
                'adjusted': states['ADJUSTED'],
                'replaced': states['CHANGE'],
                'deleted': deleted,
                'range_to': series.range_to,
                'remaining': max(series.range_to - highest, 0) if series.range_to else 0,
                'missing': missing,
                'amount_untaxed': sum(m.amount_untaxed_signed for m in moves),
                'amount_tax': sum(m.amount_tax_signed for m in moves),
                'amount_total': sum(m.amount_total_signed for m in moves),
            })
        return rows

    def _fill_usage(self):
        rows = self._usage_rows()
        self.line_ids = [fields.Command.clear()] + [fields.Command.create({
            'series_id': row['series'].id, 'template': row['template'], 'symbol': row['symbol'],
            'opening_number': row['opening_number'], 'first_number': row['first_number'],
            'last_number': row['last_number'], 'used': row['used'], 'in_use': row['in_use'],
            'cancelled': row['cancelled'], 'adjusted': row['adjusted'], 'replaced': row['replaced'],
            'deleted': row['deleted'], 'range_to': row['range_to'], 'remaining': row['remaining'],
            'missing_count': len(row['missing']), 'missing': self._missing_text(row['missing']),
            'amount_untaxed': row['amount_untaxed'], 'amount_tax': row['amount_tax'],
            'amount_total': row['amount_total'],
        }) for row in rows]
        gaps = [_('Series %(series)s: numbers %(numbers)s are missing.', series=row['series'].name,
                  numbers=self._missing_text(row['missing'])) for row in rows if row['missing']]
        self.write({
            'gaps': '\n'.join(gaps) or False,
            'total_used': sum(row['used'] for row in rows),
            'total_amount_untaxed': sum(row['amount_untaxed'] for row in rows),
            'total_amount_tax': sum(row['amount_tax'] for row in rows),
            'total_amount': sum(row['amount_total'] for row in rows),
        })
        return rows

    @staticmethod
    def _missing_text(missing):
        text = _ranges(missing[:MAX_GAPS_LISTED])
        return text + (' …' if len(missing) > MAX_GAPS_LISTED else '')

    def action_view_usage(self):
        self._fill_usage()
        return {
            'type': 'ir.actions.act_window', 'res_model': self._name, 'res_id': self.id, 'target': 'new',
            'name': _('E-invoice usage'), 'view_mode': 'form',
            'views': [(self.env.ref('l10n_vn_einvoice.l10n_vn_einvoice_report_wizard_view_usage').id, 'form')],
        }

    def action_print_usage(self):
        self._fill_usage()
        return self.env.ref('l10n_vn_einvoice.action_report_einvoice_usage').report_action(self)

    def _download(self, data, name):
        self.write({'file_data': base64.b64encode(data), 'file_name': name})
        return {'type': 'ir.actions.act_url', 'target': 'download',
                'url': f'/web/content/{self._name}/{self.id}/file_data/{name}?download=true'}

    def _usage_xlsx(self):
        rows = self._fill_usage()
        out = io.BytesIO()
        book = xlsxwriter.Workbook(out, {'in_memory': True})
        bold = book.add_format({'bold': True})
        money = book.add_format({'num_format': '#,##0'})
        money_bold = book.add_format({'num_format': '#,##0', 'bold': True})
        alarm = book.add_format({'bold': True, 'font_color': '#C00000'})
        sheet = book.add_worksheet(_('Usage'))
        sheet.write(0, 0, _('E-invoice usage report'), bold)
        sheet.write(1, 0, f'{self.company_id.name} – {self.company_id.vat or ""}')
        sheet.write(2, 0, f'{self._period_label()}: {format_date(self.env, self.date_from)} – '
                          f'{format_date(self.env, self.date_to)}')
        headers = [_('Template'), _('Series'), _('Opening number'), _('First number used'), _('Last number used'),
                   _('Numbers used'), _('In use'), _('Cancelled'), _('Adjusted'), _('Replaced'),
                   _('Deleted before issue'), _('Registered up to'), _('Remaining'), _('Missing numbers'),
                   _('Total before tax'), _('VAT'), _('Total')]
        sheet.write_row(4, 0, headers, bold)
        r = 5
        for row in rows:
            sheet.write_row(r, 0, [row['template'], row['symbol'], row['opening_number'], row['first_number'] or '',
                                   row['last_number'] or '', row['used'], row['in_use'], row['cancelled'],
                                   row['adjusted'], row['replaced'], row['deleted'], row['range_to'] or '',
                                   row['remaining'] if row['range_to'] else ''])
            sheet.write(r, 13, self._missing_text(row['missing']), alarm if row['missing'] else None)
            for col, key in ((14, 'amount_untaxed'), (15, 'amount_tax'), (16, 'amount_total')):
                sheet.write_number(r, col, row[key], money)
            r += 1
        sheet.write(r, 0, _('Total'), bold)
        for col, key in ((5, 'used'), (6, 'in_use'), (7, 'cancelled'), (8, 'adjusted'), (9, 'replaced'),
                         (10, 'deleted')):
            sheet.write_number(r, col, sum(row[key] for row in rows), bold)
        for col, key in ((14, 'amount_untaxed'), (15, 'amount_tax'), (16, 'amount_total')):
            sheet.write_number(r, col, sum(row[key] for row in rows), money_bold)
        if self.gaps:
            r += 2
            sheet.write(r, 0, _('NUMBERS MISSING IN A SERIES: find out why before filing the report.'), alarm)
            for line in self.gaps.splitlines():
                r += 1
                sheet.write(r, 0, line, alarm)
        sheet.set_column(0, 1, 12)
        sheet.set_column(2, 12, 10)
        sheet.set_column(13, 13, 30)
        sheet.set_column(14, 16, 16)
        book.close()
        return out.getvalue()

    def action_usage_xlsx(self):
        self.ensure_one()
        return self._download(self._usage_xlsx(), f'bao-cao-su-dung-hoa-don-{self.date_from}-{self.date_to}.xlsx')

    # ------------------------------------------------------------------
    # Sales listing
    # ------------------------------------------------------------------

    def _sales_moves(self):
        return self.env['account.move'].search([
            ('company_id', '=', self.company_id.id), ('l10n_vn_einvoice_number', '>', 0),
            ('l10n_vn_einvoice_state', 'in', SALES_STATES),
            ('invoice_date', '>=', self.date_from), ('invoice_date', '<=', self.date_to),
        ], order='invoice_date, l10n_vn_einvoice_series_id, l10n_vn_einvoice_number')

    @api.model
    def _rate_amounts(self, move):
        """``{rate code: (amount before tax, VAT)}`` of an invoice in company currency, credit notes negative;
        'none' for lines without a VAT tax."""
        out = defaultdict(lambda: [0.0, 0.0])
        for line in move.line_ids:
            if line.display_type == 'product':
                vat = line.tax_ids.filtered('l10n_vn_einvoice_rate')[:1]
                out[vat.l10n_vn_einvoice_rate or 'none'][0] += -line.balance
            elif line.display_type == 'tax' and line.tax_line_id.l10n_vn_einvoice_rate:
                out[line.tax_line_id.l10n_vn_einvoice_rate][1] += -line.balance
        return out

    def _sales_rows(self):
        """``{section: [row, ...]}`` of the sales listing; one row per invoice and VAT rate."""
        self.ensure_one()
        self._check_period()
        sections = defaultdict(list)
        for move in self._sales_moves():
            partner = move.commercial_partner_id
            for rate, (base, tax) in self._rate_amounts(move).items():
                sections[rate].append({
                    'move': move, 'template': move.l10n_vn_einvoice_template_id.code or '',
                    'symbol': move.l10n_vn_einvoice_series_id.symbol, 'number': move.l10n_vn_einvoice_number,
                    'date': move.invoice_date, 'buyer': partner.name or '', 'vat': partner.vat or '',
                    'base': self.company_id.currency_id.round(base), 'tax': self.company_id.currency_id.round(tax),
                    'note': move.l10n_vn_einvoice_state == 'ADJUSTED' and _('adjusted') or '',
                })
        return sections

    def _section_title(self, rate):
        return {
            'KCT': _('Goods and services not subject to VAT (KCT)'),
            'KKKNT': _('Not declared nor paid (KKKNT)'),
            '0%': _('VAT rate 0%'), '5%': _('VAT rate 5%'), '8%': _('VAT rate 8%'), '10%': _('VAT rate 10%'),
            'KHAC': _('Other VAT rates'), 'none': _('Lines without VAT'),
        }[rate]

    def _sales_xlsx(self):
        sections = self._sales_rows()
        out = io.BytesIO()
        book = xlsxwriter.Workbook(out, {'in_memory': True})
        bold = book.add_format({'bold': True})
        money = book.add_format({'num_format': '#,##0'})
        money_bold = book.add_format({'num_format': '#,##0', 'bold': True})
        day = book.add_format({'num_format': 'dd/mm/yyyy'})
        sheet = book.add_worksheet(_('Sales'))
        sheet.write(0, 0, _('Listing of issued e-invoices (sales)'), bold)
        sheet.write(1, 0, f'{self.company_id.name} – {self.company_id.vat or ""}')
        sheet.write(2, 0, f'{self._period_label()}: {format_date(self.env, self.date_from)} – '
                          f'{format_date(self.env, self.date_to)}')
        headers = [_('No.'), _('Template'), _('Series'), _('Number'), _('Date'), _('Buyer'), _('Buyer tax code'),
                   _('Amount before tax'), _('VAT'), _('Note')]
        sheet.write_row(4, 0, headers, bold)
        r, total_base, total_tax = 5, 0.0, 0.0
        for index, rate in enumerate(RATE_SECTIONS, start=1):
            rows = sections.get(rate, [])
            if not rows and rate in ('KHAC', 'none'):
                continue
            sheet.write(r, 0, f'{index}. {self._section_title(rate)}', bold)
            r += 1
            for n, row in enumerate(rows, start=1):
                sheet.write_row(r, 0, [n, row['template'], row['symbol'], row['number']])
                sheet.write_datetime(r, 4, fields.Datetime.to_datetime(row['date']), day)
                sheet.write_row(r, 5, [row['buyer'], row['vat']])
                sheet.write_number(r, 7, row['base'], money)
                sheet.write_number(r, 8, row['tax'], money)
                sheet.write(r, 9, row['note'])
                r += 1
            base, tax = sum(x['base'] for x in rows), sum(x['tax'] for x in rows)
            sheet.write(r, 5, _('Total %s', rate if rate != 'none' else ''), bold)
            sheet.write_number(r, 7, base, money_bold)
            sheet.write_number(r, 8, tax, money_bold)
            total_base, total_tax = total_base + base, total_tax + tax
            r += 2
        sheet.write(r, 5, _('Total sales'), bold)
        sheet.write_number(r, 7, total_base, money_bold)
        sheet.write_number(r, 8, total_tax, money_bold)
        sheet.set_column(0, 4, 11)
        sheet.set_column(5, 5, 40)
        sheet.set_column(6, 6, 16)
        sheet.set_column(7, 8, 18)
        book.close()
        return out.getvalue()

    def action_sales_xlsx(self):
        self.ensure_one()
        return self._download(self._sales_xlsx(), f'bang-ke-hoa-don-ban-ra-{self.date_from}-{self.date_to}.xlsx')
