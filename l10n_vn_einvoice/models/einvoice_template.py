from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from vn_einvoice import codes
from vn_einvoice.errors import ValidationError as LibValidationError


class L10nVnEinvoiceTemplate(models.Model):
    _name = 'l10n_vn_einvoice.template'
    _description = 'E-invoice template (mẫu số)'
    _order = 'company_id, code'
    _check_company_auto = True

    code = fields.Char(
        string='Template number', required=True,
        help='KHMSHDon: 1 to 9 (Circular 32/2025, e.g. 1 for VAT invoices), '
             'or a legacy code such as 01GTKT0/001 for providers that still use it.')
    invoice_type = fields.Selection(
        selection=[(k, f'{k} - {v}') for k, v in codes.TEMPLATE_TITLES.items()],
        string='Invoice type', compute='_compute_from_code', store=True)
    title = fields.Char(string='Invoice title', compute='_compute_from_code', store=True, readonly=False,
                        help='THDon printed and written in the XML, e.g. "Hóa đơn giá trị gia tăng".')
    regime = fields.Selection(
        selection=[('current', 'Decree 123/70 (current)'), ('legacy', 'Circular 32/2011 (legacy)')],
        compute='_compute_from_code', store=True)
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company)
    active = fields.Boolean(default=True)
    series_ids = fields.One2many('l10n_vn_einvoice.series', 'template_id')
    is_used = fields.Boolean(compute='_compute_is_used')

    _sql_constraints = [
        ('code_company_uniq', 'unique(code, company_id)', 'This template number already exists in this company.'),
    ]

    @api.depends('code')
    def _compute_from_code(self):
        for template in self:
            try:
                template.regime = codes.template_regime(template.code or '').value
                template.invoice_type = codes.template_kind(template.code)
                template.title = template.title or codes.template_title(template.code)
            except LibValidationError:
                template.regime = template.invoice_type = False

    @api.depends('series_ids.is_used')
    def _compute_is_used(self):
        for template in self:
            template.is_used = any(template.series_ids.mapped('is_used'))

    @api.depends('code', 'title')
    def _compute_display_name(self):
        for template in self:
            template.display_name = f'{template.code} - {template.title}' if template.title else template.code

    @api.constrains('code')
    def _check_code(self):
        for template in self:
            try:
                codes.template_regime(template.code or '')
            except LibValidationError as e:
                raise ValidationError(_('Invalid template number %(code)s: expected 1 to 9, or a legacy code '
                                        'such as 01GTKT0/001.', code=template.code)) from e

    def write(self, vals):
        if {'code', 'company_id'} & set(vals):
            if used := self.filtered('is_used'):
                raise UserError(_('Template %s is already used by issued e-invoices: its number and company '
                                  'can no longer be changed.', ', '.join(used.mapped('code'))))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        if used := self.filtered('is_used'):
            raise UserError(_('Template %s is used by issued e-invoices and cannot be deleted; archive it instead.',
                              ', '.join(used.mapped('code'))))
