from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError

from vn_einvoice import lifecycle



class L10nVnEinvoiceCorrectionMixin(models.AbstractModel):
    """What the adjustment and replacement wizards share: the invoices corrected, the agreement, the
    list 01/BK-ĐCTT when they are several, the optional 04/SS notice."""

    _name = 'l10n_vn_einvoice.correction.mixin'
    _description = 'E-invoice correction wizard (common part)'
    _relation = 'adjustment'

    origin_ids = fields.Many2many('account.move', string='E-invoices corrected', required=True)
    company_id = fields.Many2one('res.company', compute='_compute_origin_data')
    currency_id = fields.Many2one('res.currency', compute='_compute_origin_data')
    partner_id = fields.Many2one('res.partner', string='Buyer', compute='_compute_origin_data')
    several = fields.Boolean(compute='_compute_origin_data')
    invoice_date = fields.Date(string='Date of the new invoice', required=True, default=fields.Date.context_today)
    list_number = fields.Char(string='List 01/BK-ĐCTT number', size=50,
                              help='When one invoice corrects several (Decree 70/2025): the number of the list.')
    list_date = fields.Date(string='List 01/BK-ĐCTT date', default=fields.Date.context_today)
    agreement_name = fields.Char(string='Agreement number or name',
                                 help='As written on the minutes signed with the buyer. Empty: numbered automatically.')
    agreement_date = fields.Date(string='Agreement date', required=True, default=fields.Date.context_today)
    reason = fields.Text(required=True, help='Why the invoice is corrected (printed on the minutes).')
    agreement_scan = fields.Binary(string='Signed minutes (scan)')
    agreement_scan_filename = fields.Char()
    seller_representative = fields.Char()
    buyer_representative = fields.Char()
    note = fields.Char(string='Note on the invoice', size=255, compute='_compute_note', store=True, readonly=False,
                       help='GChu of TTHDLQuan, also printed as the first line of the invoice.')
    create_notice = fields.Boolean(string='Also prepare a 04/SS notice',
                                   help='Not required for adjustment and replacement invoices under Decree 70/2025; '
                                        'useful when the tax authority asked for an explanation (01/TB-RSĐT).')

    @api.depends('origin_ids')
    def _compute_origin_data(self):
        for wizard in self:
            origins = wizard.origin_ids
            wizard.company_id = origins.company_id[:1]
            wizard.currency_id = origins.currency_id[:1]
            wizard.partner_id = origins.commercial_partner_id[:1]
            wizard.several = len(origins) > 1

    def _compute_note(self):
        for wizard in self:
            wizard.note = wizard._default_note()

    def _reference(self):
        return self.env['account.move']._l10n_vn_einvoice_reference(
            self.origin_ids, self._relation, self.list_number, self.list_date)

    @api.model
    def _origins_from_context(self, event):
        ctx = self.env.context
        if ctx.get('active_model') != 'account.move' or not ctx.get('active_ids'):
            return self.env['account.move']
        origins = self.env['account.move'].browse(ctx['active_ids'])
        self._check_origins(origins, event)
        return origins

    @api.model
    def _check_origins(self, origins, event):
        errors = []
        for origin in origins:
            if origin.move_type not in ('out_invoice', 'out_refund') or not origin.l10n_vn_einvoice_number:
                errors.append(_('%s is not an issued e-invoice.', origin.display_name))
                continue
            if origin.state != 'posted':
                errors.append(_('%s is not posted.', origin.display_name))
            errors += origin._l10n_vn_einvoice_correction_problems(event)
        if len(origins.company_id) > 1:
            errors.append(_('The e-invoices belong to several companies.'))
        if len(origins.commercial_partner_id) > 1:
            errors.append(_('One invoice corrects several e-invoices of the same buyer only.'))
        if len(origins.currency_id) > 1:
            errors.append(_('The e-invoices are in several currencies.'))
        if errors:
            raise UserError('\n'.join(errors))

    def _check_common(self):
        self.ensure_one()
        event = lifecycle.Event.ADJUST if self._relation == 'adjustment' else lifecycle.Event.REPLACE
        self._check_origins(self.origin_ids, event)
        if self.several and not (self.list_number and self.list_date):
            raise UserError(_('One invoice for several e-invoices needs the number and date of the list 01/BK-ĐCTT '
                              '(Decree 70/2025).'))
        late = self.origin_ids.filtered(lambda m: m.invoice_date and m.invoice_date > self.invoice_date)
        if late:
            raise UserError(_('E-invoice %s is dated after the new invoice.', late[0].l10n_vn_einvoice_name))

    def _agreement_kind(self):
        return 'adjust' if self._relation == 'adjustment' else 'replace'

    def _agreement_contents(self):
        return '', ''

    def _create_agreement(self):
        wrong, right = self._agreement_contents()
        vals = {
            'kind': self._agreement_kind(), 'date': self.agreement_date, 'reason': self.reason,
            'wrong_content': wrong, 'right_content': right,
            'company_id': self.company_id.id, 'partner_id': self.partner_id.id,
            'move_ids': [Command.set(self.origin_ids.ids)],
            'scan': self.agreement_scan, 'scan_filename': self.agreement_scan_filename,
            'seller_representative': self.seller_representative, 'buyer_representative': self.buyer_representative,
        }
        if self.agreement_name:
            vals['name'] = self.agreement_name
        return self.env['l10n_vn_einvoice.agreement'].create(vals)

    def _correction_vals(self, agreement):
        """The fields every correction invoice carries (the note only when typed by hand)."""
        vals = {
            'l10n_vn_einvoice_relation': self._relation,
            'l10n_vn_einvoice_origin_ids': [Command.set(self.origin_ids.ids)],
            'l10n_vn_einvoice_agreement_id': agreement.id,
            'invoice_date': self.invoice_date,
            'invoice_origin': ', '.join(self.origin_ids.mapped('l10n_vn_einvoice_name')),
        }
        if self.note and self.note != self._default_note():
            vals['l10n_vn_einvoice_correction_note'] = self.note
        if self.several:
            vals.update(l10n_vn_einvoice_list_number=self.list_number, l10n_vn_einvoice_list_date=self.list_date)
        return vals

    def _after_create(self, move, agreement):
        if self.create_notice:
            nature = '2' if self._relation == 'adjustment' else '3'
            self.env['l10n_vn_einvoice.notice'].create({
                'company_id': self.company_id.id, 'agreement_id': agreement.id,
                'line_ids': [Command.create({'move_id': origin.id, 'nature': nature, 'reason': (self.reason or '')[:255]})
                             for origin in self.origin_ids],
            })
        links = self.origin_ids._l10n_vn_einvoice_html_list()
        move.message_post(body=_('Correction of e-invoice %(origins)s, agreement %(agreement)s.', origins=links,
                                 agreement=agreement._get_html_link()))

    def _open(self, move):
        return {'type': 'ir.actions.act_window', 'res_model': 'account.move', 'res_id': move.id,
                'view_mode': 'form', 'name': move.display_name}

    def action_create(self):
        move = self._create_move()
        return self._open(move)

    def action_create_and_issue(self):
        move = self._create_move()
        move.action_post()
        move.action_l10n_vn_einvoice_issue()
        return self._open(move)
