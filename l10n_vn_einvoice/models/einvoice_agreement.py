from odoo import _, api, fields, models
from odoo.exceptions import UserError

AGREEMENT_KINDS = [
    ('adjust', 'Adjustment'),
    ('replace', 'Replacement'),
    ('cancel', 'Cancellation'),
]
# Title of the printed minutes (legal Vietnamese text).
AGREEMENT_TITLES = {
    'adjust': 'BIÊN BẢN ĐIỀU CHỈNH HÓA ĐƠN',
    'replace': 'BIÊN BẢN THAY THẾ HÓA ĐƠN',
    'cancel': 'BIÊN BẢN HỦY HÓA ĐƠN',
}


class L10nVnEinvoiceAgreement(models.Model):
    """The written agreement (biên bản thỏa thuận) between seller and buyer before an issued e-invoice
    is adjusted, replaced or cancelled (Decree 123/2020 Art. 19 as amended by Decree 70/2025)."""

    _name = 'l10n_vn_einvoice.agreement'
    _description = 'E-invoice correction agreement (biên bản)'
    _inherit = ['mail.thread']
    _order = 'date desc, id desc'
    _check_company_auto = True

    name = fields.Char(string='Number or name', required=True, copy=False, tracking=True,
                       default=lambda self: _('New'),
                       help='Number or name of the minutes, as written on the signed paper or file.')
    kind = fields.Selection(AGREEMENT_KINDS, required=True, default='adjust', tracking=True)
    date = fields.Date(required=True, default=fields.Date.context_today, tracking=True)
    reason = fields.Text(required=True, tracking=True)
    wrong_content = fields.Text(string='Wrong content', help='What the invoice says (nội dung sai).')
    right_content = fields.Text(string='Correct content', help='What it should say (nội dung đúng).')
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company)
    partner_id = fields.Many2one('res.partner', string='Buyer', required=True, check_company=True)
    seller_representative = fields.Char(string='Seller representative')
    seller_position = fields.Char(string='Seller representative position')
    buyer_representative = fields.Char(string='Buyer representative')
    buyer_position = fields.Char(string='Buyer representative position')
    move_ids = fields.Many2many('account.move', 'l10n_vn_einvoice_agreement_move_rel', 'agreement_id', 'move_id',
                                string='Invoices concerned', check_company=True, copy=False)
    correction_move_ids = fields.One2many('account.move', 'l10n_vn_einvoice_agreement_id',
                                          string='Correction invoices', readonly=True)
    scan = fields.Binary(string='Signed scan', attachment=True, copy=False,
                         help='The minutes signed by both parties (PDF or image).')
    scan_filename = fields.Char()
    is_signed = fields.Boolean(string='Signed scan uploaded', compute='_compute_is_signed', store=True)
    notice_ids = fields.Many2many('l10n_vn_einvoice.notice', compute='_compute_notice_ids', string='Notices 04/SS')

    @api.depends('scan')
    def _compute_is_signed(self):
        for agreement in self:
            agreement.is_signed = bool(agreement.scan)

    def _compute_notice_ids(self):
        for agreement in self:
            agreement.notice_ids = self.env['l10n_vn_einvoice.notice'].search(
                [('agreement_id', '=', agreement.id)]) if agreement.id else False

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if not vals.get('name') or vals['name'] == _('New'):
                vals['name'] = self.env['ir.sequence'].next_by_code('l10n_vn_einvoice.agreement') or _('New')
        return super().create(vals_list)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        for agreement in self:
            if agreement.correction_move_ids.filtered('l10n_vn_einvoice_number'):
                raise UserError(_('Agreement %s is the basis of an issued e-invoice and cannot be deleted.',
                                  agreement.name))

    def action_print(self):
        return self.env.ref('l10n_vn_einvoice.action_report_einvoice_agreement').report_action(self)

    # ------------------------------------------------------------------
    # Printing helpers (legal Vietnamese texts)
    # ------------------------------------------------------------------

    def _l10n_vn_title(self):
        self.ensure_one()
        return AGREEMENT_TITLES[self.kind]

    def _l10n_vn_party(self, partner):
        move_model = self.env['account.move']
        partner = partner.commercial_partner_id
        return {
            'name': partner.name or '',
            'address': move_model._l10n_vn_einvoice_address(partner),
            'vat': partner.vat or '',
            'phone': partner.phone or '',
            'email': partner.email or '',
        }

    def _l10n_vn_report_values(self):
        """Everything the minutes print, in one dict (the QWeb stays free of logic)."""
        self.ensure_one()
        rows = []
        for move in self.move_ids.sorted(lambda m: (m.invoice_date or fields.Date.today(), m.id)):
            rows.append(move._l10n_vn_einvoice_reference_row())
        corrections = [m._l10n_vn_einvoice_reference_row() for m in self.correction_move_ids.sorted('id')]
        verb = {'adjust': 'điều chỉnh', 'replace': 'thay thế', 'cancel': 'hủy'}[self.kind]
        return {
            'title': self._l10n_vn_title(),
            'verb': verb,
            'seller': self._l10n_vn_party(self.company_id.partner_id),
            'buyer': self._l10n_vn_party(self.partner_id),
            'rows': rows,
            'corrections': corrections,
            'date': self.date,
        }
