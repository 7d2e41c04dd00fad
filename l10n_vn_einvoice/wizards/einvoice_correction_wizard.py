from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import html_escape

from vn_einvoice import lifecycle

ERROR_KINDS = [
    ('substantive', 'Tax code (MST), amounts, VAT or goods'),
    ('buyer_name_address', 'Only the buyer name or address (tax code right)'),
    ('void', 'The whole invoice (transaction cancelled, issued twice)'),
]


class L10nVnEinvoiceCorrectionWizard(models.TransientModel):
    """Which route the law allows to cancel or correct this e-invoice, and why; then that route.

    The routes come from ``vn_einvoice.lifecycle.correction_routes`` (Decree 123/2020 Art. 19 as
    amended by Decree 70/2025): delete a never-issued prepared invoice; cancel with a 04/SS notice a
    coded invoice not yet sent to the buyer; otherwise adjust or replace, or explain a wrong buyer
    name/address with a 04/SS notice.
    """

    _name = 'l10n_vn_einvoice.correction.wizard'
    _description = 'Cancel or correct an e-invoice'

    move_id = fields.Many2one('account.move', required=True, readonly=True)
    company_id = fields.Many2one(related='move_id.company_id')
    einvoice_state = fields.Selection(related='move_id.l10n_vn_einvoice_state')
    einvoice_name = fields.Char(related='move_id.l10n_vn_einvoice_name')
    coded = fields.Boolean(string='Coded by the tax authority', compute='_compute_facts')
    already_sent = fields.Boolean(compute='_compute_facts')
    error_kind = fields.Selection(ERROR_KINDS, string='What is wrong', required=True, default='substantive')
    sent_to_buyer = fields.Boolean(string='Sent to the buyer', compute='_compute_sent_to_buyer', store=True, readonly=False,
                                   help='The buyer received the invoice (by e-mail, portal, paper or otherwise).')
    can_delete = fields.Boolean(compute='_compute_routes')
    can_cancel = fields.Boolean(compute='_compute_routes')
    can_adjust = fields.Boolean(compute='_compute_routes')
    can_replace = fields.Boolean(compute='_compute_routes')
    can_explain = fields.Boolean(compute='_compute_routes')
    advice = fields.Html(compute='_compute_routes')
    # deletion
    after_delete = fields.Selection([('draft', 'Reset the invoice to draft, to fix it'), ('cancel', 'Cancel the invoice')],
                                    string='Then', default='draft', required=True)
    # cancellation and explanation
    reason = fields.Text(help='Written on the 04/SS notice (255 characters at most) and on the minutes.')
    agreement_name = fields.Char(string='Agreement number or name')
    agreement_date = fields.Date(string='Agreement date', default=fields.Date.context_today)
    agreement_scan = fields.Binary(string='Signed minutes (scan)')
    agreement_scan_filename = fields.Char()
    prepare_new_invoice = fields.Boolean(string='Prepare a new invoice', default=True,
                                         help='A draft copy of the invoice, to correct and issue instead of it.')

    @api.depends('move_id')
    def _compute_facts(self):
        for wizard in self:
            move = wizard.move_id
            wizard.coded = move.l10n_vn_einvoice_series_id.is_coded
            wizard.already_sent = move.is_move_sent

    @api.depends('move_id')
    def _compute_sent_to_buyer(self):
        # its own compute: a compute shared with non-stored fields would overwrite what the user ticked
        for wizard in self:
            wizard.sent_to_buyer = wizard.move_id.is_move_sent

    def _routes(self):
        self.ensure_one()
        move = self.move_id
        if not move.l10n_vn_einvoice_state or move.l10n_vn_einvoice_state == 'DELETE':
            return []
        if move.l10n_vn_einvoice_cancel_pending:
            return []
        return lifecycle.correction_routes(
            move.l10n_vn_einvoice_state, self.error_kind, role=move._l10n_vn_einvoice_role(),
            coded=self.coded, sent_to_buyer=self.sent_to_buyer or self.already_sent)

    def _route_text(self, route):
        Route = lifecycle.Route
        texts = {
            Route.DELETE: _('Delete: the e-invoice was never issued (no number, no signature). Deleting it leaves no '
                            'legal trace and uses no number; the invoice goes back to draft, to be fixed, or is '
                            'cancelled.'),
            Route.CANCEL: _('Cancel (Decree 123/2020 Art. 19.1, as amended by Decree 70/2025): a coded invoice (symbol '
                            'C…) not yet sent to the buyer is cancelled by a 04/SS-HĐĐT notice to the tax authority; '
                            'a new invoice is issued instead. The invoice is cancelled when the tax authority accepts '
                            'the notice.'),
            Route.REPLACE: _('Replace (Art. 19.2.b): a new invoice with the right content replaces this one, after a '
                             'written agreement with the buyer. The replaced invoice can no longer be corrected.'),
            Route.EXPLAIN: _('Explain (Art. 19.2.a): only the buyer\'s name or address is wrong and the tax code is '
                             'right: no new invoice. Inform the buyer and send a 04/SS-HĐĐT notice (explanation) to the '
                             'tax authority.'),
        }
        if route is Route.ADJUST:
            if self.error_kind == 'void':
                return _('Adjust to zero (Art. 19.2.b): since Decree 70/2025 an invoice sent to the buyer or the tax '
                         'authority is no longer cancelled; an adjustment invoice decreasing every line to zero voids '
                         'it, after a written agreement with the buyer.')
            if self.error_kind == 'buyer_name_address':
                return _('Information adjustment (Art. 19.2.b): allowed if the buyer asks for a corrected invoice; it '
                         'carries the right buyer data and no amount.')
            return _('Adjust (Art. 19.2.b): wrong tax code, amounts, VAT rate or amount, or goods: an adjustment '
                     'invoice carries the differences (increases positive, decreases negative), after a written '
                     'agreement with the buyer.')
        return texts[route]

    def _blocked_text(self):
        """Why cancellation (and possibly everything) is not available, in words."""
        move = self.move_id
        role = move._l10n_vn_einvoice_role()
        state = move.l10n_vn_einvoice_state
        notes = []
        if move.l10n_vn_einvoice_cancel_pending:
            notes.append(_('This e-invoice is in a cancellation notice 04/SS not yet answered: wait for the tax '
                           'authority\'s answer.'))
        elif state == 'CHANGE':
            notes.append(_('This e-invoice was replaced: correct the replacement invoice instead.'))
        elif state in ('CANCEL', 'DELETE'):
            notes.append(_('This e-invoice is %s: nothing more can be done to it.',
                           dict(move._fields['l10n_vn_einvoice_state']._description_selection(self.env))[state]))
        elif role is lifecycle.Role.ADJUSTMENT:
            notes.append(_('This is an adjustment invoice: it is not corrected itself; adjust the original invoice '
                           'again.'))
        elif state in ('USING', 'ADJUSTED') and not any(a.route is lifecycle.Route.CANCEL for a in self._routes()):
            if role is lifecycle.Role.REPLACEMENT:
                notes.append(_('Cancellation is not possible: a replacement invoice is never cancelled.'))
            elif state == 'ADJUSTED':
                notes.append(_('Cancellation is not possible: the invoice was already adjusted; later errors are '
                               'corrected by adjustment too (Circular 78/2021 Art. 7.1).'))
            elif not self.coded:
                notes.append(_('Cancellation is not possible: since Decree 70/2025 only a coded invoice (symbol C…) not '
                               'yet sent to the buyer is cancelled; this series has no tax authority code.'))
            else:
                notes.append(_('Cancellation is not possible: the invoice was sent to the buyer (Decree 123/2020 '
                               'Art. 19.1, as amended by Decree 70/2025).'))
        return notes

    @api.depends('move_id', 'error_kind', 'sent_to_buyer')
    def _compute_routes(self):
        for wizard in self:
            routes = {a.route for a in wizard._routes()}
            wizard.can_delete = lifecycle.Route.DELETE in routes
            wizard.can_cancel = lifecycle.Route.CANCEL in routes
            wizard.can_adjust = lifecycle.Route.ADJUST in routes
            wizard.can_replace = lifecycle.Route.REPLACE in routes
            wizard.can_explain = lifecycle.Route.EXPLAIN in routes
            items = ''.join(f'<li>{html_escape(wizard._route_text(a.route))}</li>' for a in wizard._routes())
            notes = ''.join(f'<p class="text-muted">{html_escape(n)}</p>' for n in wizard._blocked_text())
            if not items:
                items = f'<li>{html_escape(_("No route is open for this e-invoice."))}</li>'
            wizard.advice = f'<ul>{items}</ul>{notes}'

    def _require(self, route):
        self.ensure_one()
        if route not in {a.route for a in self._routes()}:
            raise UserError(_('The law does not allow this for e-invoice %s (see the explanation in the wizard).',
                              self.move_id.l10n_vn_einvoice_name or self.move_id.display_name))

    # ------------------------------------------------------------------
    # Routes
    # ------------------------------------------------------------------

    def action_delete(self):
        self._require(lifecycle.Route.DELETE)
        move = self.move_id
        if self.after_delete == 'cancel':
            move.button_cancel()
        else:
            move.button_draft()
        return {'type': 'ir.actions.act_window', 'res_model': 'account.move', 'res_id': move.id, 'view_mode': 'form'}

    def _reason(self):
        reason = (self.reason or '').strip()
        if not reason:
            raise UserError(_('Give the reason: it is written on the notice.'))
        return reason

    def action_cancel(self):
        self._require(lifecycle.Route.CANCEL)
        move, reason = self.move_id, self._reason()
        problems = move._l10n_vn_einvoice_cancel_problems()
        if problems:
            raise UserError('\n'.join(problems))
        agreement_vals = {
            'kind': 'cancel', 'date': self.agreement_date or fields.Date.context_today(self), 'reason': reason,
            'company_id': move.company_id.id, 'partner_id': move.commercial_partner_id.id,
            'move_ids': [Command.set(move.ids)], 'scan': self.agreement_scan,
            'scan_filename': self.agreement_scan_filename,
        }
        if self.agreement_name:
            agreement_vals['name'] = self.agreement_name
        agreement = self.env['l10n_vn_einvoice.agreement'].create(agreement_vals)
        notice = self.env['l10n_vn_einvoice.notice'].create({
            'company_id': move.company_id.id, 'agreement_id': agreement.id,
            'line_ids': [Command.create({'move_id': move.id, 'nature': '1', 'reason': reason[:255]})],
        })
        if self.prepare_new_invoice:
            data = move.with_context(include_business_fields=True).copy_data({'invoice_date': False})[0]
            data['line_ids'] = [line for line in data['line_ids']
                                if line[2]['display_type'] in ('product', 'line_section', 'line_note')]
            data.pop('invoice_date_due', None)
            new = self.env['account.move'].create(data)
            new.message_post(body=_('Prepared to be issued instead of e-invoice %(einvoice)s, cancelled by notice %(notice)s.',
                                    einvoice=move._get_html_link(title=move.l10n_vn_einvoice_name), notice=notice.name))
        move.message_post(body=_('Cancellation requested with notice 04/SS-HĐĐT %s: the e-invoice is cancelled when '
                                 'the tax authority accepts it.', notice._get_html_link()))
        return {'type': 'ir.actions.act_window', 'res_model': notice._name, 'res_id': notice.id, 'view_mode': 'form'}

    def action_explain(self):
        self._require(lifecycle.Route.EXPLAIN)
        reason = self._reason()
        notice = self.env['l10n_vn_einvoice.notice'].create({
            'company_id': self.move_id.company_id.id,
            'line_ids': [Command.create({'move_id': self.move_id.id, 'nature': '4', 'reason': reason[:255]})],
        })
        self.move_id.message_post(body=_('Explained in notice 04/SS-HĐĐT %s.', notice._get_html_link()))
        return {'type': 'ir.actions.act_window', 'res_model': notice._name, 'res_id': notice.id, 'view_mode': 'form'}

    def action_adjust(self):
        self._require(lifecycle.Route.ADJUST)
        kind = 'info' if self.error_kind == 'buyer_name_address' else 'money'
        return self.move_id._l10n_vn_einvoice_adjustment_action(decrease_all=self.error_kind == 'void', kind=kind)

    def action_replace(self):
        self._require(lifecycle.Route.REPLACE)
        return self.move_id.action_l10n_vn_einvoice_replace()
